"""The page helpers without Streamlit: date presets, money formatting, and the page layering rules."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from support.paths import REPO

from dashboard.charts import format as fmt
from dashboard.state import date_bounds, make_filters
from dashboard.warehouse.explore import Totals, change, previous_period


@pytest.mark.parametrize(
    ("preset", "today", "first", "last"),
    [
        ("7d", date(2026, 3, 10), date(2026, 3, 4), date(2026, 3, 10)),
        ("30d", date(2026, 3, 10), date(2026, 2, 9), date(2026, 3, 10)),
        ("90d", date(2026, 3, 10), date(2025, 12, 11), date(2026, 3, 10)),
        ("mtd", date(2026, 3, 10), date(2026, 3, 1), date(2026, 3, 10)),
        ("last_month", date(2026, 3, 10), date(2026, 2, 1), date(2026, 2, 28)),
        ("last_month", date(2026, 1, 31), date(2025, 12, 1), date(2025, 12, 31)),
        ("all", date(2026, 3, 10), None, None),
    ],
    ids=["7d", "30d", "90d", "mtd", "last-month", "last-month-january", "all"],
)
def test_date_presets(preset, today, first, last):
    assert date_bounds(preset, today) == (first, last)


def test_custom_range_and_zone_boundaries():
    assert date_bounds("custom", date(2026, 3, 10), (date(2026, 3, 5), date(2026, 3, 1))) == (
        date(2026, 3, 1), date(2026, 3, 5))
    f = make_filters(date(2026, 3, 1), date(2026, 3, 31), "Europe/Berlin")
    assert f.start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert f.end.isoformat() == "2026-04-01T00:00:00+02:00"  # DST starts on 29 March
    prev = previous_period(f)
    assert prev.end == f.start and prev.end - prev.start == f.end - f.start


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.565"), "$1,234.57"),
        (Decimal("0.125"), "$0.13"),
        (Decimal("0.01"), "$0.01"),
        (Decimal("0.00123456"), "$0.00123"),
        (Decimal("0.000004999"), "$0.00000500"),
        (Decimal(0), "$0.00"),
        (Decimal("-2.5"), "-$2.50"),
        (None, "—"),
    ],
    ids=["thousands", "half-up", "cent", "tiny", "tinier", "zero", "negative", "unknown"],
)
def test_usd(value, text):
    assert fmt.usd(value) == text


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("1234.565"), 2, "$1,234.57"),
        (Decimal("-0.004"), 2, "$0.00"),
        (Decimal("-0.005"), 2, "-$0.01"),
        (Decimal("0.0023875"), 4, "$0.0024"),
        (Decimal("0.0000015"), 6, "$0.000002"),
        (Decimal("12345678901234567890123456.125"), 2, "$12,345,678,901,234,567,890,123,456.13"),
        (None, 2, "—"),
    ],
    ids=["half-up", "tiny-negative", "negative", "four-places", "six-places", "38-digits", "unknown"],
)
def test_usd_to_fixed_places(value, places, text):
    assert fmt.usd(value, places) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.000031500000"), "$0.0000315"),
        (Decimal("12345.67"), "$12345.67"),
        (Decimal("1E+3"), "$1000"),
        (Decimal("0E-12"), "$0"),
        (Decimal("-0.5"), "-$0.5"),
        (Decimal("12345678901234567890123456.123456789012"), "$12345678901234567890123456.123456789012"),
        (None, "—"),
    ],
    ids=["trailing-zeros", "no-grouping", "exponent", "zero", "negative", "38-digits", "unknown"],
)
def test_usd_exact_keeps_every_digit(value, text):
    assert fmt.usd(value, exact=True) == text


@pytest.mark.parametrize(
    ("change", "places", "text"),
    [
        (Decimal("0.01005"), 2, "+1.01%"),
        (Decimal("-0.02"), 2, "-2.00%"),
        (0.125, 1, "+12.5%"),
        (0.00125, 1, "+0.1%"),
        (0.00155, 2, "+0.16%"),
        (None, 1, None),
    ],
    ids=["half-up", "negative", "float", "float-small", "float-half-up", "unknown"],
)
def test_delta(change, places, text):
    assert fmt.delta(change, places) == text


def test_totals_ratios_are_token_weighted():
    t = Totals(requests=4, input_tokens=300, cache_read_tokens=600, cache_write_tokens=100, output_tokens=50,
               cost_usd=Decimal("0.02"), billed_usd=None, unpriced_requests=0, cache_saved_usd=Decimal(0))
    assert t.cache_hit_rate == 600 / 1000
    assert t.cost_per_1k_requests_usd == Decimal("0.02") * 1000 / 4
    assert change(Decimal(3), Decimal(2)) == 0.5 and change(1, 0) is None


def test_only_the_data_layer_caches_and_pages_hold_no_sql():
    for path in (REPO / "dashboard").rglob("*.py"):
        text = path.read_text()
        if "appdata" not in path.parts:
            assert "st.cache_data" not in text and "st.cache_resource" not in text, path
    for name in ("overview", "explore", "caching", "statement", "prices", "import_logs"):
        page = REPO / "dashboard" / "app_pages" / f"{name}.py"
        text = page.read_text()
        assert not re.search(r"\b(SELECT|FROM|GROUP BY)\b", text), page
        assert "duckdb" not in text and len(text.splitlines()) <= 120, page


@pytest.mark.slow
def test_charts_do_not_load_streamlit():
    code = ("import sys, dashboard.charts.figures, dashboard.charts.tables, dashboard.charts.kpis, "
            "dashboard.warehouse.explore; assert 'streamlit' not in sys.modules, 'streamlit loaded'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
