"""Daily spend forecast with prediction intervals, month-end projection, backtest and budget.

Models, by the length of the (gap-filled) history:
- 28 days or more: ETS(A,A,A), exponential smoothing with additive errors, an additive
  trend and a weekly (7-day) additive season (statsmodels `ETSModel`);
- 14 to 27 days: ETS(A,A,N), Holt's linear trend without a season;
- 7 to 13 days: the mean of the last 7 days, flat;
- fewer than 7 days: a DashboardError, there is too little to go on.

Intervals. For the ETS models the 80% and 95% prediction intervals are statsmodels' own
(`get_prediction`, analytic for these additive models). For the weekly mean they are
normal: mean +- z * s * sqrt(1 + 1/7), s the sample standard deviation of those 7 days.
The month-end interval is for the *sum* of the rest of the month, not a sum of daily
bounds: simulated paths of the fitted ETS model (2,000, seeded), or for the weekly mean
k * mean +- z * s * sqrt(k + k^2/7). Spend cannot be negative, so every daily value and
bound is floored at 0.

Days missing from the input count as days without spend (0). Floats live only inside the
models; every amount that comes out is Decimal, quantized to 0.000001 USD (half-even).
"""

from __future__ import annotations

import abc
import calendar
import math
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from dashboard.errors import DashboardError
from pricing import money_str

__all__ = [
    "BACKTEST_DAYS",
    "BACKTEST_MIN_TRAIN_DAYS",
    "Backtest",
    "BudgetOutlook",
    "ForecastPoint",
    "MonthEnd",
    "SpendForecast",
    "backtest",
    "budget_outlook",
    "daily_series",
    "forecast_spend",
]

MIN_DAYS = 7
HOLT_DAYS = 14
SEASONAL_DAYS = 28
MAX_HORIZON = 90
BACKTEST_DAYS = 14
BACKTEST_MIN_TRAIN_DAYS = SEASONAL_DAYS
SIMULATIONS = 2000
Z80 = 1.2815515655446004
Z95 = 1.959963984540054
MICRO = Decimal("0.000001")


def _usd(x: float) -> Decimal:
    return Decimal(max(float(x), 0.0)).quantize(MICRO, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class ForecastPoint:
    date: date
    mean_usd: Decimal
    lo80_usd: Decimal
    hi80_usd: Decimal
    lo95_usd: Decimal
    hi95_usd: Decimal

    def as_dict(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "mean_usd": money_str(self.mean_usd),
            "lo80_usd": money_str(self.lo80_usd),
            "hi80_usd": money_str(self.hi80_usd),
            "lo95_usd": money_str(self.lo95_usd),
            "hi95_usd": money_str(self.hi95_usd),
        }


@dataclass(frozen=True)
class MonthEnd:
    """The calendar month of the day after the history ends: actual so far + forecast rest."""

    month: date  # first day of the month
    actual_to_date_usd: Decimal
    forecast_rest_usd: Decimal
    projected_usd: Decimal
    lo80_usd: Decimal
    hi80_usd: Decimal
    lo95_usd: Decimal
    hi95_usd: Decimal
    actual_days: tuple[tuple[date, Decimal], ...]  # spend per day so far this month
    rest: tuple[ForecastPoint, ...]  # the forecast days to the end of the month

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.strftime("%Y-%m"),
            "actual_to_date_usd": money_str(self.actual_to_date_usd),
            "forecast_rest_usd": money_str(self.forecast_rest_usd),
            "projected_usd": money_str(self.projected_usd),
            "lo80_usd": money_str(self.lo80_usd),
            "hi80_usd": money_str(self.hi80_usd),
            "lo95_usd": money_str(self.lo95_usd),
            "hi95_usd": money_str(self.hi95_usd),
        }


