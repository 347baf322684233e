"""The monthly statement: computed cost against what the provider billed, and the FOCUS line items.

A month is a calendar month in the billing time zone ([start, end) from `month_bounds`).
One grouped query per function returns exact DECIMAL sums per day x provider x model x
project x key; the Python side only adds Decimals, so every total is exact and the
breakdowns (by model, provider, project, key, day) always add up to the statement total.

Money stays Decimal. The only inexact step is `difference_pct` (a quotient, kept at the
Decimal context's 28 significant digits); nothing else is rounded except by the
display-only helpers at the end of this module.

Where the cost is unknown (a model without a price) the cost is `None` with the volume
still counted, never 0. `charged_usd` is what a finance team books: the billed cost where
the log has it, the computed cost otherwise. `approximate_usd` is the part of the computed
cost from rows covering a span inside which the price changes (weighted by time).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.errors import WarehouseError
from dashboard.warehouse.connection import Warehouse
from dashboard.warehouse.csvfile import CellSql, copy_csv
from dashboard.warehouse.prices import LINE_HASHES_EXACT, LINE_KEYS, hashed_lines
from dashboard.warehouse.queries import (
    APPROXIMATE,
    BILLED_COVERAGE,
    Filters,
    local_offset_us_sql,
    month_bounds,
    priced,
    zone,
)
from pricing.sql import RATES

# A line is flagged when |billed - computed| exceeds either threshold.
FLAG_SHARE = Decimal("0.005")  # 0.5 % of computed
FLAG_ABS_USD = Decimal("0.01")

DIMENSIONS = ("model", "provider", "project", "api_key")
COST_BUCKETS = ("input", "cache_read", "cache_write", "cache_write_1h", "output")
TOKEN_FIELDS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens",
)
_MONEY_FIELDS = (
    *(f"{b}_usd" for b in COST_BUCKETS), "computed_usd", "billed_usd", "charged_usd",
    "comparable_billed_usd", "comparable_computed_usd", "approximate_usd",
)
_COUNT_FIELDS = ("requests", *TOKEN_FIELDS, "billed_requests", "unpriced_requests")
UNPRICED_HINT = "add it on the Prices page"
APPROXIMATE_HELP = (
    "Some rows of the logs stand for a span of time (a day's requests in one row), and the price "
    "changed inside it (peak hours, or a new price from a given hour). Their cost is worked out at "
    "each rate weighted by the share of the span under it, as if the requests were spread evenly; "
    "the true cost lies between the row's cost at the cheapest and at the dearest of those rates. "
    "Where the export has a billed cost, Charged uses it."
)
# Sums are exact as long as they fit the context; 28 digits could in theory round a DECIMAL(38, 12).
_EXACT = Context(prec=80)
_QUOTIENT = Context(prec=28)  # difference_pct, the one quotient


def _add(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """Sum where None means 'unknown': unknown only if both parts are."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@dataclass(frozen=True)
class StatementLine:
    """Totals of one group (a model, project, key, provider, day, or the whole month).

    Token buckets are disjoint except `reasoning_tokens`, which is the part of
    `output_tokens` spent reasoning (and `output_usd` includes its cost). Bucket costs are
    None when no request of the group has a price.
    """

    dimension: str  # "total", "day" or one of DIMENSIONS
    key: str | None  # the group's value (ISO date for days); None for the total or a missing value
    provider: str | None = None  # set on model lines: a model is grouped per route
    requests: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # 5-minute (or only) cache writes
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    input_usd: Decimal | None = None
    cache_read_usd: Decimal | None = None
    cache_write_usd: Decimal | None = None
    cache_write_1h_usd: Decimal | None = None
    output_usd: Decimal | None = None
    computed_usd: Decimal | None = None
    # The part of computed_usd that is approximate: rows covering a span (a day) inside which the
    # price changes, priced by the share of the span under each rate (see pricing.sql).
    approximate_usd: Decimal | None = None
    billed_usd: Decimal | None = None  # None when no request of the group has a billed cost
    charged_usd: Decimal | None = None  # billed where known, computed otherwise
    billed_requests: int = 0
    unpriced_requests: int = 0
    # Sums over the requests that have both a price and a billed cost: the like-for-like pair.
    comparable_billed_usd: Decimal | None = None
    comparable_computed_usd: Decimal | None = None
    difference_usd: Decimal | None = None  # comparable billed - comparable computed
    difference_pct: Decimal | None = None  # difference / comparable computed x 100
    flag: bool = False
    explanation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Statement:
    month: str
    timezone: str
    start: datetime  # inclusive, aware, in the billing zone
    end: datetime  # exclusive
    total: StatementLine
    by_model: list[StatementLine] = field(default_factory=list)
    by_provider: list[StatementLine] = field(default_factory=list)
    by_project: list[StatementLine] = field(default_factory=list)
    by_api_key: list[StatementLine] = field(default_factory=list)
    days: list[StatementLine] = field(default_factory=list)  # per-day reconciliation, oldest first

    def lines(self, dimension: str) -> list[StatementLine]:
        """The lines of one breakdown: 'model', 'provider', 'project', 'api_key', 'day' or 'total'."""
        table = {
            "model": self.by_model, "provider": self.by_provider, "project": self.by_project,
            "api_key": self.by_api_key, "day": self.days, "total": [self.total],
        }
        if dimension not in table:
            raise WarehouseError(f"no statement breakdown {dimension!r}; choose one of {', '.join(table)}")
        return table[dimension]

    def frame(self, dimension: str) -> pd.DataFrame:
        """One breakdown as a DataFrame (money as Decimal objects, exact), the key column named after it."""
        rows = []
        for line in self.lines(dimension):
            row = line.as_dict()
            del row["dimension"]
            key = row.pop("key")
            provider = row.pop("provider")
            head: dict[str, Any] = {}
            if dimension == "model":
                head = {"provider": provider, "model": key}
            elif dimension != "total":
                head = {dimension: key}
            rows.append(head | row)
        return pd.DataFrame(rows)


