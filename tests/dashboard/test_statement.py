"""The monthly statement against a real DuckDB file: month bounds in a billing zone, exact totals, reconciliation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard.warehouse import Warehouse
from dashboard.warehouse.queries import Filters
from dashboard.warehouse.statement import (
    ADJUSTMENT,
    FOCUS_BUCKETS,
    focus_lines,
    statement,
)
from pricing import load_catalog

M = 1_000_000
# Rates per 1M tokens. "big" changes price on 2026-11-15, in the middle of the statement month.
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
reasoning = 3

[[models]]
id = "big"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 3
output = 15
cache_read = 0.3
cache_write = 3.75

[[models.periods]]
effective_from = 2026-11-15
source = "test"
checked = 2026-01-01
input = 2.5
output = 12
cache_read = 0.25
cache_write = 3
"""

# Expected costs, written as the catalog arithmetic.
R1 = 1_000_000 * Decimal("0.5") / M
R2_BUCKETS = {
    "input": 1000 * Decimal("0.5") / M,
    "cache_read": 2000 * Decimal("0.05") / M,
    "cache_write": 300 * Decimal("0.625") / M,
    "cache_write_1h": 400 * Decimal(1) / M,
    "output": (500 - 200) * Decimal(2) / M + 200 * Decimal(3) / M,
}
R2 = sum(R2_BUCKETS.values(), Decimal(0))
R3 = 10_000 * Decimal(3) / M + 2000 * Decimal(15) / M
R4 = 20_000 * Decimal("2.5") / M + 50_000 * Decimal("0.25") / M + 4000 * Decimal(12) / M
B2 = R2 + Decimal("0.000001")  # within tolerance: not flagged
B3 = R3 + Decimal("0.05")  # above: flagged
B5 = Decimal("0.10")  # billed for a model without a price


def _rows() -> list[dict]:
    def row(rid: str, ts: str, model: str, project: str, key: str, billed: Decimal | None = None, **tokens: int):
        return {
            "source": "test", "request_id": rid, "ts": datetime.fromisoformat(ts), "provider": "acme",
            "model": model, "project": project, "api_key": key, "billed_cost": billed, **tokens,
        }

    return [
        # 2026-10-31 23:30 in Berlin (UTC+1 after the October change): October.
        row("r1", "2026-10-31T22:30:00+00:00", "small", "alpha", "sk-aaaa1111", input_tokens=1_000_000),
        # 2026-11-01 00:30 in Berlin: November, although it is still October in UTC.
        row("r2", "2026-10-31T23:30:00+00:00", "small", "alpha", "sk-aaaa1111", B2, input_tokens=1000,
            cache_read_tokens=2000, cache_write_tokens=300, cache_write_1h_tokens=400, output_tokens=500,
            reasoning_tokens=200),
        row("r3", "2026-11-05T12:00:00+00:00", "big", "beta", "sk-bbbb2222", B3, input_tokens=10_000,
            output_tokens=2000),
        row("r4", "2026-11-20T08:00:00+00:00", "big", "beta", "sk-bbbb2222", input_tokens=20_000,
            cache_read_tokens=50_000, output_tokens=4000),
        row("r5", "2026-11-21T10:00:00+00:00", "mystery-1", "alpha", "sk-aaaa1111", B5, input_tokens=700,
            output_tokens=70),
        # 2026-12-01 00:30 in Berlin: December.
        row("r6", "2026-11-30T23:30:00+00:00", "small", "alpha", "sk-aaaa1111", input_tokens=5),
    ]


@pytest.fixture
def wh(tmp_path: Path):
    path = tmp_path / "acme.toml"
    path.write_text(CATALOG, encoding="utf-8")
    warehouse = Warehouse.open(tmp_path / "usage.duckdb", catalog=load_catalog(paths=[path]))
    assert warehouse.insert_requests(_rows()) == (6, 0)
    yield warehouse
    warehouse.close()


