"""Messages from the shared import code, in the Import page's words.

The importer and the command line share their errors; the command line names its flags,
the page names its controls.
"""

from __future__ import annotations

import re

# (pattern, replacement), most specific first
_WORDS = [
    (r"pass --format NAME \(known: [^)]*\)", "choose the Format"),
    (r"pass --format NAME", "choose the Format"),
    (r"--map HEADER=FIELD", "the column mapping"),
    (r"pass --model", "set Model override"),
    (r"--map target", "mapped field"),
    (r"--map names header", "the column mapping names header"),
    (r"--cached-included-in-input", "the cached tokens choice"),
    (r"--model", "Model override"),
    (r"--tz", "Time zone"),
    (r"--provider", "Provider"),
    (r"--source", "Source"),
    (r"--format", "Format"),
    (r"--map", "the column mapping"),
]


def page_words(message: str) -> str:
    """`message` with each command-line flag replaced by the page's label for it."""
    for pattern, words in _WORDS:
        message = re.sub(pattern, words, message)
    return message
