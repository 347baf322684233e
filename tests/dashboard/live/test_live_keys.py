"""Keys a web user may pick: named by the server, each sent only to its own base URL; never an
environment variable or secret named on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pytest
from support.fake_server import FAKE_KEY, FakeOpenAI

from dashboard.app_pages.live.forms import NO_KEY, TYPED_KEY, KeyChoice, build_endpoint, build_request, other_targets
from dashboard.app_pages.live.runs import run_compare, run_single
from dashboard.errors import LiveCallError
from dashboard.live.keys import NamedKey, named_keys

AWS = "AWS_SECRET_ACCESS_KEY"
AWS_VALUE = "aws-secret-value-0123456789abcdef"


class Environ(Mapping[str, str]):
    """An environment that remembers every variable looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.asked = values, []

    def __getitem__(self, name: str) -> str:
        self.asked.append(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def env() -> Environ:
    return Environ({AWS: AWS_VALUE, "OURTOKEN_API_KEY": FAKE_KEY, "FAKE_TEST_KEY": FAKE_KEY})


def keys_for(fake: FakeOpenAI) -> dict[str, NamedKey]:
    keys, problems = named_keys({"fake": {"base_url": fake.base_url(), "env": "FAKE_TEST_KEY",
                                          "provider": "ourtoken"}})
    assert not problems
    return keys


def test_presets_and_secrets_tables_are_the_named_keys() -> None:
    keys, problems = named_keys({
        "team": {"base_url": "https://api.openai.com/v1", "key": "sk-team-abcdefgh"},
        "DeepSeek": {"base_url": "https://api.deepseek.com/beta", "env": "DS_BETA_KEY"},
        "typo": {"base_url": "https://api.openai.com/v1", "env": "X", "base_ulr": "y"},
        "both": {"base_url": "https://api.openai.com/v1", "env": "X", "key": "y"},
        "neither": {"base_url": "https://api.openai.com/v1"},
        "clear": {"base_url": "http://api.example.com/v1", "env": "X"},
        "flat": "sk-not-a-table",
    })
    assert keys["OurToken"] == NamedKey("OurToken", "https://api.ourtoken.ai/v1", env="OURTOKEN_API_KEY",
                                        provider="ourtoken")
    assert keys["DeepSeek"].base_url == "https://api.deepseek.com/beta"  # a table replaces the preset
    assert keys["team"].value == "sk-team-abcdefgh" and "abcdefgh" not in repr(keys["team"])
    assert "Local server" not in keys  # a preset without a key variable names no key
    assert sorted(problems) == sorted([
        "[live_keys.typo] in .streamlit/secrets.toml has unknown field(s) base_ulr; known: base_url, env, key, "
        "provider",
        "[live_keys.both] in .streamlit/secrets.toml needs exactly one of env (a variable on the server) or key",
        "[live_keys.neither] in .streamlit/secrets.toml needs exactly one of env (a variable on the server) or key",
        "[live_keys.clear] in .streamlit/secrets.toml: refusing plain http:// to 'api.example.com': the API key "
        "would travel unencrypted. Use https://; http:// is allowed only for loopback hosts (127.0.0.0/8, "
        "localhost, ::1)",
        "[live_keys.flat] in .streamlit/secrets.toml is not a table; write base_url and env (or key) under it",
    ])


OURTOKEN = NamedKey("OurToken", "https://api.ourtoken.ai/v1", env="OURTOKEN_API_KEY")


@pytest.mark.parametrize(
    ("url", "local", "shared"),
    [
        ("https://api.ourtoken.ai/v1", True, True),
        ("https://API.OurToken.ai:443/v1/", True, True),
        ("https://api.ourtoken.ai/v1/proxy", True, False),
        ("https://api.ourtoken.ai/v1beta", False, False),
        ("https://api.ourtoken.ai", False, False),
        ("https://api.ourtoken.ai/v1/../admin", False, False),
        ("https://api.ourtoken.ai/v1/%2e%2e/admin", False, False),
        ("https://api.ourtoken.ai:8443/v1", False, False),
        ("http://api.ourtoken.ai/v1", False, False),
        ("https://api.ourtoken.ai.evil.example/v1", False, False),
        ("https://api.ourtoken.ai@evil.example/v1", False, False),
        ("https://evil.example@api.ourtoken.ai/v1", False, False),
        ("https://api.ourtoken.ai/v1?next=https://evil.example", False, False),
        ("https://api.ourtoken.ai/v1#x", False, False),
        ("http://127.0.0.1:8000/v1", False, False),
        ("not a url", False, False),
    ],
    ids=["same", "spelled-otherwise", "path-under", "path-prefix-not-segment", "parent-path", "dot-dot",
         "encoded-dot-dot", "other-port", "other-scheme", "other-host-suffix", "userinfo-host", "userinfo",
         "query", "fragment", "loopback", "garbage"],
)
def test_a_named_key_goes_only_to_its_own_base_url(url: str, local: bool, shared: bool) -> None:
    assert (OURTOKEN.refusal(url, shared=False) is None) == local
    assert (OURTOKEN.refusal(url, shared=True) is None) == shared


def test_a_refused_url_gets_no_key_and_a_clear_message() -> None:
    with pytest.raises(LiveCallError) as caught:
        OURTOKEN.api_key({"OURTOKEN_API_KEY": FAKE_KEY}, "https://api.example.com/v1", shared=True)
    assert str(caught.value) == (
        "the key 'OurToken' is sent only to https://api.ourtoken.ai/v1 (exactly), not to "
        "https://api.example.com/v1; set the base URL to https://api.ourtoken.ai/v1, paste a key of your own, "
        "or pick another key"
    )
    key = OURTOKEN.api_key({"OURTOKEN_API_KEY": FAKE_KEY}, "https://api.ourtoken.ai/v1/", shared=True)
    assert key.reveal() == FAKE_KEY
    with pytest.raises(LiveCallError, match="the key 'OurToken' is not set: whoever runs the server sets it in the "
                                            "server's environment variable OURTOKEN_API_KEY"):
        OURTOKEN.api_key({}, "https://api.ourtoken.ai/v1", shared=False)


@pytest.mark.parametrize("option", [AWS, f"key:{AWS}", "env", "secrets", f"env:{AWS}"])
def test_the_page_cannot_name_an_environment_variable(option: str) -> None:
    """No widget value makes the server read a variable, whatever the browser sends."""
    environ = env()
    keys, _ = named_keys(None)
    choice = KeyChoice.of(option)
    try:
        endpoint = build_endpoint("https://api.example.com/v1", "", choice, keys, environ, shared=False)
    except LiveCallError as e:
        assert "no key named 'AWS_SECRET_ACCESS_KEY' is configured (known: DeepSeek, OpenAI, OpenRouter, " \
               "OurToken)" in str(e)
    else:
        assert endpoint.api_key is None
    assert AWS not in environ.asked and environ.asked == []


@pytest.mark.parametrize(
    ("choice", "typed", "url", "error"),
    [
        (KeyChoice(NO_KEY), None, "https://api.ourtoken.ai/v1", None),
        (KeyChoice(TYPED_KEY), FAKE_KEY, "https://api.example.com/v1", None),
        (KeyChoice(TYPED_KEY), " ", "https://api.example.com/v1", "no API key was pasted; paste one in the key field"),
        (KeyChoice("named", "OurToken"), None, "https://api.ourtoken.ai/v1", None),
        (KeyChoice("named", "OurToken"), None, "https://api.example.com/v1", "is sent only to"),
        (KeyChoice("named", "OurToken"), None, "http://api.ourtoken.ai/v1", "refusing plain http://"),
    ],
    ids=["none", "typed-anywhere", "typed-empty", "named-home", "named-elsewhere", "plain-http"],
)
def test_key_choice(choice: KeyChoice, typed: str | None, url: str, error: str | None) -> None:
    keys, _ = named_keys(None)
    if error:
        with pytest.raises(LiveCallError, match=re.escape(error)) as caught:
            build_endpoint(url, "", choice, keys, env(), typed=typed)
        assert FAKE_KEY not in str(caught.value)
        return
    endpoint = build_endpoint(url, "", choice, keys, env(), typed=typed)
    assert (endpoint.api_key is not None) == (choice.source != NO_KEY)
    assert KeyChoice.of(choice.option) == choice


def test_a_configured_key_reaches_its_own_server_only(fake: FakeOpenAI) -> None:
    keys = keys_for(fake)
    request = build_request("deepseek-v4-flash", "hi there", None, None, None, stream=False)
    home = build_endpoint(fake.base_url(), "ourtoken", KeyChoice("named", "fake"), keys, env())
    assert run_single(home, request).ok
    assert fake.hits[-1].headers["Authorization"] == f"Bearer {FAKE_KEY}"
    with pytest.raises(LiveCallError, match="is sent only to"):  # another port of the same machine
        build_endpoint(f"http://127.0.0.1:{fake.port + 1}/v1", "", KeyChoice("named", "fake"), keys, env())
    under = fake.base_url() + "/under"
    assert build_endpoint(under, "", KeyChoice("named", "fake"), keys, env(), shared=False).api_key is not None
    with pytest.raises(LiveCallError, match="is sent only to"):  # shared: exactly its URL, not a path under it
        build_endpoint(under, "", KeyChoice("named", "fake"), keys, env(), shared=True)
    assert len(fake.hits) == 1


def test_comparison_rows_name_configured_keys_only(fake: FakeOpenAI) -> None:
    """A comparison row names a configured key, never a variable, and the key goes only to its own URL."""
    keys, environ = keys_for(fake), env()
    row = {"label": "exfil", "base_url": fake.base_url(), "model": "m"}
    for hostile, error in [({"key_env": AWS}, "keys are not read from environment variables named on the page"),
                           ({"key": AWS}, "no key named 'AWS_SECRET_ACCESS_KEY' is configured")]:
        with pytest.raises(LiveCallError, match=re.escape(f"comparison row 'exfil': {error}")):
            other_targets([{**row, **hostile}], keys, environ)
    with pytest.raises(LiveCallError, match=re.escape("comparison row 'far': the key 'fake' is sent only to")):
        other_targets([{"label": "far", "base_url": "https://api.example.com/v1", "model": "m", "key": "fake"}],
                      keys, environ)
    assert AWS not in environ.asked and not fake.hits

    rows = [{"label": "keyed", "base_url": None, "model": "deepseek-v4-flash", "key": "fake"},
            {"label": "keyless", "base_url": fake.base_url("nokey"), "model": "deepseek-v4-flash", "key": ""}]
    targets = other_targets(rows, keys, environ)
    assert targets[0].endpoint.base_url == fake.base_url() and targets[0].endpoint.provider == "ourtoken"
    request = build_request("deepseek-v4-flash", "hi there", None, None, None, stream=True)
    result = run_compare(targets, request, n=1, requests_per_day=None)
    assert [c.report.errors for c in result] == [0, 0]
    sent = {h.mode: h.headers.get("Authorization") for h in fake.hits}
    assert sent == {"": f"Bearer {FAKE_KEY}", "nokey": None}
    assert AWS_VALUE not in repr(fake.hits)
