"""Live calls page: real calls to the loopback server, the exact cost shown, the call recorded, the key nowhere,
and no field that makes the server read an environment variable or send a key where it does not belong."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture
from support.fake_server import FAKE_KEY, FakeOpenAI

from dashboard.app_pages.forecasting.handoff import PLANNER_KEY
from dashboard.app_pages.live.forms import build_request, other_targets, parse_messages
from dashboard.app_pages.live.results import compare_rows
from dashboard.app_pages.live.runs import run_compare
from dashboard.appdata import store
from dashboard.charts.format import usd
from dashboard.errors import LiveCallError
from pricing import Usage, cost, default_catalog

PAGE = "app_pages/live_calls.py"
PROMPT = "Say hello in five words."  # five words: five prompt tokens on the loopback server
REPLY_TOKENS = 5  # the server's reply, "Hello from the loopback server."
KEY_VAR = "FAKE_TEST_KEY"  # where the server keeps the key it names "fake"
AWS, AWS_VALUE = "AWS_SECRET_ACCESS_KEY", "aws-secret-value-0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db(new_db, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fixture warehouse of this test's own (the calls below write to it), opened by the app."""
    path = fixture.build(new_db("usage.duckdb"), n=40)
    monkeypatch.setenv("USAGE_DB", str(path))
    monkeypatch.setenv("OURTOKEN_API_KEY", FAKE_KEY)
    monkeypatch.setenv(KEY_VAR, FAKE_KEY)
    monkeypatch.setenv(AWS, AWS_VALUE)
    store.clear()
    return path


def live_page(base_url: str, key: str | None = "key:fake", bind: str | None = None, **secrets: object) -> AppTest:
    """The page with the base URL and prompt filled in, and the server's key "fake" configured in secrets,
    bound to `bind` (default: the base URL's scheme, host and port); `key` picks the key choice when given.
    With an [auth] section in `secrets`, the visitor is signed in."""
    at = AppTest.from_file(fixture.APP, default_timeout=30)
    bind = bind or "/".join(base_url.split("/", 3)[:3])
    at.secrets["live_keys"] = {"fake": {"base_url": bind, "env": KEY_VAR}}
    at.secrets.update(secrets)
    if "auth" in secrets:
        at.user.update(is_logged_in=True, email_verified=True, exp=time.time() + 3600)
    at.query_params["range"] = "all"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    at.text_input(key="live_base_url").set_value(base_url)
    at.text_area(key="live_prompt").set_value(PROMPT)
    if key:
        at.selectbox(key="live_key").set_value(key)
    return at


