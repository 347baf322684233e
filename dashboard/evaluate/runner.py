"""Running a suite against targets: every case, `repeat` times, on every target, at most
`concurrency` calls in flight, through the live client (streaming with usage, retries,
timeouts, the key's scrubbing).

A failed call is a failed run that keeps its error kind (auth, rate_limited, read_timeout,
server_error, malformed, ...): it is counted, never raised. Results come back in a fixed
order (target, case, repeat), whatever order the calls finished in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from dashboard import metrics
from dashboard.errors import LiveCallError, UsageError, mask_secrets
from dashboard.evaluate.assertions import Answer, calls_text, check, shorten
from dashboard.evaluate.suite import Case, Suite
from dashboard.live.client import CallFailed, CallResult, ChatRequest, acall_chat, check_base_url
from dashboard.live.experiments import Target
from pricing import Catalog, PricingError

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_REPEAT",
    "EvalResult",
    "EvalRun",
    "TargetSpec",
    "parse_target",
    "run_suite",
]

MAX_REPEAT = 100
MAX_CONCURRENCY = 64
OUTPUT_KEPT = 500  # characters of an answer a result keeps
Progress = Callable[[int, int], None]  # (runs done, runs planned)


@dataclass(frozen=True)
class TargetSpec:
    """`PROVIDER/MODEL=BASE_URL`: a route and model from the catalog, and where to call it."""

    provider: str
    model: str
    base_url: str

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_target(text: str, catalog: Catalog | None = None) -> TargetSpec:
    """Read `PROVIDER/MODEL=BASE_URL`, checking the route is priced and the URL may carry a key."""
    example = "ourtoken/deepseek-v4-flash=https://api.ourtoken.ai/v1"
    route, sep, base_url = text.strip().partition("=")
    provider, slash, model = route.strip().partition("/")
    if not sep or not slash or not provider.strip() or not model.strip() or not base_url.strip():
        raise UsageError(f"target {text!r} is not PROVIDER/MODEL=BASE_URL, e.g. {example}")
    provider, model, base_url = provider.strip(), model.strip(), base_url.strip()
    try:
        check_base_url(base_url)
    except LiveCallError as e:
        raise UsageError(f"target {text!r}: {e}") from None
    if catalog is not None:
        try:
            catalog.resolve(model, provider)
        except PricingError as e:
            raise UsageError(f"target {text!r}: {e}") from None
    return TargetSpec(provider, model, base_url)


@dataclass(frozen=True)
class EvalResult:
    """One run of one case on one target."""

    target: str
    base_url: str
    test_index: int
    test: str | int
    prompt_index: int
    repeat: int  # 1-based
    passed: bool
    failed_asserts: tuple[dict[str, str], ...] = ()
    latency_ms: float | None = None
    ttft_ms: float | None = None
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal | None = None
    cost_note: str | None = None  # why the cost is unknown (usage not reported, no price)
    error_kind: str | None = None
    error: str | None = None
    output: str = ""

    @property
    def ok(self) -> bool:
        """The call succeeded (its answer may still have failed an assertion)."""
        return self.error is None

    @property
    def prompt_tokens(self) -> int:
        # cache_write_tokens holds both write durations
        return metrics.prompt_tokens(self.input_tokens, self.cache_read_tokens, self.cache_write_tokens)

    @property
    def case_key(self) -> tuple[str, int, int]:
        return self.target, self.test_index, self.prompt_index


@dataclass(frozen=True)
class EvalRun:
    run_id: str
    started_at: datetime
    finished_at: datetime
    suite_name: str
    suite_sha256: str
    targets: tuple[tuple[str, str], ...]  # (label, base URL), in the order given
    repeat: int
    tests: int  # cases per target (tests x prompts)
    results: tuple[EvalResult, ...] = field(repr=False)


def _tokens(u: Any) -> dict[str, int]:
    """A call's tokens per bucket as EvalResult keeps them (both cache-write lengths in one), 0 without usage."""
    if u is None:
        return {}
    return {"input_tokens": u.input_tokens, "cache_read_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens + u.cache_write_1h_tokens,
            "output_tokens": u.output_tokens, "reasoning_tokens": u.reasoning_tokens}