# ------------------------------------------------------------------ the grouped query

_SUMS = """
    sum(q.request_count) AS requests,
    sum(q.input_tokens) AS input_tokens,
    sum(q.cache_read_tokens) AS cache_read_tokens,
    sum(q.cache_write_tokens) AS cache_write_tokens,
    sum(q.cache_write_1h_tokens) AS cache_write_1h_tokens,
    sum(q.output_tokens) AS output_tokens,
    sum(q.reasoning_tokens) AS reasoning_tokens,
    sum(q.input_cost) AS input_usd,
    sum(q.cache_read_cost) AS cache_read_usd,
    sum(q.cache_write_cost) AS cache_write_usd,
    sum(q.cache_write_1h_cost) AS cache_write_1h_usd,
    sum(q.output_cost) AS output_usd,
    sum(q.cost) AS computed_usd,
    sum(q.billed_cost) AS billed_usd,
    sum(coalesce(q.billed_cost, q.cost)) AS charged_usd,
    sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END) AS unpriced_requests,
    sum(CASE WHEN NOT q.unpriced THEN q.billed_cost END) AS comparable_billed_usd,
""" + BILLED_COVERAGE + ", " + APPROXIMATE
_SUM_NAMES = (*_COUNT_FIELDS[:7], *_MONEY_FIELDS[:8], "unpriced_requests", "comparable_billed_usd",
              "billed_requests", "comparable_computed_usd", "approximate_usd")


def _month_filters(month: str, tz: str, filters: Filters | None) -> tuple[Filters, datetime, datetime]:
    start, end = month_bounds(month, tz)
    base = filters or Filters()
    return replace(base, start=start, end=end, tz=tz), start, end


def _cells(wh: Warehouse, month: str, tz: str, filters: Filters | None) -> list[tuple[tuple[Any, ...], dict]]:
    """((day, provider, model, project, api_key), sums) for every non-empty cell of the month."""
    f, start, end = _month_filters(month, tz, filters)
    sql, params = priced(wh, f)
    day_sql, day_params = local_day_sql(tz, start, end)
    rows = wh.query(
        f"""
        SELECT DATE '1970-01-01' + CAST(c.day_number AS INTEGER), c.* EXCLUDE (day_number)
        FROM (
            SELECT {day_sql} AS day_number, q.provider, q.model, q.project, q.api_key, {_SUMS}
            FROM ({sql}) AS q
            GROUP BY ALL
        ) AS c
        """,
        params | day_params,
    ).fetchall()
    out = []
    for r in rows:
        sums = dict(zip(_SUM_NAMES, r[5:], strict=True))
        for name in _COUNT_FIELDS:
            sums[name] = int(sums[name] or 0)
        out.append((tuple(r[:5]), sums))
    return out


def _accumulate(into: dict[Any, dict[str, Any]], key: Any, sums: dict[str, Any]) -> None:
    acc = into.get(key)
    if acc is None:
        into[key] = dict(sums)
        return
    for name in _COUNT_FIELDS:
        acc[name] += sums[name]
    for name in _MONEY_FIELDS:
        acc[name] = _add(acc[name], sums[name])


def _compare(computed: Decimal | None, billed: Decimal | None) -> tuple[Decimal | None, Decimal | None, bool]:
    """(difference, difference percent, flag) of billed against computed."""
    if billed is None:
        return None, None, False
    if computed is None:
        return None, None, True  # billed, but nothing to compare it with
    difference = billed - computed
    pct = _QUOTIENT.divide(difference * 100, computed) if computed else None
    flag = abs(difference) > computed * FLAG_SHARE or abs(difference) > FLAG_ABS_USD
    return difference, pct, flag


def _explain(line: StatementLine, days: Sequence[StatementLine]) -> str:
    reasons = []
    if line.unpriced_requests:
        reasons.append(f"unpriced model: {line.unpriced_requests} requests have no price ({UNPRICED_HINT})")
    missing = line.requests - line.billed_requests
    if missing and line.billed_requests:
        reasons.append(f"billed cost missing on {missing} of {line.requests} requests")
    above, below = [], []
    for day in days:
        difference, _, flag = _compare(day.comparable_computed_usd, day.comparable_billed_usd)
        if flag and difference is not None:
            (above if difference > 0 else below).append(day.key)
    if above:
        reasons.append(f"billed exceeds computed on days: {', '.join(above)}")
    if below:
        reasons.append(f"billed below computed on days: {', '.join(below)}")
    return "; ".join(reasons) or "difference not explained by the logs"


