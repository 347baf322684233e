"""Prompt-cache simulation on a request trace (Mooncake JSONL format).

Each trace line is a request: `timestamp` (ms from the start), `input_length`,
`output_length` and `hash_ids`, one id per 512-token prompt block (equal ids are equal
prefix blocks). Prefix caching: a block is read from cache when its id is cached *and*
every block before it in the same request was a hit; the first miss ends the prefix. The
last block may be partial, so a request's cached tokens are min(hits * 512, input_length).

The cache is LRU with an optional capacity (blocks) and TTL (an entry not used for `ttl`
seconds is gone). After a request, every one of its blocks is inserted or touched, last
block first, so a prompt's first blocks are the most recently used and a full cache evicts
the tails of old prompts before their shared prefixes. Because each request touches the
same blocks whatever the capacity, the cache of a smaller capacity is always a subset of
a larger one's (LRU's stack property), so hits fall monotonically as capacity or TTL
shrink.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from dashboard import metrics
from dashboard.errors import DashboardError
from dashboard.forecasts.routes import resolve_route
from pricing import Catalog, Usage, bucket_costs, money_str, to_utc

__all__ = ["BLOCK_TOKENS", "CacheSimulation", "TraceRequest", "read_trace", "simulate_cache"]

BLOCK_TOKENS = 512
DEFAULT_ROUTE = "ourtoken/deepseek-v4-flash"


@dataclass(frozen=True)
class TraceRequest:
    timestamp_ms: int
    input_length: int
    output_length: int
    hash_ids: tuple[int, ...]


@dataclass(frozen=True)
class CacheSimulation:
    route: str
    capacity_blocks: int | None
    ttl_seconds: float | None
    requests: int
    input_tokens: int  # every prompt token of the trace
    cache_read_tokens: int
    output_tokens: int
    hit_rate: Decimal  # cache_read_tokens / input_tokens, token-weighted
    cost_usd: Decimal  # exact: uncached prompt at the input rate, cached at the cache-read rate
    no_cache_cost_usd: Decimal  # the same trace with no cache at all

    def as_dict(self) -> dict[str, object]:
        return {
            "route": self.route,
            "capacity_blocks": self.capacity_blocks,
            "ttl_seconds": self.ttl_seconds,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "output_tokens": self.output_tokens,
            "hit_rate": str(self.hit_rate),
            "cost_usd": money_str(self.cost_usd),
            "no_cache_cost_usd": money_str(self.no_cache_cost_usd),
        }


def _whole(value: object, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DashboardError(f"{where}: {key!r} must be a whole number >= 0, got {value!r}")
    return value


def read_trace(path: str | Path) -> Iterator[TraceRequest]:
    """Yield the requests of a Mooncake JSONL trace, one per non-empty line."""
    path = Path(path)
    try:
        f = path.open(encoding="utf-8")
    except OSError as e:
        raise DashboardError(f"cannot read trace {str(path)!r}: {e.strerror}; check the path") from e
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DashboardError(
                    f"{where}: not valid JSON ({e.msg}); expected one request per line"
                ) from e
            if not isinstance(row, dict):
                raise DashboardError(f"{where}: expected a JSON object, got {type(row).__name__}")
            missing = [k for k in ("timestamp", "input_length", "output_length", "hash_ids") if k not in row]
            if missing:
                raise DashboardError(
                    f"{where}: missing {', '.join(missing)}; a Mooncake trace line has "
                    "timestamp, input_length, output_length and hash_ids"
                )
            ids = row["hash_ids"]
            if not isinstance(ids, list):
                raise DashboardError(f"{where}: 'hash_ids' must be a list of block ids, got {ids!r}")
            yield TraceRequest(
                timestamp_ms=_whole(row["timestamp"], "timestamp", where),
                input_length=_whole(row["input_length"], "input_length", where),
                output_length=_whole(row["output_length"], "output_length", where),
                hash_ids=tuple(ids),
            )


def simulate_cache(
    trace: str | Path | Iterable[TraceRequest],
    capacity_blocks: int | None = None,
    ttl_seconds: float | None = None,
    route: str = DEFAULT_ROUTE,
    at: datetime | str | None = None,
    catalog: Catalog | None = None,
) -> CacheSimulation:
    """Replay a trace through an LRU prefix cache and price it on `route` at `at` (default now)."""
    if capacity_blocks is not None and capacity_blocks < 0:
        raise DashboardError(f"capacity must be >= 0 blocks (or unbounded), got {capacity_blocks}")
    if ttl_seconds is not None and ttl_seconds < 0:
        raise DashboardError(f"TTL must be >= 0 seconds (or unbounded), got {ttl_seconds}")
    entry = resolve_route(route, catalog)
    moment = to_utc(at)
    period = entry.period_at(moment)
    requests = read_trace(trace) if isinstance(trace, (str, Path)) else trace
    ttl_ms = None if ttl_seconds is None else ttl_seconds * 1000
    cache: OrderedDict[int, int] = OrderedDict()  # block id -> last use (ms); oldest first
    # Token sums per rate set: a request's tier depends on its own prompt size, and cost is
    # linear in tokens, so summing per rate set and pricing once is exact.
    sums: dict[int, list[int]] = {}
    rates_by_key = {}
    n = total_in = total_read = total_out = last_ms = 0
    for req in requests:
        now = req.timestamp_ms
        if now < last_ms:
            raise DashboardError(
                f"trace request {n + 1} at {now} ms comes after one at {last_ms} ms; "
                "sort the trace by timestamp first"
            )
        last_ms = now
        if ttl_ms is not None:
            # Last use is increasing along the LRU order, so expired entries are all at the front.
            while cache and now - next(iter(cache.values())) >= ttl_ms:
                cache.popitem(last=False)
        hits = 0
        for block in req.hash_ids:
            if block not in cache:
                break
            hits += 1
        cached = min(hits * BLOCK_TOKENS, req.input_length)
        for block in reversed(req.hash_ids):
            cache[block] = now
            cache.move_to_end(block)
        if capacity_blocks is not None:
            while len(cache) > capacity_blocks:
                cache.popitem(last=False)
        rates, _, _ = period.select(moment, req.input_length)
        key = id(rates)
        rates_by_key[key] = rates
        acc = sums.setdefault(key, [0, 0, 0])
        acc[0] += req.input_length - cached
        acc[1] += cached
        acc[2] += req.output_length
        n += 1
        total_in += req.input_length
        total_read += cached
        total_out += req.output_length
    cost = no_cache = Decimal(0)
    for key, (uncached, read, out) in sums.items():
        rates = rates_by_key[key]
        cost += sum(
            bucket_costs(Usage(input_tokens=uncached, cache_read_tokens=read, output_tokens=out), rates)
        )
        no_cache += sum(bucket_costs(Usage(input_tokens=uncached + read, output_tokens=out), rates))
    return CacheSimulation(
        route=entry.route,
        capacity_blocks=capacity_blocks,
        ttl_seconds=ttl_seconds,
        requests=n,
        input_tokens=total_in,
        cache_read_tokens=total_read,
        output_tokens=total_out,
        hit_rate=metrics.cache_hit_rate(total_read, total_in) or Decimal(0),
        cost_usd=cost,
        no_cache_cost_usd=no_cache,
    )
