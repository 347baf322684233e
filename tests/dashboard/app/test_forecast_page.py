"""Forecast page: the planner, trend, reprice and cache simulation tabs show figures computed independently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest

from dashboard.charts import format as fmt
from dashboard.warehouse.queries import Filters
from dashboard.warehouse.reprice import reprice

PAGE = "app_pages/forecast.py"
M = 1_000_000


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


@pytest.mark.slow
def test_page_runs_with_every_tab(app):
    at = app(PAGE)
    assert [t.label for t in at.tabs] == ["Planner", "Trend", "Reprice", "Cache simulation"]
    assert any("rounded" in c.value for c in at.caption)


def week_mean(period, bucket: str) -> Decimal:
    """A rate over the 168 hours of a week: a window's in the hours it covers, the base rate in the
    others, to six decimals per 1M tokens (half up)."""
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    hours = [monday + timedelta(hours=h) for h in range(168)]
    total = sum(getattr(next((w.rates for w in period.windows if w.contains(at)), period.rates), bucket)
                for at in hours)
    return (total / 168).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def first_month_usd(wh, route: str, requests: int, prompt: int, hit: Decimal, output: int) -> Decimal:
    """The scenario rule written out: per-month totals, cache reads rounded half-even, today's rates
    with any peak hours weighted by the hours of the week they cover."""
    provider, model = route.split("/", 1)
    period = wh.catalog.resolve(model, provider).period_at(datetime.now(UTC))
    tokens = requests * prompt
    read = int((tokens * hit).to_integral_value(rounding=ROUND_HALF_EVEN))
    return (week_mean(period, "input") * (tokens - read) + week_mean(period, "cache_read") * read
            + week_mean(period, "output") * requests * output) / M


@pytest.mark.slow
@pytest.mark.parametrize(
    ("widgets", "requests", "hit"),
    [({}, 30_000, Decimal(0)), ({"fc_rpd": 500.0, "fc_hit": 0.25}, 15_000, Decimal("0.25"))],
    ids=["defaults", "half-traffic-quarter-cached"],
)
def test_planner_first_month_equals_the_scenario_rule(app, wh, widgets, requests, hit):
    at = app(PAGE)
    for key, value in widgets.items():
        at.number_input(key=key).set_value(value).run()
    assert not at.exception
    routes = at.multiselect(key="fc_routes").value
    assert routes == ["ourtoken/deepseek-v4-flash", "deepseek/deepseek-v4-flash", "openai/gpt-5.4-mini"]
    costs = {r: first_month_usd(wh, r, requests, 2000, hit, 500) for r in routes}
    cheapest = min(costs, key=costs.__getitem__)
    assert any(f"**{cheapest}**" in m.value for m in at.markdown)
    assert metric(at, "Month 1 on the cheapest route").value == fmt.usd(costs[cheapest])
    assert metric(at, "Total over 12 months").value == fmt.usd(costs[cheapest] * 12)  # no growth: 12 equal months
    # The table holds floats, which the browser formats from their shortest text ($4.215 shows as $4.22).
    table = next(d.value for d in at.dataframe if "first_month_usd" in d.value.columns)
    assert {r: fmt.usd(Decimal(str(v))) for r, v in zip(table["route"], table["first_month_usd"], strict=True)} == {
        r: fmt.usd(c) for r, c in costs.items()}


@pytest.mark.slow
def test_use_my_traffic_fills_the_inputs_from_history(app, wh):
    at = app(PAGE)
    at.button(key="fc_use_history").click().run()
    assert not at.exception
    # The last 30 days of the fixture: mean requests per day, token-weighted hit rate.
    last = wh.query("SELECT max(CAST(ts AS DATE)) FROM requests").fetchone()[0]
    requests, read, prompt = wh.query(
        "SELECT count(*), sum(cache_read_tokens), "
        "sum(input_tokens + cache_read_tokens + cache_write_tokens + cache_write_1h_tokens) "
        "FROM requests WHERE CAST(ts AS DATE) > ?", [last - timedelta(days=30)]
    ).fetchone()
    assert at.session_state["fc_rpd"] == pytest.approx(requests / 30, abs=0.005)
    assert at.session_state["fc_hit"] == pytest.approx(read / prompt, abs=0.00005)
    assert any("Filled from" in c.value for c in at.caption)


@pytest.mark.slow
def test_monte_carlo_runs_on_sampled_history(app):
    at = app(PAGE)
    at.toggle(key="fc_mc").set_value(True).run()
    at.number_input(key="fc_mc_sims").set_value(20).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "p50_usd" in d.value.columns)
    assert len(table) == 12
    assert (table["p10_usd"] <= table["p50_usd"]).all() and (table["p50_usd"] <= table["p90_usd"]).all()


@pytest.mark.slow
def test_trend_projection_and_budget_match_the_forecast(app, wh):
    import pandas as pd

    from dashboard.forecasts.trend import budget_outlook, forecast_spend
    from dashboard.warehouse.queries import daily_spend, month_to_date_spend

    at = app(PAGE)
    at.number_input(key="fc_budget").set_value(1.0).run()
    assert not at.exception
    today = datetime.now(UTC).date()

    def series(frame):
        return pd.Series(list(frame["cost_usd"]), index=pd.to_datetime(frame["day"]))

    fc = forecast_spend(series(daily_spend(wh, Filters())), horizon_days=30, today=today,
                        month_to_date=series(month_to_date_spend(wh, Filters(), today)))
    me = fc.month_end
    assert me.month == today.replace(day=1)  # this calendar month, not the month after the history
    assert metric(at, f"Projected {me.month:%B %Y}").value == fmt.usd(me.projected_usd)
    assert metric(at, f"Spent so far in {me.month:%B}").value == fmt.usd(me.actual_to_date_usd)
    interval = f"80% interval {fmt.usd(me.lo80_usd)} – {fmt.usd(me.hi80_usd)}, 95% interval"
    assert any(interval in m.value for m in at.markdown)
    outlook = budget_outlook(me, Decimal("1.0"))
    assert metric(at, "Projected overspend").value == fmt.usd(outlook.overspend_usd)
    runs_out = outlook.runs_out_on.isoformat() if outlook.runs_out_on else "not this month"
    assert metric(at, "Budget runs out").value == runs_out
    # The fixture holds 38 or 39 days (by the hour it is built): too few to fit on 28 and score on 14,
    # so the page says so instead of printing a MAPE.
    assert fc.history_days in (38, 39) and fc.backtest is None
    assert metric(at, "Backtest MAPE").value == "—"
    assert any("Too little history to score the model: a backtest needs 42 days" in i.value for i in at.info)


def test_trend_with_under_7_days_says_so(app):
    today = datetime.now(UTC).date()
    at = app(PAGE, range="custom", start=str(today - timedelta(days=2)), end=str(today))
    assert any("at least 7 days" in i.value for i in at.info), [i.value for i in at.info]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("route", "rate"),
    [("ourtoken/deepseek-v4-flash", None), (None, Decimal("0.5")), ("openai/gpt-5.4-mini", Decimal("0.8"))],
    ids=["route", "hit-rate", "both"],
)
def test_reprice_totals_equal_the_reprice_function(app, wh, route, rate):
    at = app(PAGE)
    if route:
        at.selectbox(key="fc_rp_route").set_value(route).run()
    if rate is not None:
        at.checkbox(key="fc_rp_use_rate").check().run()
        at.number_input(key="fc_rp_rate").set_value(float(rate)).run()
    assert not at.exception
    expected = reprice(wh, Filters(), route=route, cache_hit_rate=rate)
    plain = wh.query(f"SELECT sum(cost) FROM ({wh.priced_sql()})").fetchone()[0]
    assert metric(at, "Actual").value == fmt.usd(plain)
    assert metric(at, "What-if").value == fmt.usd(expected.whatif_usd)
    assert metric(at, "Difference").value == fmt.usd(expected.difference_usd)
    assert any("no price on the actual side" in w.value for w in at.warning)


@pytest.mark.slow
def test_reprice_with_a_price_list_path(app, wh, tmp_path):
    from pricing import load_catalog, local_overlays

    overlay = tmp_path / "cheap.toml"
    overlay.write_text(
        '[route]\nprovider = "openai"\nname = "OpenAI"\ncurrency = "USD"\n\n[[models]]\nid = "gpt-4o-mini"\n\n'
        '[[models.periods]]\nsource = "test"\nchecked = 2026-11-28\ninput = 0.01\noutput = 0.02\n'
        "cache_read = 0.005\ncache_write = 0\n",
        encoding="utf-8",
    )
    at = app(PAGE)
    at.text_input(key="fc_rp_path").input(str(overlay)).run()
    assert not at.exception
    expected = reprice(wh, Filters(), catalog=load_catalog(overlays=[*local_overlays(), overlay]))
    assert metric(at, "What-if").value == fmt.usd(expected.whatif_usd)
    assert expected.whatif_usd < expected.actual_usd


@pytest.mark.slow
def test_cache_simulation_of_a_small_trace(app, wh, tmp_path):
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"timestamp": 0, "input_length": 1024, "output_length": 10, "hash_ids": [1, 2]}\n'
        '{"timestamp": 5, "input_length": 1500, "output_length": 20, "hash_ids": [1, 2, 3]}\n'
        '{"timestamp": 9, "input_length": 600, "output_length": 30, "hash_ids": [1, 9]}\n',
        encoding="utf-8",
    )
    at = app(PAGE)
    at.text_input(key="fc_cs_path").input(str(trace)).run()
    at.selectbox(key="fc_cs_route").set_value("ourtoken/deepseek-v4-flash").run()
    assert not at.exception
    read, prompt, output = 1024 + 512, 1024 + 1500 + 600, 60  # request 2 reuses 2 blocks, request 3 one
    rates = wh.catalog.resolve("deepseek-v4-flash", "ourtoken").period_at(datetime.now(UTC)).rates
    cost = (rates.input * (prompt - read) + rates.cache_read * read + rates.output * output) / M
    assert metric(at, "Hit rate").value == fmt.pct(read / prompt)
    assert metric(at, "Cost").value == fmt.usd(cost)
    assert metric(at, "Cost without a cache").value == fmt.usd((rates.input * prompt + rates.output * output) / M)
    # One block: the first block of the last prompt (inserted last) is all that stays, so each of
    # requests 2 and 3 reads one block.
    at.number_input(key="fc_cs_capacity").set_value(1).run()
    assert metric(at, "Hit rate").value == fmt.pct((512 + 512) / prompt)


@pytest.mark.slow
def test_planner_starts_from_a_live_sample_run(db, wh, monkeypatch):
    """The Live calls page leaves its run's route and traffic in the session; the planner opens on them."""
    from streamlit.testing.v1 import AppTest
    from support import app_fixture as fixture

    from dashboard.app_pages.forecasting.handoff import PLANNER_KEY
    from dashboard.appdata import store

    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params.update({"range": "all"})
    at.session_state[PLANNER_KEY] = {"routes": ("anthropic/claude-haiku-4-5",)}
    at.session_state["fc_rpd"] = 100.0
    at.session_state["fc_in"] = 1000.0
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    routes = at.multiselect(key="fc_routes").value
    assert routes[0] == "anthropic/claude-haiku-4-5"
    costs = {r: first_month_usd(wh, r, 3_000, 1000, Decimal(0), 500) for r in routes}
    assert metric(at, "Month 1 on the cheapest route").value == fmt.usd(min(costs.values()))
