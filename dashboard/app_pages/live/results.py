"""The Live calls page's results as display rows (no Streamlit here).

Money stays Decimal: `format.usd(..., exact=True)` writes every digit, and a cost that cannot be known is
said in words ("usage not reported", "price unknown: ..."), never as $0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.charts import format as fmt
from dashboard.live.client import CallResult
from dashboard.live.experiments import Comparison, SampleReport


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