def key_runs(data: bytes | str) -> list[str]:
    """The runs of 8 or more characters of the key in `data`."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [FAKE_KEY[i : i + 8] for i in range(len(FAKE_KEY) - 7) if FAKE_KEY[i : i + 8] in text]


def shown_bytes(at: AppTest, skip: object = None) -> Iterator[bytes]:
    """Every element of the page (but `skip`) as the bytes sent to the browser, plus its value as text."""
    for root in (at.main, at.sidebar):
        for node in root:
            if node is skip:
                continue
            if node.proto is not None:
                yield node.proto.SerializeToString()
            try:
                yield str(node.value).encode()
            except Exception:  # blocks and some elements have no value
                pass


def live_rows(wh) -> list[tuple]:
    return wh.query(
        "SELECT ts, provider, model, api_key, input_tokens, cache_read_tokens, output_tokens, status "
        "FROM requests WHERE source = 'live' ORDER BY ts"
    ).fetchall()


@pytest.mark.slow
def test_single_call_shows_exact_cost_records_it_and_never_shows_the_key(db: Path, fake: FakeOpenAI) -> None:
    at = live_page(fake.base_url())
    assert f"fake: sent only to http://127.0.0.1:{fake.port} (set)" in at.selectbox(key="live_key").options
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]

    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"  # the key did travel, in its header
    wh = store.warehouse()
    [(ts, provider, model, hint, input_t, cached_t, output_t, status)] = live_rows(wh)
    assert (provider, model, hint, input_t, cached_t, output_t, status) == (
        "ourtoken", "deepseek-v4-flash", "…" + FAKE_KEY[-4:], 5, 0, REPLY_TOKENS, "200"
    )
    breakdown = cost(Usage(input_tokens=5, output_tokens=REPLY_TOKENS), "deepseek-v4-flash", "ourtoken", at=ts,
                     catalog=default_catalog())
    expected = breakdown.rates.input * 5 / 1_000_000 + breakdown.rates.output * REPLY_TOKENS / 1_000_000
    assert breakdown.total_usd == expected > 0
    exact = f"${format(expected.normalize(), 'f')}"
    assert any(f"**Cost:** {exact} (exact" in m.value for m in at.markdown)
    assert any("Bearer ***" in str(j.value) for j in at.json)
    assert [t.value for t in at.toast] == ["Recorded 1 call(s) in the warehouse as source `live`"]

    wh.query("CHECKPOINT")
    secret = FAKE_KEY.encode()
    assert not [b for b in shown_bytes(at) if secret in b]
    for path in (db, db.with_name(db.name + ".wal")):
        assert not path.exists() or secret not in path.read_bytes(), path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "mode", "said"),
    [
        ("no-such-model", "", "price unknown: "),
        ("deepseek-v4-flash", "nousage", "usage not reported"),
    ],
    ids=["unpriced-model", "no-usage"],
)
def test_unknown_cost_is_said_never_zero(db: Path, fake: FakeOpenAI, model: str, mode: str, said: str) -> None:
    at = live_page(fake.base_url(mode))
    at.text_input(key="live_model").set_value(model)
    at.toggle(key="live_stream").set_value(False)
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(w.value.startswith(f"Cost: {said}") for w in at.warning)
    assert not any("$0" in m.value for m in at.markdown)
    assert len(live_rows(store.warehouse())) == 1


@pytest.mark.slow
def test_plain_http_to_a_remote_host_is_refused_on_the_page(db: Path, fake: FakeOpenAI) -> None:
    at = live_page("http://api.example.com/v1", key="none")
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("refusing plain http://" in e.value for e in at.error)
    assert not fake.hits and not live_rows(store.warehouse())


@pytest.mark.slow
def test_sample_run_reports_and_hands_numbers_to_the_planner(db: Path, fake: FakeOpenAI) -> None:
    at = live_page(fake.base_url())
    at.number_input(key="live_sample_n").set_value(4)
    at.number_input(key="live_sample_c").set_value(2)
    at.number_input(key="live_sample_rpd").set_value(250)
    at.checkbox(key="live_record").uncheck()
    at.button(key="live_sample_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert fake.count() == 4 and not live_rows(store.warehouse())  # not recorded: opted out
    at.button(key="live_to_planner").click().run()
    plan = at.session_state[PLANNER_KEY]
    assert plan["routes"] == ("ourtoken/deepseek-v4-flash",) and plan["requests_per_day"] == 250
    assert plan["output_tokens"] == Decimal(REPLY_TOKENS)
    assert plan["monthly_cost_usd"] == plan["mean_cost_usd"] * 250 * 30
    assert any("Forecast" in s.value for s in at.success)
    at.switch_page("app_pages/forecast.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = {k: at.number_input(key=k).value for k in ("fc_rpd", "fc_in", "fc_out", "fc_hit")}
    assert shown == {"fc_rpd": 250.0, "fc_in": 5.0, "fc_out": float(REPLY_TOKENS), "fc_hit": 0.0}


@pytest.mark.slow
def test_cache_probe_table_and_token_weighted_hit_rate(db: Path, fake: FakeOpenAI) -> None:
    at = live_page(fake.base_url())
    at.number_input(key="live_probe_n").set_value(3)
    at.button(key="live_probe_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    table = next(d.value for d in at.dataframe if "cached_tokens" in d.value.columns)
    prompt, cached = list(table["prompt_tokens"]), list(table["cached_tokens"])
    assert cached[0] == 0 and all(c > 0 and c % 64 == 0 for c in cached[1:]), cached
    rate = next(m.value for m in at.metric if m.label.startswith("Cache hit rate"))
    assert rate == f"{sum(cached) / sum(prompt) * 100:.1f}%"
    rows = live_rows(store.warehouse())
    assert [r[5] for r in rows] == cached and len(rows) == 3


# ------------------------------------------------------------------------ the page's plain helpers

ENV = {"OURTOKEN_API_KEY": FAKE_KEY, AWS: AWS_VALUE}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[{"role": "user", "content": "Hi"}]', None),
        ('{"messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]}', None),
        ("[{'role': 'user'}]", "the messages are not JSON"),
        ("[]", "non-empty list of objects with a role"),
        ('[{"content": "Hi"}]', "non-empty list of objects with a role"),
    ],
    ids=["list", "wrapped", "not-json", "empty", "no-role"],
)
def test_parse_messages(text: str, error: str | None) -> None:
    if error:
        with pytest.raises(LiveCallError, match=error):
            parse_messages(text)
    else:
        assert parse_messages(text)[-1] == {"role": "user", "content": "Hi"}


def test_compare_two_loopback_rows_exact_mean_cost(fake: FakeOpenAI) -> None:
    rows = [
        {"label": label, "base_url": fake.base_url(mode), "provider": "ourtoken", "model": "deepseek-v4-flash",
         "key": None}
        for label, mode in (("plain", ""), ("slow", "delay=0.05"))
    ]
    targets = other_targets(rows, {}, ENV)
    request = build_request("deepseek-v4-flash", PROMPT, None, None, None, stream=True)
    result = compare_rows(run_compare(targets, request, n=2, requests_per_day=100, catalog=default_catalog()))
    assert [r["label"] for r in result] == ["plain", "slow"] and all(r["errors"] == 0 for r in result)
    assert all("Authorization" not in h.headers for h in fake.hits)  # no key named: none sent
    one = cost(Usage(input_tokens=5, output_tokens=REPLY_TOKENS), "deepseek-v4-flash", "ourtoken",
               catalog=default_catalog()).total_usd
    assert [r["mean_cost_usd"] for r in result] == [usd(one, exact=True)] * 2
    assert [r["monthly_cost_usd"] for r in result] == [usd(one * 100 * 30, exact=True)] * 2


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"label": "far", "base_url": "http://api.example.com/v1", "model": "m"}, "'far': refusing plain http://"),
        ({"label": "keyless", "base_url": "https://api.example.com/v1", "model": "m", "key": "NOPE_KEY"},
         "'keyless': no key named 'NOPE_KEY' is configured (known: none)"),
        ({"label": "blank", "base_url": "https://api.example.com/v1", "model": float("nan")}, "'blank' has no model"),
    ],
    ids=["plain-http", "no-key", "no-model"],
)
def test_compare_rows_are_checked(row: dict, error: str) -> None:
    with pytest.raises(LiveCallError, match=re.escape(error)):
        other_targets([row], {}, ENV)


@pytest.mark.slow
def test_pasted_key_is_sent_and_shown_nowhere(db: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OURTOKEN_API_KEY")
    at = live_page(fake.base_url(), key=None)
    assert "OurToken: sent only to https://api.ourtoken.ai/v1 (not set)" in at.selectbox(key="live_key").options
    at.selectbox(key="live_key").set_value("typed").run()
    at.text_input(key="live_typed_key").input(FAKE_KEY)
    at.button(key="live_send").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"
    field = at.text_input(key="live_typed_key")
    assert field.proto.type == field.proto.PASSWORD
    leaks = [b for b in shown_bytes(at, skip=field) if FAKE_KEY.encode() in b]
    assert not leaks
    assert live_rows(store.warehouse())[0][3] == "…" + FAKE_KEY[-4:]


@pytest.mark.slow
def test_page_support_loads_neither_streamlit_nor_duckdb() -> None:
    code = ("import sys, dashboard.app_pages.live.forms, dashboard.app_pages.live.runs, "
            "dashboard.app_pages.live.results, dashboard.app_pages.forecasting.handoff; "
            "print([m for m in ('streamlit', 'duckdb') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(fixture.APP).parents[1], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ------------------------------------------------------------------------ keys: where they come from and go


@pytest.mark.slow
def test_no_field_names_a_variable_and_old_widget_state_reads_none(db: Path, fake: FakeOpenAI) -> None:
    """No field names a variable, and state a browser sends for one reads nothing (AWS_SECRET_ACCESS_KEY is set)."""
    at = live_page(fake.base_url(), key=None)
    labels = [t.label for t in at.text_input]
    assert not [label for label in labels if "variable" in label.lower() or "secret" in label.lower()], labels
    assert "live_key_env" not in [t.key for t in at.text_input]
    # What a hostile browser could still send: the old widgets' values. (A key choice naming the variable,
    # "key:AWS_SECRET_ACCESS_KEY", is refused by KeyChoice; see tests/dashboard/live/test_live_keys.py.)
    at.session_state["live_key_env"] = AWS
    at.session_state["live_key_source"] = "env"
    at.selectbox(key="live_key").set_value("none")
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(fake.hits) == 1 and "Authorization" not in fake.hits[0].headers
    assert AWS_VALUE not in repr(fake.hits)


@pytest.mark.slow
def test_a_preset_key_is_not_sent_to_another_url(db: Path, fake: FakeOpenAI) -> None:
    """OURTOKEN_API_KEY is set on the server; a typed base URL must not receive it."""
    at = live_page(fake.base_url(), key=None)
    assert at.selectbox(key="live_key").value == "key:OurToken"  # the preset's key, picked by default
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [
        f"the key 'OurToken' is sent only to https://api.ourtoken.ai/v1 (or a path under it), not to "
        f"{fake.base_url()}; set the base URL to https://api.ourtoken.ai/v1, paste a key of your own, or pick "
        "another key"
    ]
    assert not fake.hits and not live_rows(store.warehouse())


@pytest.mark.slow
def test_picking_a_key_moves_the_base_url_to_its_own(db: Path, fake: FakeOpenAI) -> None:
    at = live_page("https://api.example.com/v1", key=None, bind=f"http://127.0.0.1:{fake.port}")
    at.selectbox(key="live_key").set_value("key:fake").run()
    assert at.text_input(key="live_base_url").value == f"http://127.0.0.1:{fake.port}"


SIGNED_IN = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "q7Vd0-rN2pXe8LbT4cYh1MzKs6WfJu3A", "client_id": "id",
             "client_secret": "s", "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration"},
    "access": {"allowed": ["test@example.com"]},
}


@pytest.mark.slow
def test_shared_a_key_goes_to_its_own_url_exactly(db: Path, fake: FakeOpenAI) -> None:
    """With sign-in configured the app is shared: a configured key goes to its URL exactly, not a path under it."""
    at = live_page(fake.base_url(), **SIGNED_IN)
    at.run()  # picking the key moved the base URL to the key's own; a visitor types a path under it
    assert at.text_input(key="live_base_url").value == f"http://127.0.0.1:{fake.port}"
    at.text_input(key="live_base_url").set_value(fake.base_url())
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("is sent only to http://127.0.0.1:" in e.value and "(exactly)" in e.value for e in at.error), [
        e.value for e in at.error]
    assert not fake.hits
    at.text_input(key="live_base_url").set_value(f"http://127.0.0.1:{fake.port}").run()
    at.button(key="live_send").click().run()  # its own URL: sent (the server answers 404 for a path it lacks)
    assert [h.headers.get("Authorization") for h in fake.hits] == [f"Bearer {FAKE_KEY}"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "stream", "shown"),
    [
        ("echoid=whole+echochunk+echoheader", True, "(your key is ***)"),
        ("echobody=66", False, "HTTP 400"),
        ("echobadsse=66", True, "a stream event that is not JSON"),
    ],
    ids=["id-chunk-header", "error-body", "stream-event"],
)
def test_an_echoed_key_is_shown_and_stored_nowhere(db: Path, fake: FakeOpenAI, mode: str, stream: bool,
                                                   shown: str) -> None:
    at = live_page(fake.base_url(mode))
    at.toggle(key="live_stream").set_value(stream)
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"
    page = b"".join(shown_bytes(at))
    assert shown.encode() in page and not key_runs(page)
    wh = store.warehouse()
    ids = [r[0] for r in wh.query("SELECT request_id FROM requests WHERE source = 'live'").fetchall()]
    wh.query("CHECKPOINT")
    assert not key_runs(" ".join(ids)) and not key_runs(db.read_bytes())
    if mode.startswith("echoid"):
        assert len(ids) == 1 and any("response id held the API key" in c.value for c in at.caption)
    else:
        assert not ids  # a failed call is not a request
    # every call is in the log with its outcome, and the page lists it
    assert [r[0] for r in wh.query("SELECT ok FROM live_calls").fetchall()] == [mode.startswith("echoid")]
    assert [len(d.value) for d in at.dataframe if "error_kind" in d.value.columns] == [1]
