"""What a sample run on the Live calls page hands the Forecast planner: the run's traffic shape in
the planner's terms, kept in the session under PLANNER_KEY, and the planner's own widget values
(its `fc_*` session keys) that open its form on that traffic. No Streamlit here."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dashboard import metrics
from dashboard.errors import LiveCallError
from dashboard.live.experiments import SampleReport

PLANNER_KEY = "planner_from_live"


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
