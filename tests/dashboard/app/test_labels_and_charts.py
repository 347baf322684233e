"""Headers and chart titles in words, blanks as (none), and the route chart in the order its title says."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from dashboard.charts import figures, tables


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        ("computed_usd", "Computed (USD)"), ("difference_pct", "Difference (%)"), ("cost_usd", "Cost (USD)"),
        ("input_per_mtok", "Input ($/1M)"), ("latency_p50_ms", "Latency p50 (ms)"), ("api_key", "API key"),
        ("cache_write_1h_tokens", "Cache write 1h tokens"), ("explanation", "Explanation"),
    ],
)
def test_headers_are_words(column, shown):
    assert tables.label(column) == shown
    assert tables.column_config(pd.DataFrame({column: []}))[column]["label"] == shown


def test_money_columns_show_thousands_separators():
    config = tables.column_config(pd.DataFrame({"cost_usd": [Decimal("6525")]}))
    assert config["cost_usd"]["type_config"]["format"] == "dollar"  # Streamlit's "$6,525.00"


def test_blank_groups_show_as_none():
    frame = pd.DataFrame({"project": ["alpha", None, ""], "cost_usd": [Decimal(1)] * 3, "tags": [["a"], [], None]})
    shown = tables.display(frame)
    assert shown["project"].tolist() == ["alpha", "(none)", "(none)"]
    assert shown["tags"].tolist() == ["a", "(none)", "(none)"]


def test_explore_chart_title_and_axes_in_words():
    frame = pd.DataFrame({"model": ["a", None], "api_key": ["…1111", "…2222"], "cost_usd": [Decimal("1.5"), Decimal(2)]})
    fig = figures.explore(frame, ("model", "api_key"), None, "cost_usd")
    assert fig.layout.title.text == "Cost (USD) by model and API key"
    assert fig.layout.yaxis.title.text == "Cost (USD)" and fig.layout.xaxis.title.text == "Model"
    assert "(none)" in {x for trace in fig.data for x in trace.x}


def test_route_chart_puts_the_cheapest_at_the_top():
    frame = pd.DataFrame({"route": ["mid", "cheap", "dear"], "total_usd": [Decimal("0.2"), Decimal("0.1"), Decimal("0.3")]})
    fig = figures.route_costs(frame, "Cost of the request by route, cheapest at the top")
    # A horizontal bar chart draws its first category at the bottom and its last at the top.
    assert list(fig.data[0].y) == ["dear", "mid", "cheap"]


@pytest.mark.slow
def test_prices_page_says_what_its_chart_shows(app):
    at = app("app_pages/prices.py")
    assert not at.exception
    charts = [c for c in at.get("plotly_chart")]
    titles = [c.proto.spec for c in charts]
    assert any("cheapest at the top" in spec for spec in titles)
    assert not any("cheapest at the bottom" in spec for spec in titles)
