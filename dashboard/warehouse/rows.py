"""Row writes: requests and live calls into the warehouse, each id once.

The request columns, the two physical tables behind the `requests` view (`request_rows`,
and `request_rows_lean` for rows that fill none of the rarely filled columns), the insert
paths that keep (source, request_id) unique without an index, and the updates a growing
log needs. An import's own SQL (ingest) yields rows; this module writes them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from dashboard.errors import WarehouseError, id_without_key, mask_value
from dashboard.warehouse.contract import Reasons
from dashboard.warehouse.prices import begin_batch

if TYPE_CHECKING:
    import pyarrow as pa

    from dashboard.warehouse.connection import Warehouse

REQUEST_COLUMNS = (
    "source", "request_id", "ts", "provider", "upstream_provider", "model", "project", "api_key",
    "user", "tags", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "latency_ms", "ttft_ms", "status", "billed_cost", "currency",
    "import_id", "request_count", "span_s",
)
# The columns of `live_calls` (migrations.m008_live_calls), in order.
LIVE_CALL_COLUMNS = ("called_at", "base_url", "provider", "model", "status", "ok", "error_kind", "error",
                     "attempts", "latency_ms", "request_id")
# What every row of one insert shares, stored once per insert in `origins` (see migrations.m004_origins).
ORIGIN_COLUMNS = ("source", "import_id")
# The columns of the physical table `request_rows`, after its `origin_id`.
ROW_COLUMNS = tuple(c for c in REQUEST_COLUMNS if c not in ORIGIN_COLUMNS)
TOKEN_COLUMNS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens",
)
# The row columns `request_rows_lean` leaves out (migrations.m005_lean_rows), each with the value `requests`
# shows for a lean row, as SQL over that row (aliased {row}): what an import gives a row whose
# file has none of these fields. Keep in step with the view of the latest migration that
# redefines `requests` (5, then 7, then 11; a test compares them).
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



def log_calls(wh: Warehouse, rows: Iterable[Mapping[str, Any]]) -> int:
    """Append live calls (LIVE_CALL_COLUMNS) to `live_calls`, failed ones included; returns how many."""
    values = [[row.get(c) for c in LIVE_CALL_COLUMNS] for row in rows]
    if values:
        with wh.write_lock():
            wh.cursor().executemany(
                f"INSERT INTO live_calls ({', '.join(LIVE_CALL_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(LIVE_CALL_COLUMNS))})", values)
    return len(values)


def insert_requests(wh: Warehouse, rows: Iterable[Mapping[str, Any]], source: str | None = None) -> tuple[int, int]:
    """Insert canonical request dicts; returns (added, duplicates). Keys are hinted, ids deduplicated."""
    materialized = [_canonical_request(row, source) for row in rows]
    if not materialized:
        return 0, 0
    import pyarrow as pa  # here, not at the top: a tenth of a second of a command-line import's start-up

    added = insert_table(wh, pa.Table.from_pylist(materialized, schema=_request_arrow()))
    return added, len(materialized) - added


def _canonical_request(row: Mapping[str, Any], source: str | None) -> dict[str, Any]:
    """`row`'s REQUEST_COLUMNS as stored: counts as ints, a naive time as UTC, keys cut to their hint."""
    rec = {c: row.get(c) for c in REQUEST_COLUMNS}
    if source is not None:
        rec["source"] = source
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
    for c in ("billed_cost", "status"):
        if rec[c] is not None:
            rec[c] = str(rec[c])
    return _without_keys(rec)


# The request columns of free text a key could hide in (a file's misplaced column, a name typed
# in a field): stored with any key cut to its hint, by _without_keys for rows written from
# Python and by ingest.sql's canonical select for imported ones. (A request id holding a key
# is hashed instead, the key column cut to its hint, and tags masked one by one.)
MASKED_TEXT = ("source", "provider", "upstream_provider", "model", "project", "user", "status", "currency")