def _finish(line: StatementLine, days: Sequence[StatementLine] = ()) -> StatementLine:
    # Billed against computed over the same requests: those with both a price and a billed cost.
    # A line billed only for requests without a price has nothing to compare (flagged, no figure).
    if line.comparable_billed_usd is not None:
        difference, pct, flag = _compare(line.comparable_computed_usd, line.comparable_billed_usd)
    else:
        difference, pct, flag = _compare(None, line.billed_usd)
    line = replace(line, difference_usd=difference, difference_pct=pct, flag=flag)
    if flag:
        line = replace(line, explanation=_explain(line, days))
    return line


def _order(line: StatementLine) -> tuple[Any, ...]:
    cost = line.computed_usd
    return (cost is None, -(cost or 0), line.key is None, line.key or "", line.provider or "")


def statement(wh: Warehouse, month: str, tz: str = "UTC", filters: Filters | None = None) -> Statement:
    """The month's statement in the billing zone `tz`: totals, breakdowns, per-day reconciliation.

    `filters` narrows the data (providers, projects, ...); its start, end and zone are
    replaced by the month's.
    """
    with localcontext(_EXACT):
        return _statement(wh, month, tz, filters)


def _statement(wh: Warehouse, month: str, tz: str, filters: Filters | None) -> Statement:
    f, start, end = _month_filters(month, tz, filters)
    cells = _cells(wh, month, tz, filters)

    def group(dimension: str, key_of: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> list[StatementLine]:
        # Plain dicts while summing: building a frozen line per cell would cost more than the query.
        sums_of: dict[tuple[Any, ...], dict[str, Any]] = {}
        per_day: dict[tuple[Any, ...], dict[date, dict[str, Any]]] = {}
        for cell_key, sums in cells:
            key = key_of(cell_key)
            _accumulate(sums_of, key, sums)
            _accumulate(per_day.setdefault(key, {}), cell_key[0], sums)
        out = []
        for key, totals in sums_of.items():
            days = per_day[key]
            day_lines = [StatementLine("day", d.isoformat(), **days[d]) for d in sorted(days)]
            label = key[-1] if dimension != "day" else key[0].isoformat()
            line = StatementLine(dimension, None if label is None else str(label),
                                 key[0] if dimension == "model" else None, **totals)
            out.append(_finish(line, day_lines if dimension != "day" else ()))
        return out

    total_lines = group("total", lambda c: ("total",))
    total = replace(total_lines[0], key=None) if total_lines else _finish(StatementLine("total", None))
    return Statement(
        month=month,
        timezone=f.tz,
        start=start,
        end=end,
        total=total,
        by_model=sorted(group("model", lambda c: (c[1], c[2])), key=_order),
        by_provider=sorted(group("provider", lambda c: (c[1],)), key=_order),
        by_project=sorted(group("project", lambda c: (c[3],)), key=_order),
        by_api_key=sorted(group("api_key", lambda c: (c[4],)), key=_order),
        days=sorted(group("day", lambda c: (c[0],)), key=lambda line: line.key or ""),
    )


# ------------------------------------------------------------------ FOCUS line items

FOCUS_BUCKETS = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")
ADJUSTMENT = "billed_difference"

# The priced view carries the rates (RATES) of the `prices` row each request matched, so the
# unit prices below are the ones its costs were computed with; `focus_lines` still checks that
# tokens x unit price equals the view's cost, so a drift between the two cannot go unseen.
_FOCUS_KEYS = ("day", *LINE_KEYS)
_FOCUS_SUMS = (
    "requests", "input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning",
    "input_usd", "cache_read_usd", "cache_write_usd", "cache_write_1h_usd", "output_usd", "reasoning_usd",
    "view_output_usd", "computed_usd", "billed_usd", "billed_requests", "comparable_computed_usd",
)


def _utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def focus_lines(wh: Warehouse, month: str, tz: str = "UTC", filters: Filters | None = None) -> list[dict[str, Any]]:
    """Line items for a FOCUS export: one per day x provider x model x project x key x tag set x bucket x unit price.

    Buckets are `FOCUS_BUCKETS` (`output` here is output *without* reasoning, so every
    token is in exactly one line). Each usage line has `tokens`, `unit_price_per_mtok`
    and `cost_usd` with tokens x unit price = cost exactly (None for an unpriced model).
    Where logs carry a billed cost, one `billed_difference` line per group carries
    billed - computed (over the billed requests), so that computed costs plus these lines
    add up to the statement's `charged_usd` and computed costs alone to `computed_usd`.
    """
    with localcontext(_EXACT):
        return _focus_lines(wh, month, tz, filters)


def _focus_lines(wh: Warehouse, month: str, tz: str, filters: Filters | None) -> list[dict[str, Any]]:
    f, start, end = _month_filters(month, tz, filters)
    sql, params = priced(wh, f)
    rows = wh.query(
        f"""
        SELECT q.day, coalesce(q.provider, q.price_provider) AS provider, q.model, q.project, q.api_key,
            list_sort(q.tags) AS tags,
            coalesce(q.price_currency, q.currency, 'USD') AS currency,
            {", ".join(f"q.{c}" for c in RATES)},
            sum(q.request_count),
            sum(q.input_tokens), sum(q.cache_read_tokens), sum(q.cache_write_tokens),
            sum(q.cache_write_1h_tokens), sum(q.output_tokens - q.reasoning_tokens), sum(q.reasoning_tokens),
            sum(q.input_cost), sum(q.cache_read_cost), sum(q.cache_write_cost), sum(q.cache_write_1h_cost),
            sum((q.output_tokens - q.reasoning_tokens) * q.output_per_token),
            sum(q.reasoning_tokens * q.reasoning_per_token),
            sum(q.output_cost), sum(q.cost), sum(q.billed_cost), {BILLED_COVERAGE}
        FROM ({sql}) AS q
        GROUP BY ALL
        ORDER BY ALL
        """,
        params,
    ).fetchall()
    out = []
    for r in rows:
        keys = dict(zip(_FOCUS_KEYS, r[: len(_FOCUS_KEYS)], strict=True))
        sums = dict(zip(_FOCUS_SUMS, r[len(_FOCUS_KEYS):], strict=True))
        common = _focus_common(wh, keys, sums, tz, start, end)
        out += _usage_lines(keys, sums, common)
        if sums["billed_requests"]:
            difference = sums["billed_usd"] - (sums["comparable_computed_usd"] or Decimal(0))
            if difference:
                out.append(common | {
                    "bucket": ADJUSTMENT, "tokens": None, "unit_price_per_mtok": None, "cost_usd": Decimal(0),
                    "billed_usd": difference, "unpriced": keys["input_per_token"] is None,
                    "billed_requests": int(sums["billed_requests"]),
                })
    return out


def _focus_common(wh: Warehouse, keys: dict[str, Any], sums: dict[str, Any], tz: str, start: datetime,
                  end: datetime) -> dict[str, Any]:
    """What every line of one group (a day, route, model, project, key, tag set and rates) says alike."""
    route = wh.catalog.routes.get((keys["provider"] or "").lower())
    upstream = wh.catalog.routes.get(route.upstream) if route and route.upstream else None
    day = keys["day"]
    return {
        "day": day,
        "charge_period_start": _utc(day, tz),
        "charge_period_end": _utc(day + timedelta(days=1), tz),
        "billing_period_start": start.astimezone(UTC),
        "billing_period_end": end.astimezone(UTC),
        "provider": keys["provider"],
        "provider_name": route.name if route else keys["provider"],
        "publisher_name": (upstream or route).name if route else keys["provider"],
        "model": keys["model"],
        "project": keys["project"],
        "api_key": keys["api_key"],
        "tags": list(keys["tags"] or []),
        "currency": keys["currency"],
        "requests": int(sums["requests"]),
    }


def _usage_lines(keys: dict[str, Any], sums: dict[str, Any], common: dict[str, Any]) -> list[dict[str, Any]]:
    """A group's usage lines, one per bucket with tokens; each bucket's cost checked to be tokens x unit price."""
    day, unpriced = keys["day"], keys["input_per_token"] is None
    if not unpriced and _add(sums["output_usd"], sums["reasoning_usd"]) != sums["view_output_usd"]:
        raise WarehouseError(
            f"output cost of {keys['model']!r} on {day} does not split into output and reasoning "
            "exactly; the price rows and the cost view disagree (re-open the warehouse to reload prices)"
        )
    out = []
    for bucket in FOCUS_BUCKETS:
        tokens = int(sums[bucket] or 0)
        if not tokens:
            continue
        rate = keys[f"{bucket}_per_token"]
        cost = sums[f"{bucket}_usd"]
        unit = None if rate is None else rate.scaleb(6)
        if unit is not None and cost != unit * Decimal(tokens).scaleb(-6):
            raise WarehouseError(
                f"{bucket} cost of {keys['model']!r} on {day} is not tokens x unit price; "
                "the price rows and the cost view disagree (re-open the warehouse to reload prices)"
            )
        out.append(common | {
            "bucket": bucket, "tokens": tokens, "unit_price_per_mtok": unit, "cost_usd": cost,
            "billed_usd": cost, "unpriced": unpriced,
        })
    return out


# ------------------------------------------------------------------ the FOCUS file, written by DuckDB

# The FOCUS rows of `exports.focus_row`, in SQL over the same line items as `focus_lines`, so
# a month of millions of requests is written by COPY instead of cell by cell in Python. The
# equivalence tests hold the two against each other, byte for byte.
#
# Most of a row's cells are the same for every line of its group (route, key, project, tags,
# day) or for every line of its bucket (the fixed words), so they are made once per group or
# per bucket, and a cell several columns repeat (the cost, the route's name) once per line.
# The file's order is made before its cells: the groups are sorted, and each is unnested into
# its lines in bucket order, so the wide rows of cells are never sorted (sorting them takes
# about a third of the time after the sums). An ORDER BY under only projections, filters and
# an unnest holds its order in a COPY whatever preserve_insertion_order says.
_BUCKET_LABELS = {
    "input": "input", "cache_read": "cache read", "cache_write": "cache write (5 min)",
    "cache_write_1h": "cache write (1 h)", "output": "output (without reasoning)", "reasoning": "reasoning",
}
_X_TOKENS = {  # x_* token column -> the buckets whose tokens it counts
    "x_InputTokens": ("input",), "x_CacheReadTokens": ("cache_read",), "x_CacheWriteTokens": ("cache_write",),
    "x_CacheWrite1hTokens": ("cache_write_1h",), "x_OutputTokens": ("output", "reasoning"),
    "x_ReasoningTokens": ("reasoning",),
}
_DAY_US = 86_400_000_000


def _json_string_sql(expr: str) -> str:
    """A VARCHAR as a JSON string body, escaped as json.dumps(ensure_ascii=False) escapes it."""
    for char in ("\\", '"', *map(chr, range(0x20))):
        expr = f"replace({expr}, chr({ord(char)}), '{json.dumps(char)[1:-1]}')"
    return expr


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def local_day_sql(tz: str, start: datetime, end: datetime) -> tuple[str, dict[str, Any]]:
    """The day of `q.ts` in `tz` for a time in [start, end), as a number of days since 1970-01-01
    (`q.day` is that date), and the parameters it needs: by arithmetic on the zone's UTC offsets
    in that span (queries.local_offset_us_sql, as the pages' day buckets) rather than a zone lookup
    per request. A whole number of days is cheaper to group by than a DATE made per request; the
    times are after 1970, so integer division is the floor."""
    offset = local_offset_us_sql("q.ts", tz, start, end)
    if offset is None:
        return f"epoch_us(timezone($tz, q.ts)) // {_DAY_US}", {"tz": tz}
    return f"(epoch_us(q.ts) + {offset}) // {_DAY_US}", {}


def _focus_sql(wh: Warehouse, month: str, tz: str, filters: Filters | None,
               cells: CellSql) -> tuple[str, dict[str, Any]]:
    """The FOCUS rows of a month as finished cells (see `copy_csv`'s `made`), in columns named as in
    the file, in `focus_lines` order."""
    f, start, end = _month_filters(month, tz, filters)
    hashed = hashed_lines(wh.cursor())
    sql, params = priced(wh, f, rows=hashed)
    billed = _any_billed(wh, sql, params)
    day_sql, day_params = local_day_sql(tz, start, end)
    params |= day_params | _focus_params(wh, tz, start, end)
    select = ",\n            ".join(f'{expr} AS "{column}"' for column, expr in _FOCUS_COLUMNS.items())
    # Nested subqueries, not CTEs, from the ORDER BY on: a CTE may be materialised, which keeps no order.
    return f"""
        WITH {_focus_groups_sql(sql, day_sql, billed, hashed is not None)}, {_focus_shared_sql(cells)}
        SELECT {select}
        FROM (
            -- The cells that differ from line to line, each made once however many columns show it.
            SELECT l.*,
                {cells.cell("integer", "l.tokens")} AS c_tokens,
                {cells.cell("decimal", "l.cost")} AS c_cost,
                CASE WHEN NOT l.usage THEN {cells.cell("decimal", "l.difference")} END AS c_difference,
                {cells.cell("decimal", "l.unit_price")} AS c_unit_price,
                {cells.cell("decimal", "l.pricing_quantity")} AS c_pricing_quantity,
                {cells.cell("text", "l.description")} AS c_description,
                {cells.cell("text", "l.sku")} AS c_sku
            FROM (
                -- A cell rule reads its value more than once, so each value is a column first.
                SELECT l.*, {_COST} AS cost, CAST(l.rate AS DECIMAL(38, 12)) * 1000000 AS unit_price,
                    CAST(l.tokens AS DECIMAL(38, 0)) * 0.000001 AS pricing_quantity, {_DESCRIPTION} AS description,
                    coalesce(l.provider, 'None') || '/' || l.model || '/' || l.bucket AS sku
                FROM (
                    SELECT g.*,
                        CASE WHEN g.usage THEN CASE g.bucket {_BUCKET_TOKENS} END END AS tokens,
                        CASE g.bucket {_BUCKET_RATE} END AS rate
                    FROM (
                        -- Each group's possible lines, in order (the adjustment last).
                        SELECT g.*, unnest({_bucket_lines_sql(cells)}, recursive := true)
                        FROM (SELECT * FROM shared ORDER BY rank) AS g
                    ) AS g
                    WHERE CASE WHEN g.usage THEN coalesce(CASE g.bucket {_BUCKET_TOKENS} END, 0) <> 0
                        ELSE g.billed_requests > 0 AND g.difference <> 0 END
                ) AS l
            ) AS l
        ) AS l
    """, params


def _focus_params(wh: Warehouse, tz: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The month's days with their bounds, its period, and every route's names, for `_focus_sql`."""
    first = start.date()
    days = [first + timedelta(days=n) for n in range((end.date() - first).days)]
    routes = wh.catalog.routes
    return {
        "focus_days": days,
        # Each day's bounds computed as `focus_lines` computes them (a day may start at 01:00 in a DST gap).
        "focus_day_starts": [_utc(day, tz) for day in days],
        "focus_day_ends": [_utc(day + timedelta(days=1), tz) for day in days],
        "focus_period_start": start.astimezone(UTC),
        "focus_period_end": end.astimezone(UTC),
        "focus_route_keys": list(routes),
        "focus_route_names": [route.name for route in routes.values()],
        "focus_route_publishers": [
            ((routes.get(route.upstream) if route.upstream else None) or route).name for route in routes.values()
        ],
    }


_BUCKET_TOKENS = " ".join(f"WHEN {_sql_text(b)} THEN g.{b}" for b in FOCUS_BUCKETS)
_BUCKET_RATE = " ".join(f"WHEN {_sql_text(b)} THEN g.{b}_per_token" for b in FOCUS_BUCKETS)


def _any_billed(wh: Warehouse, sql: str, params: dict[str, Any]) -> bool:
    """Whether any of the priced rows `sql` carries a billed cost (it stops at the first one)."""
    return bool(wh.query(f"SELECT 1 FROM ({sql}) AS q WHERE q.billed_cost IS NOT NULL LIMIT 1", params).fetchall())


# The billed sums of `cells` when no row of the month has a billed cost: what BILLED_COVERAGE
# and sum(billed_cost) come to over such rows, without a fifth of the pass spent summing them.
_NOTHING_BILLED = """CAST(NULL AS DECIMAL(38, 12)) AS billed_usd, CAST(0 AS HUGEINT) AS billed_requests,
                CAST(NULL AS DECIMAL(38, 12)) AS comparable_computed_usd"""


# What `groups` joins a group `g` of `sums` to: its route's names (rt), its day's bounds (d), and its
# tag set (ts) among the month's few: its place, cheaper to sort by than the list itself, and its
# JSON object, made once per tag set rather than once per group.
_GROUP_JOINS = f"""LEFT JOIN (
                SELECT unnest($focus_route_keys::VARCHAR[]) AS route, unnest($focus_route_names::VARCHAR[]) AS name,
                    unnest($focus_route_publishers::VARCHAR[]) AS publisher
            ) AS rt ON rt.route = lower(g.provider)
            JOIN (
                SELECT unnest($focus_days::DATE[]) AS day, unnest($focus_day_starts::TIMESTAMPTZ[]) AS day_start,
                    unnest($focus_day_ends::TIMESTAMPTZ[]) AS day_end
            ) AS d ON d.day = g.day
            JOIN (
                SELECT tags, row_number() OVER (ORDER BY tags) AS place,
                    '{{' || array_to_string(list_transform(list_sort(list_distinct(coalesce(tags, []))),
                        lambda t: '"' || {_json_string_sql("t")} || '": true'), ', ') || '}}' AS tags_json
                FROM (SELECT DISTINCT tags FROM sums)
            ) AS ts ON ts.tags IS NOT DISTINCT FROM g.tags"""


def _cells_sql(sql: str, day_sql: str, billed: bool, hashed: bool) -> str:
    """CTE `cells`: the priced rows `sql` (aliased q) summed per day and line keys (prices.LINE_KEYS),
    in one pass over the month that sums tokens only where it can: within a line the rates are
    one key, so a bucket's cost is its tokens x rate, exactly. `hashed`: the rows carry their
    `line_hash`, which stands for their keys, so they are summed by day and hash (two numbers)
    and the keys joined back from `line_keys`."""
    sums = f"""sum(q.input_tokens) AS input, sum(q.cache_read_tokens) AS cache_read,
                sum(q.cache_write_tokens) AS cache_write, sum(q.cache_write_1h_tokens) AS cache_write_1h,
                sum(q.output_tokens - q.reasoning_tokens) AS output, sum(q.reasoning_tokens) AS reasoning,
                sum(q.cost) AS view_cost,
                {f"sum(q.billed_cost) AS billed_usd, {BILLED_COVERAGE}" if billed else _NOTHING_BILLED}"""
    if not hashed:
        keys = ", ".join(f"{expr} AS {name}" for name, expr in LINE_KEYS.items())
        return f"cells AS (SELECT {day_sql} AS day_number, {keys}, {sums} FROM ({sql}) AS q GROUP BY ALL)"
    return f"""cells AS (
            SELECT c.* EXCLUDE (line_hash), {", ".join(f"k.{name}" for name in LINE_KEYS)}
            FROM (SELECT {day_sql} AS day_number, q.line_hash, {sums} FROM ({sql}) AS q GROUP BY ALL) AS c
            JOIN line_keys AS k ON k.line_hash = c.line_hash
            -- The cache may have been appended to since its hashes were found exact.
            WHERE CASE WHEN NOT {LINE_HASHES_EXACT} THEN error(
                'the priced cache changed while the FOCUS file was made; make it again') ELSE true END
        )"""


def _focus_groups_sql(sql: str, day_sql: str, billed: bool, hashed: bool) -> str:
    """CTEs `cells`, `sums` and `groups`: one row per FOCUS group of the priced rows `sql` (aliased q),
    with what its lines share; `day_sql` is the day of `q.ts` in the billing zone, in days since 1970;
    `billed` whether any of the rows carries a billed cost; `hashed` see `_cells_sql`."""
    rates = ", ".join(RATES)
    sums = (*FOCUS_BUCKETS, "view_cost", "billed_usd", "billed_requests", "comparable_computed_usd")
    recomposed = " + ".join(f"g.{b} * g.{b}_per_token" for b in FOCUS_BUCKETS)
    return f"""
        {_cells_sql(sql, day_sql, billed, hashed)}, sums AS (
            -- A tag set is one group whatever order its tags were logged in.
            SELECT DATE '1970-01-01' + CAST(day_number AS INTEGER) AS day, provider, model, project, api_key,
                list_sort(tags) AS tags, currency, {rates},
                {", ".join(f"sum({s}) AS {s}" for s in sums)}
            FROM cells
            GROUP BY ALL
        ), groups AS (
            -- What a group's lines share, worked out once per group; `rank` is `focus_lines` order.
            SELECT g.*,
                row_number() OVER (ORDER BY {", ".join(f"g.{k}" if k != "tags" else "ts.place" for k in _FOCUS_KEYS)})
                    AS rank,
                g.billed_usd - coalesce(g.comparable_computed_usd, 0) AS difference,
                g.input_per_token IS NULL AS unpriced,
                coalesce(CASE WHEN rt.route IS NOT NULL THEN rt.name ELSE g.provider END, '') AS provider_name,
                CASE WHEN rt.route IS NOT NULL THEN rt.publisher ELSE g.provider END AS publisher_name,
                ts.tags_json,
                CASE WHEN g.api_key <> '' THEN 'API Key' END AS resource_type,
                coalesce(g.project, g.api_key) AS sub_account,
                d.day_start, d.day_end
            FROM sums AS g
            {_GROUP_JOINS}
            WHERE CASE WHEN g.view_cost IS DISTINCT FROM {recomposed} THEN error(
                'the cost of ' || g.model || ' on ' || CAST(g.day AS VARCHAR) || ' is not its tokens x unit prices; '
                || 'the price rows and the cost view disagree (re-open the warehouse to reload prices)') ELSE true END
        )
    """


# Each group's own cells (made once per group), by the name `_FOCUS_COLUMNS` reads them as.
_GROUP_CELLS = {
    "c_provider": ("text", "g.provider"),
    "c_provider_name": ("text", "g.provider_name"),
    "c_currency": ("text", "g.currency"),
    "c_period_end": ("timestamptz", "$focus_period_end::TIMESTAMPTZ"),
    "c_period_start": ("timestamptz", "$focus_period_start::TIMESTAMPTZ"),
    "c_day_end": ("timestamptz", "g.day_end"),
    "c_day_start": ("timestamptz", "g.day_start"),
    "c_publisher": ("text", "g.publisher_name"),
    "c_api_key": ("text", "g.api_key"),
    "c_resource_type": ("text", "g.resource_type"),
    "c_service": ("text", "g.service_name"),
    "c_sub_account": ("text", "g.sub_account"),
    "c_tags": ("text", "g.tags_json"),
    "c_model": ("text", "g.model"),
    "c_project": ("text", "g.project"),
    "c_unpriced": ("boolean", "g.unpriced"),
}


def _focus_shared_sql(cells: CellSql) -> str:
    """CTE `shared`: the groups with the cells every line of a group has alike."""
    made = ", ".join(f"{cells.cell(kind, expr)} AS {name}" for name, (kind, expr) in _GROUP_CELLS.items())
    return f"""shared AS (
            SELECT g.*, {made}
            FROM (SELECT *, provider_name || ' API' AS service_name FROM groups) AS g
        )"""


# Each bucket's own cells (the same for every group), by the name `_FOCUS_COLUMNS` reads them as;
# `{bucket}` is the bucket's name as a SQL string.
_USAGE = f"{{bucket}} <> {_sql_text(ADJUSTMENT)}"
_BUCKET_CELLS = {
    "c_bucket": ("text", "{bucket}"),
    "c_category": ("text", f"CASE WHEN {_USAGE} THEN 'Usage' ELSE 'Adjustment' END"),
    "c_class": ("text", "NULL::VARCHAR"),
    "c_frequency": ("text", "'Usage-Based'"),
    "c_consumed_unit": ("text", f"CASE WHEN {_USAGE} THEN 'Tokens' END"),
    "c_pricing_category": ("text", f"CASE WHEN {_USAGE} THEN 'Standard' END"),
    "c_pricing_unit": ("text", f"CASE WHEN {_USAGE} THEN '1M Tokens' END"),
    "c_service_category": ("text", "'AI and Machine Learning'"),
    "c_zero": ("integer", "0"),
}


def _bucket_lines_sql(cells: CellSql) -> str:
    """Every line a group may have, in order, the adjustment last: a constant list of structs with
    the bucket (n, bucket, label, usage), its fixed cells and which x_* token columns count it.
    DuckDB folds the constant once, so a bucket's cells are made once for the whole file."""
    lines = []
    for n, bucket in enumerate((*FOCUS_BUCKETS, ADJUSTMENT)):
        name = _sql_text(bucket)
        fields = {"n": str(n), "bucket": name, "label": _sql_text(_BUCKET_LABELS.get(bucket, "")),
                  "usage": _USAGE.format(bucket=name)}
        fields |= {cell: cells.cell(kind, expr.format(bucket=name)) for cell, (kind, expr) in _BUCKET_CELLS.items()}
        fields |= {f"counts_{column}": str(bucket in counted).lower() for column, counted in _X_TOKENS.items()}
        lines.append("{" + ", ".join(f"'{field}': {value}" for field, value in fields.items()) + "}")
    return "[" + ", ".join(lines) + "]"


# A line `l` of `_focus_sql`: its cost (0 on an adjustment) and its description.
_COST = "CASE WHEN l.usage THEN CAST(l.tokens * l.rate AS DECIMAL(38, 12)) ELSE CAST(0 AS DECIMAL(38, 12)) END"
_DESCRIPTION = """CASE WHEN l.usage THEN l.model || ' ' || l.label || ' tokens on ' || l.provider_name
        ELSE 'billed minus computed cost of ' || CAST(l.billed_requests AS VARCHAR) || ' requests of '
            || l.model || ' on ' || l.provider_name || ' with a billed cost' END"""
_FOCUS_COLUMNS = {  # FOCUS column -> its cell, over a line `l` of `_focus_sql` (cells made above)
    "BilledCost": "CASE WHEN l.usage THEN l.c_cost ELSE l.c_difference END",
    "BillingAccountId": "l.c_provider",
    "BillingAccountName": "l.c_provider_name",
    "BillingCurrency": "l.c_currency",
    "BillingPeriodEnd": "l.c_period_end",
    "BillingPeriodStart": "l.c_period_start",
    "ChargeCategory": "l.c_category",
    "ChargeClass": "l.c_class",
    "ChargeDescription": "l.c_description",
    "ChargeFrequency": "l.c_frequency",
    "ChargePeriodEnd": "l.c_day_end",
    "ChargePeriodStart": "l.c_day_start",
    "ConsumedQuantity": "l.c_tokens",
    "ConsumedUnit": "l.c_consumed_unit",
    "ContractedCost": "l.c_cost",
    "ContractedUnitPrice": "l.c_unit_price",
    "EffectiveCost": "l.c_cost",
    "InvoiceIssuerName": "l.c_provider_name",
    "ListCost": "l.c_cost",
    "ListUnitPrice": "l.c_unit_price",
    "PricingCategory": "l.c_pricing_category",
    "PricingQuantity": "l.c_pricing_quantity",
    "PricingUnit": "l.c_pricing_unit",
    "ProviderName": "l.c_provider_name",
    "PublisherName": "l.c_publisher",
    "ResourceId": "l.c_api_key",
    "ResourceName": "l.c_api_key",
    "ResourceType": "l.c_resource_type",
    "ServiceCategory": "l.c_service_category",
    "ServiceName": "l.c_service",
    # As the Python row spells a missing provider: None.
    "SkuId": "l.c_sku",
    "SubAccountId": "l.c_sub_account",
    "SubAccountName": "l.c_sub_account",
    "Tags": "l.c_tags",
    "x_Bucket": "l.c_bucket",
    "x_Provider": "l.c_provider",
    "x_Model": "l.c_model",
    "x_Project": "l.c_project",
    "x_ApiKeyHint": "l.c_api_key",
    **{column: f"CASE WHEN l.counts_{column} THEN l.c_tokens ELSE l.c_zero END" for column in _X_TOKENS},
    "x_Unpriced": "l.c_unpriced",
}


def write_focus_csv(wh: Warehouse, path: Path, cells: CellSql, month: str, tz: str = "UTC",
                    filters: Filters | None = None) -> None:
    """The FOCUS CSV of a month (see `exports.focus_csv`, which writes the same bytes from `focus_lines`)
    written to `path` by DuckDB, each cell as `cells` spells it (`exports.CSV_SQL`)."""
    sql, params = _focus_sql(wh, month, tz, filters, cells)
    copy_csv(wh, sql, params, path, cells, made=tuple(_FOCUS_COLUMNS))


# ------------------------------------------------------------------ display only

def current_month(tz: str, now: datetime | None = None) -> str:
    """'YYYY-MM' of `now` (default: this moment) in the billing zone `tz`: the month to date."""
    return (now or datetime.now(UTC)).astimezone(zone(tz)).strftime("%Y-%m")


def default_month(months: Sequence[str], tz: str, start: datetime | None = None, end: datetime | None = None,
                  now: datetime | None = None) -> str | None:
    """The month a statement opens on: the one month the range [start, end) lies in, when it has data;
    else the last complete month in `tz` that has data; else the newest month with data."""
    if not months:
        return None
    z = zone(tz)
    if start is not None and end is not None:
        first, last = start.astimezone(z), (end - timedelta(microseconds=1)).astimezone(z)
        if first.strftime("%Y-%m") == last.strftime("%Y-%m") and first.strftime("%Y-%m") in months:
            return first.strftime("%Y-%m")
    this = current_month(tz, now)
    complete = [m for m in months if m < this]
    return max(complete) if complete else max(months)


def flagged(lines: Iterable[StatementLine]) -> list[StatementLine]:
    """The lines that need a look (billed and computed disagree beyond the thresholds)."""
    return [line for line in lines if line.flag]
