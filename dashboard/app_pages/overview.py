"""Overview: KPIs against the previous equal period, spend over time, cache hit rate, top spenders."""

import streamlit as st

from dashboard import state
from dashboard.appdata import reads
from dashboard.charts import figures
from dashboard.charts import format as fmt
from dashboard.charts.kpis import overview_cards
from dashboard.warehouse.explore import SPLITS
from dashboard.warehouse.statement import APPROXIMATE_HELP

view = state.current()
st.title("Overview")
st.caption(f"{view.label} · compared with the previous period of the same length · {fmt.ROUNDING_NOTE}")

current, previous = reads.kpis(view.filters, view.grain)
cards = overview_cards(current, previous)
for row in (cards[:4], cards[4:]):
    for col, card in zip(st.columns(4), row, strict=False):
        col.metric(card.label, card.value, card.delta, delta_color=card.delta_color, help=card.help, border=True)

approximate_usd, computed_usd = reads.approximate(view.filters, view.grain)
if approximate_usd:
    st.caption(f"Of the computed {fmt.usd(computed_usd)}, {fmt.usd(approximate_usd)} is approximate.",
               help=APPROXIMATE_HELP)

if current.unpriced_requests:
    st.warning(
        f"{current.unpriced_requests:,} requests use a model without a price: their volume is counted, "
        "their cost is not. Add the price on the Prices page."
    )
    st.page_link("app_pages/prices.py", label="Open Prices", icon=":material/sell:")

split = st.segmented_control(
    "Split spend by", SPLITS, default="model", key="overview_split",
    format_func=lambda s: {"api_key": "API key", "bucket": "token bucket"}.get(s, s),
) or "model"
st.plotly_chart(
    figures.spend_over_time(reads.spend_over_time(view.filters, view.grain, split), view.grain, split),
    theme="streamlit", key="overview_spend",
)
st.plotly_chart(
    figures.cache_hit_rate(reads.cache_rate_over_time(view.filters, view.grain), view.grain),
    theme="streamlit", key="overview_cache",
)
left, right = st.columns(2)
for col, dim, what in ((left, "model", "models"), (right, "project", "projects")):
    col.plotly_chart(figures.top_spend(reads.top(view.filters, dim, grain=view.grain), what), theme="streamlit",
                     key=f"top_{dim}")
