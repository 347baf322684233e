"""A row that stands for many requests (request_count) is tiered by its prompt tokens per request,
in the Python engine and in the SQL cost view alike."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.warehouse import Warehouse
from pricing import PricingError, Usage, cost, default_catalog

CATALOG = default_catalog()
AT = datetime(2026, 11, 24, 12, tzinfo=UTC)  # a Tuesday, outside every peak window
M = Decimal(1_000_000)


def _sql_cost(wh: Warehouse, row: dict) -> Decimal:
    wh.insert_requests([row], source="agg")
    return wh.query(f"SELECT cost FROM ({wh.priced_sql()}) WHERE request_id = ?", [row["request_id"]]).fetchone()[0]


def _python_cost(row: dict) -> Decimal:
    usage = Usage(input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                  request_count=row["request_count"])
    return cost(usage, row["model"], row["provider"], row["ts"], catalog=CATALOG).total_usd


CASES = [
    # 100 requests of 5,000 prompt tokens: far below gemini-2.5-pro's 200K tier, though the row holds 500,000.
    pytest.param("google", "gemini-2.5-pro", 100, 500_000, 27_500,
                 500_000 * Decimal("1.25") / M + 27_500 * Decimal(10) / M, id="gemini-100x5000"),
    # 50 requests of 3,000 prompt tokens on claude-haiku-5-5, whose tier starts above 100K.
    pytest.param("anthropic", "claude-haiku-5-5", 50, 150_000, 11_000,
                 150_000 * Decimal("0.1") / M + 11_000 * Decimal("0.5") / M, id="haiku-50x3000"),
    # Two requests of 200,000.5 prompt tokens on average: above the 200K tier, as one of 200,001 would be.
    pytest.param("google", "gemini-2.5-pro", 2, 400_001, 0, 400_001 * Decimal("2.5") / M, id="just-above-per-request"),
    pytest.param("google", "gemini-2.5-pro", 2, 400_000, 0, 400_000 * Decimal("1.25") / M, id="at-the-bound"),
    # A single request keeps the old rule, and a count of 0 is read as 1 (no division by zero).
    pytest.param("google", "gemini-2.5-pro", 1, 200_001, 0, 200_001 * Decimal("2.5") / M, id="one-request"),
    pytest.param("google", "gemini-2.5-pro", 0, 200_001, 0, 200_001 * Decimal("2.5") / M, id="zero-count"),
]


@pytest.mark.parametrize(("provider", "model", "count", "prompt", "output", "expected"), CASES)
def test_tier_from_prompt_tokens_per_request(new_db, provider, model, count, prompt, output, expected):
    row = {"request_id": "r", "ts": AT, "provider": provider, "model": model, "input_tokens": prompt,
           "output_tokens": output, "request_count": count}
    with Warehouse.open(new_db("w.duckdb")) as wh:
        assert _sql_cost(wh, row) == expected
    if count:
        assert _python_cost(row) == expected


TIERED = sorted((m.provider, m.id) for m in CATALOG.models if any(p.tiers for p in m.periods))


@st.composite
def aggregated(draw):
    provider, model = draw(st.sampled_from(TIERED))
    count = draw(st.integers(1, 500))
    per_request = draw(st.integers(0, 400_000))
    return {
        "provider": provider, "model": model, "request_count": count,
        "ts": AT - timedelta(days=draw(st.integers(0, 200))),
        # around count x per-request, so rows land on both sides of every tier
        "input_tokens": count * per_request + draw(st.integers(-count, count)) if per_request else 0,
        "output_tokens": draw(st.integers(0, 100_000)),
    }


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(aggregated(), min_size=20, max_size=40))
def test_python_and_sql_agree_on_aggregated_rows(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("agg") / "w.duckdb"
    with Warehouse.open(path) as wh:
        for i, row in enumerate(rows):
            row["request_id"] = str(i)
        wh.insert_requests(rows, source="agg")
        got = dict(wh.query(f"SELECT request_id, cost FROM ({wh.priced_sql()})").fetchall())
    for row in rows:
        try:
            expected = _python_cost(row)
        except PricingError:
            expected = None  # before the model's first price: unpriced in SQL too
        assert got[row["request_id"]] == expected, row
