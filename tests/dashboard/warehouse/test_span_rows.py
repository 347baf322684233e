"""A row that covers a span of time (a day's requests in one row) is priced over the span:
each rate weighted by the share of the span under it (rounded half up to 6 decimals per 1M
tokens, as every catalog rate is), flagged approximate with its low and high bounds when the
price changes inside the span, exact otherwise. Python and SQL agree."""

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.warehouse import Warehouse
from dashboard.warehouse.prices import CACHED
from pricing import UnknownModelError, Usage, cost, default_catalog, price_span

CATALOG = default_catalog()
M = Decimal(1_000_000)
FLASH = CATALOG.resolve("deepseek-v4-flash", "deepseek")
DAY = 86_400


def _row(request_id, ts, span_s, provider="deepseek", model="deepseek-v4-flash", **tokens):
    return {"request_id": request_id, "ts": ts, "span_s": span_s, "provider": provider, "model": model,
            "request_count": 100, **tokens}


def _sql(wh, row):
    wh.insert_requests([row], source="span")
    return wh.query(
        f"SELECT cost, approximate, cost_low, cost_high FROM ({wh.priced_sql()}) WHERE request_id = ?",
        [row["request_id"]]).fetchone()


# A Monday after 2026-08-23: peak [1, 4) and [6, 10) UTC Monday to Friday at 0.44 / 1.32 per 1M,
# off-peak 0.22 / 0.66: 7 peak hours and 17 off-peak ones.
WEEKDAY = datetime(2026, 8, 24, tzinfo=UTC)
CASES = [
    pytest.param(
        _row("weekday", WEEKDAY, DAY, input_tokens=1_000_000, output_tokens=1_000_000),
        # input: (7 x 0.44 + 17 x 0.22) / 24 = 0.28416666... per 1M, rounded to 0.284167;
        # output: (7 x 1.32 + 17 x 0.66) / 24 = 0.8525 exactly
        Decimal("0.284167") + (7 * Decimal("1.32") + 17 * Decimal("0.66")) / 24,
        True, Decimal("0.22") + Decimal("0.66"), Decimal("0.44") + Decimal("1.32"), id="weekday-with-peak"),
    pytest.param(
        _row("weekday-input", WEEKDAY, DAY, input_tokens=24_000_000),
        24 * Decimal("0.284167"),  # 6.820008: the rounded weighted rate, 24M times
        True, 24 * Decimal("0.22"), 24 * Decimal("0.44"), id="weekday-input-only"),
    pytest.param(
        # Saturday 2026-08-29: no peak at weekends since 2026-08-23, one price all day: exact.
        _row("weekend", datetime(2026, 8, 29, tzinfo=UTC), DAY, input_tokens=1_000_000, output_tokens=1_000_000),
        Decimal("0.22") + Decimal("0.66"), False, Decimal("0.88"), Decimal("0.88"), id="weekend-exact"),
    pytest.param(
        # 2026-04-26 00:00 to 24:00 UTC: cache reads at 0.028 before 12:15 and at 0.0028 after it.
        _row("cut", datetime(2026, 4, 26, tzinfo=UTC), DAY, input_tokens=0, cache_read_tokens=96_000_000),
        # 49 quarter hours before, 47 after: (49 x 0.028 + 47 x 0.0028) / 96 = 0.0156625 per 1M -> 0.015663
        96 * Decimal("0.015663"),
        True, 96 * Decimal("0.0028"), 96 * Decimal("0.028"), id="period-start-12:15"),
    pytest.param(
        # The same day without cache reads: the change at 12:15 does not touch its cost: exact.
        _row("cut-no-cache", datetime(2026, 4, 26, tzinfo=UTC), DAY, input_tokens=1_000_000, output_tokens=500),
        Decimal("0.14") + 500 * Decimal("0.28") / M, False, None, None, id="period-start-no-effect"),
    pytest.param(
        # Peak billing starts 2026-08-16 16:00 UTC (every day, peak [1, 4) and [6, 10)): a day from
        # 12:00 on the 16th: 4 flat hours at 0.14, then 20 hours with 7 at peak (0.44) and 13 off-peak (0.22).
        _row("peak-start", datetime(2026, 8, 16, 12, tzinfo=UTC), DAY, input_tokens=24_000_000),
        # (4 x 0.14 + 7 x 0.44 + 13 x 0.22) / 24 = 6.5 / 24 = 0.2708333... per 1M -> 0.270833
        24 * Decimal("0.270833"),
        True, 24 * Decimal("0.14"), 24 * Decimal("0.44"), id="period-start-16:00"),
    pytest.param(
        # OurToken's flat price: a day is exact.
        _row("flat", WEEKDAY, DAY, provider="ourtoken", input_tokens=1_000_000, output_tokens=1_000_000),
        None, False, None, None, id="ourtoken-flat"),
]


@pytest.mark.parametrize(("row", "expected", "approximate", "low", "high"), CASES)
def test_a_span_row_costs_the_time_weighted_rates_with_bounds(new_db, row, expected, approximate, low, high):
    usage = Usage(**{k: v for k, v in row.items() if k.endswith("_tokens")}, request_count=row["request_count"])
    entry = CATALOG.resolve(row["model"], row["provider"])
    py = price_span(entry, usage, row["ts"], row["span_s"])
    if expected is None:  # one price all the span: the cost of the row at any moment in it
        expected = cost(usage, row["model"], row["provider"], row["ts"], catalog=CATALOG).total_usd
    low = expected if low is None else low
    high = expected if high is None else high
    assert (py.total_usd, py.approximate, py.low_usd, py.high_usd) == (expected, approximate, low, high)
    with Warehouse.open(new_db("w.duckdb")) as wh:
        assert _sql(wh, row) == (expected, approximate, low, high)


