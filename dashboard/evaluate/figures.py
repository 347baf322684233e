"""The Evaluate page's frames and charts (plotly figures from summaries; no Streamlit here).

Money stays Decimal in the frames (the CSV writer writes every digit); the charts take
floats, which are for drawing only.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.evaluate.assertions import failures_text
from dashboard.evaluate.runner import EvalRun
from dashboard.evaluate.summary import TargetSummary

__all__ = ["latency_chart", "pass_rate_cost_chart", "results_frame"]


def results_frame(run: EvalRun) -> pd.DataFrame:
    """One row per run of a case on a target, for the CSV download."""
    return pd.DataFrame([
        {
            "run_id": run.run_id,
            "target": r.target,
            "base_url": r.base_url,
            "test": str(r.test),
            "prompt": r.prompt_index + 1,
            "repeat": r.repeat,
            "passed": r.passed,
            "failed_asserts": failures_text(r.failed_asserts),
            "latency_ms": r.latency_ms,
            "ttft_ms": r.ttft_ms,
            "input_tokens": r.input_tokens,
            "cache_read_tokens": r.cache_read_tokens,
            "cache_write_tokens": r.cache_write_tokens,
            "output_tokens": r.output_tokens,
            "cost_usd": r.cost_usd,
            "error_kind": r.error_kind,
            "error": r.error,
        }
        for r in run.results
    ])


def pass_rate_cost_chart(summaries: Sequence[TargetSummary]) -> go.Figure:
    """Pass rate (with its 95% Wilson interval as error bars) against cost per passed task."""
    fig = go.Figure()
    for s in summaries:
        if s.pass_rate is None or s.cost_per_pass_usd is None:
            continue
        rate = s.pass_rate * 100
        fig.add_trace(go.Scatter(
            x=[float(s.cost_per_pass_usd)], y=[rate], mode="markers+text", name=s.target, text=[s.target],
            textposition="top center", marker={"size": 12},
            error_y={"type": "data", "symmetric": False, "array": [(s.pass_rate_hi95 or 0) * 100 - rate],
                     "arrayminus": [rate - (s.pass_rate_lo95 or 0) * 100]},
        ))
    fig.update_layout(title="Pass rate against cost per passed task", xaxis_title="cost per passed task (USD)",
                      yaxis_title="pass rate (%), 95% interval", yaxis_range=[-5, 105], showlegend=False,
                      height=380, margin={"t": 50, "b": 40})
    return fig


def latency_chart(summaries: Sequence[TargetSummary]) -> go.Figure:
    """p50 and p95 latency and TTFT per target."""
    names = [s.target for s in summaries]
    fig = go.Figure()
    for label, attr in (("latency p50", "p50_latency_ms"), ("latency p95", "p95_latency_ms"),
                        ("TTFT p50", "p50_ttft_ms"), ("TTFT p95", "p95_ttft_ms")):
        fig.add_trace(go.Bar(name=label, x=names, y=[getattr(s, attr) for s in summaries]))
    fig.update_layout(title="Latency over the calls that succeeded", yaxis_title="ms", barmode="group", height=380,
                      margin={"t": 50, "b": 40})
    return fig
