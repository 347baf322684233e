from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from dashboard.errors import DashboardError
from dashboard.forecasts.trend import (
    BACKTEST_DAYS,
    BACKTEST_MIN_TRAIN_DAYS,
    backtest,
    budget_outlook,
    forecast_spend,
)

WEEK = np.array([10.0, -5.0, 0.0, 3.0, -8.0, 6.0, -6.0])


def generated(n: int, seed: int, sd: float = 2.0) -> tuple[pd.Series, np.ndarray]:
    """Spend = 100 + 0.5/day trend + a weekly pattern + normal noise (sd 2); and the noiseless truth."""
    t = np.arange(n)
    truth = 100 + 0.5 * t + WEEK[t % 7]
    noise = np.random.default_rng(seed).normal(0, sd, n)
    return pd.Series(truth + noise, index=pd.date_range("2026-01-01", periods=n, freq="D")), truth


def floats(points: tuple, key: str) -> np.ndarray:
    return np.array([float(getattr(p, key)) for p in points])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_recovers_trend_and_weekly_pattern(seed: int) -> None:
    series, truth = generated(148, seed)
    fc = forecast_spend(series.iloc[:120], horizon_days=28, with_backtest=False)
    assert fc.model == "ETS(A,A,A) weekly"
    # Tolerance: every forecast day within 2.0 USD (the noise sd, ~1.3% of the level) of the truth.
    assert np.abs(floats(fc.points, "mean_usd") - truth[120:]).max() < 2.0
    assert fc.points[0].date == date(2026, 5, 1)


@pytest.mark.slow
def test_80_percent_band_covers_about_80_percent_of_a_long_holdout() -> None:
    inside = []
    for seed in range(3):
        series, _ = generated(210, seed)
        fc = forecast_spend(series.iloc[:120], horizon_days=90, with_backtest=False)
        actual = series.iloc[120:].to_numpy()
        inside += list((actual >= floats(fc.points, "lo80_usd")) & (actual <= floats(fc.points, "hi80_usd")))
        assert (floats(fc.points, "lo95_usd") <= floats(fc.points, "lo80_usd")).all()
        assert (floats(fc.points, "hi80_usd") <= floats(fc.points, "hi95_usd")).all()
    # 270 held-out days over three series; accept 65% to 95%.
    assert 0.65 <= np.mean(inside) <= 0.95


@pytest.mark.slow
def test_backtest_never_sees_the_holdout() -> None:
    series, _ = generated(60, 4)
    tampered = series.copy()
    tampered.iloc[-14:] = tampered.iloc[-14:] * 100 + 10_000
    a, b = backtest(series), backtest(tampered)
    assert a is not None and b is not None
    assert a.points == b.points  # same forecast whatever the held-out days hold
    assert a.actual_usd != b.actual_usd
    assert a.points == forecast_spend(series.iloc[:-14], horizon_days=14, with_backtest=False).points
    assert b.coverage80 == 0.0 and a.coverage80 > 0.5
    assert a.mape is not None and a.mape < 0.05


@pytest.mark.parametrize(
    ("days", "model"),
    [
        (7, "mean of the last 7 days"),
        (13, "mean of the last 7 days"),
        (14, "ETS(A,A,N) Holt linear trend"),
        (27, "ETS(A,A,N) Holt linear trend"),
        (28, "ETS(A,A,A) weekly"),
    ],
    ids=["7d", "13d", "14d", "27d", "28d"],
)
def test_model_by_history_length(days: int, model: str) -> None:
    fc = forecast_spend(generated(days, 0)[0], horizon_days=3)
    assert fc.model == model and fc.history_days == days and len(fc.points) == 3
    assert (fc.backtest is None) == (days < BACKTEST_DAYS + BACKTEST_MIN_TRAIN_DAYS)


def test_too_little_history_is_an_error() -> None:
    with pytest.raises(DashboardError, match="at least 7 days of history, there are 6"):
        forecast_spend(generated(6, 0)[0])


@pytest.mark.parametrize("horizon", [0, 91], ids=["zero", "over-90"])
def test_horizon_is_1_to_90_days(horizon: int) -> None:
    with pytest.raises(DashboardError, match="1 to 90 days"):
        forecast_spend(generated(30, 0)[0], horizon_days=horizon)


def constant(first: str, last: str, usd: str) -> pd.Series:
    days = pd.date_range(first, last, freq="D")
    return pd.Series([Decimal(usd)] * len(days), index=days.date)


