"""Forecast: plan a launch's cost, project spend, reprice history, simulate a prompt cache.

Each tab is drawn by its own module (forecast_planner, forecast_trend, forecast_reprice,
forecast_cachesim); the math lives in dashboard/forecasts and dashboard/warehouse/reprice.py.
"""

import streamlit as st

from dashboard import state
from dashboard.app_pages import forecast_cachesim, forecast_planner, forecast_reprice, forecast_trend
from dashboard.charts import format as fmt

view = state.current()
st.title("Forecast")
st.caption(f"History: {view.label} · {fmt.ROUNDING_NOTE}")

planner, trend, reprice, cachesim = st.tabs(["Planner", "Trend", "Reprice", "Cache simulation"])
with planner:
    forecast_planner.render(view)
with trend:
    forecast_trend.render(view)
with reprice:
    forecast_reprice.render(view)
with cachesim:
    forecast_cachesim.render()
