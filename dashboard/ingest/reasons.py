"""The `reason` values an import's reads give rows that are not plain rejections.

Every read (see sql.canonical_sql) yields a `reason` per row: NULL for a good row, else why
the row is not imported. Besides the reasons that reject a row, three have a meaning of their
own to the loader and the warehouse's insert (handed to it as contract.Reasons).
"""

from __future__ import annotations

from dashboard.warehouse.contract import Reasons

# A row that is no record at all (a blank line): neither imported nor rejected.
SKIPPED = ""
# A line that is no JSON object (a broken or cut line of a JSON-lines file).
NOT_JSON = "not a valid JSON object"
# A row the clean read cannot name: it has no id, and that read (the typed JSON one) keeps no
# text to derive one from. The row is not bad, so it sends the file to the full read rather
# than to the rejected rows.
UNNAMED = "no id, and no text to derive one"

REASONS = Reasons(skipped=SKIPPED, unnamed=UNNAMED)
