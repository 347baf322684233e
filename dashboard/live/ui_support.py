"""What the Live calls page needs besides widgets: the key's source, the endpoint and request
from form values, the runs themselves, and results as display rows (no Streamlit here).

The key is one the server names (dashboard/live/keys.py: a preset's variable or a
`[live_keys.NAME]` secret, each sent only to its own base URL) or one pasted for this browser
session; it is wrapped in `ApiKey` and handed to an `Endpoint`, and nothing here returns or
formats its text. No value from the page names an environment variable or a secret.

Money stays Decimal: `format.usd(..., exact=True)` writes every digit, and a cost that
cannot be known is said in words ("usage not reported", "price unknown: ..."), never as $0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from dashboard import metrics
from dashboard.charts import format as fmt
from dashboard.errors import LiveCallError
from dashboard.live.client import ApiKey, CallFailed, CallResult, ChatRequest, Endpoint, call_chat, check_base_url
from dashboard.live.experiments import (
    CacheProbe,
    Comparison,
    Progress,
    SampleReport,
    Target,
    cache_probe,
    compare,
    sample_run,
)
from dashboard.live.keys import NamedKey
from dashboard.live.presets import PRESETS, Preset
from pricing import Catalog

__all__ = [
    "NO_KEY",
    "PLANNER_KEY",
    "TYPED_KEY",
    "KeyChoice",
    "build_endpoint",
    "build_request",
    "call_rows",
    "compare_rows",
    "cost_rows",
    "cost_text",
    "facts",
    "other_targets",
    "parse_messages",
    "planner_inputs",
    "planner_widget_values",
    "preset_by_name",
    "probe_prefix",
    "run_compare",
    "run_probe",
    "run_sample",
    "run_single",
    "sample_rows",
]

# Where the sample run leaves its figures for the Forecast page's planner (see `planner_inputs`).
PLANNER_KEY = "planner_from_live"
TYPED_KEY, NO_KEY = "typed", "none"  # the key choices that are not a named key


def probe_prefix(facts: int = 120) -> str:
    """A long, fixed text to share across probe calls: well past the 1,024 tokens most caches need."""
    words = ("amber", "cobalt", "linen", "quartz")
    lines = [f"Fact {i}: the code word for shelf {i} is {words[i % 4]}-{i * 7 % 97}." for i in range(1, facts + 1)]
    return "You are a careful archivist. Read these facts once; questions follow.\n" + "\n".join(lines)


def preset_by_name(name: str) -> Preset:
    return next((p for p in PRESETS if p.name == name), PRESETS[0])


@dataclass(frozen=True)
class KeyChoice:
    """Which key a call carries: a named key (`name`), the one pasted in this session, or none.

    As a widget value it is `option`: "key:NAME", "typed" or "none".
    """

    source: str  # "named", TYPED_KEY or NO_KEY
    name: str | None = None

    @classmethod
    def of(cls, option: str | None) -> KeyChoice:
        option = option or NO_KEY
        if option.startswith("key:"):
            return cls("named", option[4:])
        return cls(option if option in (TYPED_KEY, NO_KEY) else NO_KEY)

    @property
    def option(self) -> str:
        return f"key:{self.name}" if self.source == "named" else self.source

    def resolve(
        self, keys: Mapping[str, NamedKey], environ: Mapping[str, str], typed: str | None, base_url: str,
        shared: bool,
    ) -> ApiKey | None:
        """The key for a call to `base_url`, or None for "No key"; raises LiveCallError saying why not."""
        if self.source == NO_KEY:
            return None
        if self.source == TYPED_KEY:
            if not (typed or "").strip():
                raise LiveCallError("no API key was pasted; paste one in the key field, or pick another key")
            return ApiKey(typed or "")
        named = keys.get(self.name or "")
        if named is None:
            known = ", ".join(sorted(keys)) or "none"
            raise LiveCallError(f"no key named {self.name!r} is configured (known: {known}); pick one of "
                                "those, paste a key, or ask whoever runs the server to add it to "
                                "[live_keys] in .streamlit/secrets.toml")
        return named.api_key(environ, base_url, shared)

    def describe(self) -> str | None:
        if self.source == "named":
            return f"the configured key {self.name!r}"
        return "the pasted key" if self.source == TYPED_KEY else None


NO_KEY_FIX = "pick a configured key for this base URL, or paste a key of your own"


def build_endpoint(
    base_url: str,
    provider: str,
    choice: KeyChoice,
    keys: Mapping[str, NamedKey],
    environ: Mapping[str, str],
    typed: str | None = None,
    shared: bool = True,
) -> Endpoint:
    """An Endpoint from form values; raises LiveCallError for a refused URL or a key that may not go there."""
    check_base_url(base_url)
    key = choice.resolve(keys, environ, typed, base_url.strip(), shared)
    return Endpoint(base_url=base_url.strip(), api_key=key, provider=provider.strip() or None,
                    key_source=choice.describe() if key else None, key_fix=NO_KEY_FIX)


def parse_messages(text: str) -> list[dict[str, Any]]:
    """A JSON list of chat messages (or {"messages": [...]}), checked, with a fix in the error."""
    example = '[{"role": "user", "content": "Hi"}]'
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise LiveCallError(f"the messages are not JSON ({e}); write a list like {example}") from None
    messages = doc.get("messages") if isinstance(doc, dict) else doc
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
    ):
        raise LiveCallError(f"the messages must be a non-empty list of objects with a role, like {example}")
    return messages


def build_request(
    model: str,
    prompt: str | None,
    messages_json: str | None,
    max_tokens: int | None,
    temperature: float | None,
    stream: bool,
) -> ChatRequest:
    if not model.strip():
        raise LiveCallError("no model: enter the model id the endpoint serves, e.g. deepseek-v4-flash")
    if messages_json is not None:
        messages = parse_messages(messages_json)
    elif prompt and prompt.strip():
        messages = [{"role": "user", "content": prompt}]
    else:
        raise LiveCallError("the prompt is empty; write one")
    return ChatRequest(
        model=model.strip(), messages=messages, max_tokens=max_tokens, temperature=temperature, stream=stream
    )


def other_targets(
    rows: Sequence[Mapping[str, Any]],
    keys: Mapping[str, NamedKey],
    environ: Mapping[str, str],
    shared: bool = True,
) -> list[Target]:
    """Comparison targets from table rows (label, base_url, provider, model, key).

    `key` names a configured key (blank: no key); a blank base URL or provider is the key's own.
    """
    targets = []

    def text(row: Mapping[str, Any], name: str) -> str:
        value = row.get(name)  # an empty table cell may be None or NaN
        return value.strip() if isinstance(value, str) else ""

    for i, row in enumerate(rows, 1):
        label = text(row, "label") or f"target {i}"
        model = text(row, "model")
        if not model:
            raise LiveCallError(f"comparison row {label!r} has no model; enter the model id")
        if text(row, "key_env"):
            raise LiveCallError(f"comparison row {label!r}: keys are not read from environment variables named "
                                "on the page; name a configured key in the `key` column")
        name = text(row, "key")
        named = keys.get(name)
        try:
            endpoint = build_endpoint(
                text(row, "base_url") or (named.base_url if named else ""),
                text(row, "provider") or (named.provider or "" if named else ""),
                KeyChoice("named", name) if name else KeyChoice(NO_KEY),
                keys,
                environ,
                shared=shared,
            )
        except LiveCallError as e:
            raise LiveCallError(f"comparison row {label!r}: {e}") from None
        targets.append(Target(label, endpoint, model))
    return targets


# ------------------------------------------------------------------------ running


def run_single(endpoint: Endpoint, request: ChatRequest, catalog: Catalog | None = None) -> CallResult:
    """One call; a failure comes back as its recorded result (its `.error` says what happened)."""
    with httpx.Client() as client:
        try:
            return call_chat(client, endpoint, request, catalog=catalog)
        except CallFailed as e:
            return e.result


def run_probe(
    endpoint: Endpoint,
    request: ChatRequest,
    prefix: str,
    n: int,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> CacheProbe:
    with httpx.Client() as client:
        return cache_probe(client, endpoint, request, prefix, n=n, on_progress=on_progress, catalog=catalog)


def run_sample(
    endpoint: Endpoint,
    request: ChatRequest,
    n: int,
    concurrency: int,
    requests_per_day: int | None,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> SampleReport:
    async def go() -> SampleReport:
        async with httpx.AsyncClient() as client:
            return await sample_run(
                client, endpoint, request, n=n, concurrency=concurrency, on_progress=on_progress,
                requests_per_day=requests_per_day, catalog=catalog,
            )

    return asyncio.run(go())


def run_compare(
    targets: Sequence[Target],
    request: ChatRequest,
    n: int,
    requests_per_day: int | None,
    on_progress: Progress | None = None,
    catalog: Catalog | None = None,
) -> list[Comparison]:
    async def go() -> list[Comparison]:
        async with httpx.AsyncClient() as client:
            return await compare(
                client, targets, request, n=n, on_progress=on_progress, requests_per_day=requests_per_day,
                catalog=catalog,
            )

    return asyncio.run(go())


# ------------------------------------------------------------------------ display


def cost_text(result: CallResult) -> str:
    """The exact cost, or why it is unknown (never a silent $0)."""
    if result.cost is not None:
        return fmt.usd(result.cost.total_usd, exact=True)
    if not result.ok:
        return "no cost: the call failed"
    if result.usage is None:
        return result.usage_note or "usage not reported"
    return f"price unknown: {result.cost_error}"


def _num(value: float | None, digits: int = 0, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def facts(result: CallResult) -> list[tuple[str, str]]:
    """Label/value pairs for the call's headline figures."""
    u = result.usage
    return [
        ("Status", str(result.status)),
        ("Latency", _num(result.latency_ms, 0, " ms")),
        ("TTFT", _num(result.ttft_ms, 0, " ms")),
        ("Output tokens/s", _num(result.output_tokens_per_s, 1)),
        ("Prompt tokens", _num(u.prompt_tokens if u else None)),
        ("Cached tokens", _num(u.cache_read_tokens if u else None)),
        ("Completion tokens", _num(u.output_tokens if u else None)),
        ("Reasoning tokens", _num(u.reasoning_tokens if u else None)),
        ("Finish reason", result.finish_reason or "—"),
    ]