def _without_keys(rec: dict[str, Any]) -> dict[str, Any]:
    """`rec` with every text a key could hide in scrubbed: the key column cut to its hint."""
    rec["api_key"] = key_hint(rec["api_key"])
    if isinstance(rec["tags"], str):
        rec["tags"] = [t for t in rec["tags"].split(",") if t]
    for c in MASKED_TEXT:
        if isinstance(rec.get(c), str):
            rec[c] = mask_value(rec[c])
    if isinstance(rec["request_id"], str):
        rec["request_id"] = id_without_key(rec["request_id"])
    if rec["tags"]:
        rec["tags"] = [mask_value(str(t)) for t in rec["tags"]]
    return rec


def insert_table(wh: Warehouse, table: pa.Table) -> int:
    """Insert an Arrow table with the request columns as one batch; returns rows added (new ids only)."""
    cur = wh.cursor()
    cur.register("staged_table", table)
    with wh.write_lock():
        batch, was_current = begin_batch(cur)
        try:
            with wh.transaction(cur):
                added = insert_new_requests(cur, "staged_table", batch_id=batch)
                wh.map_models(cur)
                wh.record_batch(cur, batch, was_current)
        finally:
            cur.unregister("staged_table")
    return added


@functools.cache
def _request_arrow() -> pa.Schema:
    """The Arrow schema of canonical request dicts (insert_requests)."""
    import pyarrow as pa

    return pa.schema(
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
        INSERT INTO origins (origin_id, batch_id, source, import_id)
        SELECT nextval('origin_ids'), {int(batch_id)}, source, import_id
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


# Up to this many rows, _repeated_ids sorts the hashes; beyond, it counts the distinct ones.
# Under the warehouse's 1 GB memory limit the sort took 1.1 s on 20,000,000 ids where the
# count took 1.4 s, and 0.13 s against 0.16 s on 2,000,000 just inserted; they break even
# near 40,000,000, and at 60,000,000 the sort, spilling, took 4.6 s against 3.3 s.
SORTED_IDS_MAX = 20_000_000


def _repeated_ids(cur: duckdb.DuckDBPyConnection, rows: str, where: str,
                  params: Mapping[str, Any] | None = None, key: str = "source, request_id",
                  count: int | None = None) -> int:
    """Rows of `rows` whose `key` hash an earlier row shares; 0 proves every key distinct.

    Hashes are cheaper to compare than pairs; a shared hash, whether a real repeat or a
    collision, just sends the caller down its exact path. `count`, the rows' number where the
    caller knows it, picks the faster of two exact counts (see SORTED_IDS_MAX): the hashes
    sorted (on every core) and each compared with the one before, or the distinct ones counted.
    """
    hashes = f"SELECT hash({key}) AS h FROM {rows} WHERE {where}"
    if count is not None and count <= SORTED_IDS_MAX:
        sql = (f"SELECT count(*) FILTER (WHERE h = before) "
               f"FROM (SELECT h, lag(h) OVER (ORDER BY h) AS before FROM ({hashes}))")
    else:
        sql = f"SELECT count(*) - count(DISTINCT h) FROM ({hashes})"
    return int(cur.execute(sql, params or {}).fetchone()[0])


def _staged_value(column: str) -> str:
    """The value of a row column in a row source aliased `s` (staged rows or a file's reader)."""
    return "CAST(s.billed_cost AS DECIMAL(38, 12))" if column == "billed_cost" else f's."{column}"'


# The row columns of a row source aliased `s`, in table order.
_SELECT_ROW = ", ".join(_staged_value(c) for c in ROW_COLUMNS)


def _clean_value(column: str) -> str:
    """The value a clean insert stores for a row column of a row source aliased `s`: the
    provider its origin names ($shared_provider, NULL for none) is stored there alone, the
    rows that have it store NULL (migrations.m011_origin_provider); a row with no provider
    under such an origin stops the insert (NotClean: it has none where `requests` would show one)."""
    if column != "provider":
        return _staged_value(column)
    return ("CASE WHEN s.provider = $shared_provider THEN NULL WHEN s.provider IS NULL AND $shared_provider "
            "IS NOT NULL THEN error('a row without the provider its origin names') ELSE s.provider END")


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


# Counts the rows a lean insert met that the lean table cannot hold: the first one stops the
# insert (its error draws from this sequence), and the count, which the rollback leaves, says
# why (see refusal). Made before the transaction, by prepare_clean_insert.
_NOT_LEAN = "ingest_not_lean"


def prepare_clean_insert(cur: duckdb.DuckDBPyConnection) -> None:
    """Ready `cur` for insert_clean_requests: call it before the insert's transaction begins."""
    cur.execute(f"CREATE OR REPLACE TEMP SEQUENCE {_NOT_LEAN}")


def refusal(cur: duckdb.DuckDBPyConnection, e: NotClean) -> NotClean:
    """Why insert_clean_requests raised `e`, once its transaction is rolled back: NotLean where a
    row did not fit the lean table, else `e`."""
    if sequence_value(cur, _NOT_LEAN):
        return NotLean("a row with a field the lean table leaves out")
    return e


@dataclass(frozen=True)
class _Target:
    """The table a clean insert writes its rows to, and how."""

    table: str
    columns: str  # the table's columns, for INSERT, from origin_id on
    values: str  # their values after origin_id, from a row source aliased `s` (see _clean_value)
    holds: str  # SQL: the table holds row `s` whole (it has a column for every value the row has)


_WIDE = _Target("request_rows", _INSERT_COLUMNS, ", ".join(_clean_value(c) for c in ROW_COLUMNS), "true")
_LEAN = _Target(
    "request_rows_lean",
    "origin_id, " + ", ".join(f'"{c}"' for c in LEAN_COLUMNS),
    ", ".join(_clean_value(c) for c in LEAN_COLUMNS),
    " AND ".join(f's."{c}" IS NOT DISTINCT FROM {v.format(row="s")}' for c, v in LEAN_DEFAULTS.items()),
)


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


def sequence_value(cur: duckdb.DuckDBPyConnection, name: str) -> int:
    """How many times a fresh temporary sequence was drawn from (a rollback leaves the count)."""
    row = cur.execute("SELECT coalesce(max(last_value), 0) FROM duckdb_sequences() WHERE sequence_name = ?", [name])
    return int(row.fetchone()[0])


def insert_clean_requests(
    cur: duckdb.DuckDBPyConnection, select_sql: str, params: Mapping[str, Any], batch_id: int, reasons: Reasons,
    lean: bool = False, provider: str | None = None,
) -> tuple[int, int, int]:
    """Insert a file's good rows straight from its reader, with no staging table; returns (good, added, rejected).

    `select_sql` yields `reason`: NULL for a good row, `reasons.skipped` for no record at all,
    else why the row is rejected. Rejected rows are passed over and counted as the rows stream
    by (a sequence: its side effect runs in parallel like the rest), so the caller knows
    whether to read them again for their lines and texts, and a clean file pays nothing
    for it. So are rows whose (source, request_id) an earlier import holds, where their
    source has few enough rows (KNOWN_IDS_IN_MEMORY; else they are deleted afterwards): a
    later export overlapping an earlier one costs little more than its new rows. An id
    repeated inside the file keeps its first occurrence (see _keep_first_occurrences). An
    `reasons.unnamed` row, a row of another source or import than `params` name (the rows share
    one origin), or more repeated ids than that takes, raises NotClean, and the caller,
    whose transaction this runs in, rolls back and takes the staged path that names rows
    from their text, keeps first occurrences however many, and gives every source its origin.
    `lean`: the rows go to `request_rows_lean`; the first row with a value that table leaves out
    (see LEAN_DEFAULTS) stops the insert, and once the caller has rolled back, `refusal` says
    NotLean: the caller inserts the file into `request_rows`. `provider`: the one the rows share (the
    import's route), kept once in their origin (see _clean_value). Call prepare_clean_insert first.
    """
    target = _LEAN if lean else _WIDE
    source, import_id = params.get("source"), params.get("import_id")
    if source is None:
        raise NotClean("no source named for the rows' origin")
    known = cur.execute("SELECT count(*) FROM requests WHERE source = ?", [source]).fetchone()[0]
    leave_out = 0 < known <= KNOWN_IDS_IN_MEMORY
    new = (f"(NOT EXISTS (SELECT 1 FROM requests AS o WHERE o.source = s.source AND o.request_id = s.request_id) "
           f"OR nextval('{_KNOWN_ROWS}') IS NULL)") if leave_out else "true"
    origin = _new_origin(cur, batch_id, source, import_id, provider)
    # In the filter: a sequence drawn in the insert's own SELECT list makes DuckDB insert on one thread.
    fits = (f"CASE WHEN s.reason IS NOT NULL OR {target.holds} THEN true "
            f"ELSE error('a row the lean table cannot hold: ' || nextval('{_NOT_LEAN}')) END") if lean else "true"
    try:
        cur.execute(";".join(f"CREATE OR REPLACE TEMP SEQUENCE {name}" for name in (_BAD_ROWS, _KNOWN_ROWS)))
        inserted = cur.execute(
            f"""
            INSERT INTO {target.table} ({target.columns})
            SELECT CASE WHEN s.source = $source AND s.import_id IS NOT DISTINCT FROM $import_id
                THEN {origin} ELSE error('a row of another source or import') END, {target.values}
            FROM ({select_sql}) AS s
            WHERE (s.reason IS NULL AND {new} AND {fits}) OR (s.reason <> $skipped_reason AND CASE
                WHEN s.reason = $unnamed_reason THEN error('a row to name from its text')
                ELSE nextval('{_BAD_ROWS}') END IS NULL)
            """,
            dict(params, skipped_reason=reasons.skipped, unnamed_reason=reasons.unnamed, shared_provider=provider),
        ).fetchone()[0]
        rejected = sequence_value(cur, _BAD_ROWS)
        duplicates = sequence_value(cur, _KNOWN_ROWS)
        # One origin: its rows' ids alone tell them apart.
        repeats = _repeated_ids(cur, target.table, f"origin_id = {origin}", key="request_id", count=int(inserted))
    except duckdb.Error as e:
        raise NotClean(str(e).splitlines()[0]) from e
    good = int(inserted) + duplicates
    if known and not leave_out:
        duplicates += _delete_known(cur, target, origin, batch_id, source)
    removed = _keep_first_occurrences(cur, select_sql, params, origin, target, provider) if repeats else 0
    return good, good - int(duplicates) - removed, int(rejected)


def _delete_known(cur: duckdb.DuckDBPyConnection, target: _Target, origin: int, batch_id: int, source: str) -> int:
    """Delete the origin's rows whose (source, request_id) an earlier batch holds; returns how many."""
    return int(cur.execute(
        f"""
        DELETE FROM {target.table} AS r WHERE r.origin_id = $origin AND EXISTS (
            SELECT 1 FROM requests AS o
            WHERE o.batch_id IS DISTINCT FROM $b AND o.source = $source AND o.request_id = r.request_id)
        """,
        {"b": batch_id, "origin": origin, "source": source},
    ).fetchone()[0])


def _new_origin(cur: duckdb.DuckDBPyConnection, batch_id: int, source: str, import_id: int | None,
                provider: str | None) -> int:
    """A new row of `origins` for rows of `source`, `import_id` and, where they share it, `provider`,
    inserted in batch `batch_id`; returns its id."""
    return int(cur.execute(
        "INSERT INTO origins (origin_id, batch_id, source, import_id, provider) "
        "VALUES (nextval('origin_ids'), ?, ?, ?, ?) RETURNING origin_id",
        [batch_id, source, import_id, provider],
    ).fetchone()[0])


# More ids repeated inside one file than this go the staged way: each row of the file is
# looked up in the list of repeated ids, which costs in proportion to its length.
MAX_REPEATED_IDS = 1000


def _keep_first_occurrences(cur: duckdb.DuckDBPyConnection, select_sql: str, params: Mapping[str, Any],
                            origin: int, target: _Target = _WIDE, provider: str | None = None) -> int:
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
        """,
        {"shared_provider": provider},
    ).fetchone()[0]
    cur.execute("DROP TABLE ingest_firsts")
    cur.execute("DROP TABLE ingest_repeated")
    return int(removed) - int(kept)
