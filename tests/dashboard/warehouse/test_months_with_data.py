"""The months a warehouse has requests in, in a billing zone: each request's own local month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.warehouse import Warehouse
from dashboard.warehouse.explore import months_with_data

# A microsecond either side of local midnight on the first of a month, in zones whose midnight
# falls at a whole, a half and a three-quarter hour of UTC, and in one that skips it (Santiago).
ZONES = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham", "America/Santiago"]


def _instants(tz: str, firsts: list[datetime]) -> list[datetime]:
    out = []
    for first in firsts:
        # The first instant of the month in `tz` (a day that skips midnight starts at 01:00).
        local = datetime(first.year, first.month, 1, tzinfo=ZoneInfo(tz))
        start = local.astimezone(UTC)
        out += [start - timedelta(microseconds=1), start]
    return out


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("years", [1, 3], ids=["within two years", "over two years"])
def test_each_request_counts_in_its_own_local_month(new_db, tz, years):
    # Only the month edges of April, July and (years later) September: every other month is empty.
    firsts = [datetime(2026, 4, 1), datetime(2026, 7, 1), datetime(2025 + years, 9, 1)]
    instants = _instants(tz, firsts)
    with Warehouse.open(new_db()) as wh:
        wh.insert_requests({"source": "test", "request_id": f"r{i}", "ts": ts, "provider": "openai", "model": "gpt-4o-mini",
                            "input_tokens": 1} for i, ts in enumerate(instants))
        expected = sorted({ts.astimezone(ZoneInfo(tz)).strftime("%Y-%m") for ts in instants}, reverse=True)
        assert months_with_data(wh, tz) == expected
    assert len(expected) == 6  # the last microsecond of each month before, and the first of each month


def test_an_empty_warehouse_has_no_months(new_db):
    with Warehouse.open(new_db()) as wh:
        assert months_with_data(wh, "Europe/Berlin") == []
