"""Requests summed first and priced per group (pricing.sql.priced_groups_sql) cost exactly what the
cost view's rows sum to, for every key, bucket and flag the pages read: across price periods that
start inside an hour (2026-04-26 12:15), DeepSeek's peak hours, long-context bands, rows standing
for many requests, rows with a span, unpriced models and logged aliases."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.warehouse.queries import Filters, priced_groups
from pricing.sql import GROUP_COLUMNS, priced_groups_sql, priced_requests_sql

SUMMED = [c for c in GROUP_COLUMNS if c not in ("provider", "model", "price_provider", "price_model",
                                                 "price_window", "price_currency", "unpriced", "approximate")
          and not c.endswith("_per_token")]
KEYS = {"day": "CAST(q.ts AS DATE)", "project": "q.project", "unpriced_at": "q.ts < TIMESTAMPTZ '2000-01-01'"}
EDGES = [datetime(2026, 4, 26, 12, 15, tzinfo=UTC), datetime(2026, 8, 16, 16, tzinfo=UTC),
         datetime(2026, 8, 23, tzinfo=UTC), datetime(2026, 9, 9, 16, tzinfo=UTC)]
ROUTES = [("deepseek", "deepseek-v4-flash"), ("deepseek", "DeepSeek-V4-Pro"), ("ourtoken", "deepseek-v4-flash"),
          ("anthropic", "claude-sonnet-4-5"), ("google", "gemini-2.5-pro"), ("openai", "gpt-5.4"),
          ("acme", "mystery-1"), (None, "gpt-4o-mini")]


def _sums(wh, sql, params, by=("day", "project")):
    """Per key: every summed column, the priced and unpriced request counts, and the summed rates' use."""
    cols = ", ".join(f"sum(q.{c}) AS {c}" for c in SUMMED)
    keys = ", ".join(f"q.{k}" for k in by)
    return wh.query(
        f"""SELECT {keys}, coalesce(q.price_model, q.model) AS shown, {cols},
            sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END) AS unpriced_requests,
            sum(q.cache_read_tokens * q.input_per_token) AS reads_at_input,
            sum(q.cost) FILTER (WHERE q.approximate) AS approximate_usd
        FROM ({sql}) AS q GROUP BY ALL ORDER BY ALL""", params).fetchall()


def _by_row(wh, where="true", params=None):
    """The same sums over the cost view, row by row."""
    keyed = ", ".join(f"{expr} AS {name}" for name, expr in KEYS.items())
    return _sums(wh, f"SELECT q.*, {keyed} FROM ({priced_requests_sql()}) AS q WHERE {where}", params or {})


def _by_group(wh, filters):
    sql, params = priced_groups(wh, filters, KEYS)
    return _sums(wh, sql, params)


@st.composite
def requests(draw):
    provider, model = draw(st.sampled_from(ROUTES))
    ts = draw(st.sampled_from(EDGES)) + timedelta(seconds=draw(st.integers(-3 * 86400, 3 * 86400)))
    n = draw(st.sampled_from([1, 1, 1, 3, 250]))
    prompt = draw(st.sampled_from([0, 1, 1_000, 99_999, 100_000, 100_001, 200_000, 200_001, 272_001, 400_000]))
    cached = draw(st.integers(0, prompt))
    output = draw(st.integers(0, 50_000))
    return {
        "provider": provider, "model": model, "ts": ts, "request_count": n,
        "input_tokens": prompt * n - cached, "cache_read_tokens": cached,
        "cache_write_tokens": draw(st.sampled_from([0, 0, 5_000])),
        "cache_write_1h_tokens": draw(st.sampled_from([0, 0, 7_000])),
        "output_tokens": output, "reasoning_tokens": draw(st.integers(0, output)),
        "project": draw(st.sampled_from([None, "a", "b"])),
        "billed_cost": draw(st.sampled_from([None, "0.25"])),
        "span_s": draw(st.sampled_from([None, None, None, 3600, 86400])),
    }


