"""Flags shared by the commands that open the warehouse."""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.errors import WarehouseError

if TYPE_CHECKING:
    from dashboard.warehouse import Warehouse

# How often a command waiting for the warehouse tries it again, and says that it waits.
RETRY_SECONDS = 0.25
SAY_EVERY_SECONDS = 5.0


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="warehouse file (default: $USAGE_DB or data/usage.duckdb)")


def decimal_number(text: str) -> Decimal:
    """An argparse type: a finite decimal number, kept exact."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def count_up_to(text: str, limit: int) -> int | None:
    """`text` as a whole number from 1 to `limit`; None when it is not one (the caller says why, in its words)."""
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 1 <= value <= limit else None


def seconds(text: str) -> float:
    """An argparse type: a number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e6:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), got {text!r}")
    return value


def zone_name(tz: str) -> str:
    """An argparse type: a time zone name (see ingest.base.check_zone); a bad one is a usage error."""
    from dashboard.ingest.base import check_zone  # the formats' module: loaded when a zone is given

    try:
        return check_zone(tz)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def existing_warehouse(db: str | None) -> Path:
    """The warehouse file a reading command reads; an error when it is not there.

    A mistyped --db must not create an empty warehouse and report $0.00 from it.
    """
    from dashboard.warehouse import Warehouse  # DuckDB loads when a warehouse is used, not with the parsers

    path = Path(db) if db else Warehouse.default_path()
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {str(path)!r}: check --db / $USAGE_DB, or fill one with "
                             "`python -m dashboard import FILE` or `python -m dashboard demo`")
    return path


def open_warehouse(args: argparse.Namespace, read_only: bool = False, existing: bool = False,
                   wait: float = 0.0) -> Warehouse:
    """A command runs once: a stale priced cache is not rebuilt for it (see Warehouse.open).

    `existing`, for a command that only reads: see existing_warehouse. `wait`: seconds to wait
    for a file another process holds (DuckDB lets one process write a file at a time), saying
    so on stderr; after that, the LockedError says it waited.
    """
    from dashboard.warehouse.connection import LockedError, Warehouse  # as in existing_warehouse

    path = existing_warehouse(args.db) if existing else args.db or None
    start = time.monotonic()
    said = 0.0
    while True:
        try:
            return Warehouse.open(path, read_only=read_only, cache=False)
        except LockedError as e:
            waited = time.monotonic() - start
            if waited >= wait:
                if wait:
                    raise LockedError(f"gave up waiting for the warehouse after {wait:g} s: {e}") from e
                raise
            if waited - said >= SAY_EVERY_SECONDS or not said:
                said = waited or 1e-9
                print(f"waiting for the warehouse: another import is writing ({waited:.0f}s)...",
                      file=sys.stderr, flush=True)
            time.sleep(min(RETRY_SECONDS, max(wait - waited, 0.01)))
