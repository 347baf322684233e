"""`python -m dashboard simulate-cache TRACE`: replay a request trace through a prefix cache."""

from __future__ import annotations

import argparse
import json

from dashboard.charts.format import usd
from dashboard.forecasts.cache_sim import DEFAULT_ROUTE, simulate_cache

HELP = """Replay a Mooncake JSONL trace (timestamp ms, input_length, output_length, hash_ids of
512-token blocks) through an LRU prefix cache and price it on a route at today's price.
A block is a hit when it is cached and every block before it in the request was a hit.
hit_rate = cache_read_tokens / input_tokens, weighted by tokens."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate-cache",
        help="cache hit rate and cost of a trace",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("trace", metavar="TRACE", help="Mooncake-format JSONL file")
    p.add_argument(
        "--capacity-blocks", type=int, default=None, help="cache size in blocks (default unbounded)"
    )
    p.add_argument(
        "--ttl-seconds", type=float, default=None, help="an entry unused this long is dropped (default never)"
    )
    p.add_argument(
        "--route", default=DEFAULT_ROUTE, help=f"PROVIDER/MODEL to price on (default {DEFAULT_ROUTE})"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output, money as decimal strings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sim = simulate_cache(args.trace, args.capacity_blocks, args.ttl_seconds, args.route)
    if args.json:
        print(json.dumps(sim.as_dict(), indent=2))
        return 0
    print(f"route               {sim.route}")
    capacity = "unbounded" if sim.capacity_blocks is None else f"{sim.capacity_blocks:,} blocks"
    print(f"capacity            {capacity}")
    print(f"ttl                 {'none' if sim.ttl_seconds is None else f'{sim.ttl_seconds:g} s'}")
    print(f"requests            {sim.requests:,}")
    print(f"input tokens        {sim.input_tokens:,}")
    print(f"cache read tokens   {sim.cache_read_tokens:,}")
    print(f"hit rate            {sim.hit_rate * 100:.2f}%")
    print(f"cost                {usd(sim.cost_usd, 2)}")
    print(f"cost without cache  {usd(sim.no_cache_cost_usd, 2)} (rounded to cents; --json is exact)")
    return 0
