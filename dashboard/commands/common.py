"""Flags shared by the commands that open the warehouse."""

from __future__ import annotations

import argparse

from dashboard.warehouse import Warehouse


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="warehouse file (default: $USAGE_DB or data/usage.duckdb)")


def open_warehouse(args: argparse.Namespace, read_only: bool = False) -> Warehouse:
    """A command runs once: a stale priced cache is not rebuilt for it (see Warehouse.open)."""
    return Warehouse.open(args.db or None, read_only=read_only, cache=False)
