"""The Planner tab: scenario inputs (or "use my traffic"), cost per route and month, the
cheapest route, a sensitivity tornado and an optional Monte Carlo on sampled history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import streamlit as st

from dashboard import cache, state
from dashboard.charts import forecast as charts
from dashboard.charts import format as fmt
from dashboard.charts import tables
from dashboard.errors import DashboardError
from dashboard.forecasts.scenario import ScenarioInputs, inputs_from_history, run_scenario, sensitivity
from pricing import PricingError

PREFERRED_ROUTES = ("ourtoken/deepseek-v4-flash", "deepseek/deepseek-v4-flash", "openai/gpt-5.4-mini")
DEFAULTS: dict[str, Any] = {
    "fc_mode": "Requests per day", "fc_rpd": 1000.0, "fc_users": 100.0, "fc_rpu": 10.0, "fc_growth": 0.0,
    "fc_months": 12, "fc_in": 2000.0, "fc_out": 500.0, "fc_hit": 0.0, "fc_write": 0.0, "fc_reason": 0.0,
}
SHARES = ("fc_hit", "fc_write", "fc_reason")


def default_routes(routes: list[str]) -> list[str]:
    return [r for r in PREFERRED_ROUTES if r in routes] or routes[:2]


def dec(value: float | int) -> Decimal:
    """A widget's float as the decimal it shows (0.1 -> Decimal('0.1'))."""
    return Decimal(str(value))


def _use_my_traffic(view: state.View, routes: tuple[str, ...]) -> None:
    """Button callback: fill the inputs from the filtered history (runs before the widgets are drawn)."""
    try:
        got = inputs_from_history(cache.traffic_history(view.filters), routes, months=int(st.session_state.fc_months))
    except DashboardError as e:
        st.session_state["fc_history_note"] = str(e)
        return
    st.session_state.update({
        "fc_mode": "Requests per day", "fc_rpd": float(got.requests_per_day), "fc_growth": float(got.growth_pct),
        "fc_in": float(got.input_tokens), "fc_out": float(got.output_tokens), "fc_hit": float(got.cache_hit_rate),
        "fc_write": float(got.cache_write_share), "fc_reason": float(got.reasoning_share),
        "fc_history_note": f"Filled from {view.label}: the last 30 days' means, growth fitted on the whole range.",
    })


def _inputs(view: state.View, routes: list[str]) -> ScenarioInputs | None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    chosen = st.multiselect("Routes", routes, default=default_routes(routes), key="fc_routes")
    st.button("Use my traffic", key="fc_use_history", on_click=_use_my_traffic,
              args=(view, tuple(chosen or routes[:1])),
              help="Fill the inputs from the history the sidebar selects.")
    if note := st.session_state.pop("fc_history_note", None):
        st.caption(note)
    a, b, c = st.columns(3)
    mode = a.radio("Traffic", ["Requests per day", "Users × requests per user"], key="fc_mode")
    if mode == "Requests per day":
        b.number_input("Requests per day (month 1)", min_value=0.0, step=100.0, key="fc_rpd")
    else:
        b.number_input("Users", min_value=0.0, step=10.0, key="fc_users")
        c.number_input("Requests per user per day", min_value=0.0, step=1.0, key="fc_rpu")
    a, b, c, d = st.columns(4)
    a.number_input("Growth, % per month", min_value=-99.9, step=5.0, key="fc_growth")
    b.number_input("Months", min_value=1, max_value=120, step=1, key="fc_months")
    c.number_input("Mean input tokens per request", min_value=0.0, step=100.0, key="fc_in",
                   help="Every prompt token, cached ones included.")
    d.number_input("Mean output tokens per request", min_value=0.0, step=50.0, key="fc_out",
                   help="Reasoning included.")
    a, b, c = st.columns(3)
    for col, key, label in zip((a, b, c), SHARES, ("Cache hit rate", "Cache write share", "Reasoning share"),
                               strict=True):
        col.number_input(label, min_value=0.0, max_value=1.0, step=0.05, format="%.4f", key=key)
    if not chosen:
        st.info("Choose at least one route.")
        return None
    s = st.session_state
    common = {
        "routes": tuple(chosen), "input_tokens": dec(s.fc_in), "output_tokens": dec(s.fc_out),
        "growth_pct": dec(s.fc_growth), "months": int(s.fc_months), "cache_hit_rate": dec(s.fc_hit),
        "cache_write_share": dec(s.fc_write), "reasoning_share": dec(s.fc_reason),
    }
    if mode == "Requests per day":
        return ScenarioInputs(requests_per_day=dec(s.fc_rpd), **common)
    return ScenarioInputs.for_users(dec(s.fc_users), dec(s.fc_rpu), **common)


def _monte_carlo(view: state.View, inputs: ScenarioInputs, cheapest: str) -> None:
    st.caption("Bootstraps per-request token counts sampled from the history the sidebar selects (at most 20,000 "
               "requests) and its daily request counts, with the growth above. Quantiles are costs a simulation had.")
    a, b, c = st.columns(3)
    route = a.selectbox("Route", inputs.routes, index=inputs.routes.index(cheapest), key="fc_mc_route")
    sims = b.number_input("Simulations", min_value=10, max_value=2000, value=200, step=50, key="fc_mc_sims")
    seed = c.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="fc_mc_seed")
    with st.spinner("Simulating…"):
        months = cache.monte_carlo(view.filters, route, inputs.months, inputs.growth_pct, int(sims), int(seed))
    st.plotly_chart(charts.monte_carlo_fan(months, route), theme="streamlit", key="fc_mc_chart")
    table = charts.monte_carlo_table(months)
    st.dataframe(tables.display(table), column_config=tables.column_config(table), hide_index=True, key="fc_mc_table")


def render(view: state.View) -> None:
    catalog = cache.catalog()
    routes = sorted(m.route for m in catalog.models)
    try:
        inputs = _inputs(view, routes)
        if inputs is None:
            return
        result = run_scenario(inputs, catalog=catalog)
    except (DashboardError, PricingError) as e:
        st.error(str(e))
        return
    best = result.cheapest
    a, b, c = st.columns(3)
    a.metric("Cheapest route", best.route, border=True)
    b.metric("Month 1 on the cheapest route", fmt.usd(best.months[0].total_usd), border=True)
    c.metric(f"Total over {inputs.months} months", fmt.usd(best.total_usd), border=True)
    totals = charts.scenario_totals(result)
    st.dataframe(tables.display(totals), column_config=tables.column_config(totals), hide_index=True,
                 key="fc_totals")
    st.plotly_chart(charts.scenario_months(result), theme="streamlit", key="fc_months_chart")
    with st.expander("Every route and month, by token bucket"):
        st.caption("A month is 30 days; requests and tokens are rounded half-even to whole numbers per month.")
        months = charts.scenario_table(result)
        st.dataframe(tables.display(months), column_config=tables.column_config(months), hide_index=True,
                     key="fc_months_table")
    st.plotly_chart(charts.tornado(sensitivity(inputs, route=best.route, catalog=catalog), best.route),
                    theme="streamlit", key="fc_tornado")
    if st.toggle("Monte Carlo from my history (P10 / P50 / P90)", key="fc_mc"):
        try:
            _monte_carlo(view, inputs, best.route)
        except (DashboardError, PricingError) as e:
            st.warning(str(e))
