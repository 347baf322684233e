"""Run one file import as one transaction: all of it lands, or none of it.

Ingest builds the SQL (readers, format mapping, validation); this module, which owns
DuckDB, runs it: stage, keep every rejected row with its line and reason, insert the new
rows, write the register. Any DuckDB error rolls everything back.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from dashboard.errors import ImportFailed
from dashboard.warehouse.db import Warehouse, insert_new_requests


@dataclass(frozen=True)
class ImportCounts:
    import_id: int
    added: int
    duplicates: int
    rejected: int


def read_sample(
    wh: Warehouse, sql: str, path: str, params: dict[str, Any] | None = None, macros: str | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a small read-only query (header, first lines, a preview); returns (columns, rows).

    `macros` are created first on the same cursor (DuckDB keeps temporary macros per cursor).
    """
    cur = wh.cursor()
    try:
        if macros:
            cur.execute(macros)
        rel = cur.execute(sql, params or {"path": path})
        return [d[0] for d in rel.description], rel.fetchall()
    except duckdb.Error as e:
        raise ImportFailed(f"{path}: cannot be read: {str(e).splitlines()[0]}") from e


def run_import(
    wh: Warehouse,
    *,
    macros: str,
    select_sql: str,
    params: dict[str, Any],
    file_name: str,
    sha256: str,
    format_name: str,
    uses_csv_rejects: bool,
    rejects: tuple[str, str],
) -> ImportCounts:
    cur = wh.cursor()
    reject_table, reject_scan = rejects
    with wh._write_lock:
        batch, was_fresh = wh.begin_batch(cur)
        try:
            cur.execute(macros)
            cur.execute("BEGIN TRANSACTION")
            import_id = cur.execute("SELECT nextval('import_ids')").fetchone()[0]
            cur.execute(
                "INSERT INTO imports (import_id, file_name, file_sha256, format, source, started_at, status) "
                "VALUES (?, ?, ?, ?, ?, now(), 'running')",
                [import_id, file_name, sha256, format_name, params.get("source")],
            )
            cur.execute("DROP TABLE IF EXISTS staged")
            cur.execute(f"CREATE TEMP TABLE staged AS {select_sql}", {**params, "import_id": import_id})
            structural: list[tuple[int, str, str]] = []
            if uses_csv_rejects:
                structural = cur.execute(
                    f"SELECT line, first(csv_line), first(error_type || ': ' || error_message) "
                    f"FROM {reject_table} GROUP BY line ORDER BY line"
                ).fetchall()
                cur.execute(f"DROP TABLE IF EXISTS {reject_table}")
                cur.execute(f"DROP TABLE IF EXISTS {reject_scan}")
            if structural:
                _fix_lines(cur, [r[0] for r in structural])
                cur.executemany(
                    "INSERT INTO rejected_rows VALUES (?, ?, ?, ?)",
                    [(import_id, line, raw, f"unreadable record: {why}") for line, raw, why in structural],
                )
            cur.execute(
                "INSERT INTO rejected_rows SELECT ?, line, raw, reason FROM staged WHERE reason IS NOT NULL",
                [import_id],
            )
            rejected = cur.execute("SELECT count(*) FROM staged WHERE reason IS NOT NULL").fetchone()[0]
            good = cur.execute("SELECT count(*) FROM staged WHERE reason IS NULL").fetchone()[0]
            added = insert_new_requests(cur, "staged", "s.reason IS NULL", batch_id=batch)
            rejected += len(structural)
            cur.execute(
                "UPDATE imports SET rows_added = ?, rows_duplicate = ?, rows_rejected = ?, "
                "finished_at = now(), status = 'complete' WHERE import_id = ?",
                [added, good - added, rejected, import_id],
            )
            cur.execute("DROP TABLE staged")
            cur.execute("COMMIT")
        except duckdb.Error as e:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise ImportFailed(
                f"{file_name}: cannot be imported, nothing was changed: {str(e).splitlines()[0]}"
            ) from e
        wh.after_batch(cur, batch, was_fresh)
    return ImportCounts(import_id, added, good - added, rejected)


def _fix_lines(cur: duckdb.DuckDBPyConnection, skipped: list[int]) -> None:
    """Staged rows count records, not lines; shift the lines of rejected ones past skipped lines.

    DuckDB drops unreadable lines before numbering, so the record numbered n really sits
    at line n + (number of unreadable lines up to it).
    """
    rows = cur.execute("SELECT DISTINCT line FROM staged WHERE reason IS NOT NULL").fetchall()
    old, new = [], []
    for (line,) in rows:
        real = line
        while (candidate := line + bisect.bisect_right(skipped, real)) != real:
            real = candidate
        if real != line:
            old.append(line)
            new.append(real)
    if old:
        cur.register("line_fixes", pa.table({"old": old, "new": new}))
        cur.execute("UPDATE staged SET line = f.new FROM line_fixes AS f WHERE staged.line = f.old")
        cur.unregister("line_fixes")