@pytest.mark.parametrize(
    ("month", "tz", "requests", "computed"),
    [
        ("2026-10", "UTC", 2, R1 + R2),
        ("2026-10", "Europe/Berlin", 1, R1),
        ("2026-11", "UTC", 3 + 1, R3 + R4 + 5 * Decimal("0.5") / M),
        ("2026-11", "Europe/Berlin", 4, R2 + R3 + R4),
    ],
    ids=["oct-utc", "oct-berlin", "nov-utc", "nov-berlin"],
)
def test_month_follows_the_billing_zone(wh, month, tz, requests, computed):
    s = statement(wh, month, tz)
    assert (s.total.requests, s.total.computed_usd) == (requests, computed)
    assert s.start.tzinfo is not None and s.timezone == tz


def test_november_totals_in_berlin(wh):
    s = statement(wh, "2026-11", "Europe/Berlin")
    t = s.total
    assert t.requests == 4
    assert (t.input_tokens, t.cache_read_tokens, t.cache_write_tokens, t.cache_write_1h_tokens) == (
        1000 + 10_000 + 20_000 + 700, 2000 + 50_000, 300, 400)
    assert (t.output_tokens, t.reasoning_tokens) == (500 + 2000 + 4000 + 70, 200)
    assert t.input_usd == R2_BUCKETS["input"] + 10_000 * Decimal(3) / M + 20_000 * Decimal("2.5") / M
    assert t.cache_read_usd == R2_BUCKETS["cache_read"] + 50_000 * Decimal("0.25") / M
    assert t.cache_write_usd == R2_BUCKETS["cache_write"]
    assert t.cache_write_1h_usd == R2_BUCKETS["cache_write_1h"]
    assert t.output_usd == R2_BUCKETS["output"] + 2000 * Decimal(15) / M + 4000 * Decimal(12) / M
    assert t.computed_usd == R2 + R3 + R4
    assert t.billed_usd == B2 + B3 + B5
    assert t.charged_usd == B2 + B3 + R4 + B5
    assert (t.billed_requests, t.unpriced_requests) == (3, 1)
    # Like with like: billed against computed over the requests that have both (R4 has no billed
    # cost, B5 no price), not the whole billed total against the whole computed total.
    assert (t.comparable_billed_usd, t.comparable_computed_usd) == (B2 + B3, R2 + R3)
    assert t.difference_usd == B2 + B3 - (R2 + R3)
    assert t.difference_pct == (B2 + B3 - (R2 + R3)) / (R2 + R3) * 100
    assert t.flag
    assert t.explanation == (
        "unpriced model: 1 requests have no price (add it on the Prices page); "
        "billed cost missing on 1 of 4 requests; billed exceeds computed on days: 2026-11-05"
    )


def test_breakdowns_add_up_to_the_total(wh):
    s = statement(wh, "2026-11", "Europe/Berlin")
    for dimension in ("model", "provider", "project", "api_key", "day"):
        lines = s.lines(dimension)
        assert sum(line.requests for line in lines) == s.total.requests, dimension
        assert sum((line.computed_usd or Decimal(0) for line in lines), Decimal(0)) == s.total.computed_usd
        assert sum((line.charged_usd or Decimal(0) for line in lines), Decimal(0)) == s.total.charged_usd


@pytest.mark.slow
def test_model_lines_flag_and_explain(wh):
    lines = {(line.provider, line.key): line for line in statement(wh, "2026-11", "Europe/Berlin").by_model}
    small, big, mystery = lines[("acme", "small")], lines[("acme", "big")], lines[("acme", "mystery-1")]

    assert (small.computed_usd, small.billed_usd, small.difference_usd) == (R2, B2, Decimal("0.000001"))
    assert small.difference_pct == Decimal("0.000001") / R2 * 100
    assert not small.flag and small.explanation is None

    assert (big.computed_usd, big.billed_usd, big.difference_usd) == (R3 + R4, B3, B3 - R3)
    assert big.flag
    assert big.explanation == "billed cost missing on 1 of 2 requests; billed exceeds computed on days: 2026-11-05"

    # Volume without a price: counted, cost unknown (None), never 0.
    assert (mystery.requests, mystery.input_tokens, mystery.output_tokens) == (1, 700, 70)
    assert mystery.computed_usd is None and mystery.input_usd is None and mystery.output_usd is None
    assert mystery.billed_usd == B5 and mystery.difference_usd is None
    assert mystery.flag
    assert mystery.explanation == "unpriced model: 1 requests have no price (add it on the Prices page)"
    # Priced lines first, most expensive first; the unpriced line last.
    assert [line.key for line in statement(wh, "2026-11", "Europe/Berlin").by_model] == ["big", "small", "mystery-1"]


