"""Rows covering a day inside which the price changes: the Statement and the Overview say how
much of the computed cost is approximate, and the Statement charges the export's billed cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store
from dashboard.charts.format import usd
from dashboard.ingest import import_file
from dashboard.warehouse import Warehouse

# A Monday (peak hours inside: approximate) and a Saturday (one price all day: exact) of
# deepseek-v4-flash, 1M input and 1M output tokens each, with the cost the export billed.
DAILY = ("date,model,provider,requests,input_tokens,output_tokens,cost\n"
         "2026-08-24,deepseek-v4-flash,deepseek,10,1000000,1000000,1.2\n"
         "2026-08-29,deepseek-v4-flash,deepseek,10,1000000,1000000,0.9\n")
MONDAY = Decimal("0.284167") + Decimal("0.8525")  # (7 x 0.44 + 17 x 0.22) / 24 -> 0.284167; (7 x 1.32 + 17 x 0.66) / 24
SATURDAY = Decimal("0.22") + Decimal("0.66")


@pytest.fixture
def daily_app(tmp_path, new_db, monkeypatch):
    path = tmp_path / "daily.csv"
    path.write_text(DAILY, encoding="utf-8")
    db = new_db()
    with Warehouse.open(db) as wh:
        import_file(wh, path)
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()

    def run(page: str) -> AppTest:
        at = AppTest.from_file(fixture.APP, default_timeout=60)
        at.query_params.update({"range": "all"})
        at.run()
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return run


@pytest.mark.slow
def test_the_statement_shows_the_approximate_part_and_charges_the_billed_cost(daily_app):
    at = daily_app("app_pages/statement.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Computed"] == usd(MONDAY + SATURDAY, 2)
    assert metrics["Charged"] == metrics["Billed"] == usd(Decimal("2.1"), 2)
    assert any(f"of which approximate: {usd(MONDAY, 2)}" in c.value for c in at.caption)


def test_the_overview_says_how_much_of_the_range_is_approximate(daily_app):
    at = daily_app("app_pages/overview.py")
    assert any(f"{usd(MONDAY, 2)} is approximate" in c.value for c in at.caption)