@dataclass(frozen=True)
class Backtest:
    """The model refit without the last `holdout_days` days, scored on them.

    `mape` is a fraction (0.05 = 5%) over held-out days with spend; None if none had any.
    """

    holdout_days: int
    model: str
    mape: float | None
    coverage80: float
    points: tuple[ForecastPoint, ...]
    actual_usd: tuple[Decimal, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "holdout_days": self.holdout_days,
            "model": self.model,
            "mape": None if self.mape is None else round(self.mape, 6),
            "coverage80": round(self.coverage80, 6),
        }


@dataclass(frozen=True)
class SpendForecast:
    history_days: int
    last_day: date
    model: str
    points: tuple[ForecastPoint, ...]
    month_end: MonthEnd
    backtest: Backtest | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "history_days": self.history_days,
            "last_day": self.last_day.isoformat(),
            "model": self.model,
            "points": [p.as_dict() for p in self.points],
            "month_end": self.month_end.as_dict(),
            "backtest": None if self.backtest is None else self.backtest.as_dict(),
        }


def daily_series(spend: pd.Series) -> pd.Series:
    """Daily float series with a continuous date index; missing days are 0 spend."""
    if not isinstance(spend, pd.Series):
        raise DashboardError(
            f"daily spend must be a pandas Series indexed by date, got {type(spend).__name__}"
        )
    if spend.empty:
        raise DashboardError("no daily spend to forecast; import some requests first")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(spend.index)).normalize()
    except (TypeError, ValueError) as e:
        raise DashboardError(f"daily spend must be indexed by dates: {e}") from e
    values = pd.Series([float(v) for v in spend.to_numpy()], index=index).groupby(level=0).sum()
    if not np.isfinite(values.to_numpy()).all():
        raise DashboardError("daily spend has missing or infinite values; every day needs an amount")
    full = pd.date_range(values.index.min(), values.index.max(), freq="D")
    return values.reindex(full, fill_value=0.0).asfreq("D")


class _Fit(abc.ABC):
    """A fitted model: daily means and bounds, and sums over the next h days."""

    name: str

    @abc.abstractmethod
    def predict(self, h: int) -> pd.DataFrame:  # columns mean, lo80, hi80, lo95, hi95 (floats)
        """Daily forecast for the next h days."""

    @abc.abstractmethod
    def sum_bounds(self, h: int, seed: int, skip: int = 0) -> tuple[float, float, float, float]:
        """80% and 95% bounds of the sum over days skip+1 to h after the history."""


class _WeekMean(_Fit):
    name = "mean of the last 7 days"

    def __init__(self, y: pd.Series) -> None:
        last = y.to_numpy()[-7:]
        self.mean, self.sd, self.end = float(last.mean()), float(last.std(ddof=1)), y.index[-1]

    def predict(self, h: int) -> pd.DataFrame:
        half = self.sd * math.sqrt(1 + 1 / 7)
        idx = pd.date_range(self.end + pd.Timedelta(days=1), periods=h, freq="D")
        return pd.DataFrame(
            {
                "mean": self.mean,
                "lo80": self.mean - Z80 * half,
                "hi80": self.mean + Z80 * half,
                "lo95": self.mean - Z95 * half,
                "hi95": self.mean + Z95 * half,
            },
            index=idx,
        )

    def sum_bounds(self, h: int, seed: int, skip: int = 0) -> tuple[float, float, float, float]:
        n = h - skip  # the days are exchangeable: only their number matters
        half = self.sd * math.sqrt(n + n * n / 7)
        total = self.mean * n
        return total - Z80 * half, total + Z80 * half, total - Z95 * half, total + Z95 * half