def cost_rows(result: CallResult) -> list[dict[str, str]]:
    """The cost per token bucket, exact, with the rate that priced it; empty when the cost is unknown."""
    c = result.cost
    if c is None:
        return []
    u, r = c.usage, c.rates
    buckets = [
        ("input (uncached)", u.input_tokens, r.input, c.input_usd),
        ("cache read", u.cache_read_tokens, r.cache_read, c.cache_read_usd),
        ("cache write", u.cache_write_tokens, r.cache_write, c.cache_write_usd),
        ("cache write (1 h)", u.cache_write_1h_tokens, r.cache_write_1h_effective, c.cache_write_1h_usd),
        ("output", u.output_tokens, r.output, c.output_usd),
    ]
    rows = [
        {"bucket": name, "tokens": f"{tokens:,}", "rate_per_mtok": fmt.usd(rate, exact=True),
         "cost_usd": fmt.usd(usd, exact=True)}
        for name, tokens, rate, usd in buckets
        if tokens or usd
    ]
    rows.append({"bucket": "total", "tokens": f"{u.total_tokens:,}", "rate_per_mtok": "",
                 "cost_usd": fmt.usd(c.total_usd, exact=True)})
    return rows


def call_rows(results: Sequence[CallResult]) -> list[dict[str, Any]]:
    """One row per call; cost as exact text plus a float column for charts only."""
    return [
        {
            "call": i + 1,
            "status": str(r.status),
            "prompt_tokens": r.prompt_tokens,
            "cached_tokens": r.cached_tokens,
            "hit_rate_pct": None if r.cache_hit_rate is None else round(r.cache_hit_rate * 100, 1),
            "cost": cost_text(r),
            "cost_usd_chart": None if r.cost_usd is None else float(r.cost_usd),
            "latency_ms": None if r.latency_ms is None else round(r.latency_ms),
            "error": r.error or "",
        }
        for i, r in enumerate(results)
    ]


