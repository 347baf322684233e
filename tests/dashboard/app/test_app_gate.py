"""The door: an exposed address without sign-in shows nothing but the refusal; with [auth]
configured a visitor must sign in first; on loopback without [auth] the app opens."""

from __future__ import annotations

import secrets

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.access import COOKIE_SECRET_PLACEHOLDER, MAKE_COOKIE_SECRET


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
    at = AppTest.from_file(fixture.APP, default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and "sign-in is not configured" in at.error[0].value
    assert not at.metric and not at.dataframe  # nothing of the warehouse is shown


def _with_auth(at: AppTest, cookie_secret: str | None) -> AppTest:
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "client_id": "id",
                          "client_secret": "s",
                          "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration"}
    if cookie_secret is not None:
        at.secrets["auth"]["cookie_secret"] = cookie_secret
    at.secrets["access"] = {"allowed": ["@example.com"]}
    return at


@pytest.mark.slow
def test_with_auth_configured_a_visitor_must_sign_in_first(address):
    address("0.0.0.0")
    at = _with_auth(AppTest.from_file(fixture.APP, default_timeout=60), secrets.token_urlsafe(32)).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe


@pytest.mark.parametrize("cookie_secret", [None, "x", "a long random string", COOKIE_SECRET_PLACEHOLDER])
@pytest.mark.parametrize("where", ["0.0.0.0", "127.0.0.1"])
def test_a_weak_cookie_secret_shows_nothing_and_says_how_to_make_one(address, where, cookie_secret):
    """Whoever knows the secret can sign a cookie as anyone: not even the sign-in page is offered."""
    address(where)
    at = _with_auth(AppTest.from_file(fixture.APP, default_timeout=60), cookie_secret).run()
    assert not at.exception
    assert len(at.error) == 1 and MAKE_COOKIE_SECRET in at.error[0].value
    assert not at.button and not at.metric and not at.dataframe


@pytest.mark.slow
def test_loopback_without_auth_opens_the_dashboard(address):
    address("127.0.0.1")
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    assert not at.exception
    assert not at.error
    assert at.metric  # the Overview KPIs are there
