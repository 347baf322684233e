"""Prices: the catalog, one typical request on every route, a model's price history, local overrides."""

from datetime import date

import streamlit as st

from dashboard.appdata import reads, store, writes
from dashboard.charts import figures, tables
from dashboard.errors import DashboardError
from pricing import PricingError
from pricing.catalog import OPTIONAL_RATES, RATE_RULE, REQUIRED_RATES

st.title("Prices")
catalog = store.catalog()
problems = reads.price_problems()
for problem in problems:
    st.warning(f"Left out of the prices, the rest of the file applies: {problem}. Fix or remove that entry in "
               f"{problem.file}, then reload the prices; {RATE_RULE}.", icon=":material/warning:")
if problems and st.button("Reload the prices from the files", key="reload_prices"):
    writes.reload_prices()
    st.rerun()
st.caption("Rates in USD (or the route's currency) per 1M tokens, exact as published; the source of each is listed. "
           "A saved override re-prices all history at once.")

st.subheader("Catalog")
frame = tables.catalog_frame(catalog)
st.dataframe(tables.display(frame), column_config=tables.column_config(frame), hide_index=True, key="catalog_table")

st.subheader("One typical request on every route")
a, b, c = st.columns(3)
prompt = a.number_input("Prompt tokens", min_value=0, value=8000, step=500, key="typical_prompt")
cached = b.number_input("of which served from cache", min_value=0, value=4000, step=500, key="typical_cached")
output = c.number_input("Output tokens", min_value=0, value=500, step=100, key="typical_output")
routes = reads.route_comparison(int(prompt), int(cached), int(output))
st.plotly_chart(figures.route_costs(routes, "Cost of the request by route, cheapest at the top"),
                theme="streamlit", key="routes_chart")
st.dataframe(tables.display(routes), column_config=tables.column_config(routes, "$%.6f"), hide_index=True,
             key="routes_table")

st.subheader("Price history")
names = [f"{m.provider}/{m.id}" for m in catalog.models]
chosen = st.selectbox("Model", names, key="history_model")
provider, model = chosen.split("/", 1)
history = reads.price_history(provider, model)
st.plotly_chart(figures.price_history(tables.history_frame(history), f"{chosen}: USD per 1M tokens"),
                theme="streamlit", key="history_chart")

st.subheader("Negotiated discount")
st.caption("A percentage off the list price of a model from a date on (every rate of the period, peak windows "
           "and long-context tiers included); earlier requests keep the list price.")
with st.form("discount", clear_on_submit=False):
    a, b, c = st.columns(3)
    d_route = a.selectbox("Model", names, index=names.index(chosen), key="d_route")
    d_percent = b.text_input("Discount, % off list", value="10", key="d_percent")
    d_since = c.date_input("Effective from (00:00 UTC)", value=date.today().replace(day=1), key="d_since")
    d_source = st.text_input("Source (contract or order form)", key="d_source")
    if st.form_submit_button("Apply discount and re-price", type="primary"):
        d_provider, d_model = d_route.split("/", 1)
        try:
            writes.save_discount(d_provider, d_model, d_percent.strip(), d_since, d_source)
        except (DashboardError, PricingError) as e:
            st.error(f"Not saved: {e}")
        else:
            st.success(f"Saved {d_percent.strip()} % off {d_route} from {d_since}; all history is re-priced.")

st.subheader("Add a price override")
st.caption(f"Saved to {store.local_prices_path()} (git-ignored). Rates per 1M tokens, written exactly as typed.")
with st.form("override", clear_on_submit=False):
    a, b = st.columns(2)
    o_provider = a.text_input("Provider (route as billed)", value=provider, key="o_provider")
    o_model = b.text_input("Model id", value=model, key="o_model")
    cols = st.columns(len(REQUIRED_RATES) + len(OPTIONAL_RATES))
    rates = {r: col.text_input(r.replace("_", " ") + ("" if r in REQUIRED_RATES else " (optional)"), key=f"o_{r}")
             for r, col in zip((*REQUIRED_RATES, *OPTIONAL_RATES), cols, strict=True)}
    a, b = st.columns(2)
    whole = a.checkbox("Applies to all of history", value=False, key="o_whole")
    since = a.date_input("Effective from (00:00 UTC)", value=date.today(), key="o_since")
    source = b.text_input("Source (contract, invoice or page)", key="o_source")
    if st.form_submit_button("Save and re-price history", type="primary"):
        try:
            writes.save_price(o_provider, o_model, {k: v for k, v in rates.items() if v.strip()},
                             None if whole else since, source)
        except (DashboardError, PricingError) as e:
            st.error(f"Not saved: {e}")
        else:
            st.success(f"Saved {o_provider}/{o_model}; all history is re-priced.")
