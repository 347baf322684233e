"""Flags shared by the commands that open the warehouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from dashboard.errors import WarehouseError
from dashboard.warehouse import Warehouse


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="warehouse file (default: $USAGE_DB or data/usage.duckdb)")


def existing_warehouse(db: str | None) -> Path:
    """The warehouse file a reading command reads; an error when it is not there.

    A mistyped --db must not create an empty warehouse and report $0.00 from it.
    """
    path = Path(db) if db else Warehouse.default_path()
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {str(path)!r}: check --db / $USAGE_DB, or fill one with "
                             "`python -m dashboard import FILE` or `python -m dashboard demo`")
    return path


def open_warehouse(args: argparse.Namespace, read_only: bool = False, existing: bool = False) -> Warehouse:
    """A command runs once: a stale priced cache is not rebuilt for it (see Warehouse.open).

    `existing`, for a command that only reads: see existing_warehouse.
    """
    path = existing_warehouse(args.db) if existing else args.db or None
    return Warehouse.open(path, read_only=read_only, cache=False)
