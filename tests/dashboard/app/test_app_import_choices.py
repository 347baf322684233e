"""Import page choices: profiles, default routes, the whole-file cached-token check, the priced preview, words.

Each test has a warehouse of its own, and drives the page through AppTest as a person would.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store
from dashboard.warehouse import settings

HEADER = "When,LLM,Sent,Cached,Received,Spend (USD),Call\n"


def gateway_csv(month: str, n: int = 12) -> bytes:
    """A gateway's export with headers nobody guesses but the charge; naive times."""
    rows = [f"{month}-{1 + i:02d} 09:30:00,deepseek-v4-flash,{4000 + 100 * i},{1000 + 10 * i},{200 + i},0.01,{month}-c{i}"
            for i in range(n)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def jsonl(n: int = 8, model: str = "deepseek-v4-flash") -> bytes:
    return "".join(json.dumps({
        "id": f"x{i}", "object": "chat.completion", "created": 1790000000 + 3600 * i, "model": model,
        "usage": {"prompt_tokens": 3000 + i, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 2000}},
    }) + "\n" for i in range(n)).encode()


@pytest.fixture
def page(new_db, monkeypatch: pytest.MonkeyPatch):
    db = fixture.build(new_db("import.duckdb"), n=10)
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()

    def open_page() -> AppTest:
        at = AppTest.from_file(fixture.APP, default_timeout=60)
        at.query_params["range"] = "all"
        at.run()
        at.switch_page("app_pages/import_logs.py").run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return open_page, store.warehouse()


def _widget(widgets, prefix: str):
    return next(w for w in widgets if w.key and w.key.startswith(prefix))


def _upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader[0].set_value([(name, data, mime)]).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _shown(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in (at.error, at.warning, at.info, at.caption, at.markdown) for e in kind)


def _month_cost(wh, source: str, month: str) -> tuple[Decimal, int, set[str]]:
    cost, n = wh.query(f"SELECT sum(cost), count(*) FROM ({wh.priced_sql()}) WHERE source = ? "
                       "AND strftime(ts, '%Y-%m') = ?", [source, month]).fetchone()
    providers = {r[0] for r in wh.query("SELECT DISTINCT provider FROM requests WHERE source = ?", [source]).fetchall()}
    return cost, n, providers


@pytest.mark.slow
def test_a_profile_makes_the_next_export_of_the_same_source_need_no_choices(page):
    open_page, wh = page
    at = _upload(open_page(), "acme-gw-2026-10.csv", gateway_csv("2026-10"))
    uid = _widget(at.selectbox, "fmt_").key.removeprefix("fmt_")
    assert at.selectbox(key=f"fmt_{uid}").value == "generic"
    # The charge column is guessed; the rest is mapped by hand, with the route, the zone and a source.
    assert at.selectbox(key=f"map_{uid}_billed_cost").value == "Spend (USD)"
    for field, header in {"ts": "When", "model": "LLM", "prompt_tokens": "Sent", "cache_read": "Cached",
                          "output": "Received", "request_id": "Call"}.items():
        at.selectbox(key=f"map_{uid}_{field}").set_value(header)
    _widget(at.selectbox, f"provider_{uid}").set_value("ourtoken")
    _widget(at.text_input, f"tz_{uid}").set_value("Europe/Berlin")
    _widget(at.text_input, f"source_{uid}").set_value("acme-gw")
    at.radio(key=f"cached_{uid}").set_value("yes")
    at.run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="import").click().run()
    assert {m.label: m.value for m in at.metric}["Added"] == "12"
    saved = settings.profile(wh, "acme-gw", "generic")
    assert saved is not None and saved.provider == "ourtoken" and saved.tz == "Europe/Berlin"
    profiles = next(d.value for d in at.dataframe if "Column mapping" in d.value.columns)
    assert profiles["Source"].tolist() == ["acme-gw"] and "Spend (USD) → billed_cost" in profiles["Column mapping"][0]

    # Next month's export, in a new session: no choice is made, and it lands the same way.
    at = _upload(open_page(), "acme-gw-2026-11.csv", gateway_csv("2026-11"))
    uid = _widget(at.selectbox, "fmt_").key.removeprefix("fmt_")
    assert _widget(at.selectbox, f"provider_{uid}").value == "ourtoken"
    assert _widget(at.text_input, f"source_{uid}").value == "acme-gw"
    assert "saved profile" in _shown(at)
    at.button(key="import").click().run()
    assert {m.label: m.value for m in at.metric}["Added"] == "12"
    october, november = _month_cost(wh, "acme-gw", "2026-10"), _month_cost(wh, "acme-gw", "2026-11")
    assert october == november and october[1] == 12 and october[2] == {"ourtoken"}
    # Naive 09:30 in Berlin is 08:30 UTC in November (standard time).
    hours = wh.query("SELECT DISTINCT hour(ts AT TIME ZONE 'UTC') FROM requests WHERE source = 'acme-gw' "
                     "AND strftime(ts, '%Y-%m') = '2026-11'").fetchall()
    assert hours == [(8,)]

    # A file of the same format whose name does not hold the source is not taken for that source's.
    at = _upload(open_page(), "export.csv", gateway_csv("2026-12"))
    uid = _widget(at.selectbox, "fmt_").key.removeprefix("fmt_")
    assert _widget(at.selectbox, f"provider_{uid}").value == "as in the file"
    assert _widget(at.text_input, f"source_{uid}").value == "generic"

    # A profile deleted on the page is gone.
    at.selectbox(key="profile_pick").set_value("acme-gw / generic")
    at.button(key="delete_profile").click().run()
    assert settings.profile(wh, "acme-gw", "generic") is None


