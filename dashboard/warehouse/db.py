"""The DuckDB warehouse: the one place that opens DuckDB, migrates it and writes to it.

One connection per process; each thread works through its own `cursor()`. DuckDB errors
are translated here, once, into `WarehouseError` with the file name and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from dashboard.errors import WarehouseError, id_without_key, mask_value
from dashboard.warehouse.migrations import MIGRATIONS, SCHEMA_VERSION
from pricing import Catalog, default_catalog, price_rows
from pricing.sql import PRICE_COLUMNS, priced_requests_sql

DEFAULT_PATH = Path("data") / "usage.duckdb"

# The days a request's time may fall on: an import rejects any other time (a placeholder such
# as 0001-01-01 would fall out of every month), and ranges and months are kept within them.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
REQUEST_COLUMNS = (
    "source", "request_id", "ts", "provider", "upstream_provider", "model", "project", "api_key",
    "user", "tags", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "latency_ms", "ttft_ms", "status", "billed_cost", "currency",
    "import_id", "request_count", "span_s",
)
# The columns of `live_calls` (migration 8), in order.
LIVE_CALL_COLUMNS = ("called_at", "base_url", "provider", "model", "status", "ok", "error_kind", "error",
                     "attempts", "latency_ms", "request_id")
# What every row of one insert shares, stored once per insert in `origins` (see migration 4).
ORIGIN_COLUMNS = ("source", "import_id")
# The columns of the physical table `request_rows`, after its `origin_id`.
ROW_COLUMNS = tuple(c for c in REQUEST_COLUMNS if c not in ORIGIN_COLUMNS)
TOKEN_COLUMNS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens",
)
# The row columns `request_rows_lean` leaves out (migration 5), each with the value `requests`
# shows for a lean row, as SQL over that row (aliased {row}): what an import gives a row whose
# file has none of these fields. Keep in step with the view of the latest migration that
# redefines `requests` (5, then 7; a test compares them).
LEAN_DEFAULTS = {
    "upstream_provider": "NULL",
    "user": "NULL",
    "tags": "NULL",
    "cache_write_tokens": "0",
    "cache_write_1h_tokens": "0",
    "reasoning_tokens": "0",
    "latency_ms": "NULL",
    "ttft_ms": "NULL",
    "status": "NULL",
    "currency": "CASE WHEN {row}.billed_cost IS NOT NULL THEN 'USD' END",
    "request_count": "1",
    "span_s": "NULL",
}
LEAN_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in LEAN_DEFAULTS)


def key_hint(key: str | None) -> str | None:
    """API keys are stored as a hint only: "…" and the last 4 characters, never the whole key.

    Idempotent, so a caller that already cut a key to its hint gets the same form.
    """
    if key is None:
        return None
    key = str(key).strip()
    if not key:
        return None
    return key if key.startswith("…") and len(key) <= 5 else "…" + key[-4:]


def _memory_limit() -> str:
    """DuckDB's memory limit for this process: `USAGE_DB_MEMORY` (e.g. "2GB"), else 1GB."""
    value = os.environ.get("USAGE_DB_MEMORY", "1GB").strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.I):
        raise WarehouseError(f"USAGE_DB_MEMORY={value!r} is not a size such as '1GB' or '512MB'")
    return value


class LockedError(WarehouseError):
    """Another process holds the warehouse file."""


class DamagedError(WarehouseError):
    """The warehouse file is damaged (a block fails its checksum) or is no DuckDB file."""


def damaged(e: BaseException, path: Path | str) -> DamagedError | None:
    """The DamagedError that DuckDB error `e` (or the error it was raised from) stands for, if any.

    Only an error about the warehouse itself: one reading a damaged log file (a zstd file's
    "Data corruption detected") is about that file.
    """
    while e is not None:
        if isinstance(e, duckdb.Error):
            error = translate(e, path)
            text = str(e)
            if isinstance(error, DamagedError) and ("database" in text.lower() or str(path) in text):
                return error
        e = e.__cause__  # type: ignore[assignment]
    return None


def translate(e: Exception, path: Path | str) -> WarehouseError:
    text = str(e)
    if "Could not set lock" in text or "Conflicting lock" in text:
        holder = re.search(r"held in (.+?) \(PID (\d+)\)", text)
        who = f" (PID {holder.group(2)}, {holder.group(1)})" if holder else ""
        return LockedError(
            f"the warehouse file {str(path)!r} is locked by another process{who}; close that program "
            "(or the other copy of the app) or point USAGE_DB / --db at another file"
        )
    damaged = ("not a valid DuckDB database", "corrupt", "could not read enough bytes", "checksum",
               "failed to read database header", "invalid database header")
    if any(marker in text.lower() for marker in (m.lower() for m in damaged)):
        return DamagedError(
            f"the warehouse file {str(path)!r} is damaged or not a DuckDB file; move it aside and "
            "re-import your logs (the imports register lists every file that was imported)"
        )
    return WarehouseError(f"the warehouse {str(path)!r} failed: {text.splitlines()[0] if text else e!r}")