def sample_rows(report: SampleReport) -> list[tuple[str, str]]:
    """Label/value pairs summing up a sample run."""
    def pcts(p: Any) -> str:
        return "—" if p is None else f"{p.p50:,.0f} / {p.p95:,.0f} / {p.p99:,.0f} ms"

    errors = ", ".join(f"{kind}: {n}" for kind, n in sorted(report.errors_by_kind.items())) or "none"
    rows = [
        ("Calls", f"{len(report.results)} in {report.wall_ms / 1000:,.2f} s"),
        ("Latency p50 / p95 / p99", pcts(report.latency_ms)),
        ("TTFT p50 / p95 / p99", pcts(report.ttft_ms)),
        ("Output tokens/s (mean)", _num(report.output_tokens_per_s, 1)),
        ("Errors", errors),
        ("Total cost",
         fmt.usd(report.total_cost_usd, exact=True) if report.priced_calls else "unknown (no priced call)"),
        ("Mean cost per call", fmt.usd(report.mean_cost_usd, exact=True)),
    ]
    if report.unpriced_calls:
        rows.append(("Unpriced calls", f"{report.unpriced_calls} (usage not reported or price unknown)"))
    if report.requests_per_day is not None:
        monthly = fmt.usd(report.monthly_cost_usd, exact=True) if report.monthly_cost_usd is not None else "unknown"
        rows.append((f"Monthly cost at {report.requests_per_day:,} requests/day (30 days)", monthly))
    return rows


