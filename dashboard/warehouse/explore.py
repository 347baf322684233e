"""The SQL behind the dashboard pages: series over time, KPIs, group-bys, cache views, raw rows.

Every query runs over `queries.priced` (the filtered priced requests, aliased `q`), with
bound parameters only. Dimension and grain names come from the whitelists below, never
from a widget's text. Money comes back as Decimal; converting to float is the charts' job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from dashboard import metrics
from dashboard.errors import DashboardError
from dashboard.warehouse.connection import Warehouse
from dashboard.warehouse.queries import (
    APPROXIMATE,
    BLANK,
    DIMENSIONS,
    GRAINS,
    Filters,
    local_trunc_sql,
    priced,
    priced_groups,
    shown_model,
)
from pricing.sql import priced_requests_sql

# What the Explore page may group by, and the column each reads ("tag" unnests the tag list).
GROUPS = {k: v for k, v in DIMENSIONS.items() if k != "day"}
# The spend chart's split: a dimension, or "bucket" (input / output / cache read / cache write).
SPLITS = ("model", "bucket", "project", "api_key", "provider")
# The sidebar's filters, in the order their values are offered.
FILTER_NAMES = ("provider", "model", "project", "api_key", "tag")
BUCKETS = {
    "input": "q.input_cost",
    "output": "q.output_cost",
    "cache read": "q.cache_read_cost",
    "cache write": "q.cache_write_cost + q.cache_write_1h_cost",
}


def _grain(grain: str) -> str:
    if grain not in GRAINS:
        raise DashboardError(f"unknown granularity {grain!r}; choose one of {', '.join(GRAINS)}")
    return grain


def _group(name: str) -> str:
    if name not in GROUPS:
        raise DashboardError(f"cannot group by {name!r}; choose one of {', '.join(GROUPS)}")
    return GROUPS[name]


def _frame(cursor: Any) -> pd.DataFrame:
    """Rows as a DataFrame keeping DuckDB's Python values (Decimal stays Decimal)."""
    columns = [d[0] for d in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=columns)


