"""The filtered history as the forecasts see it: repriced on another route, price list or
cache hit rate, summed per day, and sampled request by request.

Reprice. "What would this period have cost ...?" is the cost SQL of `pricing.sql` run
twice over the same filtered requests: once as logged, once with substitutes in place of
its three inputs, joined request by request on (source, request_id):
- another route: a `model_map` that sends every logged (provider, model) to that route;
- another price list: its `price_rows` in a temporary `prices` table, and a temporary
  `model_map` resolving the logged names with that catalog (combined with a route, the
  route's rates come from that catalog);
- another cache hit rate: the requests with their prompt tokens re-split (see
  `RESPLIT_DOC`), priced on the route and price list of the other choices.
Temporary tables live on one cursor (DuckDB keeps them per connection) under unique
names, and are dropped when done. The substitute requests and the route's map are CTEs
with bound parameters.

A request without a price on one side is counted as unpriced on that side, never costed
at 0. `difference_usd` sums (what-if - actual) over the requests priced on both sides.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from dashboard.errors import DashboardError
from dashboard.metrics import prompt_tokens_sql
from dashboard.warehouse.connection import Warehouse, translate
from dashboard.warehouse.prices import load_prices
from dashboard.warehouse.queries import Filters, shown_model
from pricing import Catalog, ModelPrice
from pricing.sql import priced_requests_sql

__all__ = [
    "RESPLIT_DOC",
    "RepriceResult",
    "RepriceRow",
    "reprice",
    "request_samples",
    "traffic_history",
]

RESPLIT_DOC = (
    "Per request, prompt = input + cache read + cache write (5 min + 1 h); cache read = "
    "rate x prompt rounded half-even to a whole token; cache writes stay as logged as far as "
    "they fit beside the new reads (5-minute first); the rest is uncached input. The prompt "
    "size, and so the context tier, does not change."
)
RATE_PLACES = 12  # the scale of the rate's DECIMAL(18, 12)

# The requests with their prompt re-split to the hit rate $rate (see RESPLIT_DOC).
_RESPLIT_CTE = """
    {name} AS (
        SELECT * EXCLUDE (prompt_, read_, write_, write1h_) REPLACE (
            prompt_ - read_ - write_ - write1h_ AS input_tokens,
            read_ AS cache_read_tokens,
            write_ AS cache_write_tokens,
            write1h_ AS cache_write_1h_tokens
        )
        FROM (
            SELECT *,
                least(cache_write_tokens, prompt_ - read_) AS write_,
                least(cache_write_1h_tokens, prompt_ - read_ - least(cache_write_tokens, prompt_ - read_))
                    AS write1h_
            FROM (
                SELECT *, CAST(round_even(CAST($rate AS DECIMAL(18, 12)) * prompt_, 0) AS BIGINT) AS read_
                FROM (
                    SELECT *, {prompt} AS prompt_
                    FROM requests
                )
            )
        )
    )
"""
# Every logged (provider, model) priced as the route ($route_provider, $route_model).
_ROUTE_MAP_CTE = """
    {name} AS (
        SELECT DISTINCT coalesce(provider, '') AS provider, model,
            CAST($route_provider AS VARCHAR) AS price_provider, CAST($route_model AS VARCHAR) AS price_model
        FROM requests
    )