def test_month_end_is_actual_so_far_plus_forecast_rest() -> None:
    fc = forecast_spend(constant("2026-02-01", "2026-03-10", "2.5"), horizon_days=5)
    me = fc.month_end
    assert me.month == date(2026, 3, 1)
    assert me.actual_to_date_usd == 10 * Decimal("2.5")
    assert me.forecast_rest_usd == 21 * Decimal("2.5")
    assert me.projected_usd == 31 * Decimal("2.5")
    assert me.lo80_usd == me.hi80_usd == me.projected_usd  # no variation at all
    assert fc.points[0].mean_usd == Decimal("2.500000")


def test_month_end_after_a_complete_month_is_the_next_month() -> None:
    me = forecast_spend(constant("2026-03-01", "2026-03-31", "1"), horizon_days=1).month_end
    assert me.month == date(2026, 4, 1) and me.actual_to_date_usd == 0 and me.projected_usd == 30


@pytest.mark.slow
def test_month_end_interval_brackets_the_projection() -> None:
    me = forecast_spend(generated(100, 1)[0], horizon_days=7).month_end
    assert me.lo95_usd < me.lo80_usd < me.projected_usd < me.hi80_usd < me.hi95_usd


def test_missing_days_are_zero_spend() -> None:
    series = constant("2026-01-01", "2026-01-20", "4").drop([date(2026, 1, 5), date(2026, 1, 6)])
    fc = forecast_spend(series, horizon_days=2, with_backtest=False)
    assert fc.history_days == 20


@pytest.mark.parametrize(
    ("budget", "runs_out", "overspend"),
    [
        ("50", date(2026, 3, 20), 31 * Decimal("2.5") - 50),
        ("20", date(2026, 3, 8), 31 * Decimal("2.5") - 20),
        ("100", None, Decimal(0)),
    ],
    ids=["runs-out-in-forecast", "ran-out-already", "within-budget"],
)
def test_budget(budget: str, runs_out: date | None, overspend: Decimal) -> None:
    me = forecast_spend(constant("2026-02-01", "2026-03-10", "2.5"), horizon_days=5).month_end
    outlook = budget_outlook(me, budget)
    assert outlook.runs_out_on == runs_out
    assert outlook.overspend_usd == overspend


def test_this_month_is_the_month_of_today_with_its_spend_read_from_the_data() -> None:
    # History (the range the forecast learns from) ends on 30 September; today is 6 December and
    # the data holds 4 USD a day for 1 to 5 December. The projection is December's: 20 USD so far,
    # and 26 forecast days (6 to 31 December) at the flat 2.5 a day, not October's.
    history = constant("2026-08-01", "2026-09-30", "2.5")
    december = constant("2026-12-01", "2026-12-05", "4")
    me = forecast_spend(history, horizon_days=3, today=date(2026, 12, 6), month_to_date=december).month_end
    assert me.month == date(2026, 12, 1)
    assert me.actual_to_date_usd == 5 * Decimal(4)
    assert [p.date for p in me.rest] == [date(2026, 12, d) for d in range(6, 32)]
    assert me.forecast_rest_usd == 26 * Decimal("2.5")
    assert me.projected_usd == me.lo80_usd == me.hi95_usd == 20 + 26 * Decimal("2.5")


def test_this_month_without_spend_so_far_is_forecast_whole() -> None:
    me = forecast_spend(constant("2026-08-01", "2026-09-30", "1"), horizon_days=1, today=date(2026, 12, 6),
                        month_to_date=constant("2026-12-01", "2026-12-01", "0").iloc[:0]).month_end
    assert me.month == date(2026, 12, 1) and me.actual_to_date_usd == 0 and me.projected_usd == 31


@pytest.mark.slow
def test_month_end_bounds_of_a_later_month_cover_only_its_days() -> None:
    series, _ = generated(60, 3)  # 2026-01-01 to 2026-03-01
    me = forecast_spend(series, horizon_days=1, today=date(2026, 4, 2)).month_end
    assert me.month == date(2026, 4, 1) and me.actual_to_date_usd == 0
    assert len(me.rest) == 30 and me.rest[0].date == date(2026, 4, 1)
    assert me.lo95_usd < me.lo80_usd < me.projected_usd < me.hi80_usd < me.hi95_usd
    # about 30 days of roughly 130 a day: the March days before the month are not in the sum
    assert 3000 < me.projected_usd < 5000


@pytest.mark.slow
def test_backtest_needs_four_weeks_before_the_holdout() -> None:
    assert backtest(generated(BACKTEST_DAYS + BACKTEST_MIN_TRAIN_DAYS - 1, 0)[0]) is None
    assert backtest(generated(BACKTEST_DAYS + BACKTEST_MIN_TRAIN_DAYS, 0)[0]) is not None
