"""Sample runs, cache probes and comparisons against the loopback server."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from support.fake_server import FAKE_KEY, FakeOpenAI

from dashboard.errors import LiveCallError
from dashboard.live import (
    CallResult,
    ChatRequest,
    Endpoint,
    SampleReport,
    Target,
    cache_probe,
    compare,
    percentile,
    sample_run,
)
from dashboard.live.experiments import Comparison
from pricing import Catalog

IN, OUT, CACHE = Decimal("0.5"), Decimal("2.0"), Decimal("0.05")
PROMPT = "count these ten short words for me right now please"  # under 64 tokens: never cached


def endpoint(fake: FakeOpenAI, mode: str = "", **kw: Any) -> Endpoint:
    kw.setdefault("provider", "loopback")
    return Endpoint(fake.base_url(mode), api_key=FAKE_KEY, backoff_s=0.05, **kw)


def run(fake: FakeOpenAI, catalog: Catalog, mode: str = "", **kw: Any) -> SampleReport:
    stream = kw.pop("stream", True)
    ep = endpoint(fake, mode, max_attempts=kw.pop("max_attempts", 3))

    async def go() -> SampleReport:
        async with httpx.AsyncClient() as client:
            request = ChatRequest.from_prompt("fake-model", PROMPT, stream=stream)
            return await sample_run(client, ep, request, catalog=catalog, **kw)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 95, 48.0),
        ([3.0, 1.0, 2.0], 99, 2.98),
        ([], 50, None),
    ],
    ids=["one", "even-median", "p95", "unsorted-p99", "empty"],
)
def test_percentile_interpolates_between_ranks(values: list[float], q: float, expected: float | None) -> None:
    got = percentile(values, q)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.slow
def test_sample_run_bounds_concurrency_and_reports(fake: FakeOpenAI, catalog: Catalog) -> None:
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int, result: CallResult) -> None:
        seen.append((done, total))

    report = run(fake, catalog, "delay=0.15", n=6, concurrency=2, on_progress=progress, requests_per_day=1000)
    assert seen == [(i, 6) for i in range(1, 7)]
    assert fake.max_active == 2 and fake.count("delay=0.15") == 6
    assert report.ok and report.errors_by_kind == {} and len(report.results) == 6
    per_call = (10 * IN + 5 * OUT) / 1_000_000
    assert report.total_cost_usd == 6 * per_call
    assert report.mean_cost_usd == per_call
    assert report.monthly_cost_usd == per_call * 1000 * 30
    assert report.latency_ms is not None and report.ttft_ms is not None
    assert 150 <= report.ttft_ms.p50 <= report.ttft_ms.p95 <= report.ttft_ms.p99
    assert report.latency_ms.p50 >= report.ttft_ms.p50
    assert report.output_tokens_per_s is not None and report.output_tokens_per_s > 0
    assert report.wall_ms >= 3 * 150  # six calls, two at a time


def test_sample_run_counts_errors_by_kind(fake: FakeOpenAI, catalog: Catalog) -> None:
    report = run(fake, catalog, "status=500", n=3, concurrency=3, max_attempts=1)
    assert report.errors_by_kind == {"server_error": 3} and report.errors == 3 and not report.ok
    assert report.total_cost_usd is None and report.mean_cost_usd is None and report.latency_ms is None
    assert [r.status for r in report.results] == [500, 500, 500]


def test_sample_run_without_usage_is_unpriced(fake: FakeOpenAI, catalog: Catalog) -> None:
    report = run(fake, catalog, "nousage", n=2, requests_per_day=10)
    assert report.ok and report.unpriced_calls == 2 and report.priced_calls == 0
    assert report.total_cost_usd is None and report.monthly_cost_usd is None


def test_sample_run_rejects_nonsense(fake: FakeOpenAI, catalog: Catalog) -> None:
    with pytest.raises(LiveCallError, match="concurrency >= 1"):
        run(fake, catalog, n=2, concurrency=0)


def test_cache_probe_shows_cached_tokens_growing(fake: FakeOpenAI, catalog: Catalog) -> None:
    prefix = " ".join(f"p{i}" for i in range(300))
    request = ChatRequest(
        model="fake-model",
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "replaced"}],
    )
    endings = [f" question number {i} here" for i in range(4)]
    with httpx.Client() as client:
        probe = cache_probe(client, endpoint(fake), request, prefix, endings=endings, catalog=catalog)
    # system (3 words) + prefix (300) + "question number" are shared: 305 -> 4 blocks of 64.
    assert probe.cached_tokens == [0, 256, 256, 256]
    prompt = 3 + 300 + 4
    assert [r.prompt_tokens for r in probe.results] == [prompt] * 4
    first = (prompt * IN + 5 * OUT) / 1_000_000
    later = ((prompt - 256) * IN + 256 * CACHE + 5 * OUT) / 1_000_000
    assert [r.cost_usd for r in probe.results] == [first, later, later, later]
    assert probe.total_cost_usd == first + 3 * later
    assert probe.hit_rate == pytest.approx(3 * 256 / (4 * prompt))
    assert fake.hits[1].body is not None and fake.hits[1].body["messages"][0]["content"] == "You are terse."
    assert [row["cached_tokens"] for row in probe.rows()] == [0, 256, 256, 256]


def test_cache_probe_stops_on_a_rejected_key(fake: FakeOpenAI, catalog: Catalog) -> None:
    request = ChatRequest.from_prompt("fake-model", "x")
    with httpx.Client() as client:
        probe = cache_probe(client, endpoint(fake, "status=401"), request, "prefix", n=4, catalog=catalog)
    assert [r.error_kind for r in probe.results] == ["auth"] and fake.count("status=401") == 1


def test_compare_runs_each_target_side_by_side(fake: FakeOpenAI, catalog: Catalog) -> None:
    targets = [
        Target("loopback", endpoint(fake), "fake-model"),
        Target("ourtoken-slow", endpoint(fake, "delay=0.2", provider="ourtoken"), "deepseek-v4-flash"),
    ]
    done: list[int] = []

    async def go() -> list[Comparison]:
        async with httpx.AsyncClient() as client:
            request = ChatRequest.from_prompt("ignored", PROMPT, stream=True)
            return await compare(
                client, targets, request, n=2, on_progress=lambda d, t, r: done.append(d), catalog=catalog
            )

    fast, slow = asyncio.run(go())
    assert done == [1, 2, 3, 4]
    assert fast.row()["mean_cost_usd"] == (10 * IN + 5 * OUT) / 1_000_000
    assert slow.row()["mean_cost_usd"] == (10 * Decimal("0.112") + 5 * Decimal("0.224")) / 1_000_000
    assert slow.row()["p50_ttft_ms"] >= 200 > fast.row()["p50_ttft_ms"]
    assert {h.body["model"] for h in fake.hits if h.body} == {"fake-model", "deepseek-v4-flash"}


def test_compare_needs_two_distinct_targets(fake: FakeOpenAI, catalog: Catalog) -> None:
    t = Target("same", endpoint(fake), "fake-model")

    async def go() -> object:
        async with httpx.AsyncClient() as client:
            return await compare(client, [t, t], ChatRequest.from_prompt("m", "hi"), catalog=catalog)

    with pytest.raises(LiveCallError, match="distinct labels"):
        asyncio.run(go())
