"""Prices page: catalog, route comparison, history; an override re-prices history (own warehouse)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store
from pricing import Usage, load_catalog, price_usage


@pytest.fixture
def fresh(tmp_path: Path, new_db, monkeypatch: pytest.MonkeyPatch):
    db = fixture.build(new_db("prices.duckdb"), n=60)
    local = tmp_path / "prices.local.toml"
    monkeypatch.setenv("USAGE_DB", str(db))
    monkeypatch.setenv("PRICES_LOCAL", str(local))
    store.clear()
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    at.switch_page("app_pages/prices.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at, local


def test_catalog_and_route_comparison(fresh):
    at, local = fresh
    catalog = load_catalog(overlays=[local])
    assert len(at.dataframe[0].value) == len(catalog.models)
    routes = at.dataframe[1].value
    usage = Usage(input_tokens=8000 - 4000, cache_read_tokens=4000, output_tokens=500)
    cheapest = routes.iloc[0]
    expected = price_usage(catalog.resolve(cheapest["model"], cheapest["provider"]), usage).total_usd
    assert cheapest["total_usd"] == pytest.approx(float(expected), abs=1e-12)
    assert list(routes["total_usd"]) == sorted(routes["total_usd"])


@pytest.mark.slow
def test_override_reprices_history(fresh):
    at, local = fresh
    at.text_input(key="o_provider").set_value("acme")
    at.text_input(key="o_model").set_value("acme-unpriced")
    for rate, value in {"input": "1.5", "output": "6", "cache_read": "0.15", "cache_write": "0"}.items():
        at.text_input(key=f"o_{rate}").set_value(value)
    at.checkbox(key="o_whole").check()
    at.text_input(key="o_source").set_value("contract 2026-11")
    next(b for b in at.button if b.label.startswith("Save")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "prices.local.toml" in local.name and "acme-unpriced" in local.read_text()
    wh = store.warehouse()
    unpriced, cost = wh.query(
        f"SELECT count(*) FILTER (WHERE unpriced), sum(cost) FILTER (WHERE model = 'acme-unpriced') "
        f"FROM ({wh.priced_sql()})"
    ).fetchone()
    assert unpriced == 0
    tokens = wh.query(
        "SELECT sum(input_tokens), sum(cache_read_tokens), sum(output_tokens) FROM requests "
        "WHERE model = 'acme-unpriced'"
    ).fetchone()
    assert cost == (Decimal("1.5") * tokens[0] + Decimal("0.15") * tokens[1] + 6 * tokens[2]) / 1_000_000
    at.switch_page("app_pages/overview.py").run()
    assert next(m for m in at.metric if m.label == "Unpriced requests").value == "0"


@pytest.mark.slow
def test_history_of_every_model_draws(fresh):
    at, _ = fresh
    for name in at.selectbox(key="history_model").options[:40]:
        at.selectbox(key="history_model").set_value(name).run()
        assert not at.exception, name


@pytest.mark.slow
def test_negotiated_discount_reprices_from_its_date(fresh):
    at, local = fresh
    wh = store.warehouse()
    where = "provider = 'openai' AND model = 'gpt-4o-mini'"
    first, before = wh.query(f"SELECT min(ts), sum(cost) FROM ({wh.priced_sql()}) WHERE {where}").fetchone()
    assert before > 0
    at.selectbox(key="d_route").set_value("openai/gpt-4o-mini")
    at.text_input(key="d_percent").set_value("20")
    at.date_input(key="d_since").set_value(first.date())
    at.text_input(key="d_source").set_value("order form 42")
    next(b for b in at.button if b.label.startswith("Apply discount")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "gpt-4o-mini" in local.read_text()
    after = wh.query(f"SELECT sum(cost) FROM ({wh.priced_sql()}) WHERE {where}").fetchone()[0]
    # gpt-4o-mini's list rates (0.15 / 0.6 / 0.075 per 1M) take 20 % off exactly, so every request does too.
    assert after == before * Decimal("0.8")


BAD_LOCAL = """
[route]
provider = "acme"

[[models]]
id = "acme-unpriced"
[[models.periods]]
source = "typed by hand"
checked = 2026-11-01
input = 1e12
output = 2
cache_read = 0
cache_write = 0

[[models]]
id = "acme-other"
[[models.periods]]
source = "contract"
checked = 2026-11-01
input = 1
output = 2
cache_read = 0
cache_write = 0
"""


@pytest.mark.slow
def test_a_bad_hand_written_price_is_shown_with_the_fix_and_the_rest_applies(tmp_path, new_db, monkeypatch):
    """A 1e12 rate in the local file used to stop the warehouse from opening, on every page."""
    db = fixture.build(new_db("bad-price.duckdb"), n=60)
    local = tmp_path / "prices.local.toml"
    local.write_text(BAD_LOCAL, encoding="utf-8")
    monkeypatch.setenv("USAGE_DB", str(db))
    monkeypatch.setenv("PRICES_LOCAL", str(local))
    store.clear()
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.switch_page("app_pages/prices.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [warning] = [w.value for w in at.warning if "Left out of the prices" in w.value]
    for part in (str(local), "model acme/acme-unpriced period 0", "rate 'input'",
                 "from 0 to 10,000 with at most 6 decimals", "Fix or remove that entry"):
        assert part in warning, part
    shown = at.dataframe[0].value
    assert "acme-other" in set(shown["model"]) and "acme-unpriced" not in set(shown["model"])

    # Fixed by hand, then reloaded from the page: the warning goes and the price applies.
    local.write_text(BAD_LOCAL.replace("input = 1e12", "input = 1.5"), encoding="utf-8")
    at.button(key="reload_prices").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not [w for w in at.warning if "Left out of the prices" in w.value]
    wh = store.warehouse()
    unpriced = wh.query(f"SELECT count(*) FILTER (WHERE unpriced) FROM ({wh.priced_sql()})").fetchone()[0]
    assert unpriced == 0


@pytest.mark.slow
def test_a_key_typed_into_an_override_is_written_as_its_hint(fresh):
    # The page's fields are anyone's: the local prices file keeps no key typed into them.
    at, local = fresh
    key = "sk-proj-TYPED-PRICE-SECRET-7777-abcd"
    at.text_input(key="o_provider").set_value("acme")
    at.text_input(key="o_model").set_value(f"model-{key}")
    for rate, value in {"input": "1", "output": "2", "cache_read": "0.1", "cache_write": "0"}.items():
        at.text_input(key=f"o_{rate}").set_value(value)
    at.checkbox(key="o_whole").check()
    at.text_input(key="o_source").set_value(f"invoice?key={key}")
    next(b for b in at.button if b.label.startswith("Save")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    written = local.read_text()
    assert "model-sk-…abcd" in written and "…abcd" in written.split("invoice?key=", 1)[1]
    assert key[:-4] not in written
