"""The SQL behind the dashboard pages: series over time, KPIs, group-bys, cache views, raw rows.

Every query runs over `queries.priced` (the filtered priced requests, aliased `q`), with
bound parameters only. Dimension and grain names come from the whitelists below, never
from a widget's text. Money comes back as Decimal; converting to float is the charts' job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from dashboard.errors import DashboardError
from dashboard.warehouse.db import Warehouse
from dashboard.warehouse.queries import DIMENSIONS, GRAINS, TOTALS, Filters, priced

# What the Explore page may group by, and the column each reads ("tag" unnests the tag list).
GROUPS = {k: v for k, v in DIMENSIONS.items() if k != "day"}
# The spend chart's split: a dimension, or "bucket" (input / output / cache read / cache write).
SPLITS = ("model", "bucket", "project", "api_key", "provider")
# Columns whose distinct values feed the sidebar filters.
FILTER_COLUMNS = {"provider": "provider", "model": "model", "project": "project", "api_key": "api_key"}
BUCKETS = {
    "input": "q.input_cost",
    "output": "q.output_cost",
    "cache read": "q.cache_read_cost",
    "cache write": "q.cache_write_cost + q.cache_write_1h_cost",
}
PROMPT_TOKENS = "q.input_tokens + q.cache_read_tokens + q.cache_write_tokens + q.cache_write_1h_tokens"
# Cache reads re-priced at the input rate: the money caching saved is this minus the real cost.
CACHE_AS_INPUT = "cache_as_input"
_CACHE_AS_INPUT_CTE = (
    f"WITH {CACHE_AS_INPUT} AS (SELECT * REPLACE (input_per_token AS cache_read_per_token) FROM prices) "
)


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


def _period(grain: str) -> str:
    return f"date_trunc('{_grain(grain)}', timezone($tz, q.ts))"


def _tagged(sql: str) -> str:
    """The priced rows once per tag (untagged rows once, with tag NULL) for grouping by tag."""
    return (
        f"SELECT t.*, unnest(CASE WHEN len(coalesce(t.tags, [])) = 0 THEN [NULL::VARCHAR] ELSE t.tags END) "
        f"AS tag FROM ({sql}) AS t"
    )


# ---------------------------------------------------------------------------------------- KPIs


def previous_period(filters: Filters) -> Filters | None:
    """The equal-length period just before the filter's (None when the filter has no bounds)."""
    if filters.start is None or filters.end is None:
        return None
    return replace(filters, start=filters.start - (filters.end - filters.start), end=filters.start)


@dataclass(frozen=True)
class Totals:
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    cost_usd: Decimal
    billed_usd: Decimal | None
    unpriced_requests: int
    cache_saved_usd: Decimal

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens + self.output_tokens

    @property
    def cache_hit_rate(self) -> float | None:
        """Token-weighted: cache reads over every prompt token, never an average of ratios."""
        prompt = self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
        return self.cache_read_tokens / prompt if prompt else None

    @property
    def cost_per_1k_requests_usd(self) -> Decimal | None:
        return self.cost_usd * 1000 / self.requests if self.requests else None


def totals(wh: Warehouse, filters: Filters) -> Totals:
    """Totals of the filtered period, with the money caching saved (cache reads at the input rate)."""
    sql, params = priced(wh, filters)
    row = wh.query(f"SELECT {TOTALS}, coalesce(sum(q.cache_read_cost), 0) FROM ({sql}) AS q", params).fetchone()
    as_input, params2 = priced(wh, filters, prices=CACHE_AS_INPUT)
    at_input = wh.query(
        f"{_CACHE_AS_INPUT_CTE} SELECT coalesce(sum(q.cache_read_cost), 0) FROM ({as_input}) AS q", params2
    ).fetchone()[0]
    return Totals(
        requests=int(row[0] or 0),
        input_tokens=int(row[1] or 0),
        cache_read_tokens=int(row[2] or 0),
        cache_write_tokens=int(row[3] or 0),
        output_tokens=int(row[4] or 0),
        cost_usd=row[6],
        billed_usd=row[7],
        unpriced_requests=int(row[8] or 0),
        cache_saved_usd=at_input - row[10],
    )


def change(current: float | Decimal | None, previous: float | Decimal | None) -> float | None:
    """Relative change against the previous period (None when there is nothing to compare with)."""
    if current is None or previous is None or previous == 0:
        return None
    return float((current - previous) / previous)


# ---------------------------------------------------------------------------------- over time


