"""`python -m dashboard scenario`: monthly cost of a planned traffic on one or more routes."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import TYPE_CHECKING

from dashboard.charts.format import usd
from dashboard.commands.common import decimal_number
from dashboard.errors import DashboardError
from pricing import money_str

if TYPE_CHECKING:
    from dashboard.forecasts.scenario import ScenarioInputs

HELP = """Monthly cost of a planned traffic on one or more routes, exact to the token.

A month is 30 days of traffic. Month k (counting from 0) has
requests-per-day * (1 + growth/100)^k requests per day; each month's requests and token
totals are rounded half-even to whole numbers. --input-tokens is the mean prompt size per
request (cached tokens included); --cache-hit and --cache-write-share split it into
cache reads, cache writes and uncached input. Tiers follow the per-request prompt size; a
route with peak hours is priced at its rates weighted by the hours of the week each covers
(the traffic spread evenly over the week). The route with the lowest total is marked cheapest.
Amounts in the table are rounded to cents for display; --json gives them exactly."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "scenario",
        help="monthly cost of a planned traffic",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--route",
        required=True,
        action="append",
        help="PROVIDER/MODEL, several separated by commas (or repeat the option)",
    )
    p.add_argument("--requests-per-day", type=decimal_number, help="requests per day in month 1")
    p.add_argument("--users", type=decimal_number, help="instead of --requests-per-day: number of users ...")
    p.add_argument("--requests-per-user", type=decimal_number, help="... and requests per user per day")
    p.add_argument("--input-tokens", type=decimal_number, required=True, help="mean prompt tokens per request")
    p.add_argument(
        "--output-tokens",
        type=decimal_number,
        required=True,
        help="mean output tokens per request (reasoning included)",
    )
    for flag, share in (("--cache-hit", "prompt tokens read from cache"),
                        ("--cache-write-share", "prompt tokens written to cache"),
                        ("--reasoning-share", "output tokens spent reasoning")):
        p.add_argument(flag, type=decimal_number, default=Decimal(0), help=f"share of {share}, 0.0-1.0 (default 0)")
    p.add_argument("--growth", type=decimal_number, default=Decimal(0), help="traffic growth in percent per month")
    p.add_argument("--months", type=int, default=12, help="horizon in months, 1-120 (default 12)")
    p.add_argument(
        "--sensitivity",
        action="store_true",
        help="also show the mean monthly cost with each input moved -20%% and +20%%",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output, money as decimal strings")
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> ScenarioInputs:
    from dashboard.forecasts.scenario import ScenarioInputs

    routes = tuple(r.strip() for arg in args.route for r in arg.split(",") if r.strip())
    common = {
        "routes": routes,
        "input_tokens": args.input_tokens,
        "output_tokens": args.output_tokens,
        "growth_pct": args.growth,
        "months": args.months,
        "cache_hit_rate": args.cache_hit,
        "cache_write_share": args.cache_write_share,
        "reasoning_share": args.reasoning_share,
    }
    if args.requests_per_day is not None:
        return ScenarioInputs(requests_per_day=args.requests_per_day, **common)
    if args.users is not None and args.requests_per_user is not None:
        return ScenarioInputs.for_users(args.users, args.requests_per_user, **common)
    raise DashboardError("give --requests-per-day N, or --users N with --requests-per-user N")


def run(args: argparse.Namespace) -> int:
    # Imported here: numpy and pandas would slow every other command's start.
    from dashboard.forecasts.scenario import run_scenario, sensitivity

    inputs = _inputs(args)
    result = run_scenario(inputs)
    rows = sensitivity(inputs, route=result.cheapest.route) if args.sensitivity else []
    if args.json:
        out = result.as_dict()
        if args.sensitivity:
            out["sensitivity"] = {
                "route": result.cheapest.route,
                "rows": [
                    {
                        "input": r.input,
                        "low_value": str(r.low_value),
                        "high_value": str(r.high_value),
                        "low_usd": money_str(r.low_usd),
                        "base_usd": money_str(r.base_usd),
                        "high_usd": money_str(r.high_usd),
                    }
                    for r in rows
                ],
            }
        print(json.dumps(out, indent=2))
        return 0
    names = [r.route + (" *" if r.cheapest else "") for r in result.routes]
    widths = [max(len(n), 12) for n in names]
    print(
        f"{'month':>5}  {'requests':>12}  "
        + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True))
    )
    for k in range(inputs.months):
        cells = [usd(r.months[k].total_usd, 2).rjust(w) for r, w in zip(result.routes, widths, strict=True)]
        print(f"{k + 1:>5}  {result.routes[0].months[k].requests:>12,}  " + "  ".join(cells))
    totals = [usd(r.total_usd, 2).rjust(w) for r, w in zip(result.routes, widths, strict=True)]
    print(f"{'total':>5}  {'':>12}  " + "  ".join(totals))
    print(f"* cheapest: {result.cheapest.route}. Amounts rounded to cents for display; --json is exact.")
    if rows:
        print(f"\nmean monthly cost on {result.cheapest.route} with one input moved -20% / +20%:")
        for r in rows:
            print(f"  {r.input:<18} {usd(r.low_usd, 2):>14} {usd(r.high_usd, 2):>14}")
    return 0
