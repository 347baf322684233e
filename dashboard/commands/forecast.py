"""`python -m dashboard forecast`: daily spend forecast from the warehouse."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from dashboard.charts.format import usd
from dashboard.commands.common import count_up_to, decimal_number, existing_warehouse
from dashboard.errors import DashboardError
from pricing import money_str

if TYPE_CHECKING:
    import pandas as pd

HELP = """Forecast daily spend from the warehouse's history, with 80% and 95% prediction
intervals, a month-end projection (actual so far + forecast rest) and a backtest (the
model refit without the last 14 days, scored on them). ETS with a weekly season from 28
days of history, Holt's linear trend from 14, the mean of the last week from 7. Amounts
are USD quantized to 0.000001."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "forecast",
        help="daily spend forecast with intervals",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", default=None, help="DuckDB warehouse file (default: the project's)")
    p.add_argument("--days", type=_horizon, default=30, help="days to forecast, 1-90 (default 30)")
    p.add_argument("--budget", type=decimal_number, default=None, help="monthly budget in USD, to project overspend")
    p.add_argument("--today", type=_day, default=None,
                   help="the day whose calendar month is projected, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--json", action="store_true", help="machine-readable output, money as decimal strings")
    p.set_defaults(func=run)


def _horizon(text: str) -> int:
    """--days: checked when the arguments are read, so a bad value is a usage error (exit 2)."""
    from dashboard.forecasts.trend import MAX_HORIZON

    days = count_up_to(text, MAX_HORIZON)
    if days is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 1 to {MAX_HORIZON}")
    return days


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day in the form YYYY-MM-DD") from None


def _daily_spend(db: str | None, today: date) -> tuple[pd.Series, pd.Series]:
    """The whole history's daily spend (UTC days), and that of the month of `today`."""
    import pandas as pd

    from dashboard.warehouse import Warehouse
    from dashboard.warehouse.queries import Filters, daily_spend, month_to_date_spend

    path = existing_warehouse(db)
    wh = Warehouse.open(path, cache=False)  # one read: the live view beats building the cache
    try:
        frames = daily_spend(wh), month_to_date_spend(wh, Filters(), today)
    finally:
        wh.close()
    if frames[0].empty:
        raise DashboardError(f"no requests in {str(path)!r} to forecast from; import some logs first")
    history, month = (pd.Series(list(f["cost_usd"]), index=pd.to_datetime(f["day"]), dtype=object) for f in frames)
    return history, month


def run(args: argparse.Namespace) -> int:
    # Imported here: statsmodels would slow every other command's start.
    from dashboard.forecasts.trend import budget_outlook, forecast_spend

    today = args.today or datetime.now(UTC).date()
    history, month = _daily_spend(args.db, today)
    fc = forecast_spend(history, horizon_days=args.days, today=today, month_to_date=month)
    outlook = None if args.budget is None else budget_outlook(fc.month_end, args.budget)
    if args.json:
        out = fc.as_dict()
        if outlook is not None:
            out["budget"] = {
                "budget_usd": money_str(outlook.budget_usd),
                "projected_usd": money_str(outlook.projected_usd),
                "overspend_usd": money_str(outlook.overspend_usd),
                "overspend_hi80_usd": money_str(outlook.overspend_hi80_usd),
                "runs_out_on": outlook.runs_out_on.isoformat() if outlook.runs_out_on else None,
            }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{fc.history_days} days of history to {fc.last_day}; model: {fc.model}")
    print(f"{'date':<10}  {'mean':>12}  {'80% interval':>25}  {'95% interval':>25}")
    for p in fc.points:
        print(
            f"{p.date.isoformat():<10}  {usd(p.mean_usd, 2):>12}  "
            f"{f'{usd(p.lo80_usd, 2)} - {usd(p.hi80_usd, 2)}':>25}  "
            f"{f'{usd(p.lo95_usd, 2)} - {usd(p.hi95_usd, 2)}':>25}"
        )
    me = fc.month_end
    print(
        f"\n{me.month:%Y-%m}: {usd(me.actual_to_date_usd, 2)} so far, "
        f"projected {usd(me.projected_usd, 2)} "
        f"(80%: {usd(me.lo80_usd, 2)} - {usd(me.hi80_usd, 2)})"
    )
    if fc.backtest is not None:
        bt = fc.backtest
        mape = "n/a" if bt.mape is None else f"{bt.mape * 100:.1f}%"
        print(
            f"backtest on the last {bt.holdout_days} days: MAPE {mape}, "
            f"{bt.coverage80 * 100:.0f}% of days inside the 80% band"
        )
    if outlook is not None:
        when = outlook.runs_out_on.isoformat() if outlook.runs_out_on else "not this month"
        print(
            f"budget {outlook.budget_usd}: overspend {usd(outlook.overspend_usd, 2)}, "
            f"runs out: {when}"
        )
    print("(USD rounded to cents for display; --json gives 0.000001)")
    return 0
