"""Dates in a shared link are hostile: out of range, malformed or reversed, they never crash a page."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.state import FIRST_DAY, LAST_DAY, url_dates

PAGES = ["app_pages/overview.py", "app_pages/explore.py", "app_pages/caching.py", "app_pages/forecast.py"]


@pytest.mark.parametrize(
    ("start", "end", "dates", "notice"),
    [
        ("0001-01-01", "2026-01-31", (FIRST_DAY, date(2026, 1, 31)), "cut to 2000-01-01 – 2026-01-31"),
        ("2026-01-01", "9999-12-31", (date(2026, 1, 1), LAST_DAY), "cut to 2026-01-01 – 2099-12-31"),
        ("0001-01-01", "9999-12-31", (FIRST_DAY, LAST_DAY), "cut to 2000-01-01 – 2099-12-31"),
        ("2026-05-01", "2026-01-01", (date(2026, 1, 1), date(2026, 5, 1)), "start was after its end"),
        ("garbage", "2026-01-01", None, "start date is missing or not a date"),
        ("2026-01-01", "2026-13-40", None, "end date is missing or not a date"),
        (None, "2026-01-01", None, "start date is missing"),
        ("2026-01-01", "2026-01-31", (date(2026, 1, 1), date(2026, 1, 31)), None),
    ],
    ids=["start-year-1", "end-year-9999", "both", "reversed", "garbage", "bad-month", "no-start", "fine"],
)
def test_url_dates_are_clamped_with_a_notice(start, end, dates, notice):
    got, text = url_dates(start, end)
    assert got == dates
    if notice is None:
        assert text is None
    else:
        assert notice in text


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.split("/")[1].removesuffix(".py") for p in PAGES])
@pytest.mark.parametrize(
    ("start", "end", "shown", "notice"),
    [
        ("0001-01-01", "2026-01-31", (FIRST_DAY, date(2026, 1, 31)), "cut to 2000-01-01"),
        ("2026-01-01", "9999-12-31", (date(2026, 1, 1), LAST_DAY), "cut to 2026-01-01 – 2099-12-31"),
        ("garbage", "2026-01-01", None, "not a date like 2026-11-01"),
        ("2026-05-01", "2026-01-01", (date(2026, 1, 1), date(2026, 5, 1)), "start was after its end"),
    ],
    ids=["year-1", "year-9999", "garbage", "reversed"],
)
def test_a_link_with_bad_dates_opens_with_a_notice(app, page, start, end, shown, notice):
    at = app(page, range="custom", start=start, end=end)  # the fixture asserts no exception
    assert any(notice in w.value for w in at.warning), [w.value for w in at.warning]
    picked = at.date_input(key="dates").value
    if shown is not None:
        assert tuple(picked) == shown
    else:  # the default range, today's last 30 days
        assert FIRST_DAY <= picked[0] <= picked[1] <= LAST_DAY
    # The page drew its content under the notice (a title, not just the warning).
    assert at.title and at.title[0].value