def _result(target: Target, case: Case, repeat: int, r: CallResult) -> EvalResult:
    scrub = target.endpoint.scrub
    tool_calls = tuple(r.tool_calls)
    fields: dict[str, Any] = {
        "target": target.label,
        "base_url": mask_secrets(target.endpoint.base_url) or "",
        "test_index": case.test_index,
        "test": case.test,
        "prompt_index": case.prompt_index,
        "repeat": repeat,
        "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms,
    }
    if not r.ok:
        error = scrub(r.error or "failed")
        return EvalResult(passed=False, error_kind=r.error_kind or "error", error=shorten(error, 300), **fields)
    answer = Answer(
        content=r.content,
        tool_calls=tool_calls,
        latency_ms=r.latency_ms,
        cost_usd=r.cost_usd,
        cost_note=r.cost_error or r.usage_note,
        tools=case.tools,
    )
    failures = [f for f in (check(a, answer) for a in case.asserts) if f is not None]
    output = r.content or calls_text(tool_calls)
    return EvalResult(
        passed=not failures,
        failed_asserts=tuple({k: scrub(v) for k, v in f.as_dict().items()} for f in failures),
        **_tokens(r.usage),
        cost_usd=r.cost_usd,
        cost_note=None if r.cost is not None else scrub(r.cost_error or r.usage_note or "not priced"),
        output=shorten(scrub(output), OUTPUT_KEPT),
        **fields,
    )


async def arun_suite(
    client: httpx.AsyncClient,
    suite: Suite,
    targets: Sequence[Target],
    *,
    repeat: int = 1,
    concurrency: int = 4,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> EvalRun:
    """Every case `repeat` times on every target; see the module docstring."""
    labels = [t.label for t in targets]
    if not targets or len(set(labels)) != len(labels):
        raise UsageError(f"an evaluation needs one or more targets with distinct routes, got {labels!r}")
    if not 1 <= repeat <= MAX_REPEAT:
        raise UsageError(f"repeat must be from 1 to {MAX_REPEAT}, got {repeat}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"concurrency must be from 1 to {MAX_CONCURRENCY}, got {concurrency}")
    plan = [(t, c, k) for t in targets for c in suite.cases for k in range(1, repeat + 1)]
    results: list[EvalResult | None] = [None] * len(plan)
    gate = asyncio.Semaphore(concurrency)
    done = 0
    started = datetime.now(UTC)

    async def one(i: int) -> None:
        nonlocal done
        target, case, k = plan[i]
        request = ChatRequest(model=target.model, messages=case.messages, stream=True, tools=case.tools,
                              tool_choice=case.tool_choice)
        async with gate:
            try:
                call = await acall_chat(client, target.endpoint, request, catalog=catalog)
            except CallFailed as e:
                call = e.result
        results[i] = _result(target, case, k, call)
        done += 1
        if on_progress:
            on_progress(done, len(plan))

    await asyncio.gather(*(one(i) for i in range(len(plan))))
    return EvalRun(
        run_id=uuid.uuid4().hex,
        started_at=started,
        finished_at=datetime.now(UTC),
        suite_name=suite.name,
        suite_sha256=suite.sha256,
        targets=tuple((t.label, mask_secrets(t.endpoint.base_url) or "") for t in targets),
        repeat=repeat,
        tests=len(suite.cases),
        results=tuple(r for r in results if r is not None),
    )


def run_suite(
    suite: Suite,
    targets: Sequence[Target],
    *,
    repeat: int = 1,
    concurrency: int = 4,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> EvalRun:
    """`arun_suite` with a client of its own, for callers without an event loop (the CLI, the page)."""

    async def go() -> EvalRun:
        async with httpx.AsyncClient() as client:
            return await arun_suite(client, suite, targets, repeat=repeat, concurrency=concurrency,
                                    on_progress=on_progress, catalog=catalog)

    return asyncio.run(go())
