"""Live calls: one call, a cache probe, a sample run or a comparison against OpenAI-compatible endpoints.

The widgets and tabs are in app_pages/live/, beside the form values, runs and display rows they use;
the calls, the prices and the recording are dashboard/live/ (no Streamlit there).
"""

import streamlit as st

from dashboard.app_pages.live import tabs, widgets
from dashboard.appdata import reads
from dashboard.charts import tables

st.title("Live calls")
st.caption("Call an endpoint and see latency, tokens and the exact cost of each call. The API key is sent only in "
           "the Authorization header: it is never shown, logged or stored (the warehouse keeps its last 4 characters). "
           "A key configured on the server goes only to its own base URL.")

with st.container(border=True):
    settings = widgets.endpoint_form()
with st.container(border=True):
    request = widgets.request_form(settings.model)
st.checkbox("Record the calls in the warehouse (source `live`)", value=True, key="live_record")

single, probe, sample, compare = st.tabs(["Single call", "Cache probe", "Sample run", "Compare"])
with single:
    tabs.single(settings, request)
with probe:
    tabs.probe(settings, request)
with sample:
    tabs.sample(settings, request)
with compare:
    tabs.comparison(settings, request)

with st.expander("Recorded calls, failed ones included"):
    st.caption("Every recorded call with its outcome. Only calls that succeeded are requests: spend, request counts "
               "and cache figures count those.")
    st.dataframe(tables.display(reads.live_call_log()), hide_index=True, key="live_call_log")
