from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from forecast_helpers import MOONCAKE, needs_mooncake

from dashboard.errors import DashboardError
from dashboard.forecasts.cache_sim import TraceRequest, simulate_cache
from pricing import Catalog, default_catalog

M = 1_000_000


def req(t_ms: int, ids: list[int], input_length: int | None = None, output_length: int = 0) -> TraceRequest:
    return TraceRequest(
        t_ms, len(ids) * 512 if input_length is None else input_length, output_length, tuple(ids)
    )


def reads(trace: list[TraceRequest], catalog: Catalog, **kw: object) -> int:
    return simulate_cache(trace, route="acme/small", catalog=catalog, **kw).cache_read_tokens


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ([req(0, [1, 2, 3]), req(1, [1, 2, 4])], 2 * 512),
        ([req(0, [1, 2, 3]), req(1, [1, 9, 3])], 512),  # block 3 is cached but follows a miss
        ([req(0, [1, 2, 3]), req(1, [9, 2, 3])], 0),
        ([req(0, [1, 2]), req(1, [1, 2], input_length=700)], 700),  # partial last block
        ([req(0, [1, 1]), req(1, [1])], 512),  # the first request's repeat is not a hit: inserted after it
    ],
    ids=["shared-prefix", "prefix-ends-at-first-miss", "first-block-miss", "partial-block", "insert-after"],
)
def test_prefix_rule(trace: list[TraceRequest], expected: int, acme: Catalog) -> None:
    assert reads(trace, acme) == expected


def test_lru_capacity_evicts_least_recent(acme: Catalog) -> None:
    trace = [req(0, [1]), req(1, [2]), req(2, [3]), req(3, [1]), req(4, [3])]
    assert reads(trace, acme) == 2 * 512
    assert reads(trace, acme, capacity_blocks=3) == 2 * 512
    assert reads(trace, acme, capacity_blocks=2) == 512  # 1 was evicted by 3; 3 is still there
    assert reads(trace, acme, capacity_blocks=0) == 0


def test_full_cache_keeps_shared_prefixes_over_old_tails(acme: Catalog) -> None:
    # Blocks are touched last first, so the full cache drops block 3 (a tail), not block 1.
    trace = [req(0, [1, 2, 3]), req(1, [5]), req(2, [1, 2])]
    assert reads(trace, acme, capacity_blocks=3) == 2 * 512


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [(None, 512), (11, 512), (10, 0), (0, 0)],
    ids=["no-ttl", "ttl-11s", "ttl-10s-expired", "ttl-0"],
)
def test_ttl_expires_unused_entries(ttl: float | None, expected: int, acme: Catalog) -> None:
    assert reads([req(0, [1]), req(10_000, [1])], acme, ttl_seconds=ttl) == expected


def test_use_refreshes_ttl(acme: Catalog) -> None:
    trace = [req(0, [1]), req(8_000, [1]), req(16_000, [1])]
    assert reads(trace, acme, ttl_seconds=10) == 2 * 512


def test_cost_is_exact_and_tiered_per_request(acme: Catalog) -> None:
    trace = [
        req(0, [1, 2], input_length=1000, output_length=50),
        req(5, [1, 2, *range(10, 300)], input_length=150_000, output_length=70),
    ]
    sim = simulate_cache(trace, route="acme/small", catalog=acme)
    assert (sim.requests, sim.input_tokens, sim.cache_read_tokens) == (2, 151_000, 1024)
    assert sim.hit_rate == Decimal(1024) / Decimal(151_000)
    assert sim.cost_usd == (
        1000 * Decimal("0.5") / M
        + 50 * Decimal(2) / M  # first request: base rates, nothing cached
        + (150_000 - 1024) * Decimal(1) / M
        + 1024 * Decimal("0.1") / M
        + 70 * Decimal(4) / M  # tier
    )


def test_bad_lines_name_the_line(tmp_path: Path, acme: Catalog) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [1]}\n{oops\n')
    with pytest.raises(DashboardError, match=r"t\.jsonl:2: not valid JSON"):
        simulate_cache(path, route="acme/small", catalog=acme)
    path.write_text('{"timestamp": 0, "input_length": 1, "output_length": 1}\n')
    with pytest.raises(DashboardError, match=r"t\.jsonl:1: missing hash_ids"):
        simulate_cache(path, route="acme/small", catalog=acme)


def test_unsorted_trace_is_an_error(acme: Catalog) -> None:
    with pytest.raises(DashboardError, match="sort the trace by timestamp"):
        simulate_cache([req(5, [1]), req(1, [1])], route="acme/small", catalog=acme)


@pytest.mark.slow
@needs_mooncake
def test_mooncake_unbounded_hit_rate_is_37_4_percent() -> None:
    sim = simulate_cache(MOONCAKE)
    assert sim.requests == 12_031
    assert abs(sim.hit_rate * 100 - Decimal("37.4")) <= Decimal("0.1")
    rates = default_catalog().resolve("deepseek-v4-flash", "ourtoken").periods[-1].rates
    assert sim.cost_usd == (
        (sim.input_tokens - sim.cache_read_tokens) * rates.input / M
        + sim.cache_read_tokens * rates.cache_read / M
        + sim.output_tokens * rates.output / M
    )


@pytest.mark.slow
@needs_mooncake
def test_mooncake_hit_rate_falls_with_capacity() -> None:
    rates = [simulate_cache(MOONCAKE, capacity_blocks=c).hit_rate for c in (None, 30_000, 10_000, 2_000, 0)]
    assert rates == sorted(rates, reverse=True)
    assert rates[0] > rates[2] > rates[3] > rates[4] == 0


@pytest.mark.slow
@needs_mooncake
def test_mooncake_hit_rate_falls_with_ttl() -> None:
    rates = [simulate_cache(MOONCAKE, ttl_seconds=t).hit_rate for t in (None, 600, 60, 5, 0)]
    assert rates == sorted(rates, reverse=True)
    assert rates[0] > rates[1] > rates[2] > rates[3] > rates[4] == 0


def test_trace_file_lines_are_read_with_json(tmp_path: Path, acme: Catalog) -> None:
    path = tmp_path / "t.jsonl"
    lines = [
        {"timestamp": 0, "input_length": 600, "output_length": 3, "hash_ids": [7, 8]},
        {"timestamp": 10, "input_length": 1100, "output_length": 4, "hash_ids": [7, 8, 9]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    sim = simulate_cache(path, route="acme/small", catalog=acme)
    assert (sim.requests, sim.input_tokens, sim.cache_read_tokens, sim.output_tokens) == (2, 1700, 1024, 7)
