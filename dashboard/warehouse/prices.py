"""Prices in the warehouse, and the priced cache.

`prices` holds the catalog's rates and `model_map` what every logged (provider, model)
resolves to. Cost is a view of usage x prices (pricing.sql); `priced_cache` is that view
materialised. A write of new rows into a current cache records its batch as pending
(`priced_cache_pending`) rather than price it, which would cost about as much as the write
itself: reads take the cache with just the pending rows priced live, the same money, until
the cache takes them in. Anything else that changes `requests` or the prices marks the cache
stale (a version in `settings`), and reads answer from the view. Catching up, or building
the cache afresh, is a write of its own (`refresh_priced_cache`), which the app runs behind
its pages.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import importlib
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pricing import Catalog, price_bands
from pricing.sql import PRICE_COLUMNS, RATES, priced_requests_sql

if TYPE_CHECKING:
    from dashboard.warehouse.connection import Warehouse


def sync_prices(wh: Warehouse, catalog: Catalog | None = None) -> None:
    """Load the catalog into `prices` and re-resolve every logged model (skipped when unchanged)."""
    if catalog is not None:
        wh.catalog = catalog
    digest = catalog_digest(wh.catalog)
    cur = wh.cursor()
    # fetchall, not fetchone: DuckDB refuses register() while a result is still open.
    current = cur.execute("SELECT value FROM settings WHERE key = 'prices_sha256'").fetchall()
    if current and current[0][0] == digest:
        return
    with wh.write_lock(), wh.transaction(cur):
        cur.execute("DELETE FROM prices")
        load_prices(cur, wh.catalog, "prices")
        cur.execute("INSERT OR REPLACE INTO settings VALUES ('prices_sha256', ?)", [digest])
        # Another catalog may resolve logged names differently: map every pair again.
        cur.execute("DELETE FROM model_map")
        map_new_models(wh, cur)


# A band's fields, as PRICE_COLUMNS names them (its hours of the week become `weekday`, `hour`).
_BAND_FIELDS = (*(c for c in PRICE_COLUMNS if c not in ("weekday", "hour")), "slots")


def load_prices(cur: duckdb.DuckDBPyConnection, catalog: Catalog, table: str) -> None:
    """Insert the catalog's price rows into `table` (a table of PRICE_COLUMNS).

    Python hands DuckDB one row per band (tens of rows a model at most), as lists it unnests,
    and DuckDB spreads each band over its hours of the week: the ten thousand rows of the
    whole catalog never pass through Python. Rates go as text, which the DECIMAL(18, 12)
    columns read exactly.
    """
    bands = price_bands(catalog)
    columns = {f: [str(v) if isinstance(v := getattr(b, f), Decimal) else v for b in bands] for f in _BAND_FIELDS}
    unnested = ", ".join(f"unnest(${f}) AS {f}" for f in _BAND_FIELDS)
    cur.execute(
        f"""
        INSERT INTO {table} BY NAME
        SELECT * EXCLUDE (slot), CAST(slot // 24 AS TINYINT) AS weekday, CAST(slot % 24 AS TINYINT) AS hour
        FROM (SELECT * EXCLUDE (slots), unnest(slots) AS slot FROM (SELECT {unnested}))
        """,
        columns,
    )


@functools.cache
def _pricing_code() -> bytes:
    """The source of the code that turns a catalog into price rows and resolves logged names."""
    modules = (importlib.import_module(f"pricing.{name}") for name in ("cost", "catalog", "sql"))
    return b"".join(Path(module.__file__).read_bytes() for module in modules)


def catalog_digest(catalog: Catalog) -> str:
    """A digest of everything `prices` and `model_map` are made from: the catalog's models and
    routes (their full reprs) and the code that flattens and resolves them. Thousandths of a
    second, where hashing the flattened rows took a quarter of one on every warehouse open."""
    content = repr((catalog.models, sorted(catalog.routes.items()))).encode()
    return hashlib.sha256(_pricing_code() + content).hexdigest()


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


# The model a priced request shows under: the catalog model its logged name resolves to on
# its route, else the name as logged (an unpriced model).
def shown_model(alias: str) -> str:
    return f"coalesce({alias}.price_model, {alias}.model)"


# What tells one priced request's cost lines from another's, but for its time: the keys of the
# FOCUS line items (statement.py), as SQL over a priced request `q`.
LINE_KEYS = {
    "provider": "coalesce(q.provider, q.price_provider)",
    "model": shown_model("q"),
    "project": "q.project",
    "api_key": "q.api_key",
    "tags": "q.tags",
    "currency": "coalesce(q.price_currency, q.currency, 'USD')",
    **{rate: f"q.{rate}" for rate in RATES},
}
# The cache carries a hash of each request's line keys (`line_hash`), and `line_keys` one row
# per distinct keys with their hash: summing a month by day and hash, then joining the keys
# back, costs a tenth of grouping its millions of requests by thirteen keys, a list among them.
# A hash stands for its keys only while `line_keys` has one row per hash (`hashed_lines`).
_LINE_HASH = f"hash({', '.join(LINE_KEYS.values())})"
_LINE_KEY_COLUMNS = ", ".join(f"{expr} AS {name}" for name, expr in LINE_KEYS.items())
# The cache's rows as the cost view gives them (its own `line_hash` left out).
CACHED = "SELECT * EXCLUDE (line_hash) FROM priced_cache"


# True while no two line keys share a hash.
LINE_HASHES_EXACT = "(SELECT count(*) = count(DISTINCT line_hash) FROM line_keys)"


def hashed_lines(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The SELECT of the cached priced requests with their `line_hash`, when the cache holds every
    request and its line hashes stand for their keys (see LINE_KEYS); else None."""
    if not cache_fresh(cur) or not cur.execute(f"SELECT {LINE_HASHES_EXACT}").fetchall()[0][0]:
        return None
    return "SELECT * FROM priced_cache"


# The requests of the pending batches (see m010_pending_batches).
PENDING = "requests_pending"


def _cache_rows(cur: duckdb.DuckDBPyConnection, pending: bool = False) -> None:
    """Price every request into the cache afresh with its line hash, and record the line keys; or
    (`pending`) append the pending batches' rows and their keys."""
    requests = PENDING if pending else "requests"
    rows = f"SELECT *, {_LINE_HASH} AS line_hash FROM ({priced_requests_sql(requests=requests)}) AS q"
    keys = f"SELECT DISTINCT line_hash, {_LINE_KEY_COLUMNS} FROM priced_cache AS q"
    if pending:
        cur.execute(f"INSERT INTO priced_cache {rows}")
        cur.execute(f"INSERT INTO line_keys {keys} WHERE q.batch_id IN (SELECT batch_id FROM priced_cache_pending) "
                    "EXCEPT SELECT * FROM line_keys")
    else:
        cur.execute(f"CREATE OR REPLACE TABLE priced_cache AS {rows}")
        cur.execute(f"CREATE OR REPLACE TABLE line_keys AS {keys}")
    cur.execute("DELETE FROM priced_cache_pending")


def priced_sql(wh: Warehouse, prices: str = "prices") -> str:
    """SELECT of every request with its cost columns (see pricing.sql.priced_requests_sql).

    With the warehouse's own prices this reads `priced_cache` when it holds every request,
    the cache and the pending batches' rows priced live when it holds all but those, and the
    live view when it is stale: a read never builds the cache, since on 5,000,000 rows that
    takes several seconds, longer than the page that asked. All give the same money: the
    cache is derived data, never edited by hand. Another price table (a what-if) always gets
    the live view.
    """
    if prices != "prices":
        return priced_requests_sql(prices=prices)
    state = cache_state(wh.cursor())
    if state is CacheState.FRESH:
        return CACHED
    if state is CacheState.PENDING:
        return f"{CACHED} UNION ALL BY NAME {priced_requests_sql(requests=PENDING)}"
    return priced_requests_sql()


def refresh_priced_cache(wh: Warehouse, cur: duckdb.DuckDBPyConnection | None = None) -> None:
    """Bring the priced cache up to date (on `cur`, else this thread's cursor): price the pending
    batches into it, or, when it is stale, build it afresh from the view."""
    cur = cur or wh.cursor()
    with wh.write_lock():
        state = cache_state(cur)
        if state is CacheState.FRESH:
            return
        with wh.transaction(cur):
            _cache_rows(cur, pending=state is CacheState.PENDING)
            _mark_fresh(cur)


def begin_batch(cur: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
    """A new batch id for an insert, and whether the priced cache is current before it, bar pending
    batches (hold the write lock)."""
    batch = cur.execute("SELECT nextval('batch_ids')").fetchall()[0][0]
    return int(batch), cache_state(cur) is not CacheState.STALE


def record_batch(cur: duckdb.DuckDBPyConnection, batch: int, was_current: bool) -> None:
    """Inside the transaction of an insert, before it commits: record that `requests` changed and,
    where the cache was current before (`was_current`, see begin_batch), the batch as pending for
    it; else the cache stays stale. One transaction: no commit of rows leaves the cache current
    without them."""
    bump_version(cur)
    if was_current:
        cur.execute("INSERT INTO priced_cache_pending VALUES (?)", [batch])
        _mark_fresh(cur)


_WRITES_REQUESTS = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|ALTER|DROP|TRUNCATE|CREATE)\b[^;]*\b(requests|request_rows|request_rows_lean|origins)\b",
    re.I | re.S)


