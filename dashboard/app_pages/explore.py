"""Explore: group by one or two dimensions and a time grain; table, chart and downloads of the same."""

import streamlit as st

from dashboard import exports, state
from dashboard.appdata import reads
from dashboard.charts import figures, tables
from dashboard.charts import format as fmt
from dashboard.warehouse.explore import GROUPS
from dashboard.warehouse.queries import GRAINS

view = state.current()
st.title("Explore")
st.caption(f"{view.label} · {fmt.ROUNDING_NOTE}")

left, mid, right = st.columns([2, 1, 1])
dims = left.multiselect("Group by (one or two)", list(GROUPS), default=["model"], max_selections=2,
                        key="explore_dims", format_func=tables.label)
grain = mid.selectbox("Time grain", ["none", *GRAINS], key="explore_grain")
if not dims:
    st.info("Pick one or two dimensions to group by.")
    st.stop()
if "tag" in dims:
    st.caption("A request with several tags counts once under each of its tags.")

frame = tables.explore_table(reads.group_by(view.filters, tuple(dims), None if grain == "none" else grain))
metrics = tables.chart_metrics(frame)
metric = right.selectbox("Chart", metrics, index=metrics.index("cost_usd"), key="explore_metric",
                         format_func=tables.label)
st.plotly_chart(figures.explore(frame, tuple(dims), None if grain == "none" else grain, metric),
                theme="streamlit", key="explore_chart")
st.dataframe(tables.display(frame), column_config=tables.column_config(frame), hide_index=True, key="explore_table")
a, b, _ = st.columns([1, 1, 4])
a.download_button("Download CSV", exports.to_csv(frame), "explore.csv", "text/csv", key="explore_csv",
                  on_click="ignore")
b.download_button("Download Parquet", tables.parquet_bytes(frame), "explore.parquet",
                  "application/vnd.apache.parquet", key="explore_parquet", on_click="ignore")

with st.expander("Raw requests"):
    page_no = st.number_input("Page (100 rows each, newest first)", min_value=1, value=1, step=1, key="raw_page")
    raw = reads.raw_rows(view.filters, int(page_no) - 1)
    st.dataframe(tables.display(raw), column_config=tables.column_config(raw, "$%.6f"), hide_index=True)
