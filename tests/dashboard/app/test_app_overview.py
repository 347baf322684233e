"""Overview page: KPIs equal independently computed SQL figures."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from dashboard.warehouse.queries import Filters


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def test_overview_spend_requests_and_unpriced_match_sql(app, wh):
    at = app()
    sql = f"SELECT sum(cost), sum(request_count), sum(CASE WHEN unpriced THEN 1 ELSE 0 END) FROM ({wh.priced_sql()})"
    cost, requests, unpriced = wh.query(sql).fetchone()
    assert metric(at, "Spend").value == f"${cost.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    assert metric(at, "Requests").value == f"{requests:,}"
    assert metric(at, "Unpriced requests").value == f"{unpriced:,}"
    assert unpriced > 0 and any("without a price" in w.value for w in at.warning)
    assert any("rounded" in c.value for c in at.caption)


def test_overview_cache_hit_rate_is_token_weighted(app, wh):
    at = app()
    read, prompt = wh.query(
        "SELECT sum(cache_read_tokens), sum(input_tokens + cache_read_tokens + cache_write_tokens) FROM requests"
    ).fetchone()
    assert metric(at, "Cache hit rate").value == f"{read / prompt * 100:.1f}%"


def test_overview_filter_from_url_narrows_the_figures(app, wh):
    at = app(model="gpt-4o-mini")
    where, params = Filters(models=("gpt-4o-mini",)).where("q")
    cost = wh.query(f"SELECT sum(cost) FROM ({wh.priced_sql()}) AS q WHERE {where}", params).fetchone()[0]
    assert metric(at, "Spend").value == f"${cost.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    assert at.query_params["model"] in ("gpt-4o-mini", ["gpt-4o-mini"])
