"""The door of the app: refuse a request for a host name the app does not answer to, refuse an
exposed address or a visitor from elsewhere without sign-in, then, when `[auth]` is configured,
require a strong cookie secret, sign-in and the allow-list (rules in dashboard/access.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, NoReturn

import streamlit as st

from dashboard import access


def secrets() -> Mapping[str, Any]:
    """The app's Streamlit secrets as a plain dict; empty when there is no secrets file or it cannot be read."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml, or one Streamlit cannot parse: treat as no sign-in configured
        return {}


def _headers() -> list[tuple[str, str]]:
    """Every header of the request that opened this session, repeated ones included."""
    headers = st.context.headers
    return [(key, value) for key in headers for value in headers.get_all(key)]


def _literal(text: str) -> str:
    """Text from elsewhere (an identity provider's claim) shown as itself, not as markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


def _refuse(problem: str) -> NoReturn:
    st.error(problem)
    st.stop()


def guard() -> None:
    """Stop the script unless this visitor may see the data."""
    config = secrets()
    auth = config.get("auth")
    auth_configured = bool(auth)
    visit = access.judge_visit(_headers(), config)
    if visit.refusal:
        _refuse(visit.refusal)
    problem = access.exposure_problem(st.get_option("server.address"), auth_configured)
    if problem:
        _refuse(problem)
    if not auth_configured:
        if not visit.local:
            _refuse(access.remote_problem(visit))
        return
    problem = access.cookie_secret_problem(auth if isinstance(auth, Mapping) else {})
    if problem:
        _refuse(problem)
    user = st.user.to_dict()
    if not user.get("is_logged_in", False):
        st.title("Sign in")
        st.write("This dashboard holds your organisation's LLM spend; sign in to continue.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    problem = access.identity_problem(user, access.allow_list(config), time.time())
    if problem:
        st.error(problem)
        st.button("Sign in again", on_click=st.login, type="primary")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {_literal(str(user.get('email')))}")
        st.button("Sign out", on_click=st.logout, key="sign_out")