"""


@dataclass(frozen=True)
class RepriceRow:
    """One logged (provider, model): its requests as logged and on the what-if side."""

    provider: str | None
    model: str
    requests: int
    actual_usd: Decimal  # priced requests only
    whatif_usd: Decimal  # priced requests only
    difference_usd: Decimal  # what-if - actual, over requests priced on both sides
    actual_unpriced: int
    whatif_unpriced: int


@dataclass(frozen=True)
class RepriceResult:
    route: str | None
    price_list: str | None
    cache_hit_rate: Decimal | None
    rows: tuple[RepriceRow, ...]

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rows)

    @property
    def actual_usd(self) -> Decimal:
        return sum((r.actual_usd for r in self.rows), Decimal(0))

    @property
    def whatif_usd(self) -> Decimal:
        return sum((r.whatif_usd for r in self.rows), Decimal(0))

    @property
    def difference_usd(self) -> Decimal:
        return sum((r.difference_usd for r in self.rows), Decimal(0))

    @property
    def actual_unpriced(self) -> int:
        return sum(r.actual_unpriced for r in self.rows)

    @property
    def whatif_unpriced(self) -> int:
        return sum(r.whatif_unpriced for r in self.rows)

    def frame(self) -> pd.DataFrame:
        """One row per model, money as Decimal."""
        columns = ["provider", "model", "requests", "actual_usd", "whatif_usd", "difference_usd",
                   "actual_unpriced", "whatif_unpriced"]
        return pd.DataFrame([[getattr(r, c) for c in columns] for r in self.rows], columns=columns)


def _route_entry(route: str, catalog: Catalog) -> ModelPrice:
    provider, sep, model = route.strip().partition("/")
    if not sep or not provider or not model:
        raise DashboardError(f"route {route!r} is not of the form PROVIDER/MODEL, e.g. ourtoken/deepseek-v4-flash")
    return catalog.resolve(model, provider)


def _rate(rate: Decimal) -> str:
    rate = Decimal(str(rate))
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise DashboardError(f"a cache hit rate is a share between 0 and 1, got {rate}")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise DashboardError(f"a cache hit rate has at most {RATE_PLACES} decimals, got {rate}")
    return str(rate)


@contextmanager
def _cursor(wh: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    cur = wh.cursor()
    try:
        yield cur
    except duckdb.Error as e:
        raise translate(e, wh.path) from e
    finally:
        cur.close()


def _load_catalog(cur: duckdb.DuckDBPyConnection, catalog: Catalog, prices: str, model_map: str) -> None:
    """The catalog's price rows and its resolution of every logged name, as temporary tables."""
    cur.execute(f"CREATE TEMP TABLE {prices} AS SELECT * FROM prices LIMIT 0")
    load_prices(cur, catalog, prices)
    pairs = cur.execute("SELECT DISTINCT coalesce(provider, ''), model FROM requests").fetchall()
    found = [(p, m, catalog.find(m, p or None)) for p, m in pairs]
    mapped = {
        "provider": [p for p, _, _ in found],
        "model": [m for _, m, _ in found],
        "price_provider": [e.provider if e else None for _, _, e in found],
        "price_model": [e.id if e else None for _, _, e in found],
    }
    staged = f"{model_map}_staged"
    cur.register(staged, pa.table(mapped, schema=pa.schema([(k, pa.string()) for k in mapped])))
    try:
        cur.execute(f"CREATE TEMP TABLE {model_map} AS SELECT * FROM {staged}")
    finally:
        cur.unregister(staged)


def reprice(
    wh: Warehouse,
    filters: Filters,
    *,
    route: str | None = None,
    catalog: Catalog | None = None,
    cache_hit_rate: Decimal | None = None,
    price_list: str | None = None,
) -> RepriceResult:
    """Actual vs what-if cost of the filtered requests, per logged model and in total.

    `route` "provider/model" prices every request as that route; `catalog` is another price
    list (named `price_list` in the result, e.g. the overlay file's name); `cache_hit_rate`
    re-splits each request's prompt (RESPLIT_DOC). Any combination; none at all gives a
    what-if equal to the actual.
    """
    tag = f"reprice_{uuid.uuid4().hex[:16]}"
    prices, model_map, requests = "prices", "model_map", "requests"
    ctes: list[str] = []
    params: dict[str, Any] = {}
    if cache_hit_rate is not None:
        requests = f"{tag}_requests"
        ctes.append(_RESPLIT_CTE.format(name=requests, prompt=prompt_tokens_sql("requests")))
        params["rate"] = _rate(cache_hit_rate)
    with _cursor(wh) as cur:
        try:
            if catalog is not None:
                prices, model_map = f"{tag}_prices", f"{tag}_model_map"
                _load_catalog(cur, catalog, prices, model_map)
            if route is not None:
                entry = _route_entry(route, catalog or wh.catalog)
                model_map = f"{tag}_route_map"
                ctes.append(_ROUTE_MAP_CTE.format(name=model_map))
                params.update(route_provider=entry.provider, route_model=entry.id)
            whatif = priced_requests_sql(requests=requests, prices=prices, model_map=model_map)
            sql, filter_params = _reprice_sql(ctes, whatif, filters)
            rows = cur.execute(sql, params | filter_params).fetchall()
        finally:
            if catalog is not None:
                for name in (f"{tag}_prices", f"{tag}_model_map"):
                    cur.execute(f"DROP TABLE IF EXISTS {name}")
    return RepriceResult(
        route=route,
        price_list=price_list if catalog is not None else None,
        cache_hit_rate=None if cache_hit_rate is None else Decimal(str(cache_hit_rate)),
        rows=tuple(
            RepriceRow(p, m, int(n), a, w, d, int(ua), int(uw)) for p, m, n, a, w, d, ua, uw in rows
        ),
    )


