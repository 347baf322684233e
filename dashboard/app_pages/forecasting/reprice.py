"""The Reprice tab: the filtered history on another route, another price list or another cache hit rate."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from dashboard import state
from dashboard.appdata import planning, store
from dashboard.charts import forecast as charts
from dashboard.charts import format as fmt
from dashboard.charts import tables
from dashboard.errors import DashboardError
from dashboard.warehouse.reprice import RESPLIT_DOC
from pricing import PricingError


def render(view: state.View) -> None:
    st.caption("What would this history have cost on another route, with another price list, or at another cache "
               "hit rate? The same cost SQL with the prices, the route or the requests substituted.")
    routes = sorted(m.route for m in store.catalog().models)
    a, b = st.columns(2)
    route = a.selectbox("Route", [None, *routes], key="fc_rp_route",
                        format_func=lambda r: "as logged" if r is None else r)
    upload = b.file_uploader("Price list (catalog TOML, overlays the prices in use)", type=["toml"],
                             key="fc_rp_upload")
    path = b.text_input("… or its path", key="fc_rp_path", placeholder="data/prices.other.toml")
    use_rate = a.checkbox("Another cache hit rate", key="fc_rp_use_rate")
    rate = a.number_input("Cache hit rate", min_value=0.0, max_value=1.0, value=0.5, step=0.05, format="%.4f",
                          key="fc_rp_rate", disabled=not use_rate, help=RESPLIT_DOC)
    if route is None and upload is None and not path and not use_rate:
        st.info("Choose a route, a price list or a cache hit rate to compare with the actual cost.")
        return
    try:
        result = planning.reprice(view.filters, route, path.strip() or None,
                               (upload.name, upload.getvalue()) if upload is not None else None,
                               Decimal(str(rate)) if use_rate else None)
    except (DashboardError, PricingError) as e:
        st.error(str(e))
        return
    a, b, c = st.columns(3)
    a.metric("Actual", fmt.usd(result.actual_usd), border=True)
    b.metric("What-if", fmt.usd(result.whatif_usd), border=True)
    c.metric("Difference", fmt.usd(result.difference_usd), border=True, delta_color="inverse",
             delta=None if not result.actual_usd else fmt.delta(float(result.difference_usd / result.actual_usd)),
             help="What-if minus actual, over the requests priced on both sides.")
    for side, count in (("actual", result.actual_unpriced), ("what-if", result.whatif_unpriced)):
        if count:
            st.warning(f"{count:,} requests have no price on the {side} side: counted, not costed, and left out "
                       "of the difference.")
    st.plotly_chart(charts.reprice_bars(result), theme="streamlit", key="fc_rp_chart")
    table = charts.reprice_table(result)
    st.dataframe(tables.display(table), column_config=tables.column_config(table, "$%.4f"), hide_index=True,
                 key="fc_rp_table")
