"""Explore and Cache pages: tables and KPIs equal independently computed SQL figures."""

from __future__ import annotations

import io
import math
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dashboard import exports
from dashboard.charts import tables
from dashboard.warehouse import explore


@pytest.mark.slow
def test_explore_by_model_matches_sql(app, wh):
    at = app("app_pages/explore.py")
    shown = at.dataframe[0].value.set_index("model")
    expected = wh.query(
        f"SELECT model, sum(request_count), sum(cost), quantile_cont(latency_ms, 0.95) "
        f"FROM ({wh.priced_sql()}) GROUP BY model"
    ).fetchall()
    assert len(shown) == len(expected)
    for model, requests, cost, p95 in expected:
        assert shown.loc[model, "requests"] == requests
        if cost is None:  # an unpriced model is shown without a cost, never as $0
            assert math.isnan(shown.loc[model, "cost_usd"])
        else:
            assert shown.loc[model, "cost_usd"] == pytest.approx(float(cost), abs=1e-12)
        assert shown.loc[model, "latency_p95_ms"] == pytest.approx(p95)


@pytest.mark.slow
@pytest.mark.parametrize("dims", [("project", "api_key"), ("tag",), ("model", "tag")], ids=["two", "tag", "model-tag"])
def test_explore_two_dimensions_and_grain(app, dims):
    at = app("app_pages/explore.py")
    at.multiselect(key="explore_dims").set_value(list(dims)).run()
    at.selectbox(key="explore_grain").set_value("day").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown.columns[: len(dims) + 1]) == [*dims, "period"]


def test_explore_downloads_are_exact(wh):
    from dashboard.warehouse.queries import Filters

    frame = tables.explore_table(explore.group_by(wh, Filters(), ("model",)))
    csv = pd.read_csv(io.BytesIO(exports.to_csv(frame)), dtype=str, encoding="utf-8-sig")
    total = wh.query(f"SELECT sum(cost) FROM ({wh.priced_sql()})").fetchone()[0]
    assert sum(Decimal(v) for v in csv["cost_usd"].dropna()) == total
    parquet = pq.read_table(io.BytesIO(tables.parquet_bytes(frame)))
    assert sum(v.as_py() for v in parquet.column("cost_usd") if v.as_py() is not None) == total


@pytest.mark.slow
def test_cache_page_savings_equal_sql(app, wh):
    at = app("app_pages/caching.py")
    saved = wh.query(
        f"SELECT sum(q.cache_read_tokens * p.input_per_token - q.cache_read_cost) "
        f"FROM ({wh.priced_sql()}) AS q JOIN prices AS p ON p.provider = q.price_provider "
        f"AND p.model = q.price_model AND q.ts >= p.valid_from AND q.ts < p.valid_to "
        f"AND p.weekday = CAST(((epoch_ms(q.ts) // 86400000) + 3) % 7 AS TINYINT) "
        f"AND p.hour = CAST((epoch_ms(q.ts) // 3600000) % 24 AS TINYINT) "
        f"AND q.input_tokens + q.cache_read_tokens + q.cache_write_tokens + q.cache_write_1h_tokens "
        f"BETWEEN p.min_prompt_tokens AND p.max_prompt_tokens"
    ).fetchone()[0]
    value = next(m for m in at.metric if m.label == "Saved by caching").value
    assert value == f"${saved.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    assert len(at.dataframe[0].value) == 20
    biggest = wh.query("SELECT max(input_tokens) FROM requests").fetchone()[0]
    assert at.dataframe[0].value["input_tokens"].iloc[0] == biggest
