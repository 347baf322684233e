"""The first page after an import: answered from the live cost view while the priced cache is
stale, which the app then builds behind the page; the money is the same before and after."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store
from dashboard.warehouse import Warehouse
from dashboard.warehouse.prices import CACHED, PENDING, CacheState, cache_state
from pricing.sql import priced_requests_sql


def spend_shown(at: AppTest) -> str:
    return next(m for m in at.metric if m.label == "Spend").value


def _spend_shown_is_the_view_s_then_the_cache_catches_up(wh) -> Decimal:
    """Run the Overview: it shows the live view's spend and brings the priced cache up to date behind
    it; once that is done, the page shows the same spend. Returns that spend."""
    expected = wh.query(f"SELECT sum(cost) FROM ({priced_requests_sql()})").fetchone()[0]
    shown = f"${expected.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert spend_shown(at) == shown
    deadline = time.monotonic() + 60  # the page started the build once it was drawn
    while wh.priced_sql() != CACHED:
        assert time.monotonic() < deadline, "the priced cache was not brought up to date behind the page"
        time.sleep(0.05)
    store.clear()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert spend_shown(at) == shown
    return expected


def test_the_first_page_after_an_import_reads_the_view_and_the_cache_is_built_behind_it(new_db, monkeypatch):
    db = fixture.build(new_db())  # rows imported, the priced cache never built
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()
    wh = store.warehouse()
    assert wh.priced_sql() == priced_requests_sql()
    expected = _spend_shown_is_the_view_s_then_the_cache_catches_up(wh)
    assert wh.query("SELECT sum(cost) FROM priced_cache").fetchone()[0] == expected


def test_rows_written_into_a_current_cache_are_priced_in_behind_the_page_with_the_same_money(new_db, monkeypatch):
    db = fixture.build(new_db())
    with Warehouse.open(db) as wh:
        wh.refresh_priced_cache()
        later = fixture.rows(100, now=datetime.now(UTC) - timedelta(days=40))  # other ids: a new batch
        wh.insert_requests([{**r, "request_id": f"n{r['request_id']}"} for r in later])
        assert cache_state(wh.cursor()) is CacheState.PENDING
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()
    wh = store.warehouse()
    assert wh.priced_sql() == f"{CACHED} UNION ALL BY NAME {priced_requests_sql(requests=PENDING)}"
    expected = _spend_shown_is_the_view_s_then_the_cache_catches_up(wh)
    assert wh.query("SELECT count(*), sum(cost) FROM priced_cache").fetchone() == (400, expected)
