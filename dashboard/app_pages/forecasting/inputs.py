"""The Planner tab's inputs: a planned traffic as widgets, or filled from the filtered history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import streamlit as st

from dashboard import state
from dashboard.app_pages.forecasting.handoff import PLANNER_KEY
from dashboard.appdata import planning
from dashboard.errors import DashboardError
from dashboard.forecasts.scenario import ScenarioInputs, inputs_from_history

PREFERRED_ROUTES = ("ourtoken/deepseek-v4-flash", "deepseek/deepseek-v4-flash", "openai/gpt-5.4-mini")
DEFAULTS: dict[str, Any] = {
    "fc_mode": "Requests per day", "fc_rpd": 1000.0, "fc_users": 100.0, "fc_rpu": 10.0, "fc_growth": 0.0,
    "fc_months": 12, "fc_in": 2000.0, "fc_out": 500.0, "fc_hit": 0.0, "fc_write": 0.0, "fc_reason": 0.0,
}
SHARES = ("fc_hit", "fc_write", "fc_reason")


def default_routes(routes: list[str]) -> list[str]:
    """The route of a live sample run (Live calls page) first, when there was one, then the usual three."""
    live = (st.session_state.get(PLANNER_KEY) or {}).get("routes", ())
    wanted = [r for r in (*live, *PREFERRED_ROUTES) if r in routes]
    return list(dict.fromkeys(wanted)) or routes[:2]


def dec(value: float | int) -> Decimal:
    """A widget's float as the decimal it shows (0.1 -> Decimal('0.1'))."""
    return Decimal(str(value))


def _use_my_traffic(view: state.View, routes: tuple[str, ...]) -> None:
    """Button callback: fill the inputs from the filtered history (runs before the widgets are drawn)."""
    try:
        history = planning.traffic_history(view.filters)
        got = inputs_from_history(history, routes, months=int(st.session_state.fc_months))
    except DashboardError as e:
        st.session_state["fc_history_note"] = str(e)
        return
    st.session_state.update({
        "fc_mode": "Requests per day", "fc_rpd": float(got.requests_per_day), "fc_growth": float(got.growth_pct),
        "fc_in": float(got.input_tokens), "fc_out": float(got.output_tokens), "fc_hit": float(got.cache_hit_rate),
        "fc_write": float(got.cache_write_share), "fc_reason": float(got.reasoning_share),
        "fc_history_note": f"Filled from {view.label}: the last 30 days' means, growth fitted on the whole range.",
    })


def scenario_inputs(view: state.View, routes: list[str]) -> ScenarioInputs | None:
    """Draw the inputs; None until at least one route is chosen. Raises DashboardError on invalid ones."""
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
