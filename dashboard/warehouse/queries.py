"""Named queries over the priced request view; every value is a bound parameter.

Money comes back as DECIMAL from DuckDB and stays Decimal in Python. Day and month
boundaries follow the time zone a caller names (the billing or display zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from dashboard.errors import DashboardError
from dashboard.metrics import cache_hit_rate_sql
from dashboard.warehouse.connection import Warehouse
from dashboard.warehouse.contract import FIRST_DAY, LAST_DAY
from dashboard.warehouse.prices import shown_model
from dashboard.warehouse.zones import utc_offsets, zone
from pricing import money_str
from pricing.sql import price_shape_sql, priced_groups_sql

GRAINS = ("hour", "day", "week", "month")
DIMENSIONS = {
    "model": "q.model",
    "provider": "q.provider",
    "upstream_provider": "q.upstream_provider",
    "project": "q.project",
    "api_key": "q.api_key",
    "user": 'q."user"',
    "source": "q.source",
    "status": "q.status",
    "tag": "q.tag",
    "day": "q.day",
}


def month_bounds(month: str, tz: str | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month 'YYYY-MM' in the given zone, as aware datetimes."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}", month):  # strptime alone takes '2026-1'
            raise ValueError(month)
        first = datetime.strptime(month, "%Y-%m")
    except ValueError as e:
        raise DashboardError(f"month {month!r} is not in the form YYYY-MM") from e
    if not FIRST_DAY.year <= first.year <= LAST_DAY.year:  # the years a request's time may have
        raise DashboardError(f"month {month!r} is outside the years requests are kept for, "
                             f"{FIRST_DAY.year} to {LAST_DAY.year}")
    z = zone(tz)
    start = first.replace(tzinfo=z)
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, nxt.replace(tzinfo=z)


_UNIT_US = {"hour": 3_600_000_000, "day": 86_400_000_000}
_OFFSETS_SPAN = timedelta(days=731)  # longer ranges keep the per-row conversion


def local_offset_us_sql(ts: str, tz: str, start: datetime | None, end: datetime | None) -> str | None:
    """SQL for the UTC offset of `tz`, in microseconds, at `ts`, for rows with start <= ts < end.

    The offsets in force over the range come from DuckDB's own zone data (zones.utc_offsets: the
    data every `timezone($tz, ...)` of a query uses), so a row's local time is its UTC time plus
    the offset of its instant: integer arithmetic, where converting every row through DuckDB's
    time zone functions costs about 0.4 CPU seconds per 3,000,000 rows. None for an unbounded
    range, one over two years long, or a zone DuckDB does not know: the caller converts each
    row (with the query's `$tz`).
    """
    if start is None or end is None or end - start > _OFFSETS_SPAN:
        return None
    try:
        changes = utc_offsets(tz, start, end)
    except DashboardError:
        return None
    (_, offset), *later = changes
    if not later:
        return str(offset)
    whens = []
    for at, nxt in later:
        whens.append(f"WHEN epoch_us({ts}) < {at} THEN {offset}")
        offset = nxt
    return f"CASE {' '.join(whens)} ELSE {offset} END"


def local_trunc_sql(ts: str, unit: str, tz: str, start: datetime | None,
                    end: datetime | None) -> tuple[str, dict[str, Any]]:
    """`date_trunc(unit, timezone($tz, ts))` ('hour' or 'day') for rows with start <= ts < end, as
    integer arithmetic on the zone's offsets where local_offset_us_sql gives them; and the
    parameters that SQL needs (`tz` where it converts each row)."""
    unit_us = _UNIT_US[unit]
    offset = local_offset_us_sql(ts, tz, start, end)
    if offset is None:
        return f"date_trunc('{unit}', timezone($tz, {ts}))", {"tz": tz}
    # Requests are kept from the year 2000 (contract.FIRST_DAY): local microseconds are positive, and
    # integer division truncates them as a floor does.
    return f"make_timestamp((epoch_us({ts}) + {offset}) // {unit_us} * {unit_us})", {}


# A filter value that picks the requests with no value at all in that field (NULL or empty;
# no tags): shown as BLANK_LABEL, never as "None".
BLANK = ""
BLANK_LABEL = "(none)"


@dataclass(frozen=True)
class Filters:
    """What the sidebar (or a CLI flag) narrows the data to. Empty tuples mean 'all'."""

    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    api_keys: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tz: str = "UTC"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def where(self, alias: str = "q") -> tuple[str, dict[str, Any]]:
        clauses, params = ["true"], {}
        if self.start is not None:
            clauses.append(f"{alias}.ts >= $f_start")
            params["f_start"] = self.start
        if self.end is not None:
            clauses.append(f"{alias}.ts < $f_end")
            params["f_end"] = self.end
        if self.models:  # the logged name, or the catalog model it resolves to (shown_model)
            clauses.append(f"(list_contains(CAST($f_models AS VARCHAR[]), {alias}.model) OR list_contains("
                           f"CAST($f_models AS VARCHAR[]), (SELECT m.price_model FROM model_map AS m WHERE "
                           f"m.provider = coalesce({alias}.provider, '') AND m.model = {alias}.model)))")
            params["f_models"] = list(self.models)
        for name, column in (
            ("providers", "provider"), ("projects", "project"),
            ("api_keys", "api_key"), ("users", '"user"'), ("sources", "source"),
        ):
            values = getattr(self, name)
            if values:
                clause = f"list_contains(CAST($f_{name} AS VARCHAR[]), {alias}.{column})"
                if BLANK in values:
                    clause = f"({alias}.{column} IS NULL OR {alias}.{column} = '' OR {clause})"
                clauses.append(clause)
                params[f"f_{name}"] = list(values)
        if self.tags:
            clause = f"list_has_any({alias}.tags, CAST($f_tags AS VARCHAR[]))"
            if BLANK in self.tags:
                clause = f"(len(coalesce({alias}.tags, [])) = 0 OR {clause})"
            clauses.append(clause)
            params["f_tags"] = list(self.tags)
        return " AND ".join(clauses), params


def priced(wh: Warehouse, filters: Filters, prices: str = "prices",
           rows: str | None = None) -> tuple[str, dict[str, Any]]:
    """A filtered priced-request subquery `q` with `day` in the filter's zone, and its parameters;
    `rows` the priced requests to filter (default: `wh.priced_sql(prices)`)."""
    where, params = filters.where("r")
    params["tz"] = filters.tz
    # A logged name shows as the catalog model it resolves to on its route (shown_model): OpenRouter's
    # deepseek/deepseek-v4-flash and an alias are one model with deepseek-v4-flash, not two.
    sql = f"""
        SELECT r.* REPLACE ({shown_model("r")} AS model), CAST(timezone($tz, r.ts) AS DATE) AS day
        FROM ({rows or wh.priced_sql(prices)}) AS r
        WHERE {where}
    """
    return sql, params


def priced_groups(wh: Warehouse, filters: Filters, keys: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The filtered requests summed per value of `keys` (SQL over a request row `q`) and priced per
    group (pricing.sql.priced_groups_sql: several rows per key value, to sum again), and its
    parameters. Always the live prices: it costs less than reading the priced cache's rows."""
    where, params = filters.where("q")
    # A time without a zone is UTC, as DuckDB reads it (the session's TimeZone is UTC).
    bounds = {k: None if v is None else int((v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp() * 1_000_000)
              for k, v in (("start", filters.start), ("end", filters.end))}
    periods, bands, models, providers = wh.query(price_shape_sql(), bounds).fetchone()
    params.update(hourly_models=models, hourly_providers=providers)
    hourly = ("list_contains(CAST($hourly_models AS VARCHAR[]), q.model) "
              "AND list_contains(CAST($hourly_providers AS VARCHAR[]), coalesce(q.provider, ''))")
    return priced_groups_sql(keys, where, periods, bands, hourly), params


# The requests whose log carries a billed cost, and the computed cost of just those: the
# like-for-like figures to hold billed cost against (the statement and `report` alike).
BILLED_COVERAGE = """
    sum(CASE WHEN q.billed_cost IS NOT NULL THEN q.request_count ELSE 0 END) AS billed_requests,
    sum(CASE WHEN q.billed_cost IS NOT NULL THEN q.cost END) AS comparable_computed_usd"""

# The part of the computed cost that is approximate: rows covering a span inside which the
# price changes (see pricing.sql), weighted by the share of the span under each rate.
APPROXIMATE = "coalesce(sum(q.cost) FILTER (WHERE q.approximate), 0) AS approximate_usd"

TOTALS = f"""
    sum(q.request_count) AS requests,
    sum(q.input_tokens) AS input_tokens,
    sum(q.cache_read_tokens) AS cache_read_tokens,
    sum(q.cache_write_tokens + q.cache_write_1h_tokens) AS cache_write_tokens,
    sum(q.output_tokens) AS output_tokens,
    sum(q.reasoning_tokens) AS reasoning_tokens,
    coalesce(sum(q.cost), 0) AS cost_usd,
    sum(q.billed_cost) AS billed_usd,
    sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END) AS unpriced_requests,
    {cache_hit_rate_sql()} AS cache_hit_rate
"""


def daily_spend(wh: Warehouse, filters: Filters | None = None) -> pd.DataFrame:
    """Computed spend per day (in the filter's zone): columns `day` (date) and `cost_usd` (Decimal)."""
    f = filters or Filters()
    start, end = f.start, f.end
    if start is None or end is None:  # the zone's offsets over the data's own span, not row by row
        first, last = wh.query("SELECT min(ts), max(ts) FROM requests").fetchone()
        start, end = start or first, end or (last and last + timedelta(microseconds=1))
    day, day_params = local_trunc_sql("q.ts", "day", f.tz, start, end)
    sql, params = priced_groups(wh, f, {"day": f"CAST({day} AS DATE)"})
    params |= day_params
    rows = wh.query(
        f"SELECT q.day, coalesce(sum(q.cost), 0) AS cost_usd FROM ({sql}) AS q GROUP BY q.day ORDER BY q.day",
        params,
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["day", "cost_usd"])
    if frame.empty:
        return frame
    # Days without traffic cost 0: a forecast must see them, not skip them.
    full = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D").date
    return (
        frame.set_index("day").reindex(full, fill_value=Decimal(0)).rename_axis("day").reset_index()
    )


def month_to_date_spend(wh: Warehouse, filters: Filters, today: date) -> pd.DataFrame:
    """`daily_spend` of the calendar month of `today` in the filter's zone, whatever dates the filter
    has (its other filters apply): what a month-end projection counts as spent so far."""
    start, _ = month_bounds(today.strftime("%Y-%m"), filters.tz)
    return daily_spend(wh, replace(filters, start=start, end=None))


@dataclass(frozen=True)
class MonthReport:
    month: str
    timezone: str
    total_usd: Decimal
    billed_usd: Decimal | None
    unpriced_requests: int
    rows: list[dict[str, Any]]
    billed_requests: int = 0
    comparable_computed_usd: Decimal | None = None  # computed cost of the requests that have a billed cost
    approximate_usd: Decimal = Decimal(0)  # the part of total_usd that is approximate (rows over a span)

    def as_dict(self) -> dict[str, Any]:
        def money(v: Decimal | None) -> str | None:
            return None if v is None else money_str(v)

        return {
            "month": self.month,
            "timezone": self.timezone,
            "total_usd": money(self.total_usd),
            "billed_usd": money(self.billed_usd),
            "unpriced_requests": self.unpriced_requests,
            "billed_requests": self.billed_requests,
            "comparable_computed_usd": money(self.comparable_computed_usd),
            "approximate_usd": money(self.approximate_usd),
            "rows": [
                {**r, "cost_usd": money(r["cost_usd"]), "billed_usd": money(r["billed_usd"]),
                 "comparable_computed_usd": money(r["comparable_computed_usd"]),
                 "approximate_usd": money(r["approximate_usd"])} for r in self.rows
            ],
        }


def month_report(wh: Warehouse, month: str, by: str = "model", tz: str | None = None,
                 filters: Filters | None = None) -> MonthReport:
    """The month's requests, tokens per bucket, computed and billed cost, grouped by one dimension.

    A row none of whose requests has a price has no computed cost (None), not a cost of 0:
    its volume and `unpriced_requests` say what is missing. Billed cost often covers only
    some requests (one route's log has it, another's not), so each row also carries
    `billed_requests` and `comparable_computed_usd`, the computed cost of just those
    requests: the like-for-like figure to hold `billed_usd` against, as the statement does.
    `approximate_usd` is the part of the cost of rows covering a span inside which the price
    changes: priced by the share of the span under each rate (see pricing.sql).
    """
    if by not in DIMENSIONS or by == "tag":
        raise DashboardError(f"cannot group by {by!r}; choose one of {', '.join(k for k in DIMENSIONS if k != 'tag')}")
    start, end = month_bounds(month, tz)
    base = filters or Filters()
    f = Filters(**{**base.__dict__, "start": start, "end": end, "tz": tz or "UTC"})
    # Requests summed per price first (priced_groups), apart where they have a billed cost or not.
    keys, key_params = {"has_billed": "q.billed_cost IS NOT NULL"}, {}
    if by == "model":
        key = shown_model("q")
    elif by == "provider":
        key = "q.provider"
    else:
        if by == "day":
            day, key_params = local_trunc_sql("q.ts", "day", f.tz, f.start, f.end)
            keys["report_key"] = f"CAST({day} AS DATE)"
        else:
            keys["report_key"] = DIMENSIONS[by]
        key = "q.report_key"
    sql, params = priced_groups(wh, f, keys)
    params |= key_params
    # Days read in calendar order; any other dimension from the largest cost down.
    order = "key" if by == "day" else "cost_usd DESC, key NULLS LAST"
    result = wh.query(
        f"""
        SELECT CAST({key} AS VARCHAR) AS key, {TOTALS}, sum(q.cost) AS priced_cost, {BILLED_COVERAGE},
            {APPROXIMATE}
        FROM ({sql}) AS q GROUP BY 1 ORDER BY {order}
        """,
        params,
    )
    return _month_report(month, tz, result)


def _month_report(month: str, tz: str | None, result: duckdb.DuckDBPyConnection) -> MonthReport:
    """month_report's rows, and their totals, from its query's `result`."""
    names = [d[0] for d in result.description]
    counts = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
              "reasoning_tokens")
    out = []
    for values in result.fetchall():
        r = dict(zip(names, values, strict=True))
        out.append({
            "key": r["key"], **{c: int(r[c]) for c in counts},
            "cost_usd": r["priced_cost"], "billed_usd": r["billed_usd"],
            "unpriced_requests": int(r["unpriced_requests"]),
            "billed_requests": int(r["billed_requests"]), "comparable_computed_usd": r["comparable_computed_usd"],
            "approximate_usd": r["approximate_usd"],
        })

    def total_of(name: str) -> Decimal | None:
        parts = [r[name] for r in out if r[name] is not None]
        return sum(parts, Decimal(0)) if parts else None

    return MonthReport(
        month=month,
        timezone=tz or "UTC",
        total_usd=total_of("cost_usd") or Decimal(0),
        billed_usd=total_of("billed_usd"),
        unpriced_requests=sum(r["unpriced_requests"] for r in out),
        rows=out,
        billed_requests=sum(r["billed_requests"] for r in out),
        comparable_computed_usd=total_of("comparable_computed_usd"),
        approximate_usd=total_of("approximate_usd") or Decimal(0),
    )


def date_range(wh: Warehouse) -> tuple[date | None, date | None]:
    row = wh.query("SELECT min(ts), max(ts) FROM requests").fetchone()
    return (row[0].date() if row[0] else None, row[1].date() if row[1] else None)


def is_empty(wh: Warehouse) -> bool:
    return wh.query("SELECT count(*) FROM requests").fetchone()[0] == 0
