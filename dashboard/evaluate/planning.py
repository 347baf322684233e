"""Measured tokens per task into the launch-cost planner: N tasks a day on a route cost this much a month.

The traffic shape is the run's own (mean prompt and output tokens per successful run, its
cache hit, cache write and reasoning shares); the month is the planner's (`run_scenario`,
30 days, the rates in force now). To get N *passed* tasks a day a route needs N / pass rate
attempts, so its month costs the planned month x runs / passes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dashboard.evaluate.runner import EvalRun
from dashboard.evaluate.summary import measured_tokens, summarize
from dashboard.forecasts.scenario import ScenarioInputs, run_scenario
from pricing import Catalog

__all__ = ["planner_plan", "planner_rows"]


def planner_plan(run: EvalRun, target: str, tasks_per_day: Decimal | int) -> dict[str, Any] | None:
    """The target's measured traffic in the planner's terms (ScenarioInputs fields); None without a good run."""
    shape = measured_tokens(run, target)
    if shape is None:
        return None
    return {"routes": (target,), "requests_per_day": Decimal(tasks_per_day), **shape}


def planner_rows(run: EvalRun, tasks_per_day: Decimal | int, catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """Per target: tokens per task, and the month's cost at `tasks_per_day` tasks (and passed tasks) a day."""
    rows = []
    for s in summarize(run):
        plan = planner_plan(run, s.target, tasks_per_day)
        if plan is None:
            rows.append({"target": s.target, "input_tokens_per_task": None, "output_tokens_per_task": None,
                         "cache_hit_rate": None, "monthly_usd": None, "monthly_per_passed_usd": None})
            continue
        fields = {k: v for k, v in plan.items() if k != "routes"}
        month = run_scenario(ScenarioInputs(routes=plan["routes"], months=1, **fields), catalog=catalog)
        monthly = month.routes[0].months[0].total_usd
        rows.append({
            "target": s.target,
            "input_tokens_per_task": plan["input_tokens"],
            "output_tokens_per_task": plan["output_tokens"],
            "cache_hit_rate": plan["cache_hit_rate"],
            "monthly_usd": monthly,
            "monthly_per_passed_usd": monthly * s.runs / s.passed if s.passed else None,
        })
    return rows