def _load(wh, rows):
    wh.query("DELETE FROM request_rows")
    for i, r in enumerate(rows):
        r["request_id"] = str(i)
    wh.insert_requests(rows, source="prop")


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(requests(), min_size=30, max_size=120), st.sampled_from([None, *EDGES]))
def test_grouped_sums_equal_the_sums_of_priced_rows(wh, rows, start):
    _load(wh, rows)
    if start is None:
        assert _by_group(wh, Filters()) == _by_row(wh)
    else:  # a range that starts at a price's edge, and one that starts just after it
        for s in (start, start + timedelta(seconds=1)):
            f = Filters(start=s, end=s + timedelta(days=2))
            assert _by_group(wh, f) == _by_row(wh, "q.ts >= $s AND q.ts < $e", {"s": s, "e": f.end})


def test_a_period_starting_inside_an_hour_splits_its_hour(wh):
    """2026-04-26 12:15: cache reads at 0.028 per 1M before it, 0.0028 after it, in one UTC hour."""
    at = datetime(2026, 4, 26, 12, 15, tzinfo=UTC)
    rows = [{"provider": "deepseek", "model": "deepseek-v4-flash", "ts": at + timedelta(minutes=m),
             "input_tokens": 0, "cache_read_tokens": 1_000_000, "output_tokens": 0} for m in (-10, 10)]
    _load(wh, rows)
    got = _by_group(wh, Filters())
    assert got == _by_row(wh)
    assert [r[3 + SUMMED.index("cost")] for r in got] == [Decimal("0.028") + Decimal("0.0028")]


def test_requests_either_side_of_a_long_context_edge_are_priced_apart(wh):
    """gpt-5.4 bills a prompt over 272,000 tokens per request at its long-context rates; a row for
    three requests is judged by its prompt tokens per request."""
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rows = [{"provider": "openai", "model": "gpt-5.4", "ts": at, "request_count": n, "input_tokens": prompt * n,
             "cache_read_tokens": 0, "output_tokens": 1_000, "project": str(prompt)}
            for prompt in (272_000, 272_001) for n in (1, 3)]
    _load(wh, rows)
    got = _by_group(wh, Filters())
    assert got == _by_row(wh)
    cost_per_token = [r[3 + SUMMED.index("input_cost")] / r[3 + SUMMED.index("input_tokens")] for r in got]
    assert cost_per_token[0] < cost_per_token[1]  # the project is the prompt size


def test_group_keys_may_not_shadow_the_groups_columns():
    with pytest.raises(ValueError, match="new plain names"):
        priced_groups_sql({"cost": "q.ts"}, "true", [], [])


def test_the_rollups_previous_period_is_one_row_per_route_with_the_same_totals(wh):
    from dashboard.warehouse import explore as ex

    rows = [{"provider": p, "model": m, "ts": datetime(2026, 11, d, h, tzinfo=UTC), "input_tokens": 1_000 * h,
             "cache_read_tokens": 500, "output_tokens": 70, "project": f"p{h % 3}"}
            for d in (1, 2, 3, 4) for h in range(0, 24, 5) for p, m in ROUTES[:6]]
    _load(wh, rows)
    f = Filters(start=datetime(2026, 11, 3, tzinfo=UTC), end=datetime(2026, 11, 5, tzinfo=UTC))
    roll = ex.rollup(wh, f, "hour")
    before = roll[roll["previous"]]
    assert len(before) == len(set(zip(before["provider"], before["model"], strict=True))) == 6
    assert before[["bucket", "project", "api_key"]].isna().all().all()
    previous = ex.kpis(roll, True)[1]
    cost, requests = wh.query(f"SELECT sum(cost), sum(request_count) FROM ({priced_requests_sql()}) "
                              "WHERE ts >= '2026-11-01' AND ts < '2026-11-03'").fetchone()
    assert (previous.cost_usd, previous.requests) == (cost, requests)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_daily_spend_is_each_local_days_cost_of_the_priced_rows(wh, tz):
    from dashboard.warehouse.queries import daily_spend

    # Across New York's change of clocks on 2026-11-01 and a price period starting at 2026-08-23 00:00 UTC.
    rows = [{"provider": p, "model": m, "ts": at + timedelta(hours=h), "input_tokens": 10_000 + h,
             "cache_read_tokens": 700, "output_tokens": 90, "span_s": 7200 if h % 7 == 0 else None}
            for at in (datetime(2026, 8, 22, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC))
            for h in range(0, 72, 5) for p, m in ROUTES]
    _load(wh, rows)
    expected = wh.query(
        f"SELECT CAST(timezone($tz, ts) AS DATE) AS day, coalesce(sum(cost), 0) FROM ({priced_requests_sql()}) "
        "GROUP BY 1 ORDER BY 1", {"tz": tz}).fetchall()
    got = daily_spend(wh, Filters(tz=tz))
    assert [(d, c) for d, c in got.itertuples(index=False) if c] == [(d, c) for d, c in expected if c]
    assert len(got) == (expected[-1][0] - expected[0][0]).days + 1  # days without traffic as 0


