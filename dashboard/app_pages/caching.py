"""Cache: hit rate per model over time, money saved, cache write spend, the largest uncached prompts."""

import streamlit as st

from dashboard import metrics, state
from dashboard.appdata import reads
from dashboard.charts import figures, tables
from dashboard.charts import format as fmt

view = state.current()
st.title("Prompt cache")
st.caption(f"{view.label} · {fmt.ROUNDING_NOTE}")

current, _ = reads.kpis(view.filters, view.grain)
a, b, c, d = st.columns(4)
a.metric("Cache hit rate", fmt.pct(current.cache_hit_rate), border=True,
         help=metrics.CACHE_HIT_RATE_HELP)
b.metric("Saved by caching", fmt.usd(current.cache_saved_usd), border=True,
         help=metrics.CACHE_SAVINGS_HELP)
c.metric("Cache read spend", fmt.usd(current.cache_read_usd), border=True)
d.metric("Cache write spend", fmt.usd(current.cache_write_usd), border=True)

st.plotly_chart(figures.cache_hit_rate(reads.cache_rate_over_time(view.filters, view.grain, True), view.grain, True),
                theme="streamlit", key="cache_rate")
left, right = st.columns(2)
left.plotly_chart(figures.cache_savings(current.cost_usd, current.cost_without_cache_usd),
                  theme="streamlit", key="cache_savings")
right.plotly_chart(figures.cache_writes(reads.cache_write_over_time(view.filters, view.grain), view.grain),
                   theme="streamlit", key="cache_writes")

st.subheader("Largest uncached prompts")
st.caption("Requests that sent the most prompt tokens at the full input rate: candidates for a cacheable prefix.")
worst = reads.largest_uncached(view.filters)
st.dataframe(tables.display(worst), column_config=tables.column_config(worst, "$%.6f"), hide_index=True)
