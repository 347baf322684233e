"""Choosing the suite, the targets and running them, for the Evaluate page.

A suite is one of the examples shipped in examples/suites/ (picked by name from that folder's
list) or a file uploaded in this session. Targets are written as on the command line,
`PROVIDER/MODEL=BASE_URL`, one a line. A target's key is one the server names for that base URL
(dashboard/live/keys.py: sent only to its own base URL); a page never names a variable or a path.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from dashboard.app_pages.live import widgets as live_widgets
from dashboard.app_pages.live.forms import NO_KEY, KeyChoice, build_endpoint
from dashboard.appdata import store, writes
from dashboard.errors import DashboardError
from dashboard.evaluate import EvalRun, Suite, load_suite, parse_target, run_suite
from dashboard.evaluate.runner import MAX_CONCURRENCY, MAX_REPEAT
from dashboard.live.experiments import Target
from pricing import PricingError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "suites"
DEFAULT_TARGETS = "ourtoken/deepseek-v4-flash=https://api.ourtoken.ai/v1\ndeepseek/deepseek-v4-pro=https://api.deepseek.com"


def pick_suite() -> Suite | None:
    """The suite chosen on the page, checked; None (with the reason shown) when there is none to run."""
    examples = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    source = st.radio("Suite", ["Example", "Upload"], horizontal=True, key="eval_source")
    if source == "Example":
        name = st.selectbox("Example suite", examples, key="eval_example")
        data = (EXAMPLES / name).read_bytes() if name in examples else None
    else:
        upload = st.file_uploader("A promptfoo-style suite (YAML)", type=["yaml", "yml"], key="eval_upload")
        name, data = (upload.name, upload.getvalue()) if upload else (None, None)
    if data is None:
        st.info("Pick an example suite or upload one.")
        return None
    try:
        suite = load_suite(data, name)
    except DashboardError as e:
        st.error(str(e))
        return None
    st.caption(f"{suite.description or suite.name}: {suite.tests} test(s) x {suite.prompts} prompt(s), "
               f"sha256 {suite.sha256[:12]}")
    return suite


def _key_for(base_url: str) -> KeyChoice:
    """A configured key that may go to `base_url` and is set, else no key."""
    keys, _ = live_widgets.configured_keys()
    shared = live_widgets.shared_mode()
    for name, key in keys.items():
        if key.is_set(os.environ) and key.refusal(base_url, shared) is None:
            return KeyChoice("named", name)
    return KeyChoice(NO_KEY)


def targets() -> list[Target] | None:
    """The targets from the text area; None (with the reason shown) when one cannot be used."""
    text = st.text_area("Targets, one a line: PROVIDER/MODEL=BASE_URL", value=DEFAULT_TARGETS, key="eval_targets",
                        help="A route and model from the catalog, which prices the calls, and where to call it.")
    keys, _ = live_widgets.configured_keys()
    out, notes = [], []
    try:
        for line in filter(None, (s.strip() for s in text.splitlines())):
            spec = parse_target(line, store.catalog())
            choice = _key_for(spec.base_url)
            endpoint = build_endpoint(spec.base_url, spec.provider, choice, keys, os.environ,
                                      shared=live_widgets.shared_mode())
            out.append(Target(spec.label, endpoint, spec.model))
            notes.append(f"`{spec.label}`: {choice.describe() or 'no key'}")
    except (DashboardError, PricingError) as e:
        st.error(str(e))
        return None
    if not out:
        st.info("Write at least one target.")
        return None
    st.caption("Keys: " + "; ".join(notes) + ". A configured key goes only to its own base URL.")
    return out


def run(suite: Suite, chosen: list[Target]) -> EvalRun | None:
    """Repeat and concurrency inputs and the Run button; the run is stored and kept in the session."""
    a, b = st.columns(2)
    repeat = int(a.number_input("Repeats", min_value=1, max_value=MAX_REPEAT, value=1, key="eval_repeat"))
    concurrency = int(b.number_input("Concurrency", min_value=1, max_value=MAX_CONCURRENCY, value=4,
                                     key="eval_concurrency"))
    if st.button("Run", type="primary", key="eval_run"):
        bar = st.progress(0.0, text="Starting…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Run {done} of {total}")

        try:
            result = run_suite(suite, chosen, repeat=repeat, concurrency=concurrency, on_progress=progress,
                               catalog=store.catalog())
        except DashboardError as e:
            st.error(str(e))
            return st.session_state.get("eval_result")
        if not writes.save_eval_run(result):
            st.info("The warehouse is open read-only: this run was not stored.")
        st.session_state["eval_result"] = result
    return st.session_state.get("eval_result")