def spend_over_time(wh: Warehouse, filters: Filters, grain: str = "day", by: str = "model") -> pd.DataFrame:
    """Columns period, series, cost_usd (Decimal): spend per period split by a dimension or by bucket."""
    sql, params = priced(wh, filters)
    params["tz"] = filters.tz
    period = _period(grain)
    if by == "bucket":
        parts = " UNION ALL ".join(
            f"SELECT {period} AS period, '{name}' AS series, coalesce(sum({expr}), 0) AS cost_usd "
            f"FROM ({sql}) AS q GROUP BY 1"
            for name, expr in BUCKETS.items()
        )
        return _frame(wh.query(f"SELECT * FROM ({parts}) ORDER BY period, series", params))
    if by not in SPLITS:
        raise DashboardError(f"cannot split spend by {by!r}; choose one of {', '.join(SPLITS)}")
    column = _group(by)
    return _frame(wh.query(
        f"SELECT {period} AS period, coalesce(CAST({column} AS VARCHAR), '(none)') AS series, "
        f"coalesce(sum(q.cost), 0) AS cost_usd FROM ({sql}) AS q GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    ))


def cache_rate_over_time(wh: Warehouse, filters: Filters, grain: str = "day",
                         by_model: bool = False) -> pd.DataFrame:
    """Columns period, [model], cache_read_tokens, prompt_tokens, cache_hit_rate (token-weighted)."""
    sql, params = priced(wh, filters)
    params["tz"] = filters.tz
    keys = f"{_period(grain)} AS period" + (", q.model AS model" if by_model else "")
    n = 2 if by_model else 1
    group = ", ".join(str(i) for i in range(1, n + 1))
    return _frame(wh.query(
        f"""
        SELECT {keys}, sum(q.cache_read_tokens) AS cache_read_tokens, sum({PROMPT_TOKENS}) AS prompt_tokens,
               sum(q.cache_read_tokens) / nullif(sum({PROMPT_TOKENS}), 0) AS cache_hit_rate
        FROM ({sql}) AS q GROUP BY {group} ORDER BY {group}
        """,
        params,
    ))


def top(wh: Warehouse, filters: Filters, dimension: str, limit: int = 10) -> pd.DataFrame:
    """Columns key, requests, cost_usd: the dimension's values with the most spend."""
    column = _group(dimension)
    sql, params = priced(wh, filters)
    if dimension == "tag":
        sql = _tagged(sql)
    params["limit"] = int(limit)
    return _frame(wh.query(
        f"SELECT coalesce(CAST({column} AS VARCHAR), '(none)') AS key, sum(q.request_count) AS requests, "
        f"coalesce(sum(q.cost), 0) AS cost_usd FROM ({sql}) AS q GROUP BY 1 "
        f"ORDER BY cost_usd DESC, key LIMIT $limit",
        params,
    ))


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
        params["tz"] = filters.tz
        keys.append(f"{_period(grain)} AS period")
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    return _frame(wh.query(
        f"""
        SELECT {", ".join(keys)},
            sum(q.request_count) AS requests,
            sum(q.input_tokens) AS input_tokens,
            sum(q.cache_read_tokens) AS cache_read_tokens,
            sum(q.cache_write_tokens + q.cache_write_1h_tokens) AS cache_write_tokens,
            sum(q.output_tokens) AS output_tokens,
            coalesce(sum(q.cost), 0) AS cost_usd,
            sum(q.billed_cost) AS billed_usd,
            sum(CASE WHEN q.unpriced THEN q.request_count ELSE 0 END) AS unpriced_requests,
            sum(q.cache_read_tokens) / nullif(sum({PROMPT_TOKENS}), 0) AS cache_hit_rate,
            quantile_cont(q.latency_ms, 0.5) AS latency_p50_ms,
            quantile_cont(q.latency_ms, 0.95) AS latency_p95_ms,
            quantile_cont(q.latency_ms, 0.99) AS latency_p99_ms,
            quantile_cont(q.ttft_ms, 0.5) AS ttft_p50_ms,
            quantile_cont(q.ttft_ms, 0.95) AS ttft_p95_ms
        FROM ({sql}) AS q GROUP BY {group} ORDER BY cost_usd DESC, {group}
        """,
        params,
    ))


def raw_rows(wh: Warehouse, filters: Filters, page: int = 0, page_size: int = 100) -> pd.DataFrame:
    """One page of priced requests, newest first."""
    sql, params = priced(wh, filters)
    params.update(limit=int(page_size), offset=int(page) * int(page_size))
    return _frame(wh.query(
        f"""
        SELECT q.ts, q.provider, q.model, q.project, q.api_key, q."user", q.tags, q.input_tokens,
               q.cache_read_tokens, q.cache_write_tokens + q.cache_write_1h_tokens AS cache_write_tokens,
               q.output_tokens, q.cost AS cost_usd, q.billed_cost AS billed_usd, q.latency_ms, q.ttft_ms,
               q.status, q.source, q.request_id
        FROM ({sql}) AS q ORDER BY q.ts DESC, q.request_id LIMIT $limit OFFSET $offset
        """,
        params,
    ))


# -------------------------------------------------------------------------------------- cache


@dataclass(frozen=True)
class CacheSavings:
    cost_usd: Decimal  # as computed, cache reads at the cache-read rate
    cost_without_cache_usd: Decimal  # the same tokens with cache reads at the input rate
    cache_read_usd: Decimal
    cache_write_usd: Decimal

    @property
    def saved_usd(self) -> Decimal:
        return self.cost_without_cache_usd - self.cost_usd


def cache_savings(wh: Warehouse, filters: Filters) -> CacheSavings:
    sql, params = priced(wh, filters)
    cost, cache_read, cache_write = wh.query(
        f"SELECT coalesce(sum(q.cost), 0), coalesce(sum(q.cache_read_cost), 0), "
        f"coalesce(sum(q.cache_write_cost + q.cache_write_1h_cost), 0) FROM ({sql}) AS q",
        params,
    ).fetchone()
    as_input, params2 = priced(wh, filters, prices=CACHE_AS_INPUT)
    without = wh.query(
        f"{_CACHE_AS_INPUT_CTE} SELECT coalesce(sum(q.cost), 0) FROM ({as_input}) AS q", params2
    ).fetchone()[0]
    return CacheSavings(cost, without, cache_read, cache_write)


def cache_write_over_time(wh: Warehouse, filters: Filters, grain: str = "day") -> pd.DataFrame:
    """Columns period, model, cache_write_usd: spend on cache writes."""
    sql, params = priced(wh, filters)
    params["tz"] = filters.tz
    return _frame(wh.query(
        f"SELECT {_period(grain)} AS period, q.model AS model, "
        f"coalesce(sum(q.cache_write_cost + q.cache_write_1h_cost), 0) AS cache_write_usd "
        f"FROM ({sql}) AS q WHERE q.cache_write_tokens + q.cache_write_1h_tokens > 0 "
        f"GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    ))


def largest_uncached(wh: Warehouse, filters: Filters, limit: int = 20) -> pd.DataFrame:
    """The requests that sent the most prompt tokens at the full input rate."""
    sql, params = priced(wh, filters)
    params["limit"] = int(limit)
    return _frame(wh.query(
        f"""
        SELECT q.ts, q.provider, q.model, q.project, q.input_tokens, q.cache_read_tokens,
               q.cache_write_tokens + q.cache_write_1h_tokens AS cache_write_tokens, q.input_cost AS input_usd,
               q.cost AS cost_usd, q.request_id
        FROM ({sql}) AS q WHERE q.request_count = 1
        ORDER BY q.input_tokens DESC, q.ts DESC LIMIT $limit
        """,
        params,
    ))


# ------------------------------------------------------------------------ filters and imports


def distinct_values(wh: Warehouse, name: str) -> list[str]:
    """The values a sidebar filter offers (tags included), sorted."""
    if name == "tag":
        sql = "SELECT DISTINCT unnest(tags) AS v FROM requests"
    elif name in FILTER_COLUMNS:
        sql = f"SELECT DISTINCT {FILTER_COLUMNS[name]} AS v FROM requests"
    else:
        raise DashboardError(f"no filter named {name!r}; choose one of {', '.join([*FILTER_COLUMNS, 'tag'])}")
    return [r[0] for r in wh.query(f"SELECT v FROM ({sql}) WHERE v IS NOT NULL ORDER BY v").fetchall()]


def data_span(wh: Warehouse) -> tuple[datetime | None, datetime | None]:
    return tuple(wh.query("SELECT min(ts), max(ts) FROM requests").fetchone())  # type: ignore[return-value]


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
    rows = wh.query(
        "SELECT DISTINCT strftime(timezone($tz, ts), '%Y-%m') AS m FROM requests ORDER BY m DESC", {"tz": tz}
    ).fetchall()
    return [r[0] for r in rows]