def test_a_row_without_span_is_exact_and_its_bounds_are_its_cost(warehouse):
    warehouse.insert_requests([{"request_id": "m", "ts": WEEKDAY + timedelta(hours=2), "provider": "deepseek",
                                "model": "deepseek-v4-flash", "input_tokens": 1_000_000}], source="t")
    row = warehouse.query(f"SELECT cost, approximate, cost_low, cost_high FROM ({warehouse.priced_sql()})").fetchone()
    assert row == (Decimal("0.44"), False, Decimal("0.44"), Decimal("0.44"))


def test_a_span_before_any_price_is_unpriced_and_keeps_its_volume(warehouse):
    warehouse.insert_requests([_row("early", datetime(2020, 1, 1, tzinfo=UTC), DAY, input_tokens=7)], source="t")
    row = warehouse.query(f"SELECT unpriced, cost, approximate, input_tokens FROM ({warehouse.priced_sql()})").fetchone()
    assert row == (True, None, False, 7)
    with pytest.raises(UnknownModelError):
        price_span(FLASH, Usage(input_tokens=7), datetime(2020, 1, 1, tzinfo=UTC), DAY)


@pytest.mark.slow
def test_a_span_that_starts_before_a_models_first_price_is_weighted_over_its_priced_part(warehouse):
    # deepseek-v4-flash is priced from 2026-04-24 00:00 UTC: of a day from noon on the 23rd, only
    # the last 12 hours have a price, all at 0.14.
    row = _row("launch", datetime(2026, 4, 23, 12, tzinfo=UTC), DAY, input_tokens=1_000_000)
    assert _sql(warehouse, row) == (Decimal("0.14"), False, Decimal("0.14"), Decimal("0.14"))


@pytest.mark.slow
def test_the_cache_prices_span_rows_as_the_view_does(new_db):
    from pricing.sql import priced_requests_sql

    with Warehouse.open(new_db("w.duckdb")) as wh:
        wh.insert_requests([_row("a", WEEKDAY, DAY, input_tokens=5_000)], source="t")
        wh.refresh_priced_cache()
        assert wh.priced_sql() == CACHED
        wh.insert_requests([_row("b", WEEKDAY, 3600 * 5, input_tokens=5_000)], source="t")  # appended to the cache
        cols = "request_id, cost, approximate, cost_low, cost_high"
        view = wh.query(f"SELECT {cols} FROM ({priced_requests_sql()}) ORDER BY 1").fetchall()
        cached = wh.query(f"SELECT {cols} FROM ({wh.priced_sql()}) ORDER BY 1").fetchall()
        assert view == cached and [r[2] for r in cached] == [True, True]


# Spans over DeepSeek's peak windows and period starts (2026-04-26 12:15, 2026-08-16 16:00,
# 2026-08-23, 2026-09-09 16:00), from a minute to a month, at any second.
BOUNDS = [datetime(2026, 4, 26, 12, 15, tzinfo=UTC), datetime(2026, 8, 16, 16, tzinfo=UTC),
          datetime(2026, 8, 23, tzinfo=UTC), datetime(2026, 9, 9, 16, tzinfo=UTC)]
ROUTES = [("deepseek", "deepseek-v4-flash"), ("deepseek", "deepseek-v4-pro"), ("ourtoken", "deepseek-v4-flash"),
          ("anthropic", "claude-haiku-5-5"), ("google", "gemini-2.5-pro")]


@st.composite
def span_rows(draw):
    provider, model = draw(st.sampled_from(ROUTES))
    around = draw(st.sampled_from(BOUNDS))
    ts = around + timedelta(seconds=draw(st.integers(-3 * DAY, 3 * DAY)))
    output = draw(st.integers(0, 5_000_000))
    count = draw(st.integers(1, 500))
    return {
        "provider": provider, "model": model, "ts": ts, "request_count": count,
        "span_s": draw(st.sampled_from([60, 900, 3600, 5400, DAY, 7 * DAY, 31 * DAY])
                       | st.integers(1, 3 * DAY)),
        "input_tokens": draw(st.integers(0, 300_000)) * count,
        "cache_read_tokens": draw(st.integers(0, 200_000_000)),
        "cache_write_tokens": draw(st.integers(0, 1_000_000)),
        "output_tokens": output,
        "reasoning_tokens": draw(st.integers(0, output)),
    }


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(rows=st.lists(span_rows(), min_size=30, max_size=30))
def test_python_and_sql_agree_on_span_rows(tmp_path_factory, new_warehouse_file, rows):
    path = tmp_path_factory.mktemp("span") / "w.duckdb"
    shutil.copyfile(new_warehouse_file, path)
    with Warehouse.open(path) as wh:
        for i, row in enumerate(rows):
            row["request_id"] = str(i)
        wh.insert_requests(rows, source="span")
        got = {r[0]: r[1:] for r in wh.query(
            f"SELECT request_id, input_cost, cache_read_cost, cache_write_cost, output_cost, cost, approximate, "
            f"cost_low, cost_high FROM ({wh.priced_sql()})").fetchall()}
    for row in rows:
        usage = Usage(**{k: row[k] for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                             "output_tokens", "reasoning_tokens", "request_count")})
        try:
            py = price_span(CATALOG.resolve(row["model"], row["provider"]), usage, row["ts"], row["span_s"])
        except UnknownModelError:
            assert got[row["request_id"]][4] is None, row
            continue
        assert got[row["request_id"]] == (py.input_usd, py.cache_read_usd, py.cache_write_usd, py.output_usd,
                                          py.total_usd, py.approximate, py.low_usd, py.high_usd), row
        assert py.low_usd <= py.total_usd <= py.high_usd
