"""The four tabs of the Live calls page. Each runs on its button, records the calls, keeps the
outcome in the session (so it survives reruns) and draws it."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard.app_pages.forecasting.handoff import PLANNER_KEY, planner_inputs, planner_widget_values
from dashboard.app_pages.live import widgets as w
from dashboard.app_pages.live.forms import other_targets, probe_prefix
from dashboard.app_pages.live.results import call_rows, compare_rows, cost_rows, cost_text, facts, sample_rows
from dashboard.app_pages.live.runs import run_compare, run_probe, run_sample, run_single
from dashboard.appdata import store
from dashboard.charts import format as fmt
from dashboard.errors import LiveCallError
from dashboard.live import CallResult, ChatRequest, Endpoint, Target
from dashboard.live.presets import PRESETS


def _endpoint(settings: w.Settings) -> Endpoint | None:
    try:
        return settings.endpoint()
    except LiveCallError as e:
        st.error(str(e))
        return None


def _progress(bar):  # type: ignore[no-untyped-def]
    return lambda done, total, _result: bar.progress(done / total, text=f"Call {done} of {total}")


def _pairs(rows: list[tuple[str, str]]) -> None:
    st.dataframe(pd.DataFrame(rows, columns=["", "value"]), hide_index=True, width="stretch")


def show_call(result: CallResult) -> None:
    if not result.ok:
        st.error(result.error)
    figures = facts(result)
    for row in (figures[:5], figures[5:]):
        for col, (label, value) in zip(st.columns(5), row, strict=False):
            col.metric(label, value)
    money = cost_text(result)
    if result.cost is None and result.ok:
        st.warning(f"Cost: {money}")
    elif result.cost is None:
        st.caption(f"Cost: {money}")
    else:
        st.markdown(f"**Cost:** {money} (exact; about {fmt.usd(result.cost.total_usd)}), priced on "
                    f"`{result.cost.provider}/{result.cost.model}`")
        st.dataframe(cost_rows(result), hide_index=True)
    if result.content:
        st.markdown("**Reply**")
        st.text(result.content)
    if result.request_id_note:
        st.caption(f"Note: {result.request_id_note}.")
    with st.expander("Request sent"):
        st.json(result.redacted_request)


def single(settings: w.Settings, request: ChatRequest | None) -> None:
    if st.button("Send", type="primary", key="live_send", disabled=request is None) and request:
        endpoint = _endpoint(settings)
        if endpoint:
            with st.spinner("Calling…"):
                result = run_single(endpoint, request, store.warehouse().catalog)
            w.record([result])
            st.session_state["live_single_result"] = result
    if result := st.session_state.get("live_single_result"):
        show_call(result)


def probe(settings: w.Settings, request: ChatRequest | None) -> None:
    st.caption("Sends the same long prefix with a different ending, one call after another, and shows how much "
               "of it the endpoint serves from its cache. Uses the model and settings above.")
    prefix = st.text_area("Shared prefix", value=probe_prefix(), height=120, key="live_probe_prefix")
    n = int(st.number_input("Calls", min_value=2, max_value=20, value=4, key="live_probe_n"))
    if st.button("Run cache probe", key="live_probe_go", disabled=request is None) and request:
        endpoint = _endpoint(settings)
        if endpoint:
            bar = st.progress(0.0, text="Starting…")
            result = run_probe(endpoint, request, prefix, n, _progress(bar), store.warehouse().catalog)
            w.record(result.results)
            st.session_state["live_probe_result"] = result
    if not (result := st.session_state.get("live_probe_result")):
        return
    for error in dict.fromkeys(r.error for r in result.results if r.error):
        st.error(error)
    a, b = st.columns(2)
    a.metric("Cache hit rate (token-weighted)", fmt.pct(result.hit_rate))
    b.metric("Total cost", fmt.usd(result.total_cost_usd))
    frame = pd.DataFrame(call_rows(result.results))
    st.dataframe(frame.drop(columns="cost_usd_chart"), hide_index=True)
    left, mid, right = st.columns(3)
    left.bar_chart(frame, x="call", y="cached_tokens", y_label="cached tokens")
    mid.line_chart(frame, x="call", y="hit_rate_pct", y_label="cache hit rate (%)")
    right.bar_chart(frame, x="call", y="cost_usd_chart", y_label="cost per call (USD)")


def sample(settings: w.Settings, request: ChatRequest | None) -> None:
    a, b, c = st.columns(3)
    n = int(a.number_input("Calls (N)", min_value=1, max_value=1000, value=10, key="live_sample_n"))
    conc = int(b.number_input("Concurrency (C)", min_value=1, max_value=64, value=4, key="live_sample_c"))
    rpd = int(c.number_input("Requests per day (R)", min_value=1, value=1000, key="live_sample_rpd"))
    if st.button("Run sample", key="live_sample_go", disabled=request is None) and request:
        endpoint = _endpoint(settings)
        if endpoint:
            bar = st.progress(0.0, text="Starting…")
            report = run_sample(endpoint, request, n, conc, rpd, _progress(bar), store.warehouse().catalog)
            w.record(report.results)
            st.session_state["live_sample"] = (report, endpoint.provider, request.model)
    if not (saved := st.session_state.get("live_sample")):
        return
    report, provider, model = saved
    _pairs(sample_rows(report))
    with st.expander("Every call"):
        st.dataframe(pd.DataFrame(call_rows(report.results)).drop(columns="cost_usd_chart"), hide_index=True)
    if st.button("Use these numbers in the Forecast planner", key="live_to_planner"):
        try:
            plan = planner_inputs(report, provider, model)
            st.session_state[PLANNER_KEY] = plan
            st.session_state.update(planner_widget_values(plan))
            st.success("Saved: the **Forecast** page's planner now starts from this run's requests per day, "
                       f"tokens per request and cache hit rate (route {', '.join(plan['routes']) or 'unknown'}).")
        except LiveCallError as e:
            st.error(str(e))


def _default_targets() -> pd.DataFrame:
    p = PRESETS[1]
    return pd.DataFrame([{"label": p.name, "base_url": p.base_url, "provider": p.provider,
                          "model": p.default_model, "key": p.name if p.key_env else None}])


def comparison(settings: w.Settings, request: ChatRequest | None) -> None:
    st.caption("The request above against the endpoint above (“this endpoint”) and every row below, at once. "
               "A row's `key` names a key configured on the server (blank: no key); it is sent only to that key's "
               "own base URL, which a blank `base_url` takes.")
    rows = st.data_editor(_default_targets(), num_rows="dynamic", hide_index=True, key="live_compare_rows")
    n = int(st.number_input("Calls per endpoint", min_value=1, max_value=50, value=3, key="live_compare_n"))
    if st.button("Compare", key="live_compare_go", disabled=request is None) and request:
        endpoint = _endpoint(settings)
        try:
            targets = [Target("this endpoint", endpoint, request.model)] if endpoint else []
            targets += other_targets(rows.to_dict("records"), w.configured_keys()[0], os.environ, w.shared_mode())
        except LiveCallError as e:
            st.error(str(e))
            targets = []
        if endpoint and targets:
            bar = st.progress(0.0, text="Starting…")
            try:
                result = run_compare(targets, request, n, st.session_state.get("live_sample_rpd"), _progress(bar),
                                     store.warehouse().catalog)
            except LiveCallError as e:
                st.error(str(e))
            else:
                w.record([r for c in result for r in c.report.results])
                st.session_state["live_compare_result"] = result
    if not (result := st.session_state.get("live_compare_result")):
        return
    st.dataframe(compare_rows(result), hide_index=True)
    for col, c in zip(st.columns(len(result)), result, strict=True):
        col.markdown(f"**{c.target.label}** · `{c.target.model}`")
        first = next((r for r in c.report.results if r.ok), c.report.results[0])
        if first.error:
            col.error(first.error)
        else:
            col.text(first.content)
