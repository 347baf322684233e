"""A run's figures per target, computed once here for the page, the CLI and the stored runs.

Per target: tests, runs and passes; the pass rate with its 95% Wilson interval; p50 and p95
latency and TTFT over the calls that succeeded; tokens per bucket; the exact cost of the
priced calls and the cost per passed task (that cost over the passes, to 12 decimal places;
None when nothing passed); errors by kind. Between two targets: the difference in pass rate with Newcomb's
95% interval. `run_json` is the CLI's `--json` object; `side_by_side` the table the page
and the CLI's text both show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import combinations
from typing import Any

from dashboard import metrics
from dashboard.charts import format as fmt
from dashboard.evaluate.assertions import failures_text
from dashboard.evaluate.runner import EvalResult, EvalRun
from dashboard.evaluate.stats import Difference, compare_rates, wilson
from dashboard.live.experiments import percentile
from pricing import money_str

__all__ = [
    "TargetSummary",
    "differences",
    "failures",
    "measured_tokens",
    "per_pass",
    "regressions",
    "result_json",
    "run_json",
    "side_by_side",
    "summarize",
]


@dataclass(frozen=True)
class TargetSummary:
    target: str
    base_url: str
    tests: int
    runs: int
    passed: int
    pass_rate: float | None
    pass_rate_lo95: float | None
    pass_rate_hi95: float | None
    errors: dict[str, int]  # failed calls by kind
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p50_ttft_ms: float | None
    p95_ttft_ms: float | None
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_usd: Decimal | None  # over the priced runs; None when none was priced
    unpriced_runs: int  # succeeded, but usage or price unknown
    cost_per_pass_usd: Decimal | None

    def as_json(self) -> dict[str, Any]:
        def ms(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {
            "target": self.target,
            "base_url": self.base_url,
            "tests": self.tests,
            "runs": self.runs,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "pass_rate_lo95": self.pass_rate_lo95,
            "pass_rate_hi95": self.pass_rate_hi95,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(sorted(self.errors.items())),
            "p50_latency_ms": ms(self.p50_latency_ms),
            "p95_latency_ms": ms(self.p95_latency_ms),
            "p50_ttft_ms": ms(self.p50_ttft_ms),
            "p95_ttft_ms": ms(self.p95_ttft_ms),
            "input_tokens": self.input_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": None if self.cost_usd is None else money_str(self.cost_usd),
            "unpriced_runs": self.unpriced_runs,
            "cost_per_pass_usd": None if self.cost_per_pass_usd is None else money_str(self.cost_per_pass_usd),
        }


MONEY_PLACES = Decimal("1e-12")  # the warehouse's money scale, DECIMAL(38, 12)


def per_pass(cost_usd: Decimal | None, passed: int) -> Decimal | None:
    """Cost per passed task, rounded half-even to 12 decimal places; None when nothing passed."""
    if cost_usd is None or not passed:
        return None
    return (cost_usd / passed).quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


def _rates(passed: int, runs: int) -> dict[str, float | None]:
    interval = wilson(passed, runs)
    return {"pass_rate": passed / runs if runs else None,
            "pass_rate_lo95": interval[0] if interval else None,
            "pass_rate_hi95": interval[1] if interval else None}


def _times(good: Sequence[EvalResult]) -> dict[str, float | None]:
    latency = [r.latency_ms for r in good if r.latency_ms is not None]
    ttft = [r.ttft_ms for r in good if r.ttft_ms is not None]
    return {"p50_latency_ms": percentile(latency, 50), "p95_latency_ms": percentile(latency, 95),
            "p50_ttft_ms": percentile(ttft, 50), "p95_ttft_ms": percentile(ttft, 95)}


def _summary(label: str, base_url: str, tests: int, results: Sequence[EvalResult]) -> TargetSummary:
    runs, passed = len(results), sum(r.passed for r in results)
    good = [r for r in results if r.ok]
    priced = [r.cost_usd for r in good if r.cost_usd is not None]
    cost = sum(priced, Decimal(0)) if priced else None
    return TargetSummary(
        target=label,
        base_url=base_url,
        tests=tests,
        runs=runs,
        passed=passed,
        **_rates(passed, runs),
        errors=dict(Counter(r.error_kind or "error" for r in results if not r.ok)),
        **_times(good),
        input_tokens=sum(r.input_tokens for r in good),
        cache_read_tokens=sum(r.cache_read_tokens for r in good),
        cache_write_tokens=sum(r.cache_write_tokens for r in good),
        output_tokens=sum(r.output_tokens for r in good),
        reasoning_tokens=sum(r.reasoning_tokens for r in good),
        cost_usd=cost,
        unpriced_runs=len(good) - len(priced),
        cost_per_pass_usd=per_pass(cost, passed),
    )


def summarize(run: EvalRun) -> list[TargetSummary]:
    """One summary per target, in the run's target order."""
    return [_summary(label, url, run.tests, [r for r in run.results if r.target == label])
            for label, url in run.targets]


def differences(summaries: Sequence[TargetSummary]) -> list[Difference]:
    """Every pair of targets whose runs can be compared, the first named minus the second."""
    out = []
    for a, b in combinations(summaries, 2):
        d = compare_rates(a.target, a.passed, a.runs, b.target, b.passed, b.runs)
        if d is not None:
            out.append(d)
    return out


def result_json(r: EvalResult) -> dict[str, Any]:
    return {
        "target": r.target,
        "test": r.test,
        "prompt": r.prompt_index + 1,
        "repeat": r.repeat,
        "passed": r.passed,
        "failed_asserts": [dict(f) for f in r.failed_asserts],
        "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 1),
        "ttft_ms": None if r.ttft_ms is None else round(r.ttft_ms, 1),
        "cost_usd": None if r.cost_usd is None else money_str(r.cost_usd),
        "error_kind": r.error_kind,
        "error": r.error,
    }


