"""Who may look: loopback by default, sign-in plus an allow-list otherwise."""

import tomllib
from pathlib import Path

import pytest

from dashboard.access import allow_list, exposure_problem, is_allowed, is_loopback

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("", False), (None, False), ("192.168.1.5", False), ("example.com", False), ("::", False),
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
