"""Local hour and day buckets from UTC offsets equal DuckDB's own time zone conversion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.warehouse.queries import local_trunc_sql

# Whole-hour, half-hour and 45-minute offsets; DST shifts of an hour and of half an hour
# (Lord Howe); days that skip or repeat midnight (Santiago, Beirut).
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "America/St_Johns", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "Asia/Beirut"]
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)

# Every quarter hour of 2026 (when zones change their offset) and a microsecond either side,
# plus an instant about every ten minutes at an ever different second.
INSTANTS = """
    SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(q * 900000000 + d) AS ts
    FROM range(35040) AS a(q), (VALUES (-1), (0), (1)) AS b(d)
    UNION ALL
    SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(i * 599999937) FROM range(52560) AS c(i)
"""


# Two zones (a half-hour DST shift, a day that skips midnight) in the quick loop, the rest in the whole suite.
QUICK_ZONES = ("Australia/Lord_Howe", "America/Santiago")


@pytest.mark.parametrize("unit", ["hour", "day"])
@pytest.mark.parametrize("tz", [z if z in QUICK_ZONES else pytest.param(z, marks=pytest.mark.slow) for z in ZONES])
def test_buckets_equal_duckdbs_conversion_across_a_year_of_offset_changes(warehouse, tz, unit):
    bucket, params = local_trunc_sql("t.ts", unit, tz, START, END)
    assert "timezone" not in bucket and params == {}
    rows, differ = warehouse.query(
        f"SELECT count(*), count(*) FILTER (WHERE {bucket} IS DISTINCT FROM date_trunc('{unit}', timezone($tz, t.ts))) "
        f"FROM ({INSTANTS}) AS t WHERE t.ts >= $start AND t.ts < $end",
        {"tz": tz, "start": START, "end": END},
    ).fetchone()
    assert rows > 150_000 and differ == 0


@pytest.mark.parametrize("bounds", [(None, END), (START, None), (START, datetime(2029, 1, 1, tzinfo=UTC))],
                         ids=["no start", "no end", "three years"])
def test_an_unbounded_or_long_range_keeps_the_conversion(warehouse, bounds):
    assert local_trunc_sql("q.ts", "day", "Europe/Berlin", *bounds) == (
        "date_trunc('day', timezone($tz, q.ts))", {"tz": "Europe/Berlin"})


def test_an_unknown_zone_keeps_the_conversion(warehouse):
    assert local_trunc_sql("q.ts", "hour", "Mars/Olympus", START, END) == (
        "date_trunc('hour', timezone($tz, q.ts))", {"tz": "Mars/Olympus"})
