"""`python -m dashboard demo`: fill the warehouse with realistic generated traffic."""

from __future__ import annotations

import argparse

from dashboard import demo
from dashboard.commands.common import add_db, open_warehouse
from dashboard.warehouse.queries import is_empty


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="fill the warehouse with generated demo traffic")
    add_db(p)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--requests-per-day", type=int, default=800)
    p.add_argument("--if-empty", action="store_true", help="only when the warehouse has no requests")
    p.add_argument("--clear", action="store_true", help="remove the demo rows instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_warehouse(args) as wh:
        if args.clear:
            print(f"removed {demo.clear(wh)} demo requests from {wh.path}")
            return 0
        if args.if_empty and not is_empty(wh):
            print(f"{wh.path} already has data; demo data not added")
            return 0
        added = demo.fill(wh, days=args.days, seed=args.seed, requests_per_day=args.requests_per_day)
        print(f"added {added} demo requests over {args.days} days to {wh.path}")
    return 0
