"""Who may look, in a real browser against a real server: `streamlit run` on loopback, headless
Chromium, and a real OpenID Connect provider (oidc-provider on Node.js, tests/e2e/oidc/).

Without sign-in configured: a request for a host name the app does not answer to (DNS
rebinding) and one that came through a proxy get no data. With sign-in: only an allowed user
with a verified address and an unexpired token sees the Overview; a cookie signed with another
secret, a hand-made one, one older than Streamlit's cookie lifetime and one whose token has
expired see nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit_app import BROWSER_TEST, CHROMIUM, CHROMIUM_ARGS, free_port, running_app, stop
from support import app_fixture

OIDC = Path(__file__).resolve().parent / "oidc"
# A name of someone else's that resolves to this machine, as a rebinding attacker's would.
ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"]
COOKIE = "_streamlit_user"  # Streamlit's identity cookie, signed with itsdangerous (salt: its name)
WAIT_MS = 60_000

# One worker runs the whole module: its provider, apps and browser are started once, and `npm ci` (when
# tests/e2e/oidc has no node_modules yet) never runs twice at a time in the same folder.
pytestmark = [*BROWSER_TEST, pytest.mark.xdist_group("signin")]
needs_node = pytest.mark.skipif(
    not (shutil.which("node") and shutil.which("npm")),
    reason="needs node and npm for the OpenID provider (apt install nodejs npm)")


def _warehouse(path: Path) -> Path:
    """The AppTests' small hand-made warehouse (a few hundred recent requests): quicker to open
    than the demo data an empty file gets."""
    return app_fixture.build(path)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signin")


def _streamlit(tmp: Path, name: str, secrets_toml: str | None, port: int | None = None) -> Iterator[int]:
    """`streamlit run` the app on loopback with its own warehouse and secrets file; yields its port."""
    folder = tmp / name
    folder.mkdir()
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(secrets_toml or "")
    env = {**os.environ, "USAGE_DB": str(_warehouse(folder / "usage.duckdb"))}
    # Only this secrets file: a developer's own .streamlit/secrets.toml must not leak into the test.
    with running_app(folder / "streamlit.log", env, port, "--secrets.files", str(secrets_file)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _shows_data(page) -> bool:
    return page.locator('[data-testid="stMetric"]').count() > 0


def _wait_for_the_overview(page) -> None:
    """Until the Overview's Spend figure is drawn (the navigation's section of that name comes first)."""
    page.locator('[data-testid="stMetric"]').filter(has_text="Spend").first.wait_for(timeout=WAIT_MS)


# --- without sign-in: the Host allow-list and proxies -----------------------------------------------

@pytest.fixture(scope="module")
def open_app(tmp: Path) -> Iterator[int]:
    yield from _streamlit(tmp, "open", None)


def test_a_forged_host_gets_no_data(open_app, browser):
    """Chromium resolves evil.example to 127.0.0.1 and sends Host: evil.example:PORT, as a page
    on a rebinding attacker's domain would; the same server on localhost shows the Overview."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://localhost:{open_app}/")
    _wait_for_the_overview(page)
    assert _shows_data(page)

    page.goto(f"http://evil.example:{open_app}/")
    page.get_by_text("does not answer to 'evil.example'").wait_for(timeout=WAIT_MS)
    assert "[access] hosts" in _main_text(page)
    assert not _shows_data(page)
    context.close()


def test_a_request_through_a_proxy_gets_no_data_without_sign_in(open_app, browser):
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    page = context.new_page()
    page.goto(f"http://localhost:{open_app}/")
    page.get_by_text("came through a proxy or tunnel").wait_for(timeout=WAIT_MS)
    assert "x-forwarded-for" in _main_text(page)
    assert not _shows_data(page)
    context.close()


# --- with sign-in against a real OpenID provider ----------------------------------------------------

CLIENT_ID, CLIENT_SECRET = "usage-dashboard", secrets.token_urlsafe(24)
COOKIE_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def provider(tmp: Path) -> Iterator[tuple[str, int]]:
    """The OpenID provider on loopback; yields its issuer and the app port it redirects to."""
    if not (OIDC / "node_modules" / "oidc-provider").is_dir():
        out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=OIDC, capture_output=True, text=True,
                             timeout=300, check=False)
        assert out.returncode == 0, f"npm ci in {OIDC} failed: {out.stderr[-2000:]}"
    port, app_port = free_port(), free_port()
    log_path = tmp / "provider.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["node", "provider.js", str(port), f"http://localhost:{app_port}/oauth2callback", CLIENT_ID, CLIENT_SECRET],
            cwd=OIDC, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while "ready " not in log_path.read_text():
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"the OpenID provider did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", app_port
        finally:
            stop(proc)