def _period(wh: Warehouse, grain: str, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The local period of row `q` and its parameters (see queries.local_trunc_sql: hours and days
    without a per-row conversion)."""
    if _grain(grain) in ("hour", "day"):
        return local_trunc_sql("q.ts", grain, filters.tz, filters.start, filters.end)
    return f"date_trunc('{grain}', timezone($tz, q.ts))", {"tz": filters.tz}


def _tagged(sql: str) -> str:
    """The priced rows once per tag (untagged rows once, with tag NULL) for grouping by tag."""
    return (
        f"SELECT t.*, unnest(CASE WHEN len(coalesce(t.tags, [])) = 0 THEN [NULL::VARCHAR] ELSE t.tags END) "
        f"AS tag FROM ({sql}) AS t"
    )


# ------------------------------------------------------------------------------------- rollup
# The Overview and Cache pages read one rollup: a single priced scan of the range and the
# equal range before it, summed per hour or day (in the filter's zone), provider, model,
# project and key. Pricing is the costly part of a scan, so every KPI, series and top-N of
# those pages is derived from this small frame (Decimal sums stay exact in pandas).

ROLLUP_KEYS = ("provider", "model", "project", "api_key")
ROLLUP_SUMS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
               "input_usd", "cache_read_usd", "cache_write_usd", "output_usd", "cost_usd", "unpriced_requests",
               "cache_reads_at_input_usd", "approximate_usd")


def previous_period(filters: Filters) -> Filters | None:
    """The equal-length period just before the filter's (None when the filter has no bounds)."""
    if filters.start is None or filters.end is None:
        return None
    return replace(filters, start=filters.start - (filters.end - filters.start), end=filters.start)


def _scan_filters(filters: Filters) -> Filters:
    previous = previous_period(filters)
    return replace(filters, start=previous.start) if previous else filters


def rollup(wh: Warehouse, filters: Filters, grain: str = "day") -> pd.DataFrame:
    """Columns bucket (local hour or day), previous (bool), ROLLUP_KEYS, ROLLUP_SUMS, billed_usd.

    The equal period before a bounded range (`previous`) feeds only the KPIs' totals: its rows are
    one per route, with no bucket, project or key (None), which spares half the scan most of its
    grouping."""
    unit = "hour" if _grain(grain) == "hour" else "day"
    scan = _scan_filters(filters)
    bounded = filters.start is not None and filters.end is not None
    bucket, bucket_params = local_trunc_sql("q.ts", unit, filters.tz, filters.start, filters.end)
    keys = {
        "bucket": bucket,
        "previous": "q.ts < $cur_start",
        "project": "q.project",
        "api_key": "q.api_key",
    }
    if bounded:
        keys.update({k: f"CASE WHEN q.ts >= $cur_start THEN {keys[k]} END" for k in ("bucket", "project", "api_key")})
    else:
        keys["previous"] = "false"
    # Requests summed and priced per price first (queries.priced_groups), then per rollup row.
    sql, params = priced_groups(wh, scan, keys)
    params |= bucket_params
    if bounded:
        params["cur_start"] = filters.start
    return _frame(wh.query(
        f"""
        SELECT q.bucket, q.previous,
            coalesce(q.provider, '(none)') AS provider, {shown_model("q")} AS model,
            if(q.previous, NULL, coalesce(q.project, '(none)')) AS project,
            if(q.previous, NULL, coalesce(q.api_key, '(none)')) AS api_key,
            CAST(sum(q.request_count) AS BIGINT) AS requests,
            CAST(sum(q.input_tokens) AS BIGINT) AS input_tokens,
            CAST(sum(q.cache_read_tokens) AS BIGINT) AS cache_read_tokens,
            CAST(sum(q.cache_write_tokens + q.cache_write_1h_tokens) AS BIGINT) AS cache_write_tokens,
            CAST(sum(q.output_tokens) AS BIGINT) AS output_tokens,
            coalesce(sum(q.input_cost), 0) AS input_usd,
            coalesce(sum(q.cache_read_cost), 0) AS cache_read_usd,
            coalesce(sum(q.cache_write_cost + q.cache_write_1h_cost), 0) AS cache_write_usd,
            coalesce(sum(q.output_cost), 0) AS output_usd,
            coalesce(sum(q.cost), 0) AS cost_usd,
            sum(q.billed_cost) AS billed_usd,
            CAST(sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END) AS BIGINT) AS unpriced_requests,
            coalesce(sum({metrics.cache_reads_at_input_sql()}), 0) AS cache_reads_at_input_usd,
            {APPROXIMATE}
        FROM ({sql}) AS q GROUP BY ALL
        """,
        params,
    ))


def _current(roll: pd.DataFrame) -> pd.DataFrame:
    return roll[~roll["previous"].astype(bool)] if len(roll) else roll


def _period_of(buckets: pd.Series, grain: str) -> pd.Series:
    """Re-truncate local hour/day buckets to the grain (weeks start on Monday, as in DuckDB)."""
    ts = pd.to_datetime(buckets)
    if grain == "week":
        return (ts - pd.to_timedelta(ts.dt.day_of_week, unit="D")).dt.normalize()
    if grain == "month":
        return ts.dt.to_period("M").dt.to_timestamp()
    return ts.dt.floor("h") if grain == "hour" else ts.dt.normalize()


def _sum(frame: pd.DataFrame, column: str) -> Any:
    return sum(frame[column].tolist(), Decimal(0) if column.endswith("_usd") else 0)


@dataclass(frozen=True)
class Totals:
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int  # both durations
    output_tokens: int
    cost_usd: Decimal
    billed_usd: Decimal | None
    unpriced_requests: int
    cache_saved_usd: Decimal
    cache_read_usd: Decimal = Decimal(0)
    cache_write_usd: Decimal = Decimal(0)

    @property
    def prompt_tokens(self) -> int:
        return metrics.prompt_tokens(self.input_tokens, self.cache_read_tokens, self.cache_write_tokens)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    @property
    def cache_hit_rate(self) -> float | None:
        rate = metrics.cache_hit_rate(self.cache_read_tokens, self.prompt_tokens)
        return None if rate is None else float(rate)

    @property
    def cost_per_1k_requests_usd(self) -> Decimal | None:
        return metrics.cost_per_1k_requests_usd(self.cost_usd, self.requests)

    @property
    def cost_without_cache_usd(self) -> Decimal:
        """The same traffic with every cache read billed at the input rate."""
        return self.cost_usd + self.cache_saved_usd


def totals_of(roll: pd.DataFrame) -> Totals:
    billed = [v for v in roll["billed_usd"].tolist() if v is not None] if len(roll) else []
    cache_read_usd = _sum(roll, "cache_read_usd") if len(roll) else Decimal(0)
    cache_reads_at_input_usd = _sum(roll, "cache_reads_at_input_usd") if len(roll) else Decimal(0)
    return Totals(
        **{c: int(_sum(roll, c)) if len(roll) else 0 for c in ("requests", "input_tokens", "cache_read_tokens",
                                                             "cache_write_tokens", "output_tokens",
                                                             "unpriced_requests")},
        cost_usd=_sum(roll, "cost_usd") if len(roll) else Decimal(0),
        billed_usd=sum(billed, Decimal(0)) if billed else None,
        cache_saved_usd=metrics.cache_savings_usd(cache_reads_at_input_usd, cache_read_usd),
        cache_read_usd=cache_read_usd,
        cache_write_usd=_sum(roll, "cache_write_usd") if len(roll) else Decimal(0),
    )


def kpis(roll: pd.DataFrame, bounded: bool) -> tuple[Totals, Totals | None]:
    """Totals of the range and (for a bounded range) of the equal range before it."""
    current = totals_of(_current(roll))
    if not bounded:
        return current, None
    return current, totals_of(roll[roll["previous"].astype(bool)] if len(roll) else roll)


def totals(wh: Warehouse, filters: Filters) -> Totals:
    """Totals of the filtered range, with the money caching saved (cache reads at the input rate)."""
    return kpis(rollup(wh, filters), False)[0]


def approximate_of(roll: pd.DataFrame) -> tuple[Decimal, Decimal]:
    """(approximate, computed) cost of the range: the first the part of the second from rows covering a
    span inside which the price changes (queries.APPROXIMATE)."""
    cur = _current(roll)
    if cur.empty:
        return Decimal(0), Decimal(0)
    return _sum(cur, "approximate_usd"), _sum(cur, "cost_usd")


def change(current: float | Decimal | None, previous: float | Decimal | None) -> float | None:
    """Relative change against the previous period (None when there is nothing to compare with)."""
    if current is None or previous is None or previous == 0:
        return None
    return float((current - previous) / previous)


def spend_over_time(roll: pd.DataFrame, grain: str = "day", by: str = "model") -> pd.DataFrame:
    """Columns period, series, cost_usd (Decimal): spend per period split by a dimension or by bucket."""
    if by not in SPLITS:
        raise DashboardError(f"cannot split spend by {by!r}; choose one of {', '.join(SPLITS)}")
    cur = _current(roll)
    if cur.empty:
        return pd.DataFrame(columns=["period", "series", "cost_usd"])
    cur = cur.assign(period=_period_of(cur["bucket"], _grain(grain)))
    if by == "bucket":
        columns = {"input": "input_usd", "output": "output_usd", "cache read": "cache_read_usd",
                   "cache write": "cache_write_usd"}
        parts = [cur.groupby("period")[col].agg(lambda v: sum(v, Decimal(0))).rename("cost_usd").reset_index()
                 .assign(series=name) for name, col in columns.items()]
        out = pd.concat(parts, ignore_index=True)
    else:
        out = (cur.groupby(["period", by])["cost_usd"].agg(lambda v: sum(v, Decimal(0))).reset_index()
               .rename(columns={by: "series"}))
    return out[["period", "series", "cost_usd"]].sort_values(["period", "series"], ignore_index=True)


def cache_rate_over_time(roll: pd.DataFrame, grain: str = "day", by_model: bool = False) -> pd.DataFrame:
    """Columns period, [model], cache_read_tokens, prompt_tokens, cache_hit_rate (token-weighted)."""
    keys = ["period", "model"] if by_model else ["period"]
    cur = _current(roll)
    if cur.empty:
        return pd.DataFrame(columns=[*keys, "cache_read_tokens", "prompt_tokens", "cache_hit_rate"])
    # The rollup's cache_write_tokens holds both write durations.
    cur = cur.assign(period=_period_of(cur["bucket"], _grain(grain)),
                     prompt_tokens=metrics.prompt_tokens(cur["input_tokens"], cur["cache_read_tokens"],
                                                         cur["cache_write_tokens"]))
    out = cur.groupby(keys)[["cache_read_tokens", "prompt_tokens"]].sum().reset_index()
    rates = [metrics.cache_hit_rate(r, p) for r, p in zip(out["cache_read_tokens"], out["prompt_tokens"], strict=True)]
    out["cache_hit_rate"] = pd.Series([None if r is None else float(r) for r in rates], index=out.index, dtype=float)
    return out.sort_values(keys, ignore_index=True)


def top(roll: pd.DataFrame, dimension: str, limit: int = 10) -> pd.DataFrame:
    """Columns key, requests, cost_usd: the dimension's values with the most spend."""
    if dimension not in ROLLUP_KEYS:
        raise DashboardError(f"no top list by {dimension!r}; choose one of {', '.join(ROLLUP_KEYS)}")
    cur = _current(roll)
    if cur.empty:
        return pd.DataFrame(columns=["key", "requests", "cost_usd"])
    out = cur.groupby(dimension).agg(requests=("requests", "sum"),
                                     cost_usd=("cost_usd", lambda v: sum(v, Decimal(0)))).reset_index()
    out = out.rename(columns={dimension: "key"})
    return out.sort_values(["cost_usd", "key"], ascending=[False, True], ignore_index=True).head(limit)


def cache_write_over_time(roll: pd.DataFrame, grain: str = "day") -> pd.DataFrame:
    """Columns period, model, cache_write_usd: spend on cache writes."""
    cur = _current(roll)
    cur = cur[cur["cache_write_tokens"] > 0] if len(cur) else cur
    if cur.empty:
        return pd.DataFrame(columns=["period", "model", "cache_write_usd"])
    cur = cur.assign(period=_period_of(cur["bucket"], _grain(grain)))
    return (cur.groupby(["period", "model"])["cache_write_usd"].agg(lambda v: sum(v, Decimal(0))).reset_index()
            .sort_values(["period", "model"], ignore_index=True))


# ------------------------------------------------------------------------------------ explore


def group_by(wh: Warehouse, filters: Filters, dimensions: tuple[str, ...], grain: str | None = None) -> pd.DataFrame:
    """One row per combination of (up to two) dimensions and, optionally, a time period.

    Columns: the dimensions, [period], requests, tokens per bucket, cost_usd, billed_usd,
    cache_hit_rate, latency p50/p95/p99 and TTFT p50/p95 (NULL where the logs have none).
    """
    if not dimensions or len(dimensions) > 2 or len(set(dimensions)) != len(dimensions):
        raise DashboardError("group by one or two different dimensions")
    sql, params = priced(wh, filters)
    if "tag" in dimensions:
        sql = _tagged(sql)
    keys = [f"coalesce(CAST({_group(d)} AS VARCHAR), '(none)') AS {d}" for d in dimensions]
    if grain:
        period, period_params = _period(wh, grain, filters)
        params |= period_params
        keys.append(f"{period} AS period")
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    return _frame(wh.query(
        f"""
        SELECT {", ".join(keys)},
            sum(q.request_count) AS requests,
            sum(q.input_tokens) AS input_tokens,
            sum(q.cache_read_tokens) AS cache_read_tokens,
            sum(q.cache_write_tokens + q.cache_write_1h_tokens) AS cache_write_tokens,
            sum(q.output_tokens) AS output_tokens,
            sum(q.cost) AS cost_usd,  -- NULL when no request of the group has a price
            sum(q.billed_cost) AS billed_usd,
            sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END) AS unpriced_requests,
            {metrics.cache_hit_rate_sql()} AS cache_hit_rate,
            quantile_cont(q.latency_ms, 0.5) AS latency_p50_ms,
            quantile_cont(q.latency_ms, 0.95) AS latency_p95_ms,
            quantile_cont(q.latency_ms, 0.99) AS latency_p99_ms,
            quantile_cont(q.ttft_ms, 0.5) AS ttft_p50_ms,
            quantile_cont(q.ttft_ms, 0.95) AS ttft_p95_ms
        FROM ({sql}) AS q GROUP BY {group} ORDER BY cost_usd DESC NULLS LAST, {group}
        """,
        params,
    ))


def _picked(filters: Filters, order: str, limit: int, offset: int = 0,
            where: str = "true") -> tuple[str, str, dict[str, Any]]:
    """(WITH clause, priced SQL over it, params): pick the rows first (cheap), then price only them."""
    clauses, params = filters.where("r")
    params.update(limit=int(limit), offset=int(offset))
    cte = (f"WITH picked AS (SELECT * FROM requests AS r WHERE {clauses} AND {where} "
           f"ORDER BY {order} LIMIT $limit OFFSET $offset)")
    return cte, priced_requests_sql(requests="picked"), params


def raw_rows(wh: Warehouse, filters: Filters, page: int = 0, page_size: int = 100) -> pd.DataFrame:
    """One page of priced requests, newest first."""
    cte, sql, params = _picked(filters, "r.ts DESC, r.request_id", page_size, page * page_size)
    return _frame(wh.query(
        f"""
        {cte} SELECT q.ts, q.provider, q.model, q.project, q.api_key, q."user", q.tags, q.input_tokens,
               q.cache_read_tokens, q.cache_write_tokens + q.cache_write_1h_tokens AS cache_write_tokens,
               q.output_tokens, q.cost AS cost_usd, q.billed_cost AS billed_usd, q.latency_ms, q.ttft_ms,
               q.status, q.source, q.request_id
        FROM ({sql}) AS q ORDER BY q.ts DESC, q.request_id
        """,
        params,
    ))


def largest_uncached(wh: Warehouse, filters: Filters, limit: int = 20) -> pd.DataFrame:
    """The requests that sent the most prompt tokens at the full input rate."""
    cte, sql, params = _picked(filters, "r.input_tokens DESC, r.ts DESC", limit, where="r.request_count = 1")
    return _frame(wh.query(
        f"""
        {cte} SELECT q.ts, q.provider, q.model, q.project, q.input_tokens, q.cache_read_tokens,
               q.cache_write_tokens + q.cache_write_1h_tokens AS cache_write_tokens,
               q.input_cost AS input_usd, q.cost AS cost_usd, q.request_id
        FROM ({sql}) AS q ORDER BY q.input_tokens DESC, q.ts DESC
        """,
        params,
    ))


# ------------------------------------------------------------------------ filters and imports


def filter_name(name: str) -> str:
    """`name` when it names a sidebar filter (FILTER_NAMES), else a DashboardError listing them."""
    if name not in FILTER_NAMES:
        raise DashboardError(f"no filter named {name!r}; choose one of {', '.join(FILTER_NAMES)}")
    return name


def filter_values(wh: Warehouse) -> dict[str, list[str]]:
    """The values each sidebar filter offers (FILTER_NAMES), sorted, BLANK first where some requests
    have none: a model as the pages show it (queries.shown_model), a tag from any request's list.

    One pass over the requests for every filter but the tags, whose lists are unnested apart (hashing
    whole lists first costs twice as much); whether a request has no tag stops at the first one."""
    row = wh.query(
        """
        WITH seen AS MATERIALIZED (
            SELECT list(DISTINCT provider) AS provider, list(DISTINCT project) AS project,
                list(DISTINCT api_key) AS api_key, list(DISTINCT struct_pack(provider, model)) AS routes
            FROM requests
        )
        SELECT seen.provider, seen.project, seen.api_key,
            (SELECT list(DISTINCT coalesce(m.price_model, r.model))
             FROM (SELECT unnest(routes, recursive := true) FROM seen) AS r
             LEFT JOIN model_map AS m ON m.provider = coalesce(r.provider, '') AND m.model = r.model) AS model,
            (SELECT list(DISTINCT t) FROM (SELECT unnest(tags) AS t FROM requests)) AS tag,
            EXISTS (SELECT 1 FROM requests WHERE len(coalesce(tags, [])) = 0) AS untagged
        FROM seen
        """
    ).fetchone()
    provider, project, api_key, model, tag, untagged = row
    found = {"provider": provider, "model": model, "project": project, "api_key": api_key,
             "tag": [*(tag or []), *([None] if untagged else [])]}
    out = {}
    for name in FILTER_NAMES:
        values = {v or None for v in found[name] or []}  # '' shows as no value, like NULL
        out[name] = [BLANK] * (None in values) + sorted(v for v in values if v is not None)
    return out


def distinct_values(wh: Warehouse, name: str) -> list[str]:
    """The values one sidebar filter offers (see filter_values)."""
    return filter_values(wh)[filter_name(name)]


def data_span(wh: Warehouse) -> tuple[datetime | None, datetime | None]:
    return tuple(wh.query("SELECT min(ts), max(ts) FROM requests").fetchone())  # type: ignore[return-value]


def live_call_log(wh: Warehouse, limit: int = 50) -> pd.DataFrame:
    """The newest recorded live calls with their outcome, failed ones included (migration 8)."""
    return _frame(wh.query(
        "SELECT called_at, base_url, provider, model, status, ok, error_kind, error, attempts, latency_ms "
        "FROM live_calls ORDER BY called_at DESC LIMIT ?", [int(limit)]))


def import_history(wh: Warehouse, limit: int = 200) -> pd.DataFrame:
    return _frame(wh.query(
        "SELECT import_id, file_name, format, source, rows_added, rows_duplicate, rows_rejected, started_at, "
        "finished_at, status, message FROM imports ORDER BY import_id DESC LIMIT ?",
        [int(limit)],
    ))


def rejected_rows(wh: Warehouse, import_id: int) -> pd.DataFrame:
    return _frame(wh.query(
        "SELECT line, reason, raw FROM rejected_rows WHERE import_id = ? ORDER BY line", [int(import_id)]
    ))


def decline_demo(wh: Warehouse) -> None:
    """Remember that demo data was cleared, so an empty warehouse is not refilled on the next start."""
    wh.query("INSERT OR REPLACE INTO settings VALUES ('demo_declined', 'true')")


def demo_declined(wh: Warehouse) -> bool:
    row = wh.query("SELECT value FROM settings WHERE key = 'demo_declined'").fetchone()
    return bool(row and row[0] == "true")


def months_with_data(wh: Warehouse, tz: str) -> list[str]:
    """'YYYY-MM' months (in zone `tz`) that have requests, newest first."""
    first, last = wh.query("SELECT min(ts), max(ts) FROM requests").fetchone()
    if first is None:
        return []
    # The distinct local days first (by arithmetic on the zone's offsets where the span allows),
    # then their months: a zone conversion and a text per request cost ten times as much.
    day, params = local_trunc_sql("ts", "day", tz, first, last + timedelta(microseconds=1))
    rows = wh.query(
        f"SELECT DISTINCT strftime(d, '%Y-%m') AS m FROM (SELECT DISTINCT {day} AS d FROM requests) ORDER BY m DESC",
        params,
    ).fetchall()
    return [r[0] for r in rows]
