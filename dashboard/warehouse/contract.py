"""What the warehouse's row writes hold their rows to, as data that loads no DuckDB: the days
a request may fall on, and the reasons a row source gives that are no rejection. An import's
formats and plan are written against these before any DuckDB work starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The days a request's time may fall on: an import rejects any other time (a placeholder such
# as 0001-01-01 would fall out of every month), and ranges and months are kept within them.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


@dataclass(frozen=True)
class Reasons:
    """The `reason` values of a row source that are no rejection (an import defines them)."""

    skipped: str  # no record at all: neither inserted nor counted
    unnamed: str  # a good row the clean insert cannot name: it gives way (NotClean)
