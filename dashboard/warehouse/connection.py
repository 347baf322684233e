"""The warehouse file: the one place that opens DuckDB, migrates it and hands out cursors.

One connection per process; each thread works through its own `cursor()`, and writers take
`write_lock()`. DuckDB errors are translated here, once, into `WarehouseError` with the
file name and what to do. Prices and the priced cache live in `prices`, row writes in `rows`;
a `Warehouse`'s methods of those names run them on this file.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from dashboard.errors import WarehouseError
from dashboard.warehouse import prices, rows
from dashboard.warehouse.migrations import SCHEMA_VERSION, apply
from pricing import Catalog, default_catalog

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_PATH = Path("data") / "usage.duckdb"
BUILD_RETRY_S = 60  # after a failed build of the priced cache behind the reads, the wait before another


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


_DAMAGED = ("not a valid DuckDB database", "corrupt", "could not read enough bytes", "checksum",
            "failed to read database header", "invalid database header")


def translate(e: Exception, path: Path | str) -> WarehouseError:
    """The WarehouseError a DuckDB error on the file at `path` stands for: locked, damaged, or other."""
    text = str(e)
    if "Could not set lock" in text or "Conflicting lock" in text:
        holder = re.search(r"held in (.+?) \(PID (\d+)\)", text)
        who = f" (PID {holder.group(2)}, {holder.group(1)})" if holder else ""
        return LockedError(
            f"the warehouse file {str(path)!r} is locked by another process{who}; close that program "
            "(or the other copy of the app) or point USAGE_DB / --db at another file"
        )
    if any(marker.lower() in text.lower() for marker in _DAMAGED):
        return DamagedError(
            f"the warehouse file {str(path)!r} is damaged or not a DuckDB file; move it aside and "
            "re-import your logs (the imports register lists every file that was imported)"
        )
    return WarehouseError(f"the warehouse {str(path)!r} failed: {text.splitlines()[0] if text else e!r}")


def _connect(target: Path, read_only: bool, fallback_read_only: bool) -> tuple[duckdb.DuckDBPyConnection, bool,
                                                                                 str | None]:
    """A connection to `target`, whether it is read-only, and why when it fell back to read-only."""
    try:
        return duckdb.connect(str(target), read_only=read_only), read_only, None
    except duckdb.Error as e:
        error = translate(e, target)
        if not (fallback_read_only and not read_only and isinstance(error, LockedError)):
            raise error from e
        try:
            con = duckdb.connect(str(target), read_only=True)
        except duckdb.Error:
            raise error from e
        return con, True, f"{error}. Opened read-only instead: you can look, but imports and price edits are disabled."


def _configure(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Check that `con` is a database file, and set its time zone and memory limit."""
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
        self._builder: threading.Thread | None = None  # see refresh_priced_cache_behind
        self._builder_cursor: duckdb.DuckDBPyConnection | None = None
        self._builder_guard = threading.Lock()
        self._builder_failed_at: float | None = None

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
        `cache` False, for a one-shot command: the priced cache is never built behind the
        reads (see refresh_priced_cache_behind); a stale cache leaves them on the live cost
        view (a month's report sums its requests per price first: a fraction of a second on a
        month of 1,500,000 requests); building the cache takes several seconds on 5,000,000
        rows, which only a long-lived process (the app) earns back.
        """
        target = Path(path) if path else cls.default_path()
        if not read_only:
            target.parent.mkdir(parents=True, exist_ok=True)
        con, read_only, notice = _connect(target, read_only, fallback_read_only)
        _configure(con, target)
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
        self._stop_builder()
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

    @contextlib.contextmanager
    def write_lock(self, wait: bool = True) -> Iterator[bool]:
        """Hold this process's write lock (re-entrant) while writing; yields whether it is held.

        DuckDB lets one transaction at a time write a table: writers in this process take
        turns here rather than fail on a conflict. `wait` False takes the lock only if it is
        free (a reader that would rather not wait for an import yields False and goes on).
        """
        held = self._write_lock.acquire(blocking=wait)
        try:
            yield held
        finally:
            if held:
                self._write_lock.release()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        cur = self.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

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
                if prices.writes_requests(sql):
                    with self.write_lock():
                        prices.bump_version(cur)
            return result
        except duckdb.Error as e:
            raise translate(e, self.path) from e

    def _migrate(self) -> None:
        con = self.con
        if not self.read_only:
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
        try:
            # fetchall: an unread result would keep a transaction open on this long-lived connection.
            current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
        except duckdb.CatalogException:  # a file opened read-only before any migration (a listing of
            current = 0  # the tables costs a first open 7 ms more than this one query)
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
        with self.transaction(con):  # all or nothing: a file is never left between two versions
            apply(con, current + 1, SCHEMA_VERSION)

    # ------------------------------------------------------------------ prices (see prices.py)

    def sync_prices(self, catalog: Catalog | None = None) -> None:
        """Load the catalog into `prices` and re-resolve every logged model (skipped when unchanged)."""
        prices.sync_prices(self, catalog)

    def refresh_model_map(self, full: bool = False) -> None:
        """Resolve (provider, model) pairs not yet mapped; `full` re-resolves every pair."""
        prices.refresh_model_map(self, full)

    def reload_catalog(self, catalog: Catalog) -> None:
        """After a price edit: new prices and a full re-resolution; all history re-prices at once."""
        self.catalog = catalog
        self.sync_prices()

    def priced_sql(self, prices_table: str = "prices") -> str:
        """SELECT of every request with its cost columns (see prices.priced_sql)."""
        return prices.priced_sql(self, prices_table)

    def refresh_priced_cache(self) -> None:
        """Rebuild the priced cache from the view when it is stale (waits for a build or a write running)."""
        prices.refresh_priced_cache(self)

    def refresh_priced_cache_behind(self) -> threading.Thread | None:
        """Start rebuilding a stale priced cache in a thread of its own and return at once; the
        thread, or None when there is nothing to do (fresh, read-only, opened with `cache=False`,
        a build already running, or one that failed less than BUILD_RETRY_S ago).

        Reads answer from the live view meanwhile and from the cache once it commits: the same
        money. The build holds the write lock, so an import started during it waits for it; a
        build that finds a write running gives up, and the next call starts it again.
        Started after a page is drawn, it does not slow that page down.
        """
        if self.read_only or not self.build_cache:
            return None
        with self._builder_guard:
            failed = self._builder_failed_at
            if failed is not None and time.monotonic() - failed < BUILD_RETRY_S:
                return None
            try:
                if self._builder is not None or prices.cache_fresh(self.cursor()):
                    return None
            except duckdb.Error:
                return None  # the reads that follow report what is wrong with the file
            cur = self._builder_cursor = self.cursor()
            self._builder = threading.Thread(target=self._build_behind, args=(cur,), name="priced-cache",
                                             daemon=True)
            atexit.register(self._stop_builder)
            self._builder.start()
            return self._builder

    def _build_behind(self, cur: duckdb.DuckDBPyConnection) -> None:
        failed_at = None
        try:
            with self.write_lock(wait=False) as held:
                if held:
                    prices.refresh_priced_cache(self, cur)
        except (duckdb.Error, WarehouseError) as e:
            # The view still answers every read. Not at once again: a full disk fails alike.
            failed_at = time.monotonic()
            if self._builder_cursor is cur:  # not interrupted on purpose by close()
                logging.getLogger(__name__).warning("the priced cache of %s was not built (pages read the "
                                                    "live cost view meanwhile): %s", self.path, e)
        finally:
            atexit.unregister(self._stop_builder)
            with self._builder_guard:
                self._builder_cursor = None
                self._builder = None
                self._builder_failed_at = failed_at

    def _stop_builder(self) -> None:
        """Interrupt a build running behind the reads (it rolls back) and wait for its thread."""
        with self._builder_guard:
            builder, cur = self._builder, self._builder_cursor
            self._builder_cursor = None
        while builder is not None and builder.is_alive():
            if cur is not None:
                cur.interrupt()  # again until it ends: one sent before the build's query starts is lost
            builder.join(0.05)

    def begin_batch(self, cur: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
        """A new batch id for an insert, and whether the priced cache is current before it (hold the write lock)."""
        return prices.begin_batch(cur)

    def map_models(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Map new model names inside the caller's transaction (an import's, before it commits).

        It reads every stored row's model, so a damaged block of that column fails the import
        while it can still roll back, rather than after its rows are in.
        """
        prices.map_new_models(self, cur)

    def record_batch(self, cur: duckdb.DuckDBPyConnection, batch: int, was_current: bool) -> None:
        """Inside an insert's transaction: the batch recorded for the priced cache (see prices.record_batch)."""
        try:
            prices.record_batch(cur, batch, was_current)
        except duckdb.Error as e:
            raise translate(e, self.path) from e

    # ------------------------------------------------------------------ row writes (see rows.py)

    def log_calls(self, calls: Iterable[Mapping[str, Any]]) -> int:
        """Append live calls (rows.LIVE_CALL_COLUMNS) to `live_calls`, failed ones included; returns how many."""
        return rows.log_calls(self, calls)

    def insert_requests(self, requests: Iterable[Mapping[str, Any]], source: str | None = None) -> tuple[int, int]:
        """Insert canonical request dicts; returns (added, duplicates). Keys are hinted, ids deduplicated."""
        return rows.insert_requests(self, requests, source)

    def insert_table(self, table: pa.Table) -> int:
        """Insert an Arrow table with the request columns as one batch; returns rows added (new ids only)."""
        return rows.insert_table(self, table)


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|ALTER|DROP|TRUNCATE|CREATE|CHECKPOINT)\b", re.I)
