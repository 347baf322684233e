"""Who may look: loopback by default, sign-in plus an allow-list otherwise; a Host allow-list always."""

import re
import secrets
import subprocess
import sys
import tomllib

import pytest
from support.paths import REPO

from dashboard.access import (
    COOKIE_SECRET_PLACEHOLDER,
    MAKE_COOKIE_SECRET,
    Visit,
    allow_list,
    cookie_secret_problem,
    exposure_problem,
    host_name,
    identity_problem,
    is_allowed,
    is_loopback,
    judge_visit,
    public_hosts,
    remote_problem,
    split_address,
    trusts_proxy_headers,
)


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("", False), (None, False), ("192.168.1.5", False), ("example.com", False), ("::", False),
    ("LocalHost", True), (" localhost.localdomain ", True), ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", False),
    # Names under .localhost reach DNS on some systems, which may answer with any address.
    ("api.localhost", False), ("localhost.evil.example", False), ("127.0.0.1.nip.io", False),
])
def test_loopback(address, expected):
    assert is_loopback(address) is expected


def test_exposed_without_auth_is_refused_with_the_fix():
    problem = exposure_problem("0.0.0.0", auth_configured=False)
    assert problem and "[auth]" in problem and 'server.address = "127.0.0.1"' in problem
    assert exposure_problem("0.0.0.0", auth_configured=True) is None
    assert exposure_problem("127.0.0.1", auth_configured=False) is None
    assert "every network interface" in exposure_problem(None, auth_configured=False)


@pytest.mark.parametrize(("email", "expected"), [
    ("alice@example.com", True), ("ALICE@Example.com", True), ("bob@corp.example", True),
    ("bob@evil.corp.example", False), ("mallory@example.com.evil", False), ("", False), (None, False),
    ("carol@other.org", False),
])
def test_allow_list(email, expected):
    allowed = allow_list({"access": {"allowed": ["alice@example.com", "@corp.example"]}})
    assert is_allowed(email, allowed) is expected


def test_empty_allow_list_lets_nobody_in():
    assert not is_allowed("alice@example.com", allow_list({}))


def test_shipped_config_listens_on_loopback_only():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert is_loopback(config["server"]["address"])
    assert config["server"]["maxUploadSize"] >= 1024


# --- the allow-list takes plain, verified addresses only -------------------------------------------

@pytest.mark.parametrize("email", [
    "mallory@evil.com@example.org",  # two "@": a mail system may route it to evil.com
    '"mallory@evil.com"@example.org', "mallory @example.org", "Mallory <m@example.org>",
    "m(comment)@example.org", "m@example.org.", "m@.example.org", "m@example..org", ".m@example.org",
    "m..x@example.org", "m@example.org\n", "m@example.org,x@evil.com", "m@-example.org", "m@example",
    "@example.org",
], ids=repr)
def test_a_domain_rule_refuses_an_address_that_is_not_plain(email):
    assert not is_allowed(email, ["@example.org", "mallory@evil.com@example.org"])
    assert split_address(email) is None


@pytest.mark.parametrize(("email", "parts"), [
    ("alice@example.org", ("alice", "example.org")), ("Alice.B+tag@Mail.Example.ORG", ("alice.b+tag", "mail.example.org")),
    ("o'neil@example.org", ("o'neil", "example.org")), ("zoë@exämple.org", ("zoë", "exämple.org")),
])
def test_plain_addresses_split_into_local_part_and_domain(email, parts):
    assert split_address(email) == parts


def test_an_exact_rule_matches_case_insensitively_and_a_domain_rule_matches_only_that_domain():
    allowed = allow_list({"access": {"allowed": ["Alice@Example.com", "@Example.org"]}})
    assert is_allowed("ALICE@example.COM", allowed)
    assert is_allowed("bob@EXAMPLE.org", allowed)
    assert not is_allowed("bob@example.com", allowed)
    assert not is_allowed("bob@sub.example.org", allowed)


NOW = 1_900_000_000.0
GOOD = {"is_logged_in": True, "email": "alice@example.org", "email_verified": True, "exp": NOW + 3600}


@pytest.mark.parametrize(("change", "says"), [
    ({"email_verified": False}, "not verified"),
    ({"email_verified": "false"}, "not verified"),
    ({"email_verified": None}, "not verified"),
    ({"email_verified": ...}, "no email_verified"),
    ({"exp": NOW - 1}, "expired"),
    ({"exp": NOW}, "expired"),
    ({"exp": ...}, "no expiry"),
    ({"exp": "1999999999"}, "no expiry"),
    ({"email": ...}, "no email address"),
    ({"email": "mallory@evil.com@example.org"}, "not a plain address"),
    ({"email": "carol@other.org"}, "not on this dashboard's allow-list"),
], ids=repr)
def test_an_identity_is_refused_with_a_reason(change, says):
    user = {**GOOD, **change}
    user = {k: v for k, v in user.items() if v is not ...}
    problem = identity_problem(user, ["@example.org"], NOW)
    assert problem and says in problem


@pytest.mark.parametrize("verified", [True, "true", "TRUE"])
def test_a_verified_allowed_unexpired_identity_passes(verified):
    assert identity_problem({**GOOD, "email_verified": verified}, ["@example.org"], NOW) is None


# --- the cookie secret ------------------------------------------------------------------------------

@pytest.mark.parametrize("secret", [
    None, "", "   ", "x", "a long random string", COOKIE_SECRET_PLACEHOLDER, "k" * 31, "é" * 15,
], ids=repr)
def test_a_missing_short_or_published_cookie_secret_is_refused_with_the_command(secret):
    auth = {} if secret is None else {"cookie_secret": secret}
    problem = cookie_secret_problem(auth)
    assert problem and MAKE_COOKIE_SECRET in problem and "[auth]" in problem


