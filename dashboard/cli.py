"""`python -m dashboard ...`: one sub-command per module in dashboard/commands/.

Each command module defines `register(subparsers)`, which adds its parser and sets
`func=run`, where `run(args) -> int` is the exit code. Errors of our own (PricingError,
DashboardError) are printed as one line on stderr, never as a traceback; a bad argument
is one line too (argparse's usage block would bury it), and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from dashboard.errors import DashboardError, UsageError
from pricing import PricingError

COMMAND_MODULES = [
    # one line per command module in dashboard/commands/
    "import_logs",
    "report",
    "demo",
    "scenario",
    "forecast",
    "simulate_cache",
    "call",
    "eval",
]


class Parser(argparse.ArgumentParser):
    """argparse, saying what is wrong with an argument in one line (its sub-parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"dashboard.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (DashboardError, PricingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, PricingError | UsageError) else 1