class _Ets(_Fit):
    def __init__(self, y: pd.Series, seasonal: bool) -> None:
        self.name = "ETS(A,A,A) weekly" if seasonal else "ETS(A,A,N) Holt linear trend"
        model = ETSModel(
            y,
            error="add",
            trend="add",
            seasonal="add" if seasonal else None,
            seasonal_periods=7 if seasonal else None,
        )
        with warnings.catch_warnings():
            # A short or flat series may stop the optimiser before its tolerance; the
            # smoothing parameters it reached are still usable, and the backtest says how well.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.result = model.fit(disp=False)
        self.n = len(y)

    def predict(self, h: int) -> pd.DataFrame:
        pred = self.result.get_prediction(start=self.n, end=self.n + h - 1)
        f80, f95 = pred.summary_frame(alpha=0.2), pred.summary_frame(alpha=0.05)
        return pd.DataFrame(
            {
                "mean": f80["mean"],
                "lo80": f80["pi_lower"],
                "hi80": f80["pi_upper"],
                "lo95": f95["pi_lower"],
                "hi95": f95["pi_upper"],
            }
        )

    def sum_bounds(self, h: int, seed: int, skip: int = 0) -> tuple[float, float, float, float]:
        paths = self.result.simulate(
            h, repetitions=SIMULATIONS, anchor="end", rng=np.random.default_rng(seed)
        )
        days = np.clip(np.asarray(paths, dtype=float).reshape(h, SIMULATIONS), 0, None)
        sums = days[skip:].sum(axis=0)
        lo95, lo80, hi80, hi95 = np.quantile(sums, [0.025, 0.1, 0.9, 0.975])
        return float(lo80), float(hi80), float(lo95), float(hi95)


def _fit(y: pd.Series) -> _Fit:
    if len(y) < MIN_DAYS:
        raise DashboardError(
            f"a spend forecast needs at least {MIN_DAYS} days of history, there are {len(y)} "
            f"({y.index[0].date()} to {y.index[-1].date()}); import more requests or wait a few days"
        )
    if len(y) < HOLT_DAYS or float(y.std()) == 0.0:
        # Constant spend leaves ETS nothing to estimate a variance from.
        return _WeekMean(y)
    return _Ets(y, seasonal=len(y) >= SEASONAL_DAYS)


def _points(frame: pd.DataFrame) -> tuple[ForecastPoint, ...]:
    return tuple(
        ForecastPoint(ts.date(), *(_usd(v) for v in row))
        for ts, row in zip(
            frame.index, frame[["mean", "lo80", "hi80", "lo95", "hi95"]].to_numpy(), strict=True
        )
    )


def backtest(spend: pd.Series, holdout_days: int = BACKTEST_DAYS) -> Backtest | None:
    """Refit on all but the last `holdout_days` days and score the forecast on them.

    Only `history[:-holdout_days]` reaches the model. None when what remains is under
    BACKTEST_MIN_TRAIN_DAYS: a score of a model fitted on a few days says nothing of the one in use.
    """
    y = daily_series(spend)
    if len(y) - holdout_days < BACKTEST_MIN_TRAIN_DAYS:
        return None
    train, held = y.iloc[:-holdout_days], y.iloc[-holdout_days:]
    fit = _fit(train)
    frame = fit.predict(holdout_days)
    actual = held.to_numpy()
    mean = np.clip(frame["mean"].to_numpy(), 0, None)
    lo, hi = np.clip(frame["lo80"].to_numpy(), 0, None), np.clip(frame["hi80"].to_numpy(), 0, None)
    spent = actual > 0
    mape = float(np.mean(np.abs(actual[spent] - mean[spent]) / actual[spent])) if spent.any() else None
    return Backtest(
        holdout_days=holdout_days,
        model=fit.name,
        mape=mape,
        coverage80=float(np.mean((actual >= lo) & (actual <= hi))),
        points=_points(frame),
        actual_usd=tuple(_usd(a) for a in actual),
    )