def writes_requests(sql: str) -> bool:
    """Whether statement `sql` may change `requests` (and so leave the priced cache stale)."""
    return bool(_WRITES_REQUESTS.match(sql))


def _settings(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = cur.execute(
        "SELECT key, value FROM settings WHERE key IN ('prices_sha256', 'requests_version', 'priced_cache_token') "
        "UNION ALL SELECT 'pending', CAST(count(*) AS VARCHAR) FROM priced_cache_pending"
    ).fetchall()
    return dict(rows)


# Bump when the columns of the cost view change, so a cache built by an older version is rebuilt.
PRICED_CACHE_VERSION = 5


def _token(values: dict[str, str]) -> str:
    return f"v{PRICED_CACHE_VERSION}:{values.get('prices_sha256', '')}:{values.get('requests_version', '0')}"


class CacheState(enum.Enum):
    FRESH = "holds every request, priced at the current prices"
    PENDING = "holds every request but those of the pending batches"
    STALE = "stale: the requests or the prices changed otherwise"


def cache_state(cur: duckdb.DuckDBPyConnection) -> CacheState:
    """How far `priced_cache` is from the requests and the prices."""
    values = _settings(cur)
    if values.get("priced_cache_token") != _token(values):
        return CacheState.STALE
    return CacheState.PENDING if values.get("pending", "0") != "0" else CacheState.FRESH


def cache_fresh(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether `priced_cache` holds every request, priced at the current prices."""
    return cache_state(cur) is CacheState.FRESH


def _mark_fresh(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("INSERT OR REPLACE INTO settings VALUES ('priced_cache_token', ?)", [_token(_settings(cur))]).fetchall()


def bump_version(cur: duckdb.DuckDBPyConnection) -> None:
    """Record that `requests` changed: the priced cache is stale until priced again."""
    version = int(_settings(cur).get("requests_version", "0")) + 1
    cur.execute("INSERT OR REPLACE INTO settings VALUES ('requests_version', ?)", [str(version)]).fetchall()
