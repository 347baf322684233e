"""The door of the app: refuse an exposed address without sign-in, then require sign-in
and the allow-list when `[auth]` is configured (rules in dashboard/access.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard import access


def _secrets() -> Mapping[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml, or one Streamlit cannot parse: treat as no sign-in configured
        return {}


def guard() -> None:
    """Stop the script unless this visitor may see the data."""
    secrets = _secrets()
    auth_configured = bool(secrets.get("auth"))
    problem = access.exposure_problem(st.get_option("server.address"), auth_configured)
    if problem:
        st.error(problem)
        st.stop()
    if not auth_configured:
        return
    if not st.user.get("is_logged_in", False):
        st.title("Sign in")
        st.write("This dashboard holds your organisation's LLM spend; sign in to continue.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    email = st.user.get("email")
    if not access.is_allowed(email, access.allow_list(secrets)):
        st.error(f"{email or 'This account'} is not on this dashboard's allow-list ([access] allowed in "
                 ".streamlit/secrets.toml). Ask whoever runs it to add you.")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {email}")
        st.button("Sign out", on_click=st.logout, key="sign_out")
