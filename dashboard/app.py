"""The Streamlit entry point: `streamlit run dashboard/app.py`.

Opens the warehouse (once per process), draws the shared sidebar and runs the chosen page.
Add a page by adding an `st.Page` to its section of PAGES: Spend (what was spent), Plan (what
it would cost), Data (the prices and the logs the figures come from).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the project root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import gate, state  # noqa: E402
from dashboard.appdata import reads, store, writes  # noqa: E402
from dashboard.errors import DashboardError  # noqa: E402
from pricing import PricingError  # noqa: E402

st.set_page_config(page_title="LLM usage and cost", page_icon=":material/monitoring:", layout="wide")

PAGES = {
    "Spend": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("app_pages/explore.py", title="Explore", icon=":material/table_chart:"),
        st.Page("app_pages/caching.py", title="Cache", icon=":material/cached:"),
        st.Page("app_pages/statement.py", title="Statement", icon=":material/receipt_long:"),
    ],
    "Plan": [
        st.Page("app_pages/forecast.py", title="Forecast", icon=":material/trending_up:"),
        st.Page("app_pages/live_calls.py", title="Live calls", icon=":material/bolt:"),
        st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    ],
    "Data": [
        st.Page("app_pages/prices.py", title="Prices", icon=":material/sell:"),
        st.Page("app_pages/import_logs.py", title="Import", icon=":material/upload_file:"),
    ],
}

gate.guard()

try:
    wh = store.warehouse()
except (DashboardError, PricingError) as e:
    st.error(f"Cannot open the warehouse: {e}")
    st.stop()
if wh.notice:
    st.warning(wh.notice)

page = st.navigation(PAGES)
try:
    state.sidebar()
    if reads.showing_demo():
        with st.sidebar:
            st.info("Showing **demo data**: generated traffic, not yours. Import your logs, then clear it.")
            if st.button("Clear demo data", key="clear_demo"):
                removed = writes.clear_demo()
                st.toast(f"Removed {removed:,} demo requests")
                st.rerun()
    page.run()
except (DashboardError, PricingError) as e:
    st.error(str(e))
finally:
    # Reads answer from the live cost view while the priced cache is stale (after an import, a
    # price edit): it is rebuilt behind the page, once the page is drawn.
    store.refresh_priced_cache_behind()