def _reprice_sql(ctes: list[str], whatif: str, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The SELECT of RepriceRow values: the filtered requests priced as they are and by `whatif`, per model."""
    where_a, params = filters.where("a")
    where_w, _ = filters.where("w")
    with_clause = f"WITH {', '.join(ctes)}" if ctes else ""
    return f"""
        {with_clause}
        SELECT a.provider, {shown_model("a")} AS model,
            sum(a.request_count),
            coalesce(sum(a.cost), 0),
            coalesce(sum(w.cost), 0),
            coalesce(sum(w.cost - a.cost), 0),
            sum(CASE WHEN a.unpriced THEN a.request_count ELSE 0 END),
            sum(CASE WHEN w.unpriced THEN w.request_count ELSE 0 END)
        FROM ({priced_requests_sql()}) AS a
        JOIN ({whatif}) AS w ON w.source = a.source AND w.request_id = a.request_id
        WHERE {where_a} AND {where_w}
        GROUP BY a.provider, {shown_model("a")}
        ORDER BY 4 DESC, a.provider NULLS LAST, 2
    """, params


# ------------------------------------------------------------------------ forecast inputs

HISTORY_COLUMNS = (
    "day", "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens",
)
SAMPLE_COLUMNS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
MAX_SAMPLES = 20_000


def _filtered_requests(filters: Filters) -> tuple[str, dict[str, Any]]:
    where, params = filters.where("r")
    params["tz"] = filters.tz
    return f"SELECT r.*, CAST(timezone($tz, r.ts) AS DATE) AS day FROM requests AS r WHERE {where}", params


def traffic_history(wh: Warehouse, filters: Filters) -> pd.DataFrame:
    """Requests and disjoint token sums per day (in the filter's zone), days without traffic as 0.

    Columns HISTORY_COLUMNS (cache writes of both durations in `cache_write_tokens`), the
    shape `forecasts.scenario.inputs_from_history` reads.
    """
    sql, params = _filtered_requests(filters)
    rows = wh.query(
        f"""
        SELECT q.day, sum(q.request_count), sum(q.input_tokens), sum(q.cache_read_tokens),
            sum(q.cache_write_tokens + q.cache_write_1h_tokens), sum(q.output_tokens), sum(q.reasoning_tokens)
        FROM ({sql}) AS q GROUP BY q.day ORDER BY q.day
        """,
        params,
    ).fetchall()
    frame = pd.DataFrame([[r[0], *(int(v) for v in r[1:])] for r in rows], columns=list(HISTORY_COLUMNS))
    if frame.empty:
        return frame
    full = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D").date
    return frame.set_index("day").reindex(full, fill_value=0).rename_axis("day").reset_index()


def request_samples(wh: Warehouse, filters: Filters, limit: int = MAX_SAMPLES, seed: int = 0) -> pd.DataFrame:
    """At most `limit` single requests of the filtered history, drawn with a fixed seed.

    Columns SAMPLE_COLUMNS as int64 (cache writes of both durations together). Rows that
    aggregate several requests (`request_count` != 1) are left out: their tokens are not
    one request's. Reservoir sampling, repeatable for the same data, limit and seed.
    """
    limit, seed = int(limit), int(seed)
    if not 1 <= limit <= 1_000_000:
        raise DashboardError(f"sample between 1 and 1,000,000 requests, got {limit}")
    if not 0 <= seed < 2**31:
        raise DashboardError(f"a sample seed is a whole number from 0 to {2**31 - 1}, got {seed}")
    sql, params = _filtered_requests(filters)
    # DuckDB's grammar takes no parameters in USING SAMPLE: the two values are checked integers.
    cur = wh.query(
        f"""
        SELECT q.input_tokens, q.cache_read_tokens, q.cache_write_tokens + q.cache_write_1h_tokens,
            q.output_tokens, q.reasoning_tokens
        FROM (SELECT * FROM ({sql}) AS f WHERE f.request_count = 1) AS q
        USING SAMPLE reservoir({limit} ROWS) REPEATABLE ({seed})
        """,
        params,
    )
    rows = cur.fetchall()
    return pd.DataFrame(rows, columns=list(SAMPLE_COLUMNS)).astype("int64")
