"""The door: an exposed address without sign-in shows nothing but the refusal; with [auth]
configured a visitor must sign in first; on loopback without [auth] the app opens."""

from __future__ import annotations

import pytest
from conftest import APP
from streamlit import config
from streamlit.testing.v1 import AppTest


@pytest.fixture
def address(monkeypatch, db):
    monkeypatch.setenv("USAGE_DB", str(db))
    before = config.get_option("server.address")

    def set_to(value):
        config.set_option("server.address", value)

    yield set_to
    config.set_option("server.address", before)


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.error, *at.title, *at.metric])


def test_exposed_without_sign_in_is_refused_and_shows_no_data(address):
    address("0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and "sign-in is not configured" in at.error[0].value
    assert not at.metric and not at.dataframe  # nothing of the warehouse is shown


def test_with_auth_configured_a_visitor_must_sign_in_first(address):
    address("0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x",
                          "client_id": "id", "client_secret": "s",
                          "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration"}
    at.secrets["access"] = {"allowed": ["@example.com"]}
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe


def test_loopback_without_auth_opens_the_dashboard(address):
    address("127.0.0.1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    assert not at.exception
    assert not at.error
    assert at.metric  # the Overview KPIs are there