def test_a_generated_cookie_secret_passes():
    assert cookie_secret_problem({"cookie_secret": secrets.token_urlsafe(32)}) is None
    assert cookie_secret_problem({"cookie_secret": "é" * 16}) is None  # 32 bytes


def test_the_readme_example_cookie_secret_is_refused():
    readme = (REPO / "README.md").read_text()
    examples = re.findall(r'^cookie_secret = "([^"]*)"', readme, flags=re.M)
    assert examples
    for example in examples:
        assert cookie_secret_problem({"cookie_secret": example})
    assert MAKE_COOKIE_SECRET in readme


# --- the Host allow-list and proxies ----------------------------------------------------------------

def H(host: str | None = "localhost:8501", **more: str) -> list[tuple[str, str]]:
    pairs = [("Host", host)] if host is not None else []
    pairs += [("Upgrade", "websocket")]
    return pairs + [(k.replace("_", "-"), v) for k, v in more.items()]


PUBLIC = {"access": {"hosts": ["Usage.Example.com"]}}


@pytest.mark.parametrize("host", ["localhost", "localhost:8501", "127.0.0.1:8501", "[::1]:8501", "LOCALHOST:1",
                                  "127.0.0.1", "localhost.:8501"])
def test_loopback_hosts_are_local(host):
    assert judge_visit(H(host), {}) == Visit(local=True)


@pytest.mark.parametrize("host", [
    "evil.example:8501", "evil.example", "usage.example.com.evil:80", "localhost.evil.example", "127.0.0.1.nip.io",
    "localhost:99999", "localhost:port", "user@localhost", "localhost/x", "", " localhost", "0.0.0.0:8501",
    "192.168.1.5:8501", "[::]:8501",
], ids=repr)
def test_any_other_host_is_refused(host):
    visit = judge_visit(H(host), PUBLIC)
    assert visit.refusal and "[access] hosts" in visit.refusal and not visit.local


def test_a_refusal_never_echoes_an_unusual_host():
    visit = judge_visit(H("[x](javascript:alert(1))"), {})
    assert visit.refusal and "javascript" not in visit.refusal


def test_a_missing_or_repeated_host_is_refused():
    assert judge_visit(H(None), {}).refusal
    assert judge_visit([*H("localhost"), ("host", "evil.example")], {}).refusal


def test_no_request_at_all_is_the_owners_own_process():
    assert judge_visit([], {}) == Visit(local=True)


def test_a_configured_public_name_is_answered_but_is_not_local():
    visit = judge_visit(H("usage.example.com:443"), PUBLIC)
    assert visit == Visit(local=False)
    assert "names a public host" in remote_problem(visit)


@pytest.mark.parametrize("header", ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP",
                                    "x-forwarded-proto"])
def test_proxy_headers_are_ignored_but_make_a_loopback_request_remote(header):
    visit = judge_visit([*H("127.0.0.1:8501"), (header, "host=usage.example.com;for=203.0.113.9")], {})
    assert visit.refusal is None and not visit.local and visit.via_proxy == header.lower()
    problem = remote_problem(visit)
    assert header.lower() in problem and "trust_proxy_headers = true" in problem and "[auth]" in problem


def test_a_trusted_proxy_must_forward_a_listed_host_and_nobody_is_local():
    trusted = {"access": {"hosts": ["usage.example.com"], "trust_proxy_headers": True}}
    ok = judge_visit([*H("127.0.0.1:8501"), ("X-Forwarded-Host", "usage.example.com"),
                      ("X-Forwarded-For", "203.0.113.9")], trusted)
    assert ok == Visit()
    assert judge_visit(H("127.0.0.1:8501"), trusted) == Visit()
    for forged in [("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Host", "usage.example.com, evil.example"),
                   ("Forwarded", 'for=1.2.3.4;host="evil.example:443"'), ("X-Forwarded-Host", "")]:
        assert judge_visit([*H("127.0.0.1:8501"), forged], trusted).refusal, forged
    assert not trusts_proxy_headers({"access": {"trust_proxy_headers": "yes"}})


def test_public_hosts_are_read_without_ports_or_case():
    assert public_hosts({"access": {"hosts": ["Usage.Example.com.", " "]}}) == ["usage.example.com"]
    assert public_hosts({"access": {"hosts": "usage.example.com"}}) == ["usage.example.com"]
    assert public_hosts({}) == []


@pytest.mark.parametrize(("value", "name"), [
    ("localhost:8501", "localhost"), ("[::1]:80", "::1"), ("Example.COM", "example.com"), ("a:0", "a"),
    ("a:65536", None), ("a:", "a"), ("", None), (None, None), ("a b", None), ("a\\b", None),
])
def test_host_name(value, name):
    assert host_name(value) == name


# --- what the project ships -------------------------------------------------------------------------

@pytest.mark.slow
def test_sign_in_dependency_is_pinned_and_importable():
    """st.login raises StreamlitMissingAuthlibError without Authlib."""
    pins = [line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.lower().startswith("authlib")]
    assert pins and pins[0][0].lower() == "authlib" and len(pins[0]) == 2
    # What Streamlit imports on st.login; in a child so Authlib's import-time notices stay out of this run.
    out = subprocess.run([sys.executable, "-c", "from authlib.integrations import starlette_client"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-500:]


def test_the_secrets_file_is_never_committed():
    out = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=REPO, check=False)
    assert out.returncode == 0, ".streamlit/secrets.toml is not git-ignored"