def test_group_lines_by_project_key_and_provider(wh):
    s = statement(wh, "2026-11", "Europe/Berlin")
    projects = {line.key: line for line in s.by_project}
    assert projects["alpha"].computed_usd == R2 and projects["alpha"].unpriced_requests == 1
    assert projects["beta"].computed_usd == R3 + R4
    keys = {line.key: line.requests for line in s.by_api_key}
    assert keys == {"…1111": 2, "…2222": 2}
    assert [(line.key, line.computed_usd) for line in s.by_provider] == [("acme", R2 + R3 + R4)]


def test_day_reconciliation(wh):
    days = {line.key: line for line in statement(wh, "2026-11", "Europe/Berlin").days}
    assert list(days) == ["2026-11-01", "2026-11-05", "2026-11-20", "2026-11-21"]
    assert (days["2026-11-01"].computed_usd, days["2026-11-01"].billed_usd, days["2026-11-01"].flag) == (R2, B2, False)
    assert (days["2026-11-05"].difference_usd, days["2026-11-05"].flag) == (Decimal("0.05"), True)
    assert days["2026-11-05"].explanation == "difference not explained by the logs"
    assert (days["2026-11-20"].billed_usd, days["2026-11-20"].difference_usd, days["2026-11-20"].flag) == (
        None, None, False)
    assert days["2026-11-21"].computed_usd is None and days["2026-11-21"].flag


def test_billed_below_computed_is_named(tmp_path: Path):
    path = tmp_path / "acme.toml"
    path.write_text(CATALOG, encoding="utf-8")
    with Warehouse.open(tmp_path / "low.duckdb", catalog=load_catalog(paths=[path])) as w:
        w.insert_requests([
            {"source": "t", "request_id": "a", "ts": datetime(2026, 11, 3, 9, tzinfo=UTC), "provider": "acme",
             "model": "big", "input_tokens": 10_000, "output_tokens": 2000, "billed_cost": R3 - Decimal("0.02")},
        ])
        total = statement(w, "2026-11").total
    assert total.difference_usd == Decimal("-0.02") and total.flag
    assert total.explanation == "billed below computed on days: 2026-11-03"


def test_filters_narrow_but_the_month_wins(wh):
    f = Filters(projects=("beta",), start=datetime(2020, 1, 1, tzinfo=UTC), tz="Asia/Tokyo")
    s = statement(wh, "2026-11", "Europe/Berlin", f)
    assert s.timezone == "Europe/Berlin"
    assert (s.total.requests, s.total.computed_usd) == (2, R3 + R4)
    assert [line.key for line in s.by_project] == ["beta"]


def test_empty_month(wh):
    s = statement(wh, "2025-01", "UTC")
    assert (s.total.requests, s.total.computed_usd, s.total.billed_usd, s.total.flag) == (0, None, None, False)
    assert s.by_model == [] and s.days == []
    assert s.frame("model").empty


def test_frame_keeps_decimals(wh):
    frame = statement(wh, "2026-11", "Europe/Berlin").frame("model")
    assert list(frame.columns[:3]) == ["provider", "model", "requests"]
    assert frame.loc[frame["model"] == "big", "computed_usd"].iloc[0] == R3 + R4
    assert isinstance(frame.loc[frame["model"] == "big", "computed_usd"].iloc[0], Decimal)