@pytest.mark.slow
def test_the_default_route_applies_to_a_file_that_names_no_provider(page):
    open_page, wh = page
    at = open_page()
    at.selectbox(key="default_vendor").set_value("deepseek")
    at.run()
    at.selectbox(key="default_route").set_value("ourtoken")
    at.button(key="save_default_route").click().run()
    assert settings.default_routes(wh) == {"deepseek": "ourtoken"}
    at = _upload(open_page(), "calls.jsonl", jsonl(), "application/json")
    assert "default route: billed through 'ourtoken'" in _shown(at)
    assert set(at.dataframe[0].value["Route"]) == {"ourtoken"}  # the preview says so before anything is written
    at.button(key="import").click().run()
    assert {m.label: m.value for m in at.metric}["Added"] == "8"
    assert _month_cost(wh, "openai-log", "2026-09")[2] == {"ourtoken"}


def test_detect_reads_the_whole_file_and_rejects_no_good_row(page):
    """The first 20 rows could include their cached tokens; the last 10 cannot (cached > prompt):
    the buckets are disjoint, so every row is good and the cached tokens are all cache reads."""
    open_page, wh = page
    rows = [f"2026-10-{1 + i % 28:02d}T10:00:00Z,deepseek-v4-flash,{5000 if i < 20 else 1000},"
            f"{3000 if i < 20 else 4000},100,d{i}" for i in range(30)]
    data = ("timestamp,model,input_tokens,cached_tokens,output_tokens,request_id\n" + "\n".join(rows)).encode()
    at = _upload(open_page(), "disjoint.csv", data)
    uid = _widget(at.selectbox, "fmt_").key.removeprefix("fmt_")
    assert at.radio(key=f"cached_{uid}").value.startswith("detect")
    assert "10 rows have more cached than prompt tokens" in _shown(at)
    at.button(key="import").click().run()
    assert {m.label: m.value for m in at.metric} == {"Added": "30", "Duplicates": "0", "Rejected": "0"}
    inputs, reads = wh.query("SELECT sum(input_tokens), sum(cache_read_tokens) FROM requests "
                             "WHERE source = 'generic'").fetchone()
    assert (inputs, reads) == (20 * 5000 + 10 * 1000, 20 * 3000 + 10 * 4000)


@pytest.mark.slow
def test_preview_prices_rows_and_says_why_others_are_unpriced(page):
    open_page, _ = page
    data = (b"timestamp,provider,model,input_tokens,output_tokens,request_id\n"
            b"2026-10-01T10:00:00Z,ourtoken,deepseek-v4-flash,1000000,1000000,p1\n"
            b"2026-10-01T11:00:00Z,acme,acme-9,100,20,p2\n")
    at = _upload(open_page(), "mixed.csv", data)
    preview = at.dataframe[0].value
    priced = preview[preview["Model"] == "deepseek-v4-flash"].iloc[0]
    # ourtoken's list: $0.1120 per 1M input, $0.2240 per 1M output
    assert Decimal(priced["Computed (USD)"]) == Decimal("0.1120") + Decimal("0.2240")
    assert "no price for model 'acme-9' on route 'acme'" in " ".join(w.value for w in at.warning)


@pytest.mark.slow
def test_messages_speak_the_pages_words(page):
    open_page, _ = page
    data = b"timestamp,input_tokens,output_tokens,request_id\n2026-10-01T10:00:00Z,10,2,m1\n"
    at = _upload(open_page(), "nomodel.csv", data)
    problems = " ".join(at.dataframe[0].value["Problem"])
    assert "Model override" in problems and "--model" not in problems
    uid = _widget(at.selectbox, "fmt_").key.removeprefix("fmt_")
    _widget(at.text_input, f"tz_{uid}").set_value("Mars/Olympus").run()
    assert any(e.value.startswith("Time zone: unknown time zone 'Mars/Olympus'") for e in at.error)
    assert "--tz" not in _shown(at)


@pytest.mark.slow
def test_a_header_only_file_says_it_has_no_rows(page):
    open_page, _ = page
    at = _upload(open_page(), "empty-month.csv", b"timestamp,model,input_tokens,output_tokens,request_id\n")
    assert any("has no rows" in w.value for w in at.warning)
    assert not any(b.key == "import" for b in at.button)


@pytest.mark.slow
def test_a_finished_imports_result_goes_with_its_file(page):
    open_page, _ = page
    at = _upload(open_page(), "calls.jsonl", jsonl(3), "application/json")
    at.button(key="import").click().run()
    assert [m.label for m in at.metric] == ["Added", "Duplicates", "Rejected"]
    at.file_uploader[0].set_value([]).run()
    assert not at.metric
