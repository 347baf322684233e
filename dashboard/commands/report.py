"""`python -m dashboard report --month YYYY-MM`: the month's usage and cost."""

from __future__ import annotations

import argparse
import json

from dashboard.charts.format import usd
from dashboard.commands.common import add_db, open_warehouse, zone_name
from dashboard.errors import DashboardError
from dashboard.warehouse.queries import DIMENSIONS, month_bounds, month_report

BY = [d for d in DIMENSIONS if d not in ("tag", "upstream_provider", "source", "status")]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a month's requests, tokens, computed and billed cost",
                       description="Requests, tokens per bucket, computed cost (exact, from the price catalog), "
                       "billed cost where the logs have it, and unpriced requests for one month in a time zone.")
    p.add_argument("--month", required=True, type=_month, help="YYYY-MM")
    add_db(p)
    p.add_argument("--by", choices=BY, default="model")
    p.add_argument("--tz", default="UTC", type=zone_name, help="billing time zone for month boundaries (default UTC)")
    p.add_argument("--json", action="store_true", help="money as decimal strings")
    p.set_defaults(func=run)


def _month(text: str) -> str:
    """An argparse type: a month YYYY-MM within the years requests are kept for; else a usage error."""
    try:
        month_bounds(text)
    except DashboardError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    return text


def _cost(row: dict) -> str:
    """The computed cost; a row with no priced request says so rather than show 0 or a bare dash."""
    return "no price" if row["cost_usd"] is None and row["unpriced_requests"] else usd(row["cost_usd"], 2)


def run(args: argparse.Namespace) -> int:
    with open_warehouse(args, existing=True) as wh:
        report = month_report(wh, args.month, args.by, args.tz)
    if args.json:
        print(json.dumps(report.as_dict()))
        return 0
    print(f"{report.month} ({report.timezone}), by {args.by}; amounts in USD rounded to cents for display")
    header = f"{'key':<32} {'requests':>10} {'input':>14} {'cache read':>14} {'cache write':>12} {'output':>12} " \
             f"{'cost':>12} {'billed':>12} {'unpriced':>9}"
    print(header)
    print("-" * len(header))
    for r in report.rows:
        print(f"{str(r['key'])[:32]:<32} {r['requests']:>10,} {r['input_tokens']:>14,} {r['cache_read_tokens']:>14,} "
              f"{r['cache_write_tokens']:>12,} {r['output_tokens']:>12,} {_cost(r):>12} "
              f"{usd(r['billed_usd'], 2):>12} {r['unpriced_requests'] or '':>9}")
    print("-" * len(header))
    print(f"total computed {usd(report.total_usd, 2)}  billed {usd(report.billed_usd, 2)}  "
          f"unpriced requests {report.unpriced_requests}")
    if report.approximate_usd:
        print(f"of the computed total, {usd(report.approximate_usd, 2)} is approximate: rows covering a span "
              "(a day) inside which the price changes, priced by the share of the span under each rate")
    total_requests = sum(r["requests"] for r in report.rows)
    if report.billed_requests and report.billed_requests < total_requests:
        print(f"billed cost is known for {report.billed_requests:,} of {total_requests:,} requests; "
              f"computed cost of those: {usd(report.comparable_computed_usd, 2)}")
    return 0