class Warehouse:
    """A migrated warehouse file with its prices loaded from the catalog."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool, catalog: Catalog) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.catalog = catalog
        self.notice: str | None = None  # why the file is open read-only, for a banner
        self.build_cache = True  # see open(cache=...)
        self._write_lock = threading.RLock()

    # ------------------------------------------------------------------ opening

    @staticmethod
    def default_path() -> Path:
        """`USAGE_DB` when set, else data/usage.duckdb."""
        return Path(os.environ.get("USAGE_DB") or DEFAULT_PATH)

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        read_only: bool = False,
        catalog: Catalog | None = None,
        fallback_read_only: bool = False,
        cache: bool = True,
    ) -> Warehouse:
        """Open and migrate a warehouse file.

        With `fallback_read_only`, a file another process holds read-only is opened
        read-only too (imports disabled, `notice` says why) instead of failing.
        `cache` False, for a one-shot command: a read that finds the priced cache stale
        answers from the live cost view instead of building the cache first. On 5,000,000
        rows a month report from the view takes about half a second; building the cache
        takes several, which only a long-lived process (the app) earns back.
        """
        target = Path(path) if path else cls.default_path()
        if not read_only:
            target.parent.mkdir(parents=True, exist_ok=True)
        notice = None
        try:
            con = duckdb.connect(str(target), read_only=read_only)
        except duckdb.Error as e:
            error = translate(e, target)
            if not (fallback_read_only and not read_only and isinstance(error, LockedError)):
                raise error from e
            try:
                con = duckdb.connect(str(target), read_only=True)
            except duckdb.Error:
                raise error from e
            read_only = True
            notice = f"{error}. Opened read-only instead: you can look, but imports and price edits are disabled."
        try:
            # DuckDB opens some other files (a JSON-lines log) as a database of views held in
            # memory: imports into it would vanish with the process.
            stored = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
            if stored.fetchall() == [(None,)]:
                con.close()
                raise translate(duckdb.IOException("not a valid DuckDB database file"), target)
            con.execute("SET TimeZone = 'UTC'")
            # Bounded memory however large an import is: past this DuckDB spills to disk.
            con.execute(f"SET memory_limit = '{_memory_limit()}'")
        except duckdb.Error as e:
            con.close()
            raise translate(e, target) from e
        wh = cls(con, target, read_only, catalog or default_catalog())
        wh.notice = notice
        wh.build_cache = cache
        try:
            wh._migrate()
            if not read_only:
                wh.sync_prices()
        except duckdb.Error as e:
            con.close()
            raise translate(e, target) from e
        except WarehouseError:
            con.close()
            raise
        return wh

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """BEGIN ... COMMIT on `cur`; on a DuckDB error, ROLLBACK and raise it as WarehouseError."""
        cur.execute("BEGIN TRANSACTION")
        try:
            yield
            cur.execute("COMMIT")
        except duckdb.Error as e:
            cur.execute("ROLLBACK")
            raise translate(e, self.path) from e

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        cur = self.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def _migrate(self) -> None:
        con = self.con
        if not self.read_only:
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        current = 0
        if "schema_version" in tables:
            # fetchall: an unread result would keep a transaction open on this long-lived connection.
            current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
        if current > SCHEMA_VERSION:
            raise WarehouseError(
                f"the warehouse file {str(self.path)!r} has schema version {current}, newer than this "
                f"app knows ({SCHEMA_VERSION}); upgrade the app or use another file"
            )
        if current == SCHEMA_VERSION:
            return
        if self.read_only:
            raise WarehouseError(
                f"the warehouse file {str(self.path)!r} needs an upgrade (schema {current} -> "
                f"{SCHEMA_VERSION}) but is open read-only; open it once without another process holding it"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction(con):
                con.execute(MIGRATIONS[version - 1])
                con.execute("INSERT INTO schema_version VALUES (?, now())", [version])

    # ------------------------------------------------------------------ prices

    def sync_prices(self, catalog: Catalog | None = None) -> None:
        """Load the catalog into `prices` and re-resolve every logged model (skipped when unchanged)."""
        if catalog is not None:
            self.catalog = catalog
        rows = price_rows(self.catalog)
        names = sorted((m.provider, m.id, m.aliases) for m in self.catalog.models)
        digest = hashlib.sha256(repr((rows, names, sorted(self.catalog.routes))).encode()).hexdigest()
        cur = self.cursor()
        # fetchall, not fetchone: DuckDB refuses register() while a result is still open.
        current = cur.execute("SELECT value FROM settings WHERE key = 'prices_sha256'").fetchall()
        if current and current[0][0] == digest:
            return
        columns = {c: [str(getattr(r, c)) if isinstance(getattr(r, c), Decimal) else getattr(r, c) for r in rows]
                   for c in PRICE_COLUMNS}
        # Lists unnested by DuckDB: building an Arrow table from Python lists would import pandas,
        # a second's start-up for a command-line import.
        unnested = ", ".join(f"unnest(${c})" for c in PRICE_COLUMNS)
        with self._write_lock, self.transaction(cur):
            cur.execute("DELETE FROM prices")
            cur.execute(f"INSERT INTO prices SELECT {unnested}", columns)
            cur.execute("INSERT OR REPLACE INTO settings VALUES ('prices_sha256', ?)", [digest])
            # Another catalog may resolve logged names differently: map every pair again.
            cur.execute("DELETE FROM model_map")
            self._refresh_model_map(cur)

    def _refresh_model_map(self, cur: duckdb.DuckDBPyConnection) -> None:
        pairs = cur.execute(
            "SELECT DISTINCT coalesce(provider, ''), model FROM requests "
            "EXCEPT SELECT provider, model FROM model_map"
        ).fetchall()
        if not pairs:
            return
        mapped = []
        for provider, model in pairs:
            entry = self.catalog.find(model, provider or None)
            mapped.append((provider, model, entry.provider if entry else None, entry.id if entry else None))
        cur.executemany("INSERT INTO model_map VALUES (?, ?, ?, ?)", mapped)

    def refresh_model_map(self, full: bool = False) -> None:
        """Resolve (provider, model) pairs not yet mapped; `full` re-resolves every pair."""
        cur = self.cursor()
        with self._write_lock:
            if full:
                cur.execute("DELETE FROM model_map")
            self._refresh_model_map(cur)

    def reload_catalog(self, catalog: Catalog) -> None:
        """After a price edit: new prices and a full re-resolution; all history re-prices at once."""
        self.catalog = catalog
        self.sync_prices()

    # ------------------------------------------------------------------ writing rows

    def log_calls(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append live calls (LIVE_CALL_COLUMNS) to `live_calls`, failed ones included; returns how many."""
        values = [[row.get(c) for c in LIVE_CALL_COLUMNS] for row in rows]
        if values:
            with self._write_lock:
                self.cursor().executemany(
                    f"INSERT INTO live_calls ({', '.join(LIVE_CALL_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(LIVE_CALL_COLUMNS))})", values)
        return len(values)

    def insert_requests(self, rows: Iterable[Mapping[str, Any]], source: str | None = None) -> tuple[int, int]:
        """Insert canonical request dicts; returns (added, duplicates). Keys are hinted, ids deduplicated."""
        materialized = []
        for row in rows:
            rec = {c: row.get(c) for c in REQUEST_COLUMNS}
            if source is not None:
                rec["source"] = source
            rec["api_key"] = key_hint(rec["api_key"])
            for c in TOKEN_COLUMNS:
                rec[c] = int(rec[c] or 0)
            rec["request_count"] = 1 if rec["request_count"] is None else int(rec["request_count"])
            if rec["span_s"] is not None:
                rec["span_s"] = int(rec["span_s"])
                if rec["span_s"] <= 0:
                    raise WarehouseError(f"request {rec['request_id']!r}: span_s is {rec['span_s']}; a span lasts "
                                         "at least a second (leave it out for a single moment)")
            ts = rec["ts"]
            if isinstance(ts, datetime) and ts.tzinfo is None:
                rec["ts"] = ts.replace(tzinfo=UTC)
            if isinstance(rec["tags"], str):
                rec["tags"] = [t for t in rec["tags"].split(",") if t]
            for c in ("user", "model", "project"):
                if isinstance(rec[c], str):
                    rec[c] = mask_value(rec[c])
            if isinstance(rec["request_id"], str):
                rec["request_id"] = id_without_key(rec["request_id"])
            if rec["tags"]:
                rec["tags"] = [mask_value(str(t)) for t in rec["tags"]]
            if rec["billed_cost"] is not None:
                rec["billed_cost"] = str(rec["billed_cost"])
            if rec["status"] is not None:
                rec["status"] = str(rec["status"])
            materialized.append(rec)
        if not materialized:
            return 0, 0
        added = self.insert_table(pa.Table.from_pylist(materialized, schema=_REQUEST_ARROW))
        return added, len(materialized) - added

    def insert_table(self, table: pa.Table) -> int:
        """Insert an Arrow table with the request columns as one batch; returns rows added (new ids only)."""
        cur = self.cursor()
        cur.register("staged_table", table)
        with self._write_lock:
            batch, was_fresh = self.begin_batch(cur)
            try:
                with self.transaction(cur):
                    added = insert_new_requests(cur, "staged_table", batch_id=batch)
            finally:
                cur.unregister("staged_table")
            self.after_batch(cur, batch, was_fresh)
        return added

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        """Run SQL with bound parameters on this thread's cursor; DuckDB errors become WarehouseError.

        A statement that writes to `requests` marks the priced cache stale.
        """
        try:
            cur = self.cursor()
            result = cur.execute(sql, params or [])
            if _WRITES.match(sql) and "RETURNING" not in sql.upper():
                # Consume the count now: an open result keeps its write transaction open,
                # which blocks CHECKPOINT and other writers.
                result.fetchall()
                if _WRITES_REQUESTS.match(sql):
                    with self._write_lock:
                        _bump_version(cur)
            return result
        except duckdb.Error as e:
            raise translate(e, self.path) from e

    # ------------------------------------------------------------------ the priced cache

    def priced_sql(self, prices: str = "prices") -> str:
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
        cur = self.cursor()
        if _cache_fresh(cur):
            return "SELECT * FROM priced_cache"
        if self.read_only or not self.build_cache:
            return priced_requests_sql()
        # A write (an import) is running: answer from the view rather than wait for it to end.
        if not self._write_lock.acquire(blocking=False):
            return priced_requests_sql()
        try:
            self.refresh_priced_cache()
        finally:
            self._write_lock.release()
        return "SELECT * FROM priced_cache"

    def refresh_priced_cache(self) -> None:
        """Rebuild the priced cache from the view when it is stale."""
        cur = self.cursor()
        with self._write_lock:
            if _cache_fresh(cur):
                return
            with self.transaction(cur):
                cur.execute(f"CREATE OR REPLACE TABLE priced_cache AS {priced_requests_sql()}")
                _mark_fresh(cur)

    def begin_batch(self, cur: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
        """A new batch id for an insert, and whether the priced cache is fresh before it (hold the write lock)."""
        batch = cur.execute("SELECT nextval('batch_ids')").fetchall()[0][0]
        return int(batch), _cache_fresh(cur)

    def map_models(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Map new model names inside the caller's transaction (an import's, before it commits).

        It reads every stored row's model, so a damaged block of that column fails the import
        while it can still roll back, rather than after its rows are in.
        """
        self._refresh_model_map(cur)

    def after_batch(self, cur: duckdb.DuckDBPyConnection, batch: int, was_fresh: bool, mapped: bool = False) -> None:
        """After an insert: map new model names (unless `mapped`, see map_models), then price
        just the new rows into a fresh cache."""
        try:
            if not mapped:
                self._refresh_model_map(cur)
        except duckdb.Error as e:
            raise translate(e, self.path) from e
        with self.transaction(cur):
            _bump_version(cur)
            if was_fresh:
                cur.execute(
                    f"CREATE OR REPLACE TEMP VIEW batch_rows AS SELECT * FROM requests WHERE batch_id = {int(batch)}"
                )
                cur.execute(f"INSERT INTO priced_cache {priced_requests_sql(requests='batch_rows')}")
                _mark_fresh(cur)


_REQUEST_ARROW = pa.schema(
    [
        ("source", pa.string()), ("request_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")),
        ("provider", pa.string()), ("upstream_provider", pa.string()), ("model", pa.string()),
        ("project", pa.string()), ("api_key", pa.string()), ("user", pa.string()),
        ("tags", pa.list_(pa.string())),
        *[(c, pa.int64()) for c in TOKEN_COLUMNS],
        ("latency_ms", pa.float64()), ("ttft_ms", pa.float64()), ("status", pa.string()),
        ("billed_cost", pa.string()), ("currency", pa.string()), ("import_id", pa.int64()),
        ("request_count", pa.int64()), ("span_s", pa.int32()),
    ]
)

_INSERT_COLUMNS = "origin_id, " + ", ".join(f'"{c}"' for c in ROW_COLUMNS)
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|ALTER|DROP|TRUNCATE|CREATE|CHECKPOINT)\b", re.I)
_WRITES_REQUESTS = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|ALTER|DROP|TRUNCATE|CREATE)\b[^;]*\b(requests|request_rows|request_rows_lean|origins)\b",
    re.I | re.S)


def _settings(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = cur.execute(
        "SELECT key, value FROM settings WHERE key IN ('prices_sha256', 'requests_version', 'priced_cache_token')"
    ).fetchall()
    return dict(rows)


# Bump when the columns of the cost view change, so a cache built by an older version is rebuilt.
PRICED_CACHE_VERSION = 4


def _token(values: dict[str, str]) -> str:
    return f"v{PRICED_CACHE_VERSION}:{values.get('prices_sha256', '')}:{values.get('requests_version', '0')}"


def _cache_fresh(cur: duckdb.DuckDBPyConnection) -> bool:
    values = _settings(cur)
    return values.get("priced_cache_token") == _token(values)


def _mark_fresh(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("INSERT OR REPLACE INTO settings VALUES ('priced_cache_token', ?)", [_token(_settings(cur))]).fetchall()


def _bump_version(cur: duckdb.DuckDBPyConnection) -> None:
    version = int(_settings(cur).get("requests_version", "0")) + 1
    cur.execute("INSERT OR REPLACE INTO settings VALUES ('requests_version', ?)", [str(version)]).fetchall()


def insert_new_requests(cur: duckdb.DuckDBPyConnection, staged: str, where: str = "true", batch_id: int = 0) -> int:
    """Copy rows of `staged` whose (source, request_id) is new into `requests`; returns rows added.

    The rows' origins (one per source and import among them) are added to `origins` for `batch_id`.

    Duplicates inside `staged` keep their first occurrence (a derived id is numbered instead,
    see _first_occurrences). This and insert_clean_requests
    are the only insert paths, which is what keeps (source, request_id) unique without an
    index slowing bulk loads.
    The two dedupe steps are skipped when they cannot matter (no repeated id in the batch;
    no earlier row from the same sources), which is the common case of a first import.
    """
    repeats = _repeated_ids(cur, f"{staged} AS s", where)
    overlap = cur.execute(
        f"SELECT count(*) FROM requests WHERE source IN (SELECT DISTINCT s.source FROM {staged} AS s)"
    ).fetchone()[0]
    conditions = [where]
    if overlap:
        conditions.append(
            "NOT EXISTS (SELECT 1 FROM requests AS r WHERE r.source = s.source AND r.request_id = s.request_id)"
        )
    rows = f"{staged} AS s WHERE {' AND '.join(conditions)}"
    if repeats:
        # A loader's staging table keeps file order: its line, else its rowid, says which came first.
        numbered = "line" in {d[0] for d in cur.execute(f"SELECT * FROM {staged} LIMIT 0").description}
        rows = _first_occurrences(rows, "ORDER BY s.line, s.rowid" if numbered else "")
    cur.execute(
        f"""
        INSERT INTO origins SELECT nextval('origin_ids'), {int(batch_id)}, source, import_id
        FROM (SELECT DISTINCT s.source, s.import_id FROM {staged} AS s WHERE {where}) AS x
        WHERE NOT EXISTS (SELECT 1 FROM origins AS o WHERE o.batch_id = {int(batch_id)}
            AND o.source = x.source AND o.import_id IS NOT DISTINCT FROM x.import_id)
        """
    )
    result = cur.execute(
        f"""
        INSERT INTO request_rows ({_INSERT_COLUMNS}) SELECT o.origin_id, {_SELECT_ROW}
        FROM (SELECT * FROM {rows}) AS s JOIN origins AS o ON o.batch_id = {int(batch_id)}
            AND o.source = s.source AND o.import_id IS NOT DISTINCT FROM s.import_id
        """
    ).fetchone()
    return int(result[0])


# What a request logged mid-stream has more of later: its usage (and what it was billed).
_GROWN_COLUMNS = (*TOKEN_COLUMNS, "billed_cost")


def update_grown_requests(cur: duckdb.DuckDBPyConnection, staged: str, where: str = "true") -> int:
    """Give stored requests the usage of their staged record where it has more output tokens; returns rows updated.

    For a format that logs a request as it streams (Claude Code writes a reply line by line,
    its output tokens growing): a request imported mid-stream is the same request as the
    later record of its id, whose usage is further on. Never the other way round: an older
    copy of the log, with fewer tokens, changes nothing. Of an id staged twice, the record
    with the most output tokens counts. A lean row taking such usage moves to `request_rows`.
    """
    grown = f"""(SELECT * FROM {staged} AS s WHERE {where}
        QUALIFY row_number() OVER (PARTITION BY s.source, s.request_id ORDER BY s.output_tokens DESC) = 1) AS s"""
    assignments = ", ".join(f'"{c}" = {_staged_value(c)}' for c in _GROWN_COLUMNS)
    result = cur.execute(
        f"""
        UPDATE request_rows AS r SET {assignments}
        FROM {grown}, origins AS o
        WHERE o.origin_id = r.origin_id AND o.source = s.source AND r.request_id = s.request_id
          AND s.output_tokens > r.output_tokens
        """
    ).fetchone()
    # A lean row (another format's, imported under the same source) has no columns for some
    # of that usage (cache writes, reasoning): it moves to `request_rows`, taking the usage.
    lean = f"""request_rows_lean AS r JOIN origins AS o ON o.origin_id = r.origin_id
        JOIN {grown} ON o.source = s.source AND r.request_id = s.request_id AND s.output_tokens > r.output_tokens"""
    values = ", ".join(_staged_value(c) if c in _GROWN_COLUMNS else f'r."{c}"' if c in LEAN_COLUMNS
                       else LEAN_DEFAULTS[c].format(row="r") for c in ROW_COLUMNS)
    moved = cur.execute(f"INSERT INTO request_rows ({_INSERT_COLUMNS}) SELECT r.origin_id, {values} FROM {lean}")
    moved = int(moved.fetchone()[0])
    if moved:
        cur.execute(f"DELETE FROM request_rows_lean WHERE (origin_id, request_id) IN "
                    f"(SELECT (r.origin_id, r.request_id) FROM {lean})")
    return int(result[0]) + moved


# An id the import derived from a record's text, for a row whose id field was blank: 'h' and
# the text's MD5 (ingest.sql). Identical records are identical requests here (two calls
# answered alike in the same second), so a repeat of such an id is numbered, not dropped.
DERIVED_ID = "h[0-9a-f]{32}"


def _first_occurrences(rows: str, order: str) -> str:
    """SELECT of `rows` ('<table> AS s WHERE ...') with each repeated (source, request_id) once:
    its first occurrence in `order`. A repeated DERIVED_ID is kept at every occurrence
    instead, the n-th (n > 1) as '<id>-n'. Rows whose id an earlier import holds are left out
    before (in `rows`), however often they repeat: the first keeps the id imports made before
    repeats were numbered, so importing such a file again still adds nothing."""
    return f"""(
        SELECT * EXCLUDE (occurrence) REPLACE (
            CASE WHEN occurrence > 1 THEN request_id || '-' || occurrence ELSE request_id END AS request_id)
        FROM (SELECT s.*, row_number() OVER (PARTITION BY s.source, s.request_id {order}) AS occurrence
              FROM {rows})
        WHERE occurrence = 1 OR regexp_full_match(request_id, '{DERIVED_ID}')
    ) AS s"""


# Up to this many rows, repeated ids are found by sorting the rows' hashes in memory (8 bytes
# a row): a quarter of the CPU that DuckDB's distinct count takes (its hash table is the
# dearest step after the insert itself). Beyond, DuckDB counts them, within its memory limit.
SORTED_IN_MEMORY = 20_000_000


def _repeated_ids(cur: duckdb.DuckDBPyConnection, rows: str, where: str,
                  params: Mapping[str, Any] | None = None, key: str = "source, request_id") -> int:
    """Rows of `rows` whose `key` hash an earlier row shares; 0 proves every key distinct.

    Distinct hashes are cheaper to count than distinct pairs; a shared hash, whether a
    real repeat or a collision, just sends the caller down its exact path.
    """
    params = params or {}
    if cur.execute(f"SELECT count(*) FROM {rows} WHERE {where}", params).fetchone()[0] > SORTED_IN_MEMORY:
        sql = f"SELECT count(*) - count(DISTINCT hash({key})) FROM {rows} WHERE {where}"
        return int(cur.execute(sql, params).fetchone()[0])
    hashes = cur.execute(f"SELECT hash({key}) AS h FROM {rows} WHERE {where}", params).fetchnumpy()["h"]
    hashes.sort()
    return int(np.count_nonzero(hashes[1:] == hashes[:-1]))


def _staged_value(column: str) -> str:
    """The value of a row column in a row source aliased `s` (staged rows or a file's reader)."""
    return "CAST(s.billed_cost AS DECIMAL(38, 12))" if column == "billed_cost" else f's."{column}"'


# The row columns of a row source aliased `s`, in table order.
_SELECT_ROW = ", ".join(_staged_value(c) for c in ROW_COLUMNS)


# The `reason` of a row that is no record at all (a blank line): neither imported nor rejected.
SKIPPED = ""
# The `reason` of a line that is no JSON object (a broken or cut line of a JSON-lines file).
NOT_JSON = "not a valid JSON object"
# The `reason` of a row the clean read cannot name: it has no id, and that read (the typed
# JSON one) keeps no text to derive one from. The row is not bad, so it sends the file to
# the full read rather than to the rejected rows.
UNNAMED = "no id, and no text to derive one"
_BAD_ROWS = "ingest_bad_rows"
_KNOWN_ROWS = "ingest_known_rows"
# Up to this many earlier rows of the file's source, a clean insert leaves out the rows they
# hold as it goes (an anti-join whose hash table is those rows' ids). Beyond, it deletes them
# afterwards (a join the other way round), which is cheap for a small file; but rows deleted
# from a transaction's own new rows make DuckDB re-append all of those at commit (about
# 10 s for 5M rows), which is what leaving them out spares a large file.
KNOWN_IDS_IN_MEMORY = 2_000_000


class NotClean(Exception):
    """A clean-only insert met a row only the staged path can take, or too many repeated ids; nothing was written."""


class NotLean(NotClean):
    """A lean insert met a row with a value `request_rows_lean` cannot hold; nothing was written.

    The same read inserted into `request_rows` takes it.
    """


_NOT_LEAN = "a row with a field the lean table leaves out"


@dataclass(frozen=True)
class _Target:
    """The table a clean insert writes its rows to, and how."""

    table: str
    columns: str  # the table's columns, for INSERT, from origin_id on
    values: str  # their values after origin_id, from a row source aliased `s`
    holds: str  # SQL: the table holds row `s` whole (it has a column for every value the row has)


_WIDE = _Target("request_rows", _INSERT_COLUMNS, _SELECT_ROW, "true")
_LEAN = _Target(
    "request_rows_lean",
    "origin_id, " + ", ".join(f'"{c}"' for c in LEAN_COLUMNS),
    ", ".join(_staged_value(c) for c in LEAN_COLUMNS),
    " AND ".join(f's."{c}" IS NOT DISTINCT FROM {v.format(row="s")}' for c, v in LEAN_DEFAULTS.items()),
)


def lean_sample_sql(select_sql: str, rows: int) -> str:
    """SQL counting, of the first `rows` good rows of `select_sql`, those `request_rows_lean` cannot hold, and all."""
    return (f"SELECT count(*) FILTER (WHERE NOT ({_LEAN.holds})), count(*) "
            f"FROM (SELECT * FROM ({select_sql}) AS s WHERE s.reason IS NULL LIMIT {int(rows)}) AS s")


def stage_in_file_order(cur: duckdb.DuckDBPyConnection, table: str, select_sql: str,
                        params: Mapping[str, Any]) -> None:
    """A temporary `table` of `select_sql`'s rows whose rowids follow the file, inside a clean import.

    The clean import lets DuckDB write in any order; a staging table read again for file
    order needs it kept, for this statement only. A DuckDB error raises NotClean: the
    staged path decides.
    """
    cur.execute("SET preserve_insertion_order = true")
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select_sql}", params)
    except duckdb.Error as e:
        raise NotClean(str(e).splitlines()[0]) from e
    finally:
        cur.execute("SET preserve_insertion_order = false")


def _sequence_value(cur: duckdb.DuckDBPyConnection, name: str) -> int:
    """How many times a fresh temporary sequence was drawn from."""
    row = cur.execute("SELECT coalesce(max(last_value), 0) FROM duckdb_sequences() WHERE sequence_name = ?", [name])
    return int(row.fetchone()[0])


def insert_clean_requests(
    cur: duckdb.DuckDBPyConnection, select_sql: str, params: Mapping[str, Any], batch_id: int, lean: bool = False
) -> tuple[int, int, int]:
    """Insert a file's good rows straight from its reader, with no staging table; returns (good, added, rejected).

    `select_sql` yields `reason`: NULL for a good row, SKIPPED for no record at all, else
    why the row is rejected. Rejected rows are passed over and counted as the rows stream
    by (a sequence: its side effect runs in parallel like the rest), so the caller knows
    whether to read them again for their lines and texts, and a clean file pays nothing
    for it. So are rows whose (source, request_id) an earlier import holds, where their
    source has few enough rows (KNOWN_IDS_IN_MEMORY; else they are deleted afterwards): a
    later export overlapping an earlier one costs little more than its new rows. An id
    repeated inside the file keeps its first occurrence (see _keep_first_occurrences). An
    UNNAMED row, a row of another source or import than `params` name (the rows share
    one origin), or more repeated ids than that takes, raises NotClean, and the caller,
    whose transaction this runs in, rolls back and takes the staged path that names rows
    from their text, keeps first occurrences however many, and gives every source its origin.
    `lean`: the rows go to `request_rows_lean`; a row with a value that table leaves out
    (see LEAN_DEFAULTS) raises NotLean, for the caller to insert the file into `request_rows`.
    """
    target = _LEAN if lean else _WIDE
    source, import_id = params.get("source"), params.get("import_id")
    if source is None:
        raise NotClean("no source named for the rows' origin")
    known = cur.execute("SELECT count(*) FROM requests WHERE source = ?", [source]).fetchone()[0]
    leave_out = 0 < known <= KNOWN_IDS_IN_MEMORY
    new = (f"(NOT EXISTS (SELECT 1 FROM requests AS o WHERE o.source = s.source AND o.request_id = s.request_id) "
           f"OR nextval('{_KNOWN_ROWS}') IS NULL)") if leave_out else "true"
    origin = _new_origin(cur, batch_id, source, import_id)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP SEQUENCE {_BAD_ROWS}")
        cur.execute(f"CREATE OR REPLACE TEMP SEQUENCE {_KNOWN_ROWS}")
        inserted = cur.execute(
            f"""
            INSERT INTO {target.table} ({target.columns})
            SELECT CASE WHEN NOT ({target.holds}) THEN error('{_NOT_LEAN}')
                WHEN s.source = $source AND s.import_id IS NOT DISTINCT FROM $import_id
                THEN {origin} ELSE error('a row of another source or import') END, {target.values}
            FROM ({select_sql}) AS s
            WHERE (s.reason IS NULL AND {new}) OR (s.reason <> '{SKIPPED}' AND CASE
                WHEN s.reason = '{UNNAMED}' THEN error('a row to name from its text')
                ELSE nextval('{_BAD_ROWS}') END IS NULL)
            """,
            params,
        ).fetchone()[0]
        rejected = _sequence_value(cur, _BAD_ROWS)
        duplicates = _sequence_value(cur, _KNOWN_ROWS)
        # One origin: its rows' ids alone tell them apart.
        repeats = _repeated_ids(cur, target.table, f"origin_id = {origin}", key="request_id")
    except duckdb.Error as e:
        raise (NotLean if _NOT_LEAN in str(e) else NotClean)(str(e).splitlines()[0]) from e
    good = int(inserted) + duplicates
    if known and not leave_out:
        duplicates += cur.execute(
            f"""
            DELETE FROM {target.table} AS r WHERE r.origin_id = $origin AND EXISTS (
                SELECT 1 FROM requests AS o
                WHERE o.batch_id IS DISTINCT FROM $b AND o.source = $source AND o.request_id = r.request_id)
            """,
            {"b": batch_id, "origin": origin, "source": source},
        ).fetchone()[0]
    removed = _keep_first_occurrences(cur, select_sql, params, origin, target) if repeats else 0
    return good, good - int(duplicates) - removed, int(rejected)


def _new_origin(cur: duckdb.DuckDBPyConnection, batch_id: int, source: str, import_id: int | None) -> int:
    """A new row of `origins` for rows of `source` and `import_id` inserted in batch `batch_id`; returns its id."""
    return int(cur.execute(
        "INSERT INTO origins VALUES (nextval('origin_ids'), ?, ?, ?) RETURNING origin_id",
        [batch_id, source, import_id],
    ).fetchone()[0])


# More ids repeated inside one file than this go the staged way: each row of the file is
# looked up in the list of repeated ids, which costs in proportion to its length.
MAX_REPEATED_IDS = 1000


def _keep_first_occurrences(cur: duckdb.DuckDBPyConnection, select_sql: str, params: Mapping[str, Any],
                            origin: int, target: _Target = _WIDE) -> int:
    """Of the origin's rows whose id repeats inside it, keep each id's first occurrence (a
    derived id's every occurrence, numbered: see _first_occurrences); returns rows removed.

    The origin's rows carry no file order, so the file is read again for the rows of the
    repeated ids alone, in order: a filter (unlike a join) keeps DuckDB's row order, so the
    first of them by rowid is the file's first. Their rows in the origin are replaced by
    those first occurrences. The origin holds the file's rows alone, all of one source: their
    ids alone tell them apart.
    """
    repeated = cur.execute(
        f"SELECT request_id, hash(request_id) FROM {target.table} WHERE origin_id = $origin "
        "GROUP BY ALL HAVING count(*) > 1",
        {"origin": origin},
    ).fetchall()
    if not repeated:
        return 0  # a shared hash, not a shared id
    if len(repeated) > MAX_REPEATED_IDS:
        raise NotClean(f"{len(repeated)} request ids repeat inside the file")
    cur.execute("CREATE OR REPLACE TEMP TABLE ingest_repeated (request_id VARCHAR)")
    cur.executemany("INSERT INTO ingest_repeated VALUES (?)", [r[:1] for r in repeated])
    stage_in_file_order(
        cur, "ingest_firsts",
        f"SELECT * FROM ({select_sql}) AS s "
        "WHERE s.reason IS NULL AND list_contains($repeated, hash(s.request_id))",
        {**params, "repeated": [r[1] for r in repeated]},
    )
    removed = cur.execute(
        f"DELETE FROM {target.table} AS r WHERE r.origin_id = $origin AND EXISTS (SELECT 1 FROM ingest_repeated AS x "
        "WHERE x.request_id = r.request_id)",
        {"origin": origin},
    ).fetchone()[0]
    firsts = _first_occurrences(
        "ingest_firsts AS s WHERE EXISTS (SELECT 1 FROM ingest_repeated AS x WHERE x.request_id = s.request_id)",
        "ORDER BY s.rowid")
    kept = cur.execute(
        f"""
        INSERT INTO {target.table} ({target.columns})
        SELECT {int(origin)}, {target.values} FROM {firsts}
        WHERE NOT EXISTS (SELECT 1 FROM requests AS o WHERE o.source = s.source AND o.request_id = s.request_id)
        """
    ).fetchone()[0]
    cur.execute("DROP TABLE ingest_firsts")
    cur.execute("DROP TABLE ingest_repeated")
    return int(removed) - int(kept)
