"""The Trend tab: daily spend forecast with 80% / 95% bands, month-end projection, backtest and budget."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from dashboard import state
from dashboard.appdata import planning
from dashboard.charts import forecast as charts
from dashboard.charts import format as fmt
from dashboard.charts import tables
from dashboard.errors import DashboardError
from dashboard.forecasts.trend import BACKTEST_DAYS, BACKTEST_MIN_TRAIN_DAYS, budget_outlook


def _interval(lo: Decimal, hi: Decimal) -> str:
    return f"{fmt.usd(lo)} – {fmt.usd(hi)}"


def render(view: state.View) -> None:
    st.caption(f"Daily spend of the history the sidebar selects, with days in {view.filters.tz}. ETS with a weekly "
               "season from 28 days, Holt's trend from 14, the last week's mean from 7.")
    horizon = st.slider("Days to forecast", 1, 90, 30, key="fc_horizon")
    try:
        fc = planning.spend_forecast(view.filters, horizon)
    except DashboardError as e:
        st.info(f"No forecast for this selection: {e}")
        return
    st.plotly_chart(charts.spend_forecast(planning.daily_spend(view.filters), fc), theme="streamlit",
                    key="fc_trend_chart")
    me, bt = fc.month_end, fc.backtest
    a, b, c, d = st.columns(4)
    a.metric(f"Projected {me.month:%B %Y}", fmt.usd(me.projected_usd), border=True,
             help="Spent so far plus the forecast mean of the rest of the month.")
    b.metric(f"Spent so far in {me.month:%B}", fmt.usd(me.actual_to_date_usd), border=True,
             help=f"Read from the data for {me.month:%B %Y} in {view.filters.tz}, whatever range the sidebar selects.")
    if bt is None:
        need = BACKTEST_DAYS + BACKTEST_MIN_TRAIN_DAYS
        c.metric("Backtest MAPE", "—", border=True)
        d.metric("Days in the 80% band", "—", border=True)
        st.info(f"Too little history to score the model: a backtest needs {need} days ({BACKTEST_MIN_TRAIN_DAYS} "
                f"to fit, {BACKTEST_DAYS} to score), the selection has {fc.history_days}. Widen the sidebar's range.")
    else:
        how = f"The model ({bt.model}) refit without the last {bt.holdout_days} days and scored on them."
        c.metric(f"Backtest MAPE, last {bt.holdout_days} days", "—" if bt.mape is None else fmt.pct(bt.mape),
                 border=True, help=how)
        d.metric("Days in the 80% band", fmt.pct(bt.coverage80, 0), border=True, help=how)
    st.markdown(f"**{me.month:%B %Y}**: projected {fmt.usd(me.projected_usd)}, 80% interval "
                f"{_interval(me.lo80_usd, me.hi80_usd)}, 95% interval {_interval(me.lo95_usd, me.hi95_usd)} "
                "(intervals of the month's sum).")
    st.caption(f"Model: {fc.model}, on {fc.history_days} days to {fc.last_day} (the last day may be incomplete).")

    budget = st.number_input("Monthly budget (USD, 0 = none)", min_value=0.0, step=100.0, key="fc_budget")
    if budget > 0:
        outlook = budget_outlook(me, Decimal(str(budget)))
        a, b, c = st.columns(3)
        a.metric("Projected overspend", fmt.usd(outlook.overspend_usd), border=True)
        b.metric("Overspend at the 80% upper bound", fmt.usd(outlook.overspend_hi80_usd), border=True)
        c.metric("Budget runs out", outlook.runs_out_on.isoformat() if outlook.runs_out_on else "not this month",
                 border=True)
    with st.expander("Forecast by day"):
        table = charts.forecast_table(fc)
        st.dataframe(tables.display(table), column_config=tables.column_config(table), hide_index=True,
                     key="fc_trend_table")
