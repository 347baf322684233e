"""Experiments built from live calls: a cache probe, a sample run, a side-by-side comparison.

Failures are data here: a failed call is kept as its `CallResult` (status, kind, message)
and counted, never raised, so one 429 does not lose the other 99 measurements. Latency
and TTFT percentiles are over the calls that succeeded; money is Decimal and a call with
an unknown price is counted as unpriced rather than as zero.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from time import perf_counter
from typing import Any

import httpx

from dashboard import metrics
from dashboard.errors import LiveCallError
from dashboard.live.client import CallFailed, CallResult, ChatRequest, Endpoint, acall_chat, call_chat
from pricing import Catalog

__all__ = [
    "CacheProbe",
    "Comparison",
    "Percentiles",
    "SampleReport",
    "Target",
    "cache_probe",
    "compare",
    "percentile",
    "sample_run",
    "summarize",
]

Progress = Callable[[int, int, CallResult], None]  # (calls done, calls planned, the latest call)
DAYS_PER_MONTH = 30
# After these a repeat of the same call cannot succeed, so a probe stops.
FATAL_KINDS = frozenset({"auth", "not_found", "connect", "connect_timeout", "client_error"})


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), interpolating linearly between ranks; None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles | None:
        if not values:
            return None
        return cls(*(percentile(values, q) or 0.0 for q in (50, 95, 99)))


@dataclass(frozen=True)
class SampleReport:
    results: tuple[CallResult, ...]
    wall_ms: float
    latency_ms: Percentiles | None
    ttft_ms: Percentiles | None
    output_tokens_per_s: float | None  # mean over successful calls that reported output
    errors_by_kind: dict[str, int]
    priced_calls: int
    unpriced_calls: int  # succeeded, but no usage or no price: cost unknown
    total_cost_usd: Decimal | None  # over priced calls; None when none could be priced
    mean_cost_usd: Decimal | None
    requests_per_day: int | None
    monthly_cost_usd: Decimal | None  # mean cost per request x requests per day x 30

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    @property
    def ok(self) -> bool:
        return self.errors == 0


def summarize(
    results: Sequence[CallResult], requests_per_day: int | None = None, wall_ms: float = 0.0
) -> SampleReport:
    good = [r for r in results if r.ok]
    priced = [r.cost_usd for r in good if r.cost_usd is not None]
    total = sum(priced, Decimal(0)) if priced else None
    mean = total / len(priced) if total is not None else None
    monthly = None
    if total is not None and requests_per_day is not None:
        # Multiply before dividing, so the figure is exact whenever the mean is.
        monthly = total * requests_per_day * DAYS_PER_MONTH / len(priced)
    rates = [r.output_tokens_per_s for r in good if r.output_tokens_per_s is not None]
    return SampleReport(
        results=tuple(results),
        wall_ms=wall_ms,
        latency_ms=Percentiles.of([r.latency_ms for r in good if r.latency_ms is not None]),
        ttft_ms=Percentiles.of([r.ttft_ms for r in good if r.ttft_ms is not None]),
        output_tokens_per_s=sum(rates) / len(rates) if rates else None,
        errors_by_kind=dict(Counter(r.error_kind or "error" for r in results if not r.ok)),
        priced_calls=len(priced),
        unpriced_calls=len(good) - len(priced),
        total_cost_usd=total,
        mean_cost_usd=mean,
        requests_per_day=requests_per_day,
        monthly_cost_usd=monthly,
    )


async def sample_run(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    request: ChatRequest,
    *,
    n: int,
    concurrency: int = 1,
    on_progress: Progress | None = None,
    requests_per_day: int | None = None,
    catalog: Catalog | None = None,
) -> SampleReport:
    """`n` calls of the same request, at most `concurrency` in flight; results in submission order."""
    if n < 1 or concurrency < 1:
        raise LiveCallError(
            f"a sample run needs n >= 1 and concurrency >= 1, got n={n}, concurrency={concurrency}"
        )
    gate = asyncio.Semaphore(concurrency)
    results: list[CallResult | None] = [None] * n
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        async with gate:
            try:
                result = await acall_chat(client, endpoint, request, catalog=catalog)
            except CallFailed as e:
                result = e.result
        results[i] = result
        done += 1
        if on_progress:
            on_progress(done, n, result)

    t0 = perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return summarize([r for r in results if r is not None], requests_per_day, (perf_counter() - t0) * 1000)


# ------------------------------------------------------------------------ cache probe


@dataclass(frozen=True)
class CacheProbe:
    """The same prefix sent again and again: how much of it the endpoint serves from cache."""

    results: tuple[CallResult, ...]

    @property
    def cached_tokens(self) -> list[int | None]:
        return [r.cached_tokens for r in self.results]

    @property
    def hit_rate(self) -> float | None:
        """Token-weighted over the calls with usage (never an average of per-call ratios)."""
        usages = [r.usage for r in self.results if r.usage]
        rate = metrics.cache_hit_rate(sum(u.cache_read_tokens for u in usages), sum(u.prompt_tokens for u in usages))
        return None if rate is None else float(rate)

    @property
    def total_cost_usd(self) -> Decimal | None:
        costs = [r.cost_usd for r in self.results if r.cost_usd is not None]
        return sum(costs, Decimal(0)) if costs else None

    def rows(self) -> list[dict[str, Any]]:
        """One display row per call."""
        return [
            {
                "call": i + 1,
                "status": r.status,
                "prompt_tokens": r.prompt_tokens,
                "cached_tokens": r.cached_tokens,
                "hit_rate": r.cache_hit_rate,
                "cost_usd": r.cost_usd,
                "latency_ms": r.latency_ms,
                "error": r.error or r.cost_error,
            }
            for i, r in enumerate(self.results)
        ]


def probe_endings(n: int) -> list[str]:
    return [f"\n\nQuestion {i + 1} of {n}: answer with one word. Which number is this?" for i in range(n)]


def cache_probe(
    client: httpx.Client,
    endpoint: Endpoint,
    request: ChatRequest,
    prefix: str,
    *,
    n: int = 4,
    endings: Sequence[str] | None = None,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> CacheProbe:
    """Send `prefix + ending` as the last user message, one call after another (a cache needs order).

    `request` gives the model and settings; its last message is replaced by the probe text
    (earlier messages, such as a system prompt, are kept as part of the prefix).
    """
    endings = list(endings) if endings is not None else probe_endings(n)
    if not endings:
        raise LiveCallError("a cache probe needs at least one call (n >= 1)")
    head = list(request.messages[:-1])
    results: list[CallResult] = []
    for i, ending in enumerate(endings):
        probe = replace(request, messages=[*head, {"role": "user", "content": prefix + ending}])
        try:
            result = call_chat(client, endpoint, probe, catalog=catalog)
        except CallFailed as e:
            result = e.result
        results.append(result)
        if on_progress:
            on_progress(i + 1, len(endings), result)
        if result.error_kind in FATAL_KINDS:
            break
    return CacheProbe(tuple(results))


# ------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class Target:
    """One side of a comparison: a label, where to call, and the model id on that route."""

    label: str
    endpoint: Endpoint
    model: str


@dataclass(frozen=True)
class Comparison:
    target: Target
    report: SampleReport

    def row(self) -> dict[str, Any]:
        r = self.report
        return {
            "label": self.target.label,
            "base_url": self.target.endpoint.base_url,
            "model": self.target.model,
            "calls": len(r.results),
            "errors": r.errors,
            "p50_latency_ms": r.latency_ms.p50 if r.latency_ms else None,
            "p50_ttft_ms": r.ttft_ms.p50 if r.ttft_ms else None,
            "output_tokens_per_s": r.output_tokens_per_s,
            "mean_cost_usd": r.mean_cost_usd,
            "monthly_cost_usd": r.monthly_cost_usd,
        }


async def compare(
    client: httpx.AsyncClient,
    targets: Sequence[Target],
    request: ChatRequest,
    *,
    n: int = 1,
    concurrency: int = 1,
    on_progress: Progress | None = None,
    requests_per_day: int | None = None,
    catalog: Catalog | None = None,
) -> list[Comparison]:
    """The same request (model swapped per target) against every target, all targets at once."""
    labels = [t.label for t in targets]
    if len(targets) < 2 or len(set(labels)) != len(labels):
        raise LiveCallError(f"a comparison needs two or more targets with distinct labels, got {labels!r}")
    planned, done = n * len(targets), 0

    def progress(_done: int, _total: int, result: CallResult) -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, planned, result)

    reports = await asyncio.gather(
        *(
            sample_run(
                client,
                t.endpoint,
                replace(request, model=t.model),
                n=n,
                concurrency=concurrency,
                on_progress=progress,
                requests_per_day=requests_per_day,
                catalog=catalog,
            )
            for t in targets
        )
    )
    return [Comparison(t, rep) for t, rep in zip(targets, reports, strict=True)]
