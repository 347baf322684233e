"""Plotly figures for the pages. Frames come from dashboard.warehouse.explore with Decimal money;
money becomes float here, for drawing only. Transparent backgrounds and no fixed template, so
`st.plotly_chart(theme="streamlit")` makes them readable in light and dark themes.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboard.charts.format import to_float
from dashboard.charts.tables import display, label

# Hover text is formatted by Plotly in the browser (d3-format over floats), so it cannot call
# format.usd: the templates below spell money for it, as the one exception to format.usd.
MONEY_HOVER = "$%{y:,.4f}"
GRAIN_LABEL = {"hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}


def _style(fig: go.Figure, title: str, y_title: str, x_title: str = "") -> go.Figure:
    fig.update_layout(
        title=title,
        template=None,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend_title_text="",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        yaxis_title=y_title,
        xaxis_title=x_title,
        hovermode="x unified" if x_title else "closest",
    )
    return fig


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text="No data in this range", showarrow=False, font={"size": 16})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, title, "")


def spend_over_time(frame: pd.DataFrame, grain: str, split: str) -> go.Figure:
    """Stacked bars of spend per period (columns period, series, cost_usd)."""
    title = f"Spend per {grain} by {split.replace('_', ' ')}"
    if frame.empty:
        return _empty(title)
    data = to_float(frame)
    fig = px.bar(data, x="period", y="cost_usd", color="series", labels={"series": split})
    fig.update_traces(hovertemplate="%{fullData.name}: " + MONEY_HOVER + "<extra></extra>")
    return _style(fig, title, "Spend (USD)", GRAIN_LABEL.get(grain, grain))


def cache_hit_rate(frame: pd.DataFrame, grain: str, by_model: bool = False) -> go.Figure:
    """Token-weighted cache hit rate per period (columns period, [model], cache_hit_rate, tokens)."""
    title = "Cache hit rate" + (" by model" if by_model else "") + " (token-weighted)"
    if frame.empty:
        return _empty(title)
    data = frame.copy()
    data["cache_hit_rate"] = data["cache_hit_rate"].astype(float)
    fig = px.line(data, x="period", y="cache_hit_rate", color="model" if by_model else None, markers=True,
                  custom_data=["cache_read_tokens", "prompt_tokens"])
    fig.update_traces(hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} prompt tokens)")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _style(fig, title, "Cache-read share of prompt tokens", GRAIN_LABEL.get(grain, grain))


def top_spend(frame: pd.DataFrame, what: str) -> go.Figure:
    """Horizontal bars of the biggest spenders (columns key, requests, cost_usd)."""
    title = f"Top {what} by spend"
    if frame.empty:
        return _empty(title)
    data = to_float(frame).sort_values("cost_usd")
    fig = px.bar(data, x="cost_usd", y="key", orientation="h", custom_data=["requests"])
    fig.update_traces(hovertemplate="%{y}: $%{x:,.2f} (%{customdata[0]:,} requests)<extra></extra>")
    fig = _style(fig, title, "")
    fig.update_xaxes(title="Spend (USD)")
    return fig


def explore(frame: pd.DataFrame, dimensions: tuple[str, ...], grain: str | None, metric: str) -> go.Figure:
    """The Explore table as a chart: bars per group, or lines over time when a grain is chosen."""
    title = f"{label(metric)} by {' and '.join(label(d).lower() if d != 'api_key' else 'API key' for d in dimensions)}"
    if frame.empty:
        return _empty(title)
    data = display(frame)
    data[metric] = pd.to_numeric(data[metric], errors="coerce")
    first = dimensions[0]
    color = dimensions[1] if len(dimensions) > 1 else None
    if grain:
        if color:
            data[first] = data[first] + " · " + data[color]
        fig = px.line(data.sort_values("period"), x="period", y=metric, color=first, markers=True)
        x_title = GRAIN_LABEL.get(grain, grain)
    else:
        fig = px.bar(data, x=first, y=metric, color=color, barmode="stack")
        x_title = label(first)
    money = metric.endswith("_usd")
    fig.update_traces(hovertemplate="%{y:$,.4f}" if money else "%{y:,}")
    if metric == "cache_hit_rate":
        fig.update_yaxes(tickformat=".0%")
    unit = "USD" if money else ("ms" if metric.endswith("_ms") else ("share" if metric.endswith("rate") else "tokens"
                                                                      if metric.endswith("tokens") else "count"))
    fig = _style(fig, title, label(metric) if "(" in label(metric) else f"{label(metric)} ({unit})", x_title)
    fig.update_layout(hovermode="closest")
    return fig


def cache_savings(cost_usd: Decimal, without_cache_usd: Decimal) -> go.Figure:
    fig = go.Figure(go.Bar(x=["As computed (with cache)", "Cache reads at the input rate"],
                           y=[float(cost_usd), float(without_cache_usd)], hovertemplate="$%{y:,.2f}<extra></extra>"))
    return _style(fig, "Spend with and without cache reads", "Spend (USD)")


def cache_writes(frame: pd.DataFrame, grain: str) -> go.Figure:
    title = f"Cache write spend per {grain}"
    if frame.empty:
        return _empty(title)
    fig = px.bar(to_float(frame), x="period", y="cache_write_usd", color="model")
    fig.update_traces(hovertemplate="%{fullData.name}: " + MONEY_HOVER + "<extra></extra>")
    return _style(fig, title, "Cache write spend (USD)", GRAIN_LABEL.get(grain, grain))


def price_history(frame: pd.DataFrame, title: str) -> go.Figure:
    """A step chart of rates over time (columns effective_from, bucket, usd_per_mtok)."""
    if frame.empty:
        return _empty(title)
    data = to_float(frame, ["usd_per_mtok"])
    fig = px.line(data, x="effective_from", y="usd_per_mtok", color="bucket", line_shape="hv", markers=True)
    fig.update_traces(hovertemplate="%{fullData.name}: $%{y:,.4f} per 1M tokens<extra></extra>")
    return _style(fig, title, "USD per 1M tokens", "Effective from")


def route_costs(frame: pd.DataFrame, title: str) -> go.Figure:
    """Horizontal bars of one typical request's cost on every route (columns route, total_usd), the
    cheapest at the top: a horizontal bar chart draws its first row at the bottom."""
    if frame.empty:
        return _empty(title)
    data = to_float(frame, ["total_usd"]).sort_values("total_usd", ascending=False, kind="stable")
    fig = px.bar(data, x="total_usd", y="route", orientation="h")
    fig.update_traces(hovertemplate="%{y}: $%{x:,.6f}<extra></extra>")
    fig = _style(fig, title, "")
    fig.update_layout(height=max(320, 22 * len(data) + 80))
    fig.update_xaxes(title="Cost of the request (USD)")
    return fig
