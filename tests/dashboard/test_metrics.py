"""The derived metrics in SQL and in Python give the same figures for the same rows (a real DuckDB)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard import metrics
from dashboard.warehouse import Warehouse
from pricing import Usage, load_catalog

M = 1_000_000
CATALOG = """
[route]
provider = "acme"
name = "Acme AI"
currency = "USD"

[[models]]
id = "small"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 0.5
output = 2
cache_read = 0.05
cache_write = 0.625
cache_write_1h = 1

[[models]]
id = "big"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 3.123457
output = 15
cache_read = 0.3
cache_write = 3.75
cache_write_1h = 6
"""
MODELS = ("small", "big", "unpriced")
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def random_rows(seed: int, n: int) -> list[dict]:
    """Rows over three models (one without a price): 1-hour writes, rows of several requests, empty prompts."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        empty = rng.random() < 0.1
        output = rng.randrange(0, 5_000)
        rows.append({
            "source": "t", "request_id": f"{seed}-{i}", "ts": T0 + timedelta(minutes=7 * i), "provider": "acme",
            "model": rng.choice(MODELS),
            "input_tokens": 0 if empty else rng.randrange(0, 200_000),
            "cache_read_tokens": 0 if empty else rng.choice((0, rng.randrange(0, 150_000))),
            "cache_write_tokens": 0 if empty else rng.choice((0, 0, rng.randrange(0, 50_000))),
            "cache_write_1h_tokens": 0 if empty else rng.choice((0, 0, rng.randrange(0, 50_000))),
            "output_tokens": output, "reasoning_tokens": rng.randrange(0, output + 1),
            "request_count": rng.choice((1, 1, 1, rng.randrange(2, 500))),
        })
    return rows


@pytest.fixture
def catalog(tmp_path: Path):
    path = tmp_path / "acme.toml"
    path.write_text(CATALOG, encoding="utf-8")
    return load_catalog(paths=[path])


def sql_by_model(wh: Warehouse) -> dict[str, tuple]:
    sql = f"""
        SELECT q.model, sum({metrics.prompt_tokens_sql()}), {metrics.cache_hit_rate_sql()},
            {metrics.cache_savings_sql()}, {metrics.cost_per_1k_requests_sql()}
        FROM ({wh.priced_sql()}) AS q GROUP BY q.model
        UNION ALL
        SELECT '(all)', sum({metrics.prompt_tokens_sql()}), {metrics.cache_hit_rate_sql()},
            {metrics.cache_savings_sql()}, {metrics.cost_per_1k_requests_sql()}
        FROM ({wh.priced_sql()}) AS q
    """
    return {r[0]: r[1:] for r in wh.query(sql).fetchall()}


def python_by_model(rows: list[dict], catalog) -> dict[str, tuple]:
    """The same figures from the rows as logged, priced by the Python engine."""
    out = {}
    for model in (*MODELS, "(all)"):
        group = [r for r in rows if model in ("(all)", r["model"])]
        if not group:
            continue
        sums = {k: sum(r[k] for r in group) for k in metrics.PROMPT_BUCKETS}
        prompt = metrics.prompt_tokens(*(sums[k] for k in metrics.PROMPT_BUCKETS))
        assert prompt == sum(Usage(**{k: r[k] for k in metrics.PROMPT_BUCKETS}).prompt_tokens for r in group)
        at_input = read_cost = cost = Decimal(0)
        priced = False
        for r in group:
            if r["model"] == "unpriced":
                continue
            priced = True
            rates = catalog.resolve(r["model"], "acme").period_at(r["ts"]).rates
            at_input += r["cache_read_tokens"] * rates.input / M
            read_cost += r["cache_read_tokens"] * rates.cache_read / M
            cost += (r["input_tokens"] * rates.input + r["cache_read_tokens"] * rates.cache_read
                     + r["cache_write_tokens"] * rates.cache_write + r["cache_write_1h_tokens"] * rates.cache_write_1h
                     + r["output_tokens"] * rates.output) / M  # reasoning at the output rate
        out[model] = (
            prompt,
            metrics.cache_hit_rate(sums["cache_read_tokens"], prompt),
            metrics.cache_savings_usd(at_input, read_cost),
            metrics.cost_per_1k_requests_usd(cost, sum(r["request_count"] for r in group)) if priced else None,
        )
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_and_python_agree_on_the_same_rows(tmp_path: Path, catalog, seed: int):
    rows = random_rows(seed, 60)
    with Warehouse.open(tmp_path / "usage.duckdb", catalog=catalog) as wh:
        wh.insert_requests(rows)
        got = sql_by_model(wh)
    want = python_by_model(rows, catalog)
    assert got.keys() == want.keys()
    for model, (prompt, rate, saved, per_1k) in want.items():
        sql_prompt, sql_rate, sql_saved, sql_per_1k = got[model]
        assert sql_prompt == prompt, model
        assert (sql_rate is None) == (rate is None) and (rate is None or sql_rate == pytest.approx(float(rate),
                                                                                                  rel=1e-12)), model
        assert isinstance(sql_saved, Decimal) and sql_saved == saved, model
        assert sql_per_1k == per_1k, model


def test_the_hit_rate_counts_one_hour_writes_in_its_denominator(tmp_path: Path, catalog):
    row = {"source": "t", "request_id": "1", "ts": T0, "provider": "acme", "model": "small", "input_tokens": 100,
           "cache_read_tokens": 300, "cache_write_tokens": 200, "cache_write_1h_tokens": 400, "output_tokens": 1}
    with Warehouse.open(tmp_path / "usage.duckdb", catalog=catalog) as wh:
        wh.insert_requests([row])
        prompt, rate, saved, per_1k = sql_by_model(wh)["small"]
    assert prompt == metrics.prompt_tokens(100, 300, 200, 400) == 1000
    assert rate == 0.3 and metrics.cache_hit_rate(300, 1000) == Decimal("0.3")
    assert saved == metrics.cache_savings_usd(300 * Decimal("0.5") / M, 300 * Decimal("0.05") / M)
    assert saved == 300 * (Decimal("0.5") - Decimal("0.05")) / M
    cost = (100 * Decimal("0.5") + 300 * Decimal("0.05") + 200 * Decimal("0.625") + 400 * 1 + 2) / M
    assert per_1k == metrics.cost_per_1k_requests_usd(cost, 1) == cost * 1000


@pytest.mark.slow
def test_nothing_to_divide_is_unknown_not_zero(tmp_path: Path, catalog):
    row = {"source": "t", "request_id": "1", "ts": T0, "provider": "acme", "model": "unpriced", "input_tokens": 0,
           "cache_read_tokens": 0, "output_tokens": 5}
    with Warehouse.open(tmp_path / "usage.duckdb", catalog=catalog) as wh:
        wh.insert_requests([row])
        prompt, rate, saved, per_1k = sql_by_model(wh)["unpriced"]
    assert (prompt, rate, saved, per_1k) == (0, None, 0, None)
    assert metrics.cache_hit_rate(0, 0) is None
    assert metrics.cost_per_1k_requests_usd(Decimal(0), 0) is None


def test_cost_per_1k_requests_rounds_half_up_to_the_twelve_decimals_of_a_cost():
    assert metrics.cost_per_1k_requests_usd(Decimal("0.000000000001"), 2000) == Decimal("0.000000000001")
    assert metrics.cost_per_1k_requests_usd(Decimal("3.500000000001"), 7) == Decimal("500.000000000143")


@pytest.mark.parametrize("alias", ["q; DROP TABLE requests", "Q", "1q", ""])
def test_an_alias_must_be_a_plain_name(alias: str):
    with pytest.raises(ValueError, match="plain table alias"):
        metrics.cache_hit_rate_sql(alias)
