"""The Cache simulation tab: replay a Mooncake trace through an LRU prefix cache and price it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.appdata import planning, store
from dashboard.charts import forecast as charts
from dashboard.charts import format as fmt
from dashboard.errors import DashboardError
from dashboard.forecasts.cache_sim import DEFAULT_ROUTE
from pricing import PricingError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TRACE = ROOT.parent / "shared" / "fixtures" / "traces" / "mooncake_conversation_trace.jsonl"
CURVE_BLOCKS = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000)


def render() -> None:
    st.caption("A Mooncake JSONL trace: one request per line with timestamp (ms), input_length, output_length and "
               "hash_ids, one id per 512-token prompt block. Prefix caching with LRU eviction, priced at today's "
               "rates.")
    a, b = st.columns(2)
    path = a.text_input("Trace file", value=str(SAMPLE_TRACE) if SAMPLE_TRACE.is_file() else "", key="fc_cs_path")
    upload = b.file_uploader("… or upload one", type=["jsonl", "json", "txt"], key="fc_cs_upload")
    a, b, c = st.columns(3)
    capacity = a.number_input("Capacity (blocks, 0 = unbounded)", min_value=0, value=0, step=1000,
                              key="fc_cs_capacity")
    ttl = b.number_input("TTL (seconds, 0 = unbounded)", min_value=0.0, value=0.0, step=60.0, key="fc_cs_ttl")
    routes = sorted(m.route for m in store.catalog().models)
    route = c.selectbox("Route", routes, index=routes.index(DEFAULT_ROUTE) if DEFAULT_ROUTE in routes else 0,
                        key="fc_cs_route")
    trace = (upload.name, upload.getvalue()) if upload is not None else path.strip()
    if not trace:
        st.info("Give the path of a trace or upload one.")
        return
    try:
        with st.spinner("Replaying the trace…"):
            (sim,) = planning.simulate_cache(trace, (int(capacity) or None,), float(ttl) or None, route)
    except (DashboardError, PricingError) as e:
        st.error(str(e))
        return
    a, b, c, d = st.columns(4)
    a.metric("Hit rate", fmt.pct(float(sim.hit_rate)), border=True,
             help="Cache-read tokens / prompt tokens, weighted by tokens.")
    b.metric("Cache read tokens", fmt.tokens(sim.cache_read_tokens), border=True,
             help=f"{sim.cache_read_tokens:,} of {sim.input_tokens:,} prompt tokens in {sim.requests:,} requests")
    c.metric("Cost", fmt.usd(sim.cost_usd), border=True)
    d.metric("Cost without a cache", fmt.usd(sim.no_cache_cost_usd), border=True)
    if st.checkbox("Hit rate against capacity", key="fc_cs_curve"):
        with st.spinner("Replaying at each capacity…"):
            sims = planning.simulate_cache(trace, (*CURVE_BLOCKS, None), float(ttl) or None, route)
        st.plotly_chart(charts.cache_curve(sims), theme="streamlit", key="fc_cs_chart")