def run_json(run: EvalRun) -> dict[str, Any]:
    """The CLI's --json object (and the page's JSON download)."""
    summaries = summarize(run)
    return {
        "run_id": run.run_id,
        "suite": run.suite_name,
        "suite_sha256": run.suite_sha256,
        "repeat": run.repeat,
        "targets": [s.as_json() for s in summaries],
        "differences": [
            {"a": d.a, "b": d.b, "diff": d.diff, "lo95": d.lo95, "hi95": d.hi95, "significant": d.significant,
             "runs_needed": d.needed}
            for d in differences(summaries)
        ],
        "results": [result_json(r) for r in run.results],
    }


# ------------------------------------------------------------------ display


def _ms(p50: float | None, p95: float | None) -> str:
    return "—" if p50 is None or p95 is None else f"{p50:,.0f} / {p95:,.0f} ms"


def _rate(s: TargetSummary) -> str:
    if s.pass_rate is None or s.pass_rate_lo95 is None or s.pass_rate_hi95 is None:
        return "—"
    return f"{s.pass_rate * 100:.1f}% ({s.pass_rate_lo95 * 100:.1f}–{s.pass_rate_hi95 * 100:.1f}%)"


def side_by_side(summaries: Sequence[TargetSummary]) -> list[dict[str, str]]:
    """The comparison table: one row per figure, one column per target (money exact, as text)."""
    figures: list[tuple[str, Any]] = [
        ("Tests", lambda s: f"{s.tests:,}"),
        ("Runs", lambda s: f"{s.runs:,}"),
        ("Passed", lambda s: f"{s.passed:,}"),
        ("Pass rate (95% CI)", _rate),
        ("Latency p50 / p95", lambda s: _ms(s.p50_latency_ms, s.p95_latency_ms)),
        ("TTFT p50 / p95", lambda s: _ms(s.p50_ttft_ms, s.p95_ttft_ms)),
        ("Input tokens", lambda s: f"{s.input_tokens:,}"),
        ("Cache read tokens", lambda s: f"{s.cache_read_tokens:,}"),
        ("Cache write tokens", lambda s: f"{s.cache_write_tokens:,}"),
        ("Output tokens", lambda s: f"{s.output_tokens:,}"),
        ("Cost", lambda s: fmt.usd(s.cost_usd, exact=True)
         + (f" ({s.unpriced_runs} unpriced)" if s.unpriced_runs else "")),
        ("Cost per passed task", lambda s: fmt.usd(s.cost_per_pass_usd, exact=True)),
        ("Errors", lambda s: ", ".join(f"{k}: {n}" for k, n in sorted(s.errors.items())) or "none"),
    ]
    return [{"": name, **{s.target: fn(s) for s in summaries}} for name, fn in figures]


def failures(run: EvalRun) -> list[dict[str, Any]]:
    """One row per failed run: the target, the test, and each failed assertion (or the call's error)."""
    rows = []
    for r in run.results:
        if r.passed:
            continue
        if not r.ok:
            rows.append({"target": r.target, "test": str(r.test), "prompt": r.prompt_index + 1, "repeat": r.repeat,
                         "assertion": f"call failed ({r.error_kind})", "expected": "", "got": r.error or ""})
        for f in r.failed_asserts:
            rows.append({"target": r.target, "test": str(r.test), "prompt": r.prompt_index + 1, "repeat": r.repeat,
                         "assertion": f["type"], "expected": f["expected"], "got": f["got"]})
    return rows


def measured_tokens(run: EvalRun, target: str) -> dict[str, Decimal] | None:
    """Mean tokens per task on `target` over its successful runs, in the planner's terms; None without any."""
    good = [r for r in run.results if r.target == target and r.ok]
    if not good:
        return None
    prompt = sum(r.prompt_tokens for r in good)
    output = sum(r.output_tokens for r in good)
    n = Decimal(len(good))
    return {
        "input_tokens": prompt / n,
        "output_tokens": output / n,
        "cache_hit_rate": metrics.cache_hit_rate(sum(r.cache_read_tokens for r in good), prompt) or Decimal(0),
        "cache_write_share": Decimal(sum(r.cache_write_tokens for r in good)) / prompt if prompt else Decimal(0),
        "reasoning_share": Decimal(sum(r.reasoning_tokens for r in good)) / output if output else Decimal(0),
    }


def regressions(before: EvalRun, after: EvalRun) -> list[dict[str, Any]]:
    """Tests that passed every run before and fail now, per target both runs share.

    Cases are matched by target, test and prompt; a test counts as passed when all its repeats
    passed. Runs of a different suite (another hash) still match by test index and name.
    """
    def status(run: EvalRun) -> dict[tuple[str, int, int], tuple[str, bool, EvalResult]]:
        out: dict[tuple[str, int, int], tuple[str, bool, EvalResult]] = {}
        for r in run.results:
            key = r.case_key
            name, ok, first_bad = out.get(key, (str(r.test), True, r))
            if not r.passed and ok:
                first_bad = r
            out[key] = (name, ok and r.passed, first_bad)
        return out

    old, new = status(before), status(after)
    rows = []
    for key, (name, ok_now, bad) in new.items():
        was = old.get(key)
        if was is None or was[0] != name or not was[1] or ok_now:
            continue
        why = bad.error or failures_text(bad.failed_asserts)
        rows.append({"target": key[0], "test": name, "prompt": key[2] + 1, "before": "pass", "now": "fail",
                     "why": why})
    return rows