def test_focus_lines_add_up_to_the_statement(wh):
    s = statement(wh, "2026-11", "Europe/Berlin")
    lines = focus_lines(wh, "2026-11", "Europe/Berlin")
    usage = [line for line in lines if line["bucket"] != ADJUSTMENT]
    assert sum(line["billed_usd"] for line in lines if line["billed_usd"] is not None) == s.total.charged_usd
    assert sum(line["cost_usd"] for line in usage if line["cost_usd"] is not None) == s.total.computed_usd
    all_tokens = (s.total.input_tokens + s.total.cache_read_tokens + s.total.cache_write_tokens
                  + s.total.cache_write_1h_tokens + s.total.output_tokens)
    assert sum(line["tokens"] for line in usage) == all_tokens
    assert {line["bucket"] for line in usage} == set(FOCUS_BUCKETS)
    for line in usage:
        if line["unit_price_per_mtok"] is not None:
            assert line["unit_price_per_mtok"] * line["tokens"] / M == line["cost_usd"]
    reasoning = next(line for line in usage if line["bucket"] == "reasoning")
    assert (reasoning["tokens"], reasoning["unit_price_per_mtok"], reasoning["cost_usd"]) == (
        200, Decimal(3), 200 * Decimal(3) / M)
    first = next(line for line in usage if line["model"] == "small")
    # The Berlin day 2026-11-01 starts at 23:00 UTC the day before.
    assert first["day"] == date(2026, 11, 1)
    assert first["charge_period_start"] == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert first["billing_period_start"] == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert first["provider_name"] == "Acme AI"
    unpriced = [line for line in usage if line["model"] == "mystery-1"]
    assert unpriced and all(line["cost_usd"] is None and line["unpriced"] for line in unpriced)


def test_partial_billed_cost_is_compared_over_the_requests_that_carry_it(tmp_path: Path):
    # Ten requests, one with a billed cost 0.12 % above its computed cost: the month's difference
    # is that +0.12 %, not billed (one request) against computed (ten), which read -90 %.
    path = tmp_path / "acme.toml"
    path.write_text(CATALOG, encoding="utf-8")
    each = 10_000 * Decimal(3) / M + 2000 * Decimal(15) / M
    billed = each * Decimal("1.0012")
    rows = [{"source": "t", "request_id": str(i), "ts": datetime(2026, 11, 3, 9, tzinfo=UTC), "provider": "acme",
             "model": "big", "input_tokens": 10_000, "output_tokens": 2000,
             "billed_cost": billed if i == 0 else None} for i in range(10)]
    with Warehouse.open(tmp_path / "partial.duckdb", catalog=load_catalog(paths=[path])) as w:
        w.insert_requests(rows)
        total = statement(w, "2026-11").total
    assert (total.computed_usd, total.billed_usd) == (10 * each, billed)
    assert (total.billed_requests, total.requests, total.comparable_computed_usd) == (1, 10, each)
    assert total.difference_usd == billed - each
    assert total.difference_pct == Decimal("0.12")


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        # No range: the last complete month with data, not the month to date.
        (None, None, datetime(2026, 12, 6, tzinfo=UTC), "2026-11"),
        # A range inside one month with data opens that month.
        (datetime(2026, 10, 3, tzinfo=UTC), datetime(2026, 10, 9, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC),
         "2026-10"),
        # A range across months falls back to the last complete month.
        (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC),
         "2026-11"),
        # Only the month to date has data: it is the one shown.
        (None, None, datetime(2026, 9, 6, tzinfo=UTC), "2026-09"),
    ],
    ids=["last-complete", "range-month", "range-across", "only-partial"],
)
def test_default_month(start, end, now, expected):
    from dashboard.warehouse.statement import default_month

    months = ["2026-12", "2026-11", "2026-10"] if now.month == 12 else ["2026-09"]
    assert default_month(months, "UTC", start, end, now=now) == expected


def test_current_month_is_read_in_the_billing_zone():
    from dashboard.warehouse.statement import current_month

    late = datetime(2026, 11, 30, 20, tzinfo=UTC)  # already December in Tokyo
    assert (current_month("UTC", late), current_month("Asia/Tokyo", late)) == ("2026-11", "2026-12")
