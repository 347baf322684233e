"""The FOCUS CSV DuckDB writes (COPY) holds the same bytes as the Python writer, cell rules and all.

`exports.focus_csv(focus_lines(...))` is the Python writer, row by row; `write_focus_csv` is
the SQL one the app uses. Each cell rule of `exports.CSV_SQL` is held against `csv_cell`
on generated values, and whole files against `_csv`, so neither can drift from the other.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.errors import WarehouseError
from dashboard.exports import CSV_SQL, FORMULA_PREFIXES, csv_bytes, csv_cell, focus_csv
from dashboard.warehouse import Warehouse
from dashboard.warehouse.csvfile import copy_csv
from dashboard.warehouse.prices import CacheState, cache_state, hashed_lines
from dashboard.warehouse.queries import BLANK, Filters, month_bounds
from dashboard.warehouse.statement import focus_lines, local_day_sql, statement, write_focus_csv
from pricing import load_catalog

HOSTILE = ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tTAB", "\uff1d1", "\rCR", "\uff0b1", "\uff0d2", "\uff20x",
           "a,b", 'say "hi"', "line\nbreak", "#hash", "", " spaced "]


@pytest.fixture(scope="module")
def sql_wh(tmp_path_factory) -> Iterator[Warehouse]:
    """A warehouse only to evaluate SQL expressions in (no requests needed)."""
    with Warehouse.open(tmp_path_factory.mktemp("cells") / "cells.duckdb") as wh:
        yield wh


def _sql_cell(wh: Warehouse, kind: str, sql_type: str, value: Any) -> str:
    out = wh.query(f"SELECT {CSV_SQL.cell(kind, f'CAST($v AS {sql_type})')}", {"v": value}).fetchone()[0]
    return "" if out is None else out


# ------------------------------------------------------------------ one cell at a time

texts = st.one_of(
    st.text(),
    st.tuples(st.sampled_from(FORMULA_PREFIXES), st.text()).map("".join),
    st.sampled_from(HOSTILE),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_text_cells_match_python(sql_wh, text):
    assert _sql_cell(sql_wh, "text", "VARCHAR", text) == csv_cell(text)


TRICKY_DECIMALS = [
    pytest.param(Decimal("0"), id="zero"),
    pytest.param(Decimal("0E-12"), id="zero-scale-12"),
    pytest.param(Decimal("0.000001"), id="one-millionth"),
    pytest.param(Decimal("1E+2"), id="exponent"),
    pytest.param(Decimal("100"), id="hundred"),
    pytest.param(Decimal("-0.020000000000"), id="negative-adjustment"),
    pytest.param(Decimal("-5"), id="negative-whole"),
    pytest.param(Decimal("0.002387500000"), id="trailing-zeros"),
    pytest.param(Decimal("10.000000000001"), id="last-digit"),
    pytest.param(Decimal("12345678901234567890123456.123456789012"), id="38-digits"),
]


@pytest.mark.parametrize("value", TRICKY_DECIMALS)
def test_decimal_cells_match_python(sql_wh, value):
    assert _sql_cell(sql_wh, "decimal", "DECIMAL(38, 12)", value) == csv_cell(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.decimals(min_value=Decimal("-1E+25"), max_value=Decimal("1E+25"), places=12,
                         allow_nan=False, allow_infinity=False))
def test_generated_decimal_cells_match_python(sql_wh, value):
    assert _sql_cell(sql_wh, "decimal", "DECIMAL(38, 12)", value) == csv_cell(value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.integers(min_value=-(2**100), max_value=2**100))
def test_integer_cells_match_python(sql_wh, value):
    assert _sql_cell(sql_wh, "integer", "HUGEINT", value) == csv_cell(value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                           timezones=st.sampled_from([UTC, *map(__import__("zoneinfo").ZoneInfo,
                                                                ("Europe/Berlin", "Asia/Kathmandu"))])))
def test_moment_cells_match_python(sql_wh, moment):
    moment = moment.replace(microsecond=0)
    assert _sql_cell(sql_wh, "timestamptz", "TIMESTAMPTZ", moment) == csv_cell(moment)


@pytest.mark.parametrize(("kind", "sql_type", "value"), [
    pytest.param("boolean", "BOOLEAN", True, id="true"),
    pytest.param("boolean", "BOOLEAN", False, id="false"),
    pytest.param("boolean", "BOOLEAN", None, id="null-bool"),
    pytest.param("date", "DATE", date(2026, 11, 3), id="date"),
    pytest.param("text", "VARCHAR", None, id="null-text"),
    pytest.param("decimal", "DECIMAL(38, 12)", None, id="null-decimal"),
])
def test_other_cells_match_python(sql_wh, kind, sql_type, value):
    assert _sql_cell(sql_wh, kind, sql_type, value) == csv_cell(value)


# ------------------------------------------------------------------ whole files


def _copied(wh: Warehouse, sql: str, params: dict[str, Any]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        copy_csv(wh, sql, params, path, CSV_SQL)
        return path.read_bytes()


rows = st.lists(st.tuples(st.one_of(st.none(), texts), st.one_of(st.none(), st.decimals(
    min_value=-10**6, max_value=10**6, places=12, allow_nan=False, allow_infinity=False))), min_size=1, max_size=8)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows)
def test_a_copied_file_matches_the_python_writer(sql_wh, rows):
    # Quoting, empty text against no value, line ends and a hostile header, not only single cells.
    texts_, money = [r[0] for r in rows], [r[1] for r in rows]
    sql = 'SELECT unnest($t::VARCHAR[]) AS "=cmd", unnest($m::DECIMAL(38, 12)[]) AS "cost, usd"'
    assert _copied(sql_wh, sql, {"t": texts_, "m": money}) == csv_bytes(["=cmd", "cost, usd"], rows, bom=False)


def test_a_copied_file_is_sorted_by_columns_it_does_not_write(sql_wh):
    sql = "SELECT 'row ' || i AS name, -i AS place FROM range(5) AS t(i)"
    assert _copied_sorted(sql_wh, sql, ("place",)) == b"name\r\nrow 4\r\nrow 3\r\nrow 2\r\nrow 1\r\nrow 0\r\n"


def _copied_sorted(wh: Warehouse, sql: str, order_by: tuple[str, ...]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        copy_csv(wh, sql, {}, path, CSV_SQL, order_by=order_by)
        return path.read_bytes()


def test_made_cells_are_written_as_they_are(sql_wh):
    # A made decimal cell is text, and is not made again: -5 stays a number, not the text '-5.
    made = [CSV_SQL.cell("decimal", "v.d"), CSV_SQL.cell("text", "v.t")]
    sql = f"""SELECT {made[0]} AS cost, {made[1]} AS note, v.i AS place
              FROM (VALUES (-5.0::DECIMAL(38, 12), '=1', 2), (NULL, '', 1)) AS v(d, t, i)"""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        copy_csv(sql_wh, sql, {}, path, CSV_SQL, order_by=("place",), made=("cost", "note"))
        written = path.read_bytes()
    assert written == csv_bytes(["cost", "note"], [(None, ""), (Decimal("-5"), "=1")], bom=False)
    assert written.endswith(b"\r\n-5,'=1\r\n")


def test_a_column_without_a_cell_rule_is_refused(sql_wh):
    with pytest.raises(WarehouseError, match=r"column 'share' .* DOUBLE"):
        _copied(sql_wh, "SELECT 0.5::DOUBLE AS share", {})


# ------------------------------------------------------------------ the FOCUS file, SQL against Python

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _request(n: int, hours: float, provider: str | None, model: str, project: str | None, key: str | None,
             tags: list[str] | None, billed: Decimal | None = None, **tokens: int) -> dict[str, Any]:
    usage = {"input_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0, "cache_write_1h_tokens": 0,
             "output_tokens": 0, "reasoning_tokens": 0} | tokens
    return {"source": "t", "request_id": str(n), "ts": T0 + timedelta(hours=hours), "provider": provider,
            "model": model, "project": project, "api_key": key, "billed_cost": billed, "tags": tags, **usage}


def _requests() -> list[dict[str, Any]]:
    out = []
    n = itertools.count()
    for i, name in enumerate(HOSTILE):
        # Hostile text in every field a log fills: model (unpriced), project, key and tags.
        out.append(_request(next(n), 30 + i, "openai", name or "empty-name", "web", "sk-abcd1234", [name, "team"],
                            input_tokens=100 + i, output_tokens=10))
        out.append(_request(next(n), 31 + i, "openai", "gpt-4o-mini", name, name, [name],
                            input_tokens=1000, cache_read_tokens=500, output_tokens=200))
    out += [
        # Billed above and below computed (adjustment lines of both signs), billed only in part.
        _request(next(n), 12, "openai", "gpt-4o-mini", "api", "sk-live9876", ["prod", "eu"], Decimal("0.01"),
                 input_tokens=3000, cache_read_tokens=1000, output_tokens=900),
        _request(next(n), 13, "openai", "gpt-4o-mini", "api", "sk-live9876", ["eu", "prod"], Decimal("0.000001"),
                 input_tokens=7000, output_tokens=10),
        _request(next(n), 14, "openai", "gpt-4o-mini", "api", "sk-live9876", ["eu", "prod", "eu"],
                 input_tokens=50, output_tokens=5),
        # An upstream route (publisher DeepSeek), reasoning, a provider spelled in capitals.
        _request(next(n), 15, "ourtoken", "deepseek-v4-flash", None, None, None,
                 input_tokens=12345, cache_read_tokens=777, output_tokens=4000, reasoning_tokens=1500),
        _request(next(n), 16, "DeepSeek", "deepseek-v4-flash", "", "", [],
                 input_tokens=1, output_tokens=1, reasoning_tokens=1),
        # Anthropic: both cache writes, and a whole day's row of many requests.
        _request(next(n), 47, "anthropic", "claude-sonnet-4-5", "research", "sk-ant-xyz0", ['q"uote', "back\\slash"],
                 input_tokens=20000, cache_read_tokens=100000, cache_write_tokens=3000, cache_write_1h_tokens=2000,
                 output_tokens=5000),
        # No provider at all, a model without a price, billed: an adjustment on an unpriced line.
        _request(next(n), 70, None, "mystery-model", "x", "sk-none0000", ["ctrl\x01char", "ünï"], Decimal("0.5"),
                 input_tokens=10, output_tokens=1),
        # Late on the last day and early on the first (day boundaries in other zones).
        _request(next(n), 29 * 24 + 23.5, "openai", "gpt-4o", "web", "sk-late0000", None,
                 input_tokens=999, output_tokens=1),
        _request(next(n), 0.25, "openai", "gpt-4o", "web", "sk-early000", None, Decimal("-0.001"),
                 input_tokens=1, output_tokens=1),
    ]
    return out


@pytest.fixture(scope="module", params=["live", "pending", "cached"])
def focus_wh(request, tmp_path_factory) -> Iterator[Warehouse]:
    """The requests priced by the live cost view, or read from the priced cache built over half of
    them, with the other half inserted as a batch of its own: pending (priced live beside the
    cache), or taken in by the cache (which adds its lines' keys)."""
    with Warehouse.open(tmp_path_factory.mktemp("focus") / "usage.duckdb", catalog=load_catalog()) as wh:
        rows = _requests()
        if request.param != "live":
            wh.insert_requests(rows[: len(rows) // 2])
            wh.refresh_priced_cache()
            rows = rows[len(rows) // 2:]
        wh.insert_requests(rows)
        assert hashed_lines(wh.cursor()) is None  # the cache lacks the batch just inserted, if it exists
        assert (cache_state(wh.cursor()) is CacheState.PENDING) == (request.param != "live")
        if request.param == "cached":
            wh.refresh_priced_cache()
        assert (hashed_lines(wh.cursor()) is not None) == (request.param == "cached")
        yield wh


def _sql_focus(wh: Warehouse, month: str, tz: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "focus.csv"
        write_focus_csv(wh, path, CSV_SQL, month, tz)
        return path.read_bytes()


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kathmandu"])
def test_the_sql_focus_file_is_the_python_one(focus_wh, tz):
    python = focus_csv(focus_lines(focus_wh, "2026-11", tz))
    assert _sql_focus(focus_wh, "2026-11", tz) == python
    lines = python.split(b"\r\n")
    assert len(lines) > 40 and lines[-1] == b""  # CRLF after every row, no BOM
    assert lines[0].startswith(b"BilledCost,BillingAccountId,")
    assert b"Adjustment" in python and b"'=HYPERLINK" in python and b"DeepSeek" in python


def test_a_month_reads_the_same_with_a_batch_pending_and_once_the_cache_takes_it_in(tmp_path):
    with Warehouse.open(tmp_path / "usage.duckdb", catalog=load_catalog()) as wh:
        rows = _requests()
        wh.insert_requests(rows[: len(rows) // 2])
        wh.refresh_priced_cache()
        wh.insert_requests(rows[len(rows) // 2:])
        assert cache_state(wh.cursor()) is CacheState.PENDING
        pending = _sql_focus(wh, "2026-11", "Europe/Berlin"), statement(wh, "2026-11", "Europe/Berlin")
        wh.refresh_priced_cache()
        assert cache_state(wh.cursor()) is CacheState.FRESH
        assert (_sql_focus(wh, "2026-11", "Europe/Berlin"), statement(wh, "2026-11", "Europe/Berlin")) == pending
        assert pending[1].total.computed_usd > 0


def test_the_order_holds_while_an_import_lets_duckdb_reorder(focus_wh):
    # An import turns preserve_insertion_order off for a moment; the file must not depend on it.
    cursor = focus_wh.cursor()
    cursor.execute("SET preserve_insertion_order = false")
    try:
        assert _sql_focus(focus_wh, "2026-11", "UTC") == focus_csv(focus_lines(focus_wh, "2026-11", "UTC"))
    finally:
        cursor.execute("RESET preserve_insertion_order")


def test_the_order_holds_over_many_vectors_and_threads(tmp_path):
    # Thousands of lines: the groups' sort and their lines run over many vectors on several threads,
    # and the file keeps `focus_lines` order though this cursor lets DuckDB reorder.
    with Warehouse.open(tmp_path / "many.duckdb", catalog=load_catalog()) as wh:
        wh.insert_requests([
            _request(n, (n * 7) % (30 * 24), "openai", ("gpt-4o-mini", "gpt-4o")[n % 2], f"p{n % 50}",
                     f"sk-key{n % 40:05d}", [f"t{n % 3}"], input_tokens=1000 + n, cache_read_tokens=n % 5,
                     output_tokens=10 + n)
            for n in range(6000)
        ])
        cursor = wh.cursor()
        cursor.execute("SET preserve_insertion_order = false")
        cursor.execute("SET threads = 4")
        try:
            written = _sql_focus(wh, "2026-11", "UTC")
        finally:
            cursor.execute("RESET preserve_insertion_order")
            cursor.execute("RESET threads")
        python = focus_csv(focus_lines(wh, "2026-11", "UTC"))
    assert written == python and python.count(b"\r\n") > 4 * 2048


@pytest.mark.parametrize("filters", [
    pytest.param(Filters(providers=("openai",), tags=("prod",)), id="provider-and-tag"),
    pytest.param(Filters(projects=(BLANK,), models=("deepseek-v4-flash",)), id="no-project"),
])
def test_a_filtered_month_gives_the_same_file(focus_wh, filters):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "focus.csv"
        write_focus_csv(focus_wh, path, CSV_SQL, "2026-11", "UTC", filters)
        python = focus_csv(focus_lines(focus_wh, "2026-11", "UTC", filters))
        assert path.read_bytes() == python and python.count(b"\r\n") > 2


def test_an_empty_month_is_a_header(focus_wh):
    assert _sql_focus(focus_wh, "2026-05", "UTC") == focus_csv([]) == focus_csv(focus_lines(focus_wh, "2026-05"))


@pytest.mark.slow
@pytest.mark.parametrize("tz", ["America/Santiago", "Asia/Beirut"])
def test_days_that_do_not_start_at_midnight(tmp_path, tz):
    # Chile skips 00:00 on 2026-09-06; Lebanon's clocks fall back from 00:00 to 23:00 on 2026-10-25.
    month = "2026-09" if tz == "America/Santiago" else "2026-10"
    start = datetime(2026, 9, 6, tzinfo=UTC) if month == "2026-09" else datetime(2026, 10, 24, 18, tzinfo=UTC)
    with Warehouse.open(tmp_path / "dst.duckdb") as wh:
        wh.insert_requests([
            _request(n, 0, "openai", "gpt-4o-mini", "p", "sk-dst00000", None, input_tokens=1000 + n, output_tokens=1)
            | {"ts": start + timedelta(minutes=20 * n)} for n in range(24)
        ])
        assert _sql_focus(wh, month, tz) == focus_csv(focus_lines(wh, month, tz))


@pytest.mark.parametrize(("tz", "month"), [
    pytest.param("Europe/Berlin", "2026-10", id="berlin-falls-back"),
    pytest.param("America/Santiago", "2026-09", id="santiago-skips-midnight"),
    pytest.param("Australia/Lord_Howe", "2026-10", id="half-hour-shift"),
    pytest.param("Africa/Casablanca", "2027-02", id="ramadan-shift"),
    pytest.param("Asia/Kathmandu", "2026-11", id="quarter-hour-zone"),
])
def test_the_day_by_arithmetic_is_the_zone_s_day(sql_wh, tz, month):
    # Every minute of the month: the day from the zone's offsets is the day DuckDB's zone lookup gives.
    start, end = month_bounds(month, tz)
    day_sql, params = local_day_sql(tz, start, end)
    wrong = sql_wh.query(
        f"""SELECT count(*) FROM range($start::TIMESTAMPTZ, $end::TIMESTAMPTZ, INTERVAL 1 MINUTE) AS q(ts)
            WHERE DATE '1970-01-01' + CAST({day_sql} AS INTEGER) <> CAST(timezone($tz, q.ts) AS DATE)""",
        params | {"start": start, "end": end, "tz": tz},
    ).fetchone()[0]
    assert wrong == 0


def test_line_keys_that_share_a_hash_are_summed_by_the_keys_themselves(tmp_path):
    with Warehouse.open(tmp_path / "shared.duckdb", catalog=load_catalog()) as wh:
        wh.insert_requests(_requests())
        wh.refresh_priced_cache()
        expected = _sql_focus(wh, "2026-11", "UTC")
        # Another line's keys under a hash already in use, as a collision of the hash would give them.
        wh.query("INSERT INTO line_keys SELECT * REPLACE ('another project' AS project) FROM line_keys LIMIT 1")
        assert hashed_lines(wh.cursor()) is None
        assert _sql_focus(wh, "2026-11", "UTC") == expected == focus_csv(focus_lines(wh, "2026-11", "UTC"))


@pytest.mark.slow
def test_a_cost_view_that_disagrees_with_its_rates_is_refused(tmp_path):
    with Warehouse.open(tmp_path / "drift.duckdb") as wh:
        wh.insert_requests([_request(1, 1, "openai", "gpt-4o-mini", "p", "sk-drift000", None, input_tokens=1000)])
        wh.refresh_priced_cache()
        wh.query("UPDATE priced_cache SET cost = cost + 0.000001").fetchall()
        with pytest.raises(WarehouseError, match="price rows and the cost view disagree"):
            _sql_focus(wh, "2026-11", "UTC")


names = st.one_of(texts, st.sampled_from(["gpt-4o-mini", "deepseek-v4-flash", "claude-sonnet-4-5"]))
generated = st.lists(st.fixed_dictionaries({
    "provider": st.sampled_from(["openai", "ourtoken", "anthropic", "OpenAI", None]),
    "model": names.filter(bool),
    "project": st.one_of(st.none(), texts),
    "key": st.one_of(st.none(), texts),
    "tags": st.one_of(st.none(), st.lists(texts.filter(bool), max_size=3)),
    "billed": st.one_of(st.none(), st.decimals(min_value=-1, max_value=1, places=6, allow_nan=False)),
    "hours": st.floats(min_value=0, max_value=30 * 24 - 0.01),
    "input": st.integers(0, 10**7), "output": st.integers(0, 10**5), "reasoning": st.integers(0, 10**3),
}), min_size=1, max_size=12)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(requests=generated, tz=st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Chatham"]))
def test_generated_months_give_the_same_file(requests, tz):
    with tempfile.TemporaryDirectory() as folder, Warehouse.open(Path(folder) / "g.duckdb") as wh:
        wh.insert_requests([
            _request(i, r["hours"], r["provider"], r["model"], r["project"], r["key"], r["tags"], r["billed"],
                     input_tokens=r["input"], output_tokens=r["output"] + r["reasoning"],
                     reasoning_tokens=r["reasoning"])
            for i, r in enumerate(requests)
        ])
        assert _sql_focus(wh, "2026-11", tz) == focus_csv(focus_lines(wh, "2026-11", tz))
