"""Time zones as DuckDB knows them, for the day and month boundaries Python computes.

Every local day a query groups by is DuckDB's (`timezone($tz, ts)`, ICU's zone data), and so
is every naive time an import reads in a zone. Python's own zone data (the tzdata package)
is another release of the same database and does not always agree: with tzdata 2026f and
DuckDB 2.0.1, 81 of the 28,704 month starts of 2024-2027 in 598 zones differ by an hour
(Vancouver, Edmonton, Winnipeg, Havana and Casablanca among them). A statement whose month
began by one and whose days by the other would put an hour of requests in a month and in a
day of the month next to it. So the boundaries Python computes use DuckDB's offsets too:
`zone(tz)` is a tzinfo built from them.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from dashboard.errors import DashboardError

__all__ = ["DuckZone", "checked_name", "utc_offsets", "zone"]

_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
# The offsets are read over these years (every request's time lies in 2000-2099, see
# contract.FIRST_DAY); before and after, the first and last offsets hold.
_FROM, _TO = "1999-12-01", "2100-02-01"

# The offset at each UTC midnight, then, in each day whose next midnight has another offset,
# at each minute: every change of offset since 2000 falls on a whole minute.
_TRANSITIONS = f"""
    WITH days AS (
        SELECT d, epoch_us(timezone($tz, d)) - epoch_us(d) AS off
        FROM range(TIMESTAMPTZ '{_FROM} 00:00:00+00', TIMESTAMPTZ '{_TO} 00:00:00+00', INTERVAL 1 DAY) r(d)
    ), changed AS (
        SELECT d FROM (SELECT d, off, lag(off) OVER (ORDER BY d) AS prev FROM days) WHERE off <> prev
    ), minutes AS (
        SELECT m, epoch_us(timezone($tz, m)) - epoch_us(m) AS off
        FROM changed, range(changed.d - INTERVAL 1 DAY, changed.d, INTERVAL 1 MINUTE) r(m)
    ), offsets AS (
        SELECT epoch_us(d) AS at_us, off FROM days UNION ALL SELECT epoch_us(m), off FROM minutes
    )
    SELECT at_us, off FROM (SELECT at_us, off, lag(off) OVER (ORDER BY at_us) AS prev FROM offsets)
    WHERE prev IS NULL OR off <> prev
    ORDER BY at_us
"""

_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection of this thread's, in UTC."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
    return con


def _us(dt: datetime) -> int:
    """The naive `dt` in microseconds since 1970-01-01."""
    return (dt.replace(tzinfo=None) - _EPOCH) // _US


class DuckZone(tzinfo):
    """The zone `key` with DuckDB's offsets: one before the first change, and one from each change on.

    A wall time in a gap (the clock jumps forward) or a fold (it falls back) is read as
    zoneinfo reads it: `fold=0` with the offset before the change, `fold=1` with the one after.
    """

    def __init__(self, key: str, changes: list[int], offsets: list[int]) -> None:
        super().__init__()
        self.key = key
        self._changes = changes  # UTC microseconds of each change (offsets[k + 1] from changes[k])
        self._offsets = offsets  # microseconds east of UTC; one more than changes
        pairs = list(pairwise(offsets))
        # The wall time from which the new offset holds, for fold 0 and for fold 1.
        self._walls = (
            [at + max(before, after) for at, (before, after) in zip(changes, pairs, strict=True)],
            [at + min(before, after) for at, (before, after) in zip(changes, pairs, strict=True)],
        )

    def __repr__(self) -> str:
        return f"DuckZone({self.key!r})"

    def __reduce__(self) -> tuple:
        return zone, (self.key,)

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        k = bisect_right(self._walls[dt.fold], _us(dt))
        return timedelta(microseconds=self._offsets[k])

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None  # DuckDB tells the offset, not which part of it is daylight saving

    def tzname(self, dt: datetime | None) -> str:
        return self.key

    def offsets_between(self, start_us: int, end_us: int) -> list[tuple[int, int]]:
        """[(from, offset)] in epoch microseconds: the offset at `start_us`, then each change before `end_us`."""
        k = bisect_right(self._changes, start_us)
        later = [(at, self._offsets[j + 1]) for j, at in enumerate(self._changes[k:], k) if at < end_us]
        return [(start_us, self._offsets[k]), *later]

    def fromutc(self, dt: datetime) -> datetime:
        at = _us(dt)
        k = bisect_right(self._changes, at)
        local = dt + timedelta(microseconds=self._offsets[k])
        # the second pass through a fold's wall times: the clock fell back at changes[k - 1]
        second = k > 0 and self._offsets[k] < self._offsets[k - 1] and (
            _us(local) < self._changes[k - 1] + self._offsets[k - 1])
        return local.replace(fold=int(second))


def _unknown(name: str | None) -> DashboardError:
    return DashboardError(f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'")


@lru_cache(maxsize=64)
def _duck_zone(key: str) -> DuckZone:
    try:
        rows = _connection().execute(_TRANSITIONS, {"tz": key}).fetchall()
    except duckdb.Error as e:
        raise _unknown(key) from e
    return DuckZone(key, [at for at, _ in rows[1:]], [off for _, off in rows])


def checked_name(tz: str) -> str:
    """`tz` when it names a time zone (IANA's names, as everywhere else: 'Europe/Berlin', 'UTC'),
    else DashboardError; a name of a folder of zones ('America') or too long for a file is none."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise _unknown(tz) from e
    return tz


def zone(tz: str | None) -> tzinfo:
    """The zone named `tz` (default UTC) with DuckDB's offsets; DashboardError for a name that is none."""
    key = checked_name(tz or "UTC")
    return UTC if key == "UTC" else _duck_zone(key)


def utc_offsets(tz: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[(from, offset)] in epoch microseconds: the UTC offset of the zone `tz` at `start`, then
    each change before `end`, as DuckDB's zone data has them; DashboardError for an unknown zone."""
    z = zone(tz)
    start_us, end_us = (_us(t.astimezone(UTC)) for t in (start, end))
    return z.offsets_between(start_us, end_us) if isinstance(z, DuckZone) else [(start_us, 0)]
