"""Figures and tables of the Forecast page: scenario months, tornado, Monte Carlo fan, spend
forecast with bands, reprice bars and the cache capacity curve.

The forecast results come in as their dataclasses (Decimal money); tables keep Decimal (the
page formats them), figures turn money into floats for drawing only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.figures import MONEY_HOVER, _empty, _style
from dashboard.charts.format import to_float

INPUT_LABELS = {
    "requests_per_day": "Requests per day",
    "growth_pct": "Growth % per month",
    "input_tokens": "Input tokens per request",
    "output_tokens": "Output tokens per request",
    "cache_hit_rate": "Cache hit rate",
    "cache_write_share": "Cache write share",
    "reasoning_share": "Reasoning share",
}
ACTUAL = "#1f77b4"
FORECAST = "#d62728"
BAND_80 = "rgba(214, 39, 40, 0.30)"
BAND_95 = "rgba(214, 39, 40, 0.12)"


# ------------------------------------------------------------------------------ planner


def scenario_table(result: Any) -> pd.DataFrame:
    """One row per route and month: requests, token buckets, cost per bucket and total (Decimal)."""
    rows = []
    for route in result.routes:
        for m in route.months:
            u = m.usage
            rows.append({
                "route": route.route + (" ★" if route.cheapest else ""),
                "month": m.month,
                "requests": m.requests,
                "input_tokens": u.input_tokens,
                "cache_read_tokens": u.cache_read_tokens,
                "cache_write_tokens": u.cache_write_tokens,
                "output_tokens": u.output_tokens,
                "input_usd": m.input_usd,
                "cache_read_usd": m.cache_read_usd,
                "cache_write_usd": m.cache_write_usd,
                "output_usd": m.output_usd,
                "cost_usd": m.total_usd,
            })
    return pd.DataFrame(rows)


def scenario_totals(result: Any) -> pd.DataFrame:
    """One row per route: total over the horizon, first and last month, cheapest marked (Decimal)."""
    return pd.DataFrame([
        {
            "route": r.route,
            "cheapest": r.cheapest,
            "first_month_usd": r.months[0].total_usd,
            "last_month_usd": r.months[-1].total_usd,
            "total_usd": r.total_usd,
        }
        for r in sorted(result.routes, key=lambda r: r.total_usd)
    ])


def scenario_months(result: Any) -> go.Figure:
    """Monthly cost per route; the cheapest route drawn thicker."""
    title = "Monthly cost per route"
    fig = go.Figure()
    for r in result.routes:
        fig.add_trace(go.Scatter(
            x=[m.month for m in r.months], y=[float(m.total_usd) for m in r.months], mode="lines+markers",
            name=r.route + (" (cheapest)" if r.cheapest else ""), line={"width": 4 if r.cheapest else 2},
            hovertemplate="%{fullData.name}: " + MONEY_HOVER + "<extra></extra>",
        ))
    fig = _style(fig, title, "Cost (USD)", "Month")
    fig.update_yaxes(rangemode="tozero")
    return fig


def tornado(rows: Sequence[Any], route: str) -> go.Figure:
    """Mean monthly cost with each input moved down and up: bars from the base, largest swing on top."""
    title = f"Sensitivity on {route}: mean monthly cost with one input -20% / +20%"
    if not rows:
        return _empty(title)
    base = float(rows[0].base_usd)
    ordered = list(reversed(rows))  # plotly draws the first category at the bottom
    labels = [INPUT_LABELS.get(r.input, r.input) for r in ordered]
    fig = go.Figure()
    for name, attr, value in (("-20%", "low_usd", "low_value"), ("+20%", "high_usd", "high_value")):
        fig.add_trace(go.Bar(
            y=labels, x=[float(getattr(r, attr)) - base for r in ordered], base=base, orientation="h", name=name,
            customdata=[[float(getattr(r, attr)), str(getattr(r, value))] for r in ordered],
            hovertemplate="%{y} = %{customdata[1]}: $%{customdata[0]:,.2f}<extra>" + name + "</extra>",
        ))
    fig.add_vline(x=base, line_dash="dot")
    fig = _style(fig, title, "")
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title="Mean monthly cost (USD)")
    return fig


def monte_carlo_table(months: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame([
        {"month": m.month, "p10_usd": m.p10_usd, "p50_usd": m.p50_usd, "p90_usd": m.p90_usd,
         "simulations": m.simulations}
        for m in months
    ])


def monte_carlo_fan(months: Sequence[Any], route: str) -> go.Figure:
    """P50 per month with the P10-P90 range as a band."""
    title = f"Monte Carlo on {route}: P10 / P50 / P90 of monthly cost"
    if not months:
        return _empty(title)
    x = [m.month for m in months]
    fig = go.Figure([
        go.Scatter(x=x, y=[float(m.p90_usd) for m in months], mode="lines", line={"width": 0}, showlegend=False,
                   hovertemplate="P90: " + MONEY_HOVER + "<extra></extra>"),
        go.Scatter(x=x, y=[float(m.p10_usd) for m in months], mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor=BAND_80, name="P10 – P90", hovertemplate="P10: " + MONEY_HOVER + "<extra></extra>"),
        go.Scatter(x=x, y=[float(m.p50_usd) for m in months], mode="lines+markers", name="P50",
                   line={"color": FORECAST},
                   hovertemplate="P50: " + MONEY_HOVER + "<extra></extra>"),
    ])
    return _style(fig, title, "Cost (USD)", "Month")


# ------------------------------------------------------------------------------ trend


def spend_forecast(history: pd.DataFrame, forecast: Any) -> go.Figure:
    """Daily spend so far (columns day, cost_usd) and the forecast mean with 95% and 80% bands."""
    title = f"Daily spend and {len(forecast.points)}-day forecast ({forecast.model})"
    days = [p.date for p in forecast.points]

    def band(lo: str, hi: str, name: str, color: str) -> list[go.Scatter]:
        return [
            go.Scatter(x=days, y=[float(getattr(p, hi)) for p in forecast.points], mode="lines",
                       line={"width": 0}, showlegend=False, hoverinfo="skip"),
            go.Scatter(x=days, y=[float(getattr(p, lo)) for p in forecast.points], mode="lines",
                       line={"width": 0}, fill="tonexty", fillcolor=color, name=name, hoverinfo="skip"),
        ]

    data = to_float(history)
    fig = go.Figure([
        *band("lo95_usd", "hi95_usd", "95% interval", BAND_95),
        *band("lo80_usd", "hi80_usd", "80% interval", BAND_80),
        go.Scatter(x=data["day"], y=data["cost_usd"], mode="lines+markers", name="Actual", line={"color": ACTUAL},
                   hovertemplate="actual: " + MONEY_HOVER + "<extra></extra>"),
        go.Scatter(x=days, y=[float(p.mean_usd) for p in forecast.points], mode="lines", name="Forecast",
                   line={"dash": "dash", "color": FORECAST},
                   hovertemplate="forecast: " + MONEY_HOVER + "<extra></extra>"),
    ])
    fig = _style(fig, title, "Spend per day (USD)", "Day")
    fig.update_yaxes(rangemode="tozero")
    return fig


def forecast_table(forecast: Any) -> pd.DataFrame:
    return pd.DataFrame([
        {"day": p.date, "mean_usd": p.mean_usd, "lo80_usd": p.lo80_usd, "hi80_usd": p.hi80_usd,
         "lo95_usd": p.lo95_usd, "hi95_usd": p.hi95_usd}
        for p in forecast.points
    ])


# ------------------------------------------------------------------------------ reprice


def reprice_table(result: Any) -> pd.DataFrame:
    """Per logged model: requests, actual, what-if, difference (Decimal) and unpriced counts."""
    frame = result.frame()
    frame["provider"] = frame["provider"].fillna("(none)")
    return frame.rename(columns={"actual_unpriced": "unpriced_actual_requests",
                                 "whatif_unpriced": "unpriced_whatif_requests"})


def reprice_bars(result: Any) -> go.Figure:
    """Actual and what-if cost side by side per logged model."""
    title = "Actual vs what-if cost per model"
    if not result.rows:
        return _empty(title)
    models = [f"{r.provider}/{r.model}" if r.provider else r.model for r in result.rows]
    fig = go.Figure([
        go.Bar(x=models, y=[float(r.actual_usd) for r in result.rows], name="Actual",
               hovertemplate="actual: " + MONEY_HOVER + "<extra></extra>"),
        go.Bar(x=models, y=[float(r.whatif_usd) for r in result.rows], name="What-if",
               hovertemplate="what-if: " + MONEY_HOVER + "<extra></extra>"),
    ])
    fig = _style(fig, title, "Cost (USD)")
    fig.update_layout(barmode="group")
    return fig


# ------------------------------------------------------------------------------ cache simulation


def cache_curve(simulations: Sequence[Any]) -> go.Figure:
    """Hit rate against cache capacity (blocks); an unbounded cache is the dotted line."""
    title = "Cache hit rate by capacity"
    bounded = [s for s in simulations if s.capacity_blocks is not None]
    if not bounded:
        return _empty(title)
    fig = go.Figure(go.Scatter(
        x=[s.capacity_blocks for s in bounded], y=[float(s.hit_rate) for s in bounded], mode="lines+markers",
        name="hit rate", customdata=[float(s.cost_usd) for s in bounded],
        hovertemplate="%{x:,} blocks: %{y:.1%} hit rate, $%{customdata:,.2f}<extra></extra>",
    ))
    for s in simulations:
        if s.capacity_blocks is None:
            fig.add_hline(y=float(s.hit_rate), line_dash="dot", annotation_text="unbounded")
    fig = _style(fig, title, "Hit rate (token-weighted)", "Capacity (512-token blocks)")
    fig.update_xaxes(type="log")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig
