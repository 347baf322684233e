"""Live calls page: real calls to the loopback server, the exact cost shown, the call recorded, the key nowhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import app_fixture as fixture
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from dashboard.live.ui_support import PLANNER_KEY
from pricing import Usage, cost, default_catalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from fake_server import FAKE_KEY, FakeOpenAI

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")
PAGE = "app_pages/live_calls.py"
PROMPT = "Say hello in five words."  # five words: five prompt tokens on the loopback server
REPLY_TOKENS = 5  # the server's reply, "Hello from the loopback server."


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fixture warehouse of this test's own (the calls below write to it), opened by the app."""
    path = fixture.build(tmp_path / "usage.duckdb", n=40)
    monkeypatch.setenv("USAGE_DB", str(path))
    monkeypatch.setenv("OURTOKEN_API_KEY", FAKE_KEY)
    cache.clear_data()
    return path


def live_page(base_url: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["range"] = "all"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    at.text_input(key="live_base_url").set_value(base_url)
    at.text_area(key="live_prompt").set_value(PROMPT)
    return at


def shown_bytes(at: AppTest) -> Iterator[bytes]:
    """Every element of the page as the bytes sent to the browser, plus its value as text."""
    for root in (at.main, at.sidebar):
        for node in root:
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


def test_single_call_shows_exact_cost_records_it_and_never_shows_the_key(db: Path, fake: FakeOpenAI) -> None:
    at = live_page(fake.base_url())
    assert any("OURTOKEN_API_KEY (set)" in str(o) for o in at.radio(key="live_key_source").options)
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]

    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"  # the key did travel, in its header
    wh = cache._open(str(db.resolve()))
    [(ts, provider, model, hint, input_t, cached_t, output_t, status)] = live_rows(wh)
    assert (provider, model, hint, input_t, cached_t, output_t, status) == (
        "ourtoken", "deepseek-v4-flash", FAKE_KEY[-4:], 5, 0, REPLY_TOKENS, "200"
    )
    breakdown = cost(Usage(input_tokens=5, output_tokens=REPLY_TOKENS), "deepseek-v4-flash", "ourtoken", at=ts,
                     catalog=default_catalog())
    expected = breakdown.rates.input * 5 / 1_000_000 + breakdown.rates.output * REPLY_TOKENS / 1_000_000
    assert breakdown.total_usd == expected > 0
    exact = f"${format(expected.normalize(), 'f')}"
    assert any(f"**Cost:** {exact} (exact" in m.value for m in at.markdown)
    assert any("Bearer ***" in str(j.value) for j in at.json)

    wh.query("CHECKPOINT")
    secret = FAKE_KEY.encode()
    assert not [b for b in shown_bytes(at) if secret in b]
    for path in (db, db.with_name(db.name + ".wal")):
        assert not path.exists() or secret not in path.read_bytes(), path


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
    assert len(live_rows(cache._open(str(db.resolve())))) == 1


def test_plain_http_to_a_remote_host_is_refused_on_the_page(db: Path, fake: FakeOpenAI) -> None:
    at = live_page("http://api.example.com/v1")
    at.button(key="live_send").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("refusing plain http://" in e.value for e in at.error)
    assert not fake.hits and not live_rows(cache._open(str(db.resolve())))


def test_sample_run_reports_and_hands_numbers_to_the_planner(db: Path, fake: FakeOpenAI) -> None:
    at = live_page(fake.base_url())
    at.number_input(key="live_sample_n").set_value(4)
    at.number_input(key="live_sample_c").set_value(2)
    at.number_input(key="live_sample_rpd").set_value(1000)
    at.checkbox(key="live_record").uncheck()
    at.button(key="live_sample_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert fake.count() == 4 and not live_rows(cache._open(str(db.resolve())))  # not recorded: opted out
    at.button(key="live_to_planner").click().run()
    plan = at.session_state[PLANNER_KEY]
    assert plan["routes"] == ("ourtoken/deepseek-v4-flash",) and plan["requests_per_day"] == 1000
    assert plan["output_tokens"] == Decimal(REPLY_TOKENS)
    assert plan["monthly_cost_usd"] == plan["mean_cost_usd"] * 1000 * 30
    assert any("Forecast" in s.value for s in at.success)
