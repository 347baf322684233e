"""Evaluate: run a suite of your own tasks against routes and compare quality, latency, tokens and
cost per passed task. The parts are in evaluate_parts/; the figures come from dashboard/evaluate."""

import streamlit as st

from dashboard.app_pages.evaluate_parts import results, setup

st.title("Evaluate")
st.caption("Run your own tasks on several routes and compare the answers against your acceptance criteria, with "
           "latency, tokens and the exact cost per passed task. Checks are deterministic (text, regex, JSON "
           "Schema, tool calls, latency, cost); nothing from a suite is run as code. The same figures as "
           "`python -m dashboard eval`.")

with st.container(border=True):
    suite = setup.pick_suite()
with st.container(border=True):
    chosen = setup.targets()
run = setup.run(suite, chosen) if suite and chosen else st.session_state.get("eval_result")
if run is not None:
    results.show(run)
    results.planner(run)
with st.expander("Stored runs: what passed before and fails now"):
    results.history()
