"""Statement page: totals equal the month's SQL sums; flagged differences are explained."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.charts.format import usd


def test_statement_totals_match_sql(app, wh):
    at = app("app_pages/statement.py")
    month = at.selectbox(key="statement_month").value
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    computed, billed = wh.query(
        f"SELECT sum(cost), sum(billed_cost) FROM ({wh.priced_sql()}) WHERE ts >= ? AND ts < ?", [start, end]
    ).fetchone()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Computed"] == usd(computed, 2)
    assert metrics["Billed"] == usd(billed, 2)
    models = at.dataframe[1].value
    assert len(models) == wh.query(
        "SELECT count(DISTINCT (provider, model)) FROM requests WHERE ts >= ? AND ts < ?", [start, end]
    ).fetchone()[0]
    # billed deepseek rows differ from computed: explained on the page
    assert any("differ" in w.value for w in at.warning)
    flagged = at.dataframe[0].value
    assert flagged["explanation"].str.contains("billed").any()
    assert len(at.get("download_button")) == 3
    assert all(b.proto.ignore_rerun for b in at.get("download_button"))  # a download reruns nothing


@pytest.mark.slow
def test_statement_every_month_and_zone(app):
    at = app("app_pages/statement.py")
    at.selectbox(key="statement_tz").set_value("Asia/Tokyo").run()
    for month in at.selectbox(key="statement_month").options:
        at.selectbox(key="statement_month").set_value(month).run()
        assert not at.exception


@pytest.mark.slow
def test_difference_compares_the_requests_that_carry_a_billed_cost(app, wh):
    at = app("app_pages/statement.py")
    month = at.selectbox(key="statement_month").value
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    billed, computed, with_bill, requests, all_computed = wh.query(
        f"""SELECT sum(billed_cost) FILTER (WHERE NOT unpriced), sum(cost) FILTER (WHERE billed_cost IS NOT NULL),
                   sum(request_count) FILTER (WHERE billed_cost IS NOT NULL), sum(request_count), sum(cost)
            FROM ({wh.priced_sql()}) WHERE ts >= ? AND ts < ?""", [start, end]
    ).fetchone()
    assert with_bill and with_bill < requests  # the fixture month has partial billed cost
    metrics = {m.label: m for m in at.metric}
    assert metrics["Difference"].value == usd(billed - computed, 2)
    assert any(f"Billed cost known for {with_bill:,} of {requests:,} requests, covering {usd(computed, 2)} "
               f"of the computed {usd(all_computed, 2)}" in c.value for c in at.caption)
