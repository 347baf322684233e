"""Overview page: KPIs equal independently computed SQL figures."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from dashboard.warehouse.queries import Filters


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


@pytest.mark.slow
def test_overview_spend_requests_and_unpriced_match_sql(app, wh):
    at = app()
    sql = f"SELECT sum(cost), sum(request_count), sum(CASE WHEN unpriced THEN 1 ELSE 0 END) FROM ({wh.priced_sql()})"
    cost, requests, unpriced = wh.query(sql).fetchone()
    assert metric(at, "Spend").value == f"${cost.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    assert metric(at, "Requests").value == f"{requests:,}"
    assert metric(at, "Unpriced requests").value == f"{unpriced:,}"
    assert unpriced > 0 and any("without a price" in w.value for w in at.warning)
    assert any("rounded" in c.value for c in at.caption)


@pytest.mark.slow
def test_overview_cache_hit_rate_is_token_weighted(app, wh):
    at = app()
    read, prompt = wh.query(
        "SELECT sum(cache_read_tokens), "
        "sum(input_tokens + cache_read_tokens + cache_write_tokens + cache_write_1h_tokens) FROM requests"
    ).fetchone()
    assert wh.query("SELECT sum(cache_write_1h_tokens) FROM requests").fetchone()[0] > 0
    assert metric(at, "Cache hit rate").value == f"{read / prompt * 100:.1f}%"


@pytest.mark.slow
def test_overview_filter_from_url_narrows_the_figures(app, wh):
    at = app(model="gpt-4o-mini")
    where, params = Filters(models=("gpt-4o-mini",)).where("q")
    cost = wh.query(f"SELECT sum(cost) FROM ({wh.priced_sql()}) AS q WHERE {where}", params).fetchone()[0]
    assert metric(at, "Spend").value == f"${cost.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    assert at.query_params["model"] in ("gpt-4o-mini", ["gpt-4o-mini"])


@pytest.mark.parametrize("grain", ["hour", "day", "week", "month"], ids=str)
@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/Los_Angeles"], ids=str)
def test_rollup_series_equal_sql_per_grain_and_zone(wh, grain, tz):
    from datetime import date, timedelta

    from dashboard.state import make_filters
    from dashboard.warehouse import explore

    today = date.today()
    f = make_filters(today - timedelta(days=20), today, tz)
    roll = explore.rollup(wh, f, grain)
    got = explore.spend_over_time(roll, grain, "model")
    where, params = f.where("q")
    expected = wh.query(
        f"SELECT date_trunc('{grain}', timezone($tz, q.ts)) AS p, q.model, coalesce(sum(q.cost), 0) "
        f"FROM ({wh.priced_sql()}) AS q WHERE {where} GROUP BY ALL ORDER BY 1, 2",
        {**params, "tz": tz},
    ).fetchall()
    assert [(r.period.to_pydatetime(), r.series, r.cost_usd) for r in got.itertuples()] == expected
    current, previous = explore.kpis(roll, True)
    pw, pp = explore.previous_period(f).where("q")
    prev_cost, prev_requests = wh.query(
        f"SELECT sum(q.cost), sum(q.request_count) FROM ({wh.priced_sql()}) AS q WHERE {pw}", pp
    ).fetchone()
    assert (previous.cost_usd, previous.requests) == (prev_cost, prev_requests)
    prev_saved = wh.query(
        f"SELECT coalesce(sum(q.cache_read_tokens * q.input_per_token), 0) - coalesce(sum(q.cache_read_cost), 0) "
        f"FROM ({wh.priced_sql()}) AS q WHERE {pw}", pp
    ).fetchone()[0]
    assert previous.cache_saved_usd == prev_saved
    assert current.cost_usd == sum((r[2] for r in expected), Decimal(0))
