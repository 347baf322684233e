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

# Each command's name and its module in dashboard/commands/. Only the named command's module
# is imported: the modules pull in pandas, statsmodels and the like, and each costs start-up
# time that a command which does not need them should not pay.
COMMANDS = {
    "import": "import_logs",
    "report": "report",
    "demo": "demo",
    "scenario": "scenario",
    "forecast": "forecast",
    "simulate-cache": "simulate_cache",
    "call": "call",
    "eval": "eval",
}


class Parser(argparse.ArgumentParser):
    """argparse, saying what is wrong with an argument in one line (its sub-parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of just `command` when it names one (the others are listed
    by name only, so a typo still gets argparse's "invalid choice" with the list)."""
    parser = Parser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        if command in (None, name):
            importlib.import_module(f"dashboard.commands.{module}").register(sub)
        elif command in COMMANDS:
            sub.add_parser(name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as e:
        # (pricing is loaded here, not with the parsers: its catalog code is a thirtieth of a
        # second of start-up, which the import command spends on its file's check instead)
        from pricing import PricingError

        if not isinstance(e, DashboardError | PricingError):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, PricingError | UsageError) else 1
