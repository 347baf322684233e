"""The priced rollup: sums per quarter hour of priced requests, kept in step with every write."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.warehouse import Warehouse
from dashboard.warehouse.prices import ROLLUP_KEYS
from dashboard.warehouse.queries import Filters, month_bounds, priced, priced_sums

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SUMS = """sum(q.request_count), sum(q.input_tokens), sum(q.output_tokens), sum(q.reasoning_tokens), sum(q.cost),
    sum(q.billed_cost), sum(CASE WHEN q.billed_cost IS NOT NULL THEN q.cost END), count(*) FILTER (WHERE q.unpriced)"""


def _requests(first: int, count: int) -> list[dict]:
    """`count` requests 67 minutes apart from T0, on a priced and an unpriced model, some billed, some tagged."""
    return [{
        "source": "t", "request_id": str(n), "ts": T0 + timedelta(minutes=67 * n + 3),
        "provider": "openai" if n % 5 else None, "model": "gpt-4o-mini" if n % 7 else "mystery-model",
        "project": f"p{n % 3}", "api_key": f"sk-test{n % 4:04d}", "user": f"u{n}", "tags": ["a", "b"][: n % 3],
        "input_tokens": 1000 + n, "cache_read_tokens": 10 * n, "output_tokens": 50 + n, "reasoning_tokens": n % 4,
        "billed_cost": Decimal("0.0001") * n if n % 2 else None,
    } for n in range(first, first + count)]


def _by_day(wh: Warehouse, sql_params: tuple[str, dict]) -> list[tuple]:
    sql, params = sql_params
    return wh.query(f"SELECT q.day, q.model, q.project, {SUMS} FROM ({sql}) AS q GROUP BY ALL ORDER BY ALL",
                    params).fetchall()


def _month(tz: str) -> Filters:
    start, end = month_bounds("2026-11", tz)
    return Filters(start=start, end=end, tz=tz)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kathmandu", "Australia/Adelaide", "Pacific/Chatham",
                                "Australia/Lord_Howe", "America/St_Johns"])
def test_day_sums_over_the_rollup_equal_those_over_the_requests(warehouse, tz):
    warehouse.insert_requests(_requests(0, 400))
    summed = priced_sums(warehouse, _month(tz))
    assert summed is not None
    expected = _by_day(warehouse, priced(warehouse, _month(tz)))
    assert len(expected) > 30 and _by_day(warehouse, summed) == expected


def test_the_rollup_follows_appended_batches_and_direct_writes(warehouse):
    warehouse.insert_requests(_requests(0, 100))
    priced(warehouse, Filters())  # builds the cache, not the rollup
    assert warehouse.query("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'priced_rollup'").fetchone()[0] == 0
    priced_sums(warehouse, Filters())  # builds the rollup: later batches are appended to both
    warehouse.insert_requests(_requests(100, 100))
    warehouse.insert_requests(_requests(150, 100))  # half of them known: only the new ones count
    rows = warehouse.query("SELECT count(*) FROM priced_rollup").fetchone()[0]
    assert _by_day(warehouse, priced_sums(warehouse, Filters())) == _by_day(warehouse, priced(warehouse, Filters()))
    warehouse.query("DELETE FROM request_rows WHERE request_id = '7'")  # marks both stale: rebuilt on the next read
    assert _by_day(warehouse, priced_sums(warehouse, Filters())) == _by_day(warehouse, priced(warehouse, Filters()))
    assert warehouse.query("SELECT count(*) FROM priced_rollup").fetchone()[0] < rows
    assert warehouse.query("SELECT sum(request_count) FROM priced_rollup").fetchone()[0] == 249


def test_the_rollup_keeps_every_column_a_filter_names_but_the_user(warehouse):
    warehouse.insert_requests(_requests(0, 50))
    filters = Filters(providers=("openai",), models=("gpt-4o-mini",), projects=("p1",), api_keys=("…0001",),
                      tags=("a",), sources=("t",))
    assert _by_day(warehouse, priced_sums(warehouse, filters)) == _by_day(warehouse, priced(warehouse, filters))
    assert {"source", "provider", "model", "project", "api_key", "tags"} <= set(ROLLUP_KEYS)
    assert "user" not in ROLLUP_KEYS


@pytest.mark.parametrize("filters", [
    pytest.param(Filters(users=("u1",)), id="users"),
    pytest.param(Filters(start=T0 + timedelta(minutes=5)), id="start-inside-a-quarter-hour"),
    pytest.param(Filters(end=T0 + timedelta(seconds=1)), id="end-inside-a-quarter-hour"),
])
def test_what_the_rollup_cannot_answer_is_left_to_the_requests(warehouse, filters):
    warehouse.insert_requests(_requests(0, 10))
    assert priced_sums(warehouse, filters) is None


def test_a_stale_rollup_is_not_read_where_the_cache_may_not_be_built(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path, cache=False) as wh:
        wh.insert_requests(_requests(0, 10))
        assert priced_sums(wh, Filters()) is None
    with Warehouse.open(path) as wh:
        assert priced_sums(wh, Filters()) is not None
