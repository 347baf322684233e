"""Day and month boundaries computed in Python use DuckDB's zone data, as every query's local day does.

Where Python's tzdata and DuckDB's disagree (America/Vancouver from November 2026, with the
versions these tests were written against), a statement's month began by one and its days by
the other: an hour of December's requests showed in November's statement, on a day 2026-12-01.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.errors import DashboardError
from dashboard.warehouse import Warehouse
from dashboard.warehouse.queries import month_bounds
from dashboard.warehouse.statement import statement
from dashboard.warehouse.zones import zone

# Zones with changes at odd minutes (Chatham, Lord Howe's half hour), a midnight skipped
# (Santiago) or passed twice (Havana), and zones whose two databases disagree.
ZONES = ["UTC", "Europe/Berlin", "America/Vancouver", "America/Havana", "Africa/Casablanca", "Pacific/Chatham",
         "Australia/Lord_Howe", "America/Santiago"]


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)), min_size=1,
                max_size=50))
@pytest.mark.parametrize("tz", ZONES)
def test_a_moment_has_the_local_time_duckdb_gives_it(duck, tz, moments):
    instants = [m.replace(tzinfo=UTC) for m in moments]
    ours = [i.astimezone(zone(tz)).replace(tzinfo=None) for i in instants]
    theirs = [r[0] for r in duck.execute("SELECT timezone($tz, unnest($i::TIMESTAMPTZ[]))",
                                         {"tz": tz, "i": instants}).fetchall()]
    assert ours == theirs


@settings(max_examples=25, deadline=None)
@given(st.lists(st.dates(min_value=date(2000, 1, 2), max_value=date(2099, 12, 31)), min_size=1, max_size=50))
@pytest.mark.parametrize("tz", ZONES)
def test_a_local_midnight_is_where_duckdbs_local_date_turns(duck, tz, days):
    days = days + [date(y, m, 1) for y in (2026, 2027) for m in range(1, 13)]
    starts = [datetime.combine(d, time(), zone(tz)).astimezone(UTC) for d in days]
    rows = duck.execute(
        "SELECT CAST(timezone($tz, s) AS DATE), CAST(timezone($tz, s - INTERVAL 1 MICROSECOND) AS DATE) "
        "FROM unnest($s::TIMESTAMPTZ[]) AS t(s)", {"tz": tz, "s": starts}).fetchall()
    assert rows == [(d, d - timedelta(days=1)) for d in days]


def test_a_months_statement_holds_exactly_the_requests_of_its_local_days(new_db):
    tz = "America/Vancouver"
    # Every 15 minutes from 2026-11-30 20:00 to 2026-12-01 12:00 UTC.
    instants = [datetime(2026, 11, 30, 20, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(65)]
    with Warehouse.open(new_db()) as wh:
        wh.insert_requests({"source": "test", "request_id": f"r{i}", "ts": ts, "provider": "openai",
                            "model": "gpt-4o-mini", "input_tokens": 1000} for i, ts in enumerate(instants))
        local_days = dict(wh.query(
            "SELECT CAST(timezone(?, ts) AS DATE) AS day, count(*) FROM requests GROUP BY day", [tz]).fetchall())
        for month in ("2026-11", "2026-12"):
            s = statement(wh, month, tz)
            in_month = {d: n for d, n in local_days.items() if d.strftime("%Y-%m") == month}
            assert {line.key: line.requests for line in s.days} == {d.isoformat(): n for d, n in in_month.items()}
            assert s.total.requests == sum(in_month.values())
            start, end = month_bounds(month, tz)
            assert s.start == start and s.end == end
    assert sum(local_days.values()) == 65 and len(local_days) == 2


def test_a_zone_is_kept_once_and_pickles_to_itself():
    z = zone("America/Vancouver")
    assert zone("America/Vancouver") is z
    moment = datetime(2026, 12, 1, tzinfo=z)
    assert pickle.loads(pickle.dumps(moment)) == moment
    assert pickle.loads(pickle.dumps(z)) is z


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "America", "x" * 300])
def test_a_name_that_is_no_zone_is_refused(name):
    # a folder of zones or a name too long for a file: the same refusal, no path of the server's
    with pytest.raises(DashboardError, match="unknown time zone") as refused:
        zone(name)
    assert "Errno" not in str(refused.value) and "tzdata" not in str(refused.value)


@pytest.mark.parametrize("name", [None, ""])
def test_no_zone_named_is_utc(name):
    assert zone(name) is UTC
