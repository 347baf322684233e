"""The SQL cost view and the Python engine agree to the last digit, for every row.

Random requests across every shipped route, times from 2025 to 2027 (so every price
period, peak window and weekday is hit) and token mixes up to past the long-context
tiers. 10 examples x 150 rows = 1,500 requests checked.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.warehouse import Warehouse
from dashboard.warehouse.prices import CACHED, PENDING
from pricing import UnknownModelError, Usage, cost, default_catalog

CATALOG = default_catalog()
ROUTES = sorted((m.provider, m.id) for m in CATALOG.models)
START = datetime(2025, 1, 1, tzinfo=UTC)


@st.composite
def requests(draw):
    provider, model = draw(st.sampled_from(ROUTES))
    # Logged names vary: aliases, vendor prefixes and case must resolve like in Python.
    entry = CATALOG.resolve(model, provider)
    logged = draw(st.sampled_from([entry.id, entry.id.upper(), f"vendor/{entry.id}", *entry.aliases]))
    ts = START + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86400)))
    big = st.integers(0, 400_000)
    output = draw(st.integers(0, 50_000))
    return {
        "provider": draw(st.sampled_from([provider, provider.upper()])),
        "model": logged,
        "ts": ts,
        "input_tokens": draw(big),
        "cache_read_tokens": draw(big),
        "cache_write_tokens": draw(st.integers(0, 50_000)),
        "cache_write_1h_tokens": draw(st.integers(0, 20_000)),
        "output_tokens": output,
        "reasoning_tokens": draw(st.integers(0, output)),
    }


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(requests(), min_size=150, max_size=150))
def test_sql_cost_equals_python_cost_for_every_row(wh, rows):
    wh.query("DELETE FROM request_rows")
    for i, r in enumerate(rows):
        r["request_id"] = str(i)
    wh.insert_requests(rows, source="prop")
    got = dict(wh.query(f"SELECT request_id, cost FROM ({wh.priced_sql()}) WHERE source = 'prop'").fetchall())
    checked = 0
    for r in rows:
        usage = Usage(**{k: r[k] for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                          "cache_write_1h_tokens", "output_tokens", "reasoning_tokens")})
        try:
            expected = cost(usage, r["model"], r["provider"], r["ts"], catalog=CATALOG).total_usd
        except UnknownModelError:
            expected = None  # before a model's first price: unpriced in SQL too
        assert got[r["request_id"]] == expected, r
        checked += 1
    assert checked == len(rows)


def test_unpriced_model_keeps_its_volume_and_has_no_cost(warehouse):
    warehouse.insert_requests([{"request_id": "x", "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": "acme",
                                "model": "mystery-1", "input_tokens": 500, "output_tokens": 7}], source="t")
    row = warehouse.query(
        f"SELECT unpriced, cost, input_tokens, output_tokens FROM ({warehouse.priced_sql()})").fetchone()
    assert row == (True, None, 500, 7)


@pytest.mark.slow
def test_a_price_edit_reprices_all_history(new_db, tmp_path):
    from pricing import load_catalog

    wh = Warehouse.open(new_db("w.duckdb"))
    wh.insert_requests([{"request_id": "a", "ts": datetime(2026, 3, 1, tzinfo=UTC), "provider": "ourtoken",
                         "model": "deepseek-v4-flash", "input_tokens": 1_000_000, "output_tokens": 0}], source="t")
    before = wh.query(f"SELECT cost FROM ({wh.priced_sql()})").fetchone()[0]
    assert before == Decimal("0.112")
    overlay = tmp_path / "local.toml"
    overlay.write_text('[route]\nprovider = "ourtoken"\n[[models]]\nid = "deepseek-v4-flash"\n'
                       '[[models.periods]]\nsource = "negotiated"\nchecked = 2026-11-28\n'
                       'input = 0.1\noutput = 0.2\ncache_read = 0.001\ncache_write = 0\n')
    wh.reload_catalog(load_catalog(overlays=[overlay]))
    assert wh.query(f"SELECT cost FROM ({wh.priced_sql()})").fetchone()[0] == Decimal("0.1")
    wh.close()


def _view_and_cache(wh):
    from pricing.sql import priced_requests_sql

    key = "ORDER BY source, request_id"
    view = wh.query(f"SELECT source, request_id, cost, unpriced FROM ({priced_requests_sql()}) {key}").fetchall()
    cached = wh.query(f"SELECT source, request_id, cost, unpriced FROM ({wh.priced_sql()}) {key}").fetchall()
    return view, cached


@pytest.mark.slow
def test_priced_cache_follows_every_kind_of_write(new_db, tmp_path):
    from pricing import load_catalog
    from pricing.sql import priced_requests_sql

    wh = Warehouse.open(new_db("w.duckdb"))

    def row(i, model="deepseek-v4-flash", provider="ourtoken"):
        return {"request_id": str(i), "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": provider,
                "model": model, "input_tokens": 1000 * i, "output_tokens": i}

    wh.insert_requests([row(1)], source="a")
    assert wh.priced_sql() == priced_requests_sql()  # a read never builds the cache
    wh.refresh_priced_cache()
    assert wh.priced_sql() == CACHED
    view, cached = _view_and_cache(wh)
    assert view == cached and len(view) == 1
    wh.insert_requests([row(2), row(3, model="brand-new-model", provider="acme")], source="a")
    # The insert prices nothing: its batch is pending, and reads price just its rows live beside the cache.
    assert wh.query("SELECT count(*) FROM priced_cache").fetchone()[0] == 1
    assert wh.priced_sql() == f"{CACHED} UNION ALL BY NAME {priced_requests_sql(requests=PENDING)}"
    view, cached = _view_and_cache(wh)
    assert view == cached and len(view) == 3 and cached[2][3] is True
    wh.refresh_priced_cache_behind().join()  # the cache takes the pending batch in
    assert wh.priced_sql() == CACHED
    assert wh.query("SELECT count(*) FROM priced_cache").fetchone()[0] == 3
    assert wh.query("SELECT count(*) FROM priced_cache_pending").fetchone()[0] == 0
    assert _view_and_cache(wh) == (view, cached)
    wh.insert_requests([row(4)], source="a")  # pending again, when a direct write then marks it stale
    wh.query("DELETE FROM request_rows WHERE request_id = '2'")  # a direct write marks the cache stale
    assert wh.priced_sql() == priced_requests_sql()
    wh.refresh_priced_cache_behind().join()  # as the app rebuilds it once a page is drawn
    assert wh.priced_sql() == CACHED
    view, cached = _view_and_cache(wh)
    assert view == cached and len(view) == 3
    overlay = tmp_path / "local.toml"
    overlay.write_text('[route]\nprovider = "acme"\n[[models]]\nid = "brand-new-model"\n[[models.periods]]\n'
                       'source = "contract"\nchecked = 2026-11-28\ninput = 1\noutput = 2\ncache_read = 0\ncache_write = 0\n')
    wh.reload_catalog(load_catalog(overlays=[overlay]))  # a price edit re-prices everything
    assert wh.priced_sql() == priced_requests_sql()
    wh.refresh_priced_cache_behind().join()
    view, cached = _view_and_cache(wh)
    assert view == cached
    assert cached[1][2:] == (Decimal(3000) / 1_000_000 + Decimal(3 * 2) / 1_000_000, False)
    assert wh.query("SELECT count(*) FROM priced_cache_pending").fetchone()[0] == 0
    wh.close()


@pytest.mark.slow
def test_an_import_into_a_current_cache_prices_nothing_and_reads_give_the_same_money(new_db, tmp_path):
    from dashboard.ingest import import_file
    from pricing.sql import priced_requests_sql

    def export(name: str, first: int) -> Path:
        path = tmp_path / name
        path.write_text("request_id,timestamp,provider,model,prompt_tokens,completion_tokens\n" + "".join(
            f"r{i},2026-11-0{1 + i % 9}T10:00:00Z,ourtoken,deepseek-v4-flash,{1000 * i},{10 * i}\n"
            for i in range(first, first + 50)))
        return path

    def money(wh) -> tuple:
        return wh.query(f"SELECT count(*), sum(cost) FROM ({wh.priced_sql()})").fetchone()

    with Warehouse.open(new_db("w.duckdb")) as wh:
        import_file(wh, export("a.csv", 1))
        wh.refresh_priced_cache()
        assert import_file(wh, export("b.csv", 51)).added == 50
        assert wh.query("SELECT count(*) FROM priced_cache").fetchone()[0] == 50  # the import priced nothing
        assert wh.priced_sql() == f"{CACHED} UNION ALL BY NAME {priced_requests_sql(requests=PENDING)}"
        live = wh.query(f"SELECT count(*), sum(cost) FROM ({priced_requests_sql()})").fetchone()
        assert money(wh) == live and live[0] == 100
        wh.refresh_priced_cache()  # takes in just the pending rows
        assert wh.priced_sql() == CACHED and money(wh) == live
        assert wh.query("SELECT count(*) FROM priced_cache").fetchone()[0] == 100


@pytest.mark.slow
def test_a_one_shot_warehouse_reads_the_live_view_rather_than_build_the_cache(tmp_path):
    from pricing.sql import priced_requests_sql

    path = tmp_path / "w.duckdb"
    rows = [{"request_id": str(i), "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": "ourtoken",
             "model": "deepseek-v4-flash", "input_tokens": 1000 * i, "output_tokens": i} for i in (1, 2)]
    with Warehouse.open(path, cache=False) as wh:  # as every CLI command opens it
        wh.insert_requests(rows, source="a")
        assert wh.priced_sql() == priced_requests_sql()
        live = wh.query(f"SELECT request_id, cost FROM ({wh.priced_sql()}) ORDER BY 1").fetchall()
        tables = {r[0] for r in wh.query("SELECT table_name FROM information_schema.tables").fetchall()}
        assert "priced_cache" not in tables  # nothing built for a single read
    with Warehouse.open(path, cache=False) as wh:  # a one-shot command never builds it behind its reads
        assert wh.refresh_priced_cache_behind() is None
        assert wh.priced_sql() == priced_requests_sql()
    with Warehouse.open(path) as wh:  # the app: reads the view, builds the cache behind its page and keeps it
        assert wh.priced_sql() == priced_requests_sql()
        wh.refresh_priced_cache_behind().join()
        assert wh.refresh_priced_cache_behind() is None  # fresh: nothing to do
        assert wh.priced_sql() == CACHED
        assert wh.query(f"SELECT request_id, cost FROM ({wh.priced_sql()}) ORDER BY 1").fetchall() == live
    with Warehouse.open(path, cache=False) as wh:  # a fresh cache serves one-shot reads too
        assert wh.priced_sql() == CACHED
    assert live[0][1] == (1000 * Decimal("0.112") + Decimal("0.224")) / 1_000_000


def test_a_reader_never_waits_for_a_running_write_to_rebuild_the_cache(new_db):
    import threading

    from pricing.sql import priced_requests_sql

    wh = Warehouse.open(new_db("w.duckdb"))
    wh.insert_requests([{"request_id": "1", "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": "ourtoken",
                         "model": "deepseek-v4-flash", "input_tokens": 1000, "output_tokens": 1}], source="a")
    wh.query("DELETE FROM request_rows WHERE request_id = 'none'")  # any direct write leaves the cache stale
    holding, release = threading.Event(), threading.Event()

    def writer():  # stands for an import: it holds the write lock for its whole run
        with wh.write_lock():
            holding.set()
            release.wait(30)

    t = threading.Thread(target=writer)
    t.start()
    holding.wait(5)
    try:
        assert wh.priced_sql() == priced_requests_sql()  # the live view, at once
        cost = wh.query(f"SELECT cost FROM ({wh.priced_sql()})").fetchone()[0]
        wh.refresh_priced_cache_behind().join()  # finds the write running and gives up
        assert wh.priced_sql() == priced_requests_sql()
    finally:
        release.set()
        t.join()
    assert cost == (1000 * Decimal("0.112") + Decimal("0.224")) / 1_000_000
    wh.refresh_priced_cache_behind().join()  # the next try, once the write is over, builds it
    assert wh.priced_sql() == CACHED
    assert wh.query(f"SELECT cost FROM ({wh.priced_sql()})").fetchone()[0] == cost
    wh.close()


@pytest.mark.slow
def test_closing_the_warehouse_stops_a_build_running_behind_the_reads(tmp_path):
    from pricing.sql import priced_requests_sql

    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        wh.insert_requests([{"request_id": "1", "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": "ourtoken",
                             "model": "deepseek-v4-flash", "input_tokens": 1000, "output_tokens": 1}], source="a")
        # Three million copies under other ids: a build of seconds, where closing takes a moment.
        wh.query("INSERT INTO request_rows SELECT r.* REPLACE ('c' || i AS request_id) "
                 "FROM request_rows AS r, range(3000000) AS t(i)")
        builder = wh.refresh_priced_cache_behind()
        assert builder is not None and wh.refresh_priced_cache_behind() is None  # one build at a time
    assert not builder.is_alive()  # close() interrupted the build and waited for its thread
    with Warehouse.open(path, cache=False) as wh:
        assert wh.priced_sql() == priced_requests_sql()  # rolled back: no half-built cache counts as fresh
        assert wh.query(f"SELECT count(*) FROM ({wh.priced_sql()})").fetchone()[0] == 3_000_001


def test_a_failed_build_behind_the_reads_leaves_them_on_the_view_and_is_tried_again_later(new_db, caplog,
                                                                                          monkeypatch):
    from dashboard.warehouse import connection
    from pricing.sql import priced_requests_sql

    with Warehouse.open(new_db()) as wh:
        wh.insert_requests([{"request_id": "1", "ts": datetime(2026, 11, 1, tzinfo=UTC), "provider": "ourtoken",
                             "model": "deepseek-v4-flash", "input_tokens": 1000, "output_tokens": 1}], source="a")
        wh.query("DROP TABLE IF EXISTS priced_cache")
        wh.query("CREATE VIEW priced_cache AS SELECT 1 AS x")  # a table cannot replace it: the build fails
        wh.refresh_priced_cache_behind().join()
        assert "was not built" in caplog.text
        assert wh.priced_sql() == priced_requests_sql()
        assert wh.query(f"SELECT cost FROM ({wh.priced_sql()})").fetchone()[0] == (
            1000 * Decimal("0.112") + Decimal("0.224")) / 1_000_000
        assert wh.refresh_priced_cache_behind() is None  # not at once again
        monkeypatch.setattr(connection, "BUILD_RETRY_S", 0)
        wh.query("DROP VIEW priced_cache")
        wh.refresh_priced_cache_behind().join()  # later, it is
        assert wh.priced_sql() == CACHED