@pytest.fixture(scope="module")
def signin_app(tmp: Path, provider) -> Iterator[str]:
    issuer, app_port = provider
    secrets_toml = f"""
[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{issuer}/.well-known/openid-configuration"

[access]
allowed = ["@example.org"]
"""
    for port in _streamlit(tmp, "signin", secrets_toml, app_port):
        yield f"http://localhost:{port}"


def _sign_in(browser, url: str, email: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Sign in").click(timeout=WAIT_MS)
    page.get_by_label("Email").fill(email, timeout=WAIT_MS)  # the provider's own page
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{url}/**", timeout=WAIT_MS)
    return context, page


@needs_node
def test_an_allowed_verified_user_signs_in_and_sees_the_overview(signin_app, browser):
    context, page = _sign_in(browser, signin_app, "alice@example.org")
    _wait_for_the_overview(page)
    assert _shows_data(page)
    assert page.get_by_text("Signed in as alice@example.org").count() == 1
    assert any(c["name"] == COOKIE for c in context.cookies())
    context.close()


@needs_node
@pytest.mark.parametrize(("email", "says"), [
    ("carol@other.org", "not on this dashboard's allow-list"),
    ("dave@example.org", "email_verified is false"),
])
def test_a_user_not_allowed_or_unverified_sees_no_data(signin_app, browser, email, says):
    context, page = _sign_in(browser, signin_app, email)
    page.get_by_text(says).wait_for(timeout=WAIT_MS)
    assert not _shows_data(page)
    context.close()


@needs_node
def test_a_sign_in_whose_token_expired_is_refused(signin_app, browser):
    """brief@example.org's identity token lasts one second; Streamlit's cookie lasts 30 days."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context, page = _sign_in(browser, signin_app, "brief@example.org")
    expired = page.get_by_text("Your sign-in has expired")
    deadline = time.monotonic() + 30
    while True:  # the first page may still fall inside that second; the next load cannot
        try:
            expired.wait_for(timeout=3_000)
            break
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
            page.reload()
    assert not _shows_data(page)
    assert any(c["name"] == COOKIE for c in context.cookies())  # the cookie itself is still good to Streamlit
    context.close()


def _signed(secret: str, payload: dict, age_s: int = 0) -> str:
    """A cookie value as Streamlit makes one (itsdangerous, salted with the cookie's name)."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Dated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_s

    return URLSafeTimedSerializer(secret, salt=COOKIE, signer=Dated).dumps(json.dumps(payload))


@needs_node
def test_a_forged_old_or_expired_cookie_is_refused(signin_app, browser):
    alice = {"email": "alice@example.org", "email_verified": True, "exp": int(time.time()) + 3600,
             "origin": signin_app, "is_logged_in": True, "provider": "default", "sub": "alice@example.org"}
    cookies = {
        "signed with another secret": (_signed(secrets.token_urlsafe(32), alice), "Sign in"),
        "hand-made": (json.dumps(alice), "Sign in"),
        "older than Streamlit's 30 days": (_signed(COOKIE_SECRET, alice, age_s=32 * 86400), "Sign in"),
        "the token inside expired": (_signed(COOKIE_SECRET, {**alice, "exp": int(time.time()) - 60}),
                                     "Your sign-in has expired"),
    }
    for what, (value, shown) in cookies.items():
        context = browser.new_context()
        context.add_cookies([{"name": COOKIE, "value": value, "url": signin_app}])
        page = context.new_page()
        page.goto(signin_app)
        page.get_by_text(shown).first.wait_for(timeout=WAIT_MS)
        assert not _shows_data(page), what
        assert page.get_by_text("Signed in as").count() == 0, what
        context.close()
    # The control: the same cookie, freshly signed with the app's secret, passes the door.
    context = browser.new_context()
    context.add_cookies([{"name": COOKIE, "value": _signed(COOKIE_SECRET, alice), "url": signin_app}])
    page = context.new_page()
    page.goto(signin_app)
    page.get_by_text("Signed in as alice@example.org").wait_for(timeout=WAIT_MS)
    context.close()
