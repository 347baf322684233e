"""Prices in the warehouse, and the priced cache.

`prices` holds the catalog's rates and `model_map` what every logged (provider, model)
resolves to. Cost is a view of usage x prices (pricing.sql); `priced_cache` is that view
materialised, kept in step with writes: a batch of new rows is priced and appended as it
lands, and anything else that changes `requests` or the prices marks it stale (a version in
`settings`), so the next read rebuilds it or reads the view. `priced_rollup` holds the
cache's sums per quarter hour, for reads that only sum (see rollup_sql).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import TYPE_CHECKING

import duckdb

from pricing import Catalog, price_rows
from pricing.sql import PRICE_COLUMNS, priced_requests_sql

if TYPE_CHECKING:
    from dashboard.warehouse.connection import Warehouse


def sync_prices(wh: Warehouse, catalog: Catalog | None = None) -> None:
    """Load the catalog into `prices` and re-resolve every logged model (skipped when unchanged)."""
    if catalog is not None:
        wh.catalog = catalog
    rows = price_rows(wh.catalog)
    names = sorted((m.provider, m.id, m.aliases) for m in wh.catalog.models)
    digest = hashlib.sha256(repr((rows, names, sorted(wh.catalog.routes))).encode()).hexdigest()
    cur = wh.cursor()
    # fetchall, not fetchone: DuckDB refuses register() while a result is still open.
    current = cur.execute("SELECT value FROM settings WHERE key = 'prices_sha256'").fetchall()
    if current and current[0][0] == digest:
        return
    columns = {c: [str(getattr(r, c)) if isinstance(getattr(r, c), Decimal) else getattr(r, c) for r in rows]
               for c in PRICE_COLUMNS}
    # Lists unnested by DuckDB: building an Arrow table from Python lists would import pandas,
    # a second's start-up for a command-line import.
    unnested = ", ".join(f"unnest(${c})" for c in PRICE_COLUMNS)
    with wh.write_lock(), wh.transaction(cur):
        cur.execute("DELETE FROM prices")
        cur.execute(f"INSERT INTO prices SELECT {unnested}", columns)
        cur.execute("INSERT OR REPLACE INTO settings VALUES ('prices_sha256', ?)", [digest])
        # Another catalog may resolve logged names differently: map every pair again.
        cur.execute("DELETE FROM model_map")
        map_new_models(wh, cur)


def map_new_models(wh: Warehouse, cur: duckdb.DuckDBPyConnection) -> None:
    """Add to `model_map` every logged (provider, model) pair it lacks, resolved by the catalog."""
    pairs = cur.execute(
        "SELECT DISTINCT coalesce(provider, ''), model FROM requests "
        "EXCEPT SELECT provider, model FROM model_map"
    ).fetchall()
    if not pairs:
        return
    mapped = []
    for provider, model in pairs:
        entry = wh.catalog.find(model, provider or None)
        mapped.append((provider, model, entry.provider if entry else None, entry.id if entry else None))
    cur.executemany("INSERT INTO model_map VALUES (?, ?, ?, ?)", mapped)


def refresh_model_map(wh: Warehouse, full: bool = False) -> None:
    """Resolve (provider, model) pairs not yet mapped; `full` re-resolves every pair."""
    cur = wh.cursor()
    with wh.write_lock():
        if full:
            cur.execute("DELETE FROM model_map")
        map_new_models(wh, cur)


def priced_sql(wh: Warehouse, prices: str = "prices") -> str:
    """SELECT of every request with its cost columns (see pricing.sql.priced_requests_sql).

    With the warehouse's own prices this reads `priced_cache`, a materialised copy of
    that view kept in step with every write (new batches are appended; a price or
    catalog change, or a direct write, rebuilds it on the next read, unless the
    warehouse was opened with `cache=False`: then a stale cache leaves reads on the view). Cost is still a
    view of usage x prices: the cache is derived data, never edited by hand. Another
    price table (a what-if) always gets the live view.
    """
    if prices != "prices":
        return priced_requests_sql(prices=prices)
    return "SELECT * FROM priced_cache" if _cache_ready(wh) else priced_requests_sql()


def _cache_ready(wh: Warehouse) -> bool:
    """Whether the priced cache is fresh, after building it if it is stale and may be built here."""
    if cache_fresh(wh.cursor()):
        return True
    if wh.read_only or not wh.build_cache:
        return False
    # A write (an import) is running: answer from the view rather than wait for it to end.
    with wh.write_lock(wait=False) as held:
        if not held:
            return False
        refresh_priced_cache(wh)
    return True


def rollup_sql(wh: Warehouse) -> str | None:
    """SELECT of `priced_rollup` (see ROLLUP_KEYS) when it is fresh, else None: read `priced_sql` then.

    As `priced_sql`, it builds a stale cache where that is allowed. The rollup is built on its
    first read after the cache was (summing millions of priced rows takes seconds, which only
    the reads that want it pay), then appended to with every batch the cache takes: the cache
    is fresh and the rollup exists only while the rollup holds every priced request.
    """
    if not _cache_ready(wh):
        return None
    cur = wh.cursor()
    if not _has_rollup(cur):
        with wh.write_lock(wait=False) as held:
            if not held:
                return None
            with wh.transaction(cur):
                if cache_fresh(cur) and not _has_rollup(cur):
                    cur.execute(f"CREATE TABLE priced_rollup AS {_rollup_sql('priced_cache')}")
            if not _has_rollup(cur):
                return None
    return "SELECT * FROM priced_rollup"


def _has_rollup(cur: duckdb.DuckDBPyConnection) -> bool:
    tables = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'priced_rollup' AND NOT temporary")
    return bool(tables.fetchall()[0][0])


# The priced rollup: priced requests summed per quarter hour (UTC) and per value of every
# column a sum may be kept apart by or filtered on, except the user (dozens of users would make
# it as long as the requests). Every cost is computed per request before it is summed, and a
# group's rates are one key, so any sum over the rollup equals the same sum over the requests
# it holds, exactly. A quarter hour, because every time zone's offset and change of offset in
# the years a request may have (2000 to 2099) falls on one: a billing day in any zone, and an
# hour in whole-hour zones, is a whole number of slots. A request's `ts` becomes its slot's start.
ROLLUP_SLOT_S = 15 * 60
ROLLUP_KEYS = (
    "source", "provider", "model", "price_provider", "price_model", "project", "api_key", "tags", "currency",
    "price_currency", "price_window", "input_per_token", "cache_read_per_token", "cache_write_per_token",
    "cache_write_1h_per_token", "output_per_token", "reasoning_per_token", "unpriced", "approximate",
)
ROLLUP_SUMS = (
    "request_count", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "input_cost", "cache_read_cost", "cache_write_cost",
    "cache_write_1h_cost", "output_cost", "cost", "cost_low", "cost_high",
)


def _rollup_sql(priced: str, batch: int | None = None) -> str:
    """The rollup rows of the priced requests in table `priced` (of one batch, when given).

    Rows with a billed cost are kept apart from rows without, so `billed_cost` is the sum of
    a group's billed costs or NULL when none of its rows has one, as a sum over requests is.
    """
    where = "true" if batch is None else f"batch_id = {int(batch)}"
    keys = ", ".join(f'"{k}"' for k in ROLLUP_KEYS)
    sums = ", ".join(f'sum("{c}") AS "{c}"' for c in ROLLUP_SUMS)
    return f"""
        SELECT time_bucket(INTERVAL {ROLLUP_SLOT_S} SECOND, ts) AS ts, {keys},
            billed_cost IS NOT NULL AS has_billed_cost, {sums}, sum(billed_cost) AS billed_cost
        FROM {priced} WHERE {where}
        GROUP BY ALL
    """


def refresh_priced_cache(wh: Warehouse) -> None:
    """Rebuild the priced cache from the view when it is stale."""
    cur = wh.cursor()
    with wh.write_lock():
        if cache_fresh(cur):
            return
        with wh.transaction(cur):
            cur.execute(f"CREATE OR REPLACE TABLE priced_cache AS {priced_requests_sql()}")
            cur.execute("DROP TABLE IF EXISTS priced_rollup")  # built again when read (rollup_sql)
            _mark_fresh(cur)


def begin_batch(cur: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
    """A new batch id for an insert, and whether the priced cache is fresh before it (hold the write lock)."""
    batch = cur.execute("SELECT nextval('batch_ids')").fetchall()[0][0]
    return int(batch), cache_fresh(cur)


def after_batch(wh: Warehouse, cur: duckdb.DuckDBPyConnection, batch: int, was_fresh: bool,
                mapped: bool = False) -> None:
    """After an insert: map new model names (unless `mapped`), then price just the new rows into a fresh cache."""
    if not mapped:
        map_new_models(wh, cur)
    with wh.transaction(cur):
        bump_version(cur)
        if was_fresh:
            cur.execute(
                f"CREATE OR REPLACE TEMP VIEW batch_rows AS SELECT * FROM requests WHERE batch_id = {int(batch)}"
            )
            cur.execute(f"INSERT INTO priced_cache {priced_requests_sql(requests='batch_rows')}")
            if _has_rollup(cur):
                cur.execute(f"INSERT INTO priced_rollup {_rollup_sql('priced_cache', int(batch))}")
            _mark_fresh(cur)


_WRITES_REQUESTS = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|ALTER|DROP|TRUNCATE|CREATE)\b[^;]*\b(requests|request_rows|request_rows_lean|origins)\b",
    re.I | re.S)


def writes_requests(sql: str) -> bool:
    """Whether statement `sql` may change `requests` (and so leave the priced cache stale)."""
    return bool(_WRITES_REQUESTS.match(sql))


def _settings(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = cur.execute(
        "SELECT key, value FROM settings WHERE key IN ('prices_sha256', 'requests_version', 'priced_cache_token')"
    ).fetchall()
    return dict(rows)


# Bump when the columns of the cost view change, so a cache built by an older version is rebuilt.
PRICED_CACHE_VERSION = 5


def _token(values: dict[str, str]) -> str:
    return f"v{PRICED_CACHE_VERSION}:{values.get('prices_sha256', '')}:{values.get('requests_version', '0')}"


def cache_fresh(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether `priced_cache` holds every request, priced at the current prices."""
    values = _settings(cur)
    return values.get("priced_cache_token") == _token(values)


def _mark_fresh(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("INSERT OR REPLACE INTO settings VALUES ('priced_cache_token', ?)", [_token(_settings(cur))]).fetchall()


def bump_version(cur: duckdb.DuckDBPyConnection) -> None:
    """Record that `requests` changed: the priced cache is stale until priced again."""
    version = int(_settings(cur).get("requests_version", "0")) + 1
    cur.execute("INSERT OR REPLACE INTO settings VALUES ('requests_version', ?)", [str(version)]).fetchall()