def test_the_approximate_part_of_the_rollups_spend_is_the_rows_over_a_changing_price(wh):
    from dashboard.warehouse import explore as ex

    # DeepSeek's peak hours change the price inside a day-long row on a weekday; not on a Saturday.
    rows = [{"provider": "deepseek", "model": "deepseek-v4-flash", "ts": datetime(2026, 11, d, tzinfo=UTC),
             "span_s": 86_400, "request_count": 100, "input_tokens": 1_000_000, "output_tokens": 1_000}
            for d in (2, 7)] + [{"provider": "openai", "model": "gpt-4o-mini", "ts": datetime(2026, 11, 3, 5, tzinfo=UTC),
                                 "input_tokens": 900, "output_tokens": 9}]
    _load(wh, rows)
    f = Filters(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 8, tzinfo=UTC))
    expected = wh.query(f"SELECT sum(cost) FILTER (WHERE approximate), sum(cost) FROM ({priced_requests_sql()})"
                        ).fetchone()
    got = ex.approximate_of(ex.rollup(wh, f, "day"))
    assert got == expected and Decimal(0) < got[0] < got[1]


@pytest.mark.parametrize("by", ["model", "provider", "project", "day", "status"])
def test_the_month_report_has_each_rows_money_of_the_priced_rows(wh, by):
    from dashboard.warehouse.queries import BILLED_COVERAGE, month_report

    rows = [{"provider": p, "model": m, "ts": datetime(2026, 11, 1 + h % 28, h % 24, tzinfo=UTC),
             "input_tokens": 3_000 + h, "cache_read_tokens": 400, "output_tokens": 60, "project": "ab"[h % 2],
             "status": "ok" if h % 3 else None, "billed_cost": "0.01" if h % 4 == 0 else None,
             "span_s": 86_400 if h % 9 == 0 else None, "request_count": 5 if h % 9 == 0 else 1}
            for h in range(60) for p, m in ROUTES]
    _load(wh, rows)
    key = {"model": "coalesce(q.price_model, q.model)", "day": "CAST(q.ts AS DATE)"}.get(by, f"q.{by}")
    expected = wh.query(
        f"SELECT CAST({key} AS VARCHAR), sum(q.request_count), sum(q.input_tokens), sum(q.cost), "
        f"sum(q.billed_cost), sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END), {BILLED_COVERAGE}, "
        f"coalesce(sum(q.cost) FILTER (WHERE q.approximate), 0) FROM ({priced_requests_sql()}) AS q "
        "WHERE q.ts >= '2026-11-01' AND q.ts < '2026-12-01' GROUP BY 1 ORDER BY 1 NULLS LAST").fetchall()
    got = sorted(month_report(wh, "2026-11", by).rows, key=lambda r: (r["key"] is None, r["key"] or ""))
    assert [(r["key"], r["requests"], r["input_tokens"], r["cost_usd"], r["billed_usd"], r["unpriced_requests"],
             r["billed_requests"], r["comparable_computed_usd"], r["approximate_usd"]) for r in got] == expected
    assert any(r["approximate_usd"] for r in got) and any(r["billed_requests"] for r in got)
