"""The Evaluate page's results: the side-by-side table, significance, charts, failures, downloads,
the planner hand-off, and the regression view over stored runs."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import streamlit as st

from dashboard import exports
from dashboard.app_pages.forecasting.handoff import PLANNER_KEY, planner_widget_values
from dashboard.appdata import reads, store
from dashboard.charts import format as fmt
from dashboard.evaluate import EvalRun, differences, run_json, side_by_side, summarize
from dashboard.evaluate.figures import latency_chart, pass_rate_cost_chart, results_frame
from dashboard.evaluate.planning import planner_plan, planner_rows
from dashboard.evaluate.summary import failures, regressions


def show(run: EvalRun) -> None:
    summaries = summarize(run)
    st.subheader("Side by side")
    table = pd.DataFrame(side_by_side(summaries))
    st.dataframe(table, hide_index=True, height=35 * (len(table) + 1) + 3, key="eval_table")  # every row
    for d in differences(summaries):
        (st.success if d.significant else st.info)(d.verdict())
    left, right = st.columns(2)
    left.plotly_chart(pass_rate_cost_chart(summaries), theme="streamlit", key="eval_pass_cost")
    right.plotly_chart(latency_chart(summaries), theme="streamlit", key="eval_latency")
    failed = failures(run)
    with st.expander(f"Failed runs ({len({(f['target'], f['test'], f['repeat']) for f in failed})})"):
        st.dataframe(pd.DataFrame(failed), hide_index=True, key="eval_failures")
    a, b, _ = st.columns(3)
    a.download_button("Download results (CSV)", exports.to_csv(results_frame(run)), f"eval-{run.run_id}.csv",
                      "text/csv", key="eval_csv", on_click="ignore")
    b.download_button("Download results (JSON)", json.dumps(run_json(run), indent=2), f"eval-{run.run_id}.json",
                      "application/json", key="eval_json", on_click="ignore")


def planner(run: EvalRun) -> None:
    st.subheader("At scale")
    tasks = int(st.number_input("Tasks per day", min_value=1, value=1000, step=100, key="eval_tasks"))
    rows = planner_rows(run, tasks, store.catalog())
    st.dataframe(pd.DataFrame([{
        "target": r["target"],
        "tokens in / out per task": "—" if r["input_tokens_per_task"] is None else
        f"{r['input_tokens_per_task']:,.0f} / {r['output_tokens_per_task']:,.0f}",
        "cache hit": "—" if r["cache_hit_rate"] is None else fmt.pct(float(r["cache_hit_rate"])),
        f"a month at {tasks:,} tasks/day": fmt.usd(r["monthly_usd"]),
        f"a month at {tasks:,} passed tasks/day": fmt.usd(r["monthly_per_passed_usd"]),
    } for r in rows]), hide_index=True, key="eval_planner")
    st.caption("A month is 30 days at the rates in force now, with the measured tokens per task. "
               f"{fmt.ROUNDING_NOTE}")
    usable = [r["target"] for r in rows if r["input_tokens_per_task"] is not None]
    if usable:
        a, b = st.columns([2, 1])
        target = a.selectbox("Route for the Forecast planner", usable, key="eval_plan_target")
        if b.button("Use measured tokens in the planner", key="eval_to_planner"):
            plan = planner_plan(run, target, Decimal(tasks))
            st.session_state[PLANNER_KEY] = plan
            st.session_state.update(planner_widget_values(plan))
            st.success(f"The **Forecast** page's planner now starts from {tasks:,} tasks a day on {target} "
                       "with this run's tokens per task and cache hit rate.")


def history() -> None:
    runs = reads.eval_runs()
    if len(runs) < 2:
        st.caption("Two stored runs are needed for the regression view.")
        return
    labels = {r["run_id"]: f"{r['started_at']:%Y-%m-%d %H:%M} · {r['suite_name']} ({r['suite_sha256'][:8]}) · "
              f"{', '.join(r['targets'])} · {r['passed']}/{r['runs']} passed" for r in runs}
    a, b = st.columns(2)
    before = a.selectbox("Before", list(labels), index=1, format_func=labels.get, key="eval_before")
    after = b.selectbox("Now", list(labels), index=0, format_func=labels.get, key="eval_after")
    rows = regressions(reads.eval_run(before), reads.eval_run(after))
    if not rows:
        st.success("No test that passed before fails now.")
    else:
        st.warning(f"{len(rows)} test(s) passed before and fail now.")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="eval_regressions")