def planner_inputs(report: SampleReport, provider: str | None, model: str) -> dict[str, Any]:
    """The run's traffic shape in the Forecast planner's terms (ScenarioInputs fields), Decimal where exact."""
    usages = [r.usage for r in report.results if r.ok and r.usage]
    if not usages:
        raise LiveCallError("the run has no call with usage to plan from; run it again against a working endpoint")
    prompt = sum(u.prompt_tokens for u in usages)
    output = sum(u.output_tokens for u in usages)
    return {
        "routes": (f"{provider}/{model}",) if provider else (),
        "model": model,
        "requests_per_day": report.requests_per_day,
        "input_tokens": Decimal(prompt) / len(usages),
        "output_tokens": Decimal(output) / len(usages),
        "cache_hit_rate": metrics.cache_hit_rate(sum(u.cache_read_tokens for u in usages), prompt) or Decimal(0),
        "reasoning_share": Decimal(sum(u.reasoning_tokens for u in usages)) / output if output else Decimal(0),
        "mean_cost_usd": report.mean_cost_usd,
        "monthly_cost_usd": report.monthly_cost_usd,
        "p50_latency_ms": report.latency_ms.p50 if report.latency_ms else None,
        "calls": len(report.results),
    }


def compare_rows(comparisons: Sequence[Comparison]) -> list[dict[str, Any]]:
    """One row per target, money as exact text."""
    rows = []
    for c in comparisons:
        row = c.row()
        for name in ("mean_cost_usd", "monthly_cost_usd"):
            row[name] = fmt.usd(row[name], exact=True) if row[name] is not None else "unknown"
        for name in ("p50_latency_ms", "p50_ttft_ms", "output_tokens_per_s"):
            row[name] = None if row[name] is None else round(row[name], 1)
        rows.append(row)
    return rows


def planner_widget_values(plan: Mapping[str, Any]) -> dict[str, Any]:
    """`planner_inputs` as the Forecast planner's own inputs (its session keys, which take floats), so
    its form opens on this run's traffic. Routes are left to the planner: its route list has a default."""
    values: dict[str, Any] = {
        "fc_mode": "Requests per day",
        "fc_in": float(plan["input_tokens"]),
        "fc_out": float(plan["output_tokens"]),
        "fc_hit": float(plan["cache_hit_rate"]),
        "fc_reason": float(plan["reasoning_share"]),
    }
    if plan["requests_per_day"] is not None:
        values["fc_rpd"] = float(plan["requests_per_day"])
    return values
