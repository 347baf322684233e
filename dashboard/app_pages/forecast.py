"""Forecast: plan a launch's cost, project spend, reprice history, simulate a prompt cache.

Each tab is drawn by its own module in app_pages/forecasting/; the math lives in dashboard/forecasts
and dashboard/warehouse/reprice.py.
"""

import streamlit as st

from dashboard import state
from dashboard.app_pages.forecasting import cachesim, planner, reprice, trend
from dashboard.charts import format as fmt

view = state.current()
st.title("Forecast")
st.caption(f"History: {view.label} · {fmt.ROUNDING_NOTE}")

tabs = st.tabs(["Planner", "Trend", "Reprice", "Cache simulation"])
with tabs[0]:
    planner.render(view)
with tabs[1]:
    trend.render(view)
with tabs[2]:
    reprice.render(view)
with tabs[3]:
    cachesim.render()