def _month_end(y: pd.Series, fit: _Fit, seed: int, today: date | None,
               month_to_date: pd.Series | None) -> MonthEnd:
    """The calendar month of `today` (default: the day after the history): its actual days, from
    `month_to_date` where given (read from the data, whatever range the history covers) else from
    the history, and the forecast of its days after both."""
    last = y.index[-1].date()
    month = (today or last + timedelta(days=1)).replace(day=1)
    last_of_month = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    known = y if month_to_date is None else daily_series(month_to_date) if len(month_to_date) else y.iloc[:0]
    so_far = known[(known.index >= pd.Timestamp(month)) & (known.index <= pd.Timestamp(last_of_month))]
    actual_days = tuple((ts.date(), _usd(v)) for ts, v in so_far.items())
    actual = sum((v for _, v in actual_days), Decimal(0))
    # Forecast days run from the day after the history; those before the month, or with actual figures, are skipped.
    first_rest = max(last, *(d for d, _ in actual_days), month - timedelta(days=1)) + timedelta(days=1)
    h, skip = (last_of_month - last).days, (first_rest - last).days - 1
    if h - skip > 0:
        rest = _points(fit.predict(h).iloc[skip:])
        lo80, hi80, lo95, hi95 = fit.sum_bounds(h, seed, skip)
    else:
        rest, (lo80, hi80, lo95, hi95) = (), (0.0, 0.0, 0.0, 0.0)
    rest_usd = sum((p.mean_usd for p in rest), Decimal(0))
    return MonthEnd(
        month=month,
        actual_to_date_usd=actual,
        forecast_rest_usd=rest_usd,
        projected_usd=actual + rest_usd,
        lo80_usd=actual + _usd(lo80),
        hi80_usd=actual + _usd(hi80),
        lo95_usd=actual + _usd(lo95),
        hi95_usd=actual + _usd(hi95),
        actual_days=actual_days,
        rest=rest,
    )


def forecast_spend(
    spend: pd.Series, horizon_days: int = 30, seed: int = 0, with_backtest: bool = True,
    today: date | None = None, month_to_date: pd.Series | None = None,
) -> SpendForecast:
    """Forecast daily spend `horizon_days` (1..90) days past the last day of `spend`, and project the
    calendar month of `today` (in the billing zone; default the day after `spend` ends), its spend so
    far taken from `month_to_date` (daily spend of that month read from the data) where given."""
    if (
        isinstance(horizon_days, bool)
        or not isinstance(horizon_days, int)
        or not 1 <= horizon_days <= MAX_HORIZON
    ):
        raise DashboardError(f"forecast horizon must be 1 to {MAX_HORIZON} days, got {horizon_days!r}")
    y = daily_series(spend)
    fit = _fit(y)
    return SpendForecast(
        history_days=len(y),
        last_day=y.index[-1].date(),
        model=fit.name,
        points=_points(fit.predict(horizon_days)),
        month_end=_month_end(y, fit, seed, today, month_to_date),
        backtest=backtest(spend) if with_backtest else None,
    )


@dataclass(frozen=True)
class BudgetOutlook:
    budget_usd: Decimal
    projected_usd: Decimal
    overspend_usd: Decimal  # projected - budget, 0 when under budget
    overspend_hi80_usd: Decimal  # the same at the 80% band's upper end
    runs_out_on: date | None  # first day the month's cumulative spend reaches the budget


def budget_outlook(month_end: MonthEnd, budget_usd: Decimal | int | str) -> BudgetOutlook:
    """Compare a month-end projection with a monthly budget.

    `runs_out_on` walks the month's actual days and then the forecast means, and names the
    first day on which cumulative spend reaches the budget; None if it does not this month.
    """
    budget = Decimal(str(budget_usd))
    if budget < 0:
        raise DashboardError(f"a monthly budget must be >= 0 USD, got {budget}")
    running = Decimal(0)
    runs_out: date | None = None
    days = [*month_end.actual_days, *((p.date, p.mean_usd) for p in month_end.rest)]
    for day, usd in days:
        running += usd
        if running > 0 and running >= budget:
            runs_out = day
            break
    return BudgetOutlook(
        budget_usd=budget,
        projected_usd=month_end.projected_usd,
        overspend_usd=max(month_end.projected_usd - budget, Decimal(0)),
        overspend_hi80_usd=max(month_end.hi80_usd - budget, Decimal(0)),
        runs_out_on=runs_out,
    )
