"""The Overview's change against the previous period: a percent, or 'new' where there was almost nothing."""

from decimal import Decimal

import pytest

from dashboard.charts.kpis import delta_text


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (Decimal("6525.00"), Decimal("5800.00"), "+12.5%"),
        (Decimal("50"), Decimal("100"), "-50.0%"),
        # A previous period with a few cents against thousands of dollars read +26,737,876.0%.
        (Decimal("6525.00"), Decimal("0.0244"), "new"),
        (Decimal("10"), Decimal("0"), "new"),
        (1200, 11, "new"),  # requests: below 1 % of the current period
        (1200, 12, f"{(1200 - 12) / 12 * 100:+.1f}%"),  # exactly 1 %: a percent still
        (Decimal("0"), Decimal("0"), None),
        (Decimal("0"), Decimal("5"), "-100.0%"),
        (None, Decimal("5"), None),
        (0.42, None, None),
    ],
    ids=["up", "down", "tiny-previous", "zero-previous", "count-new", "count-at-bound", "both-zero", "to-zero",
         "no-current", "no-previous"],
)
def test_delta_text(current, previous, expected):
    assert delta_text(current, previous) == expected
