"""Run one file import as one transaction: all of it lands, or none of it.

Ingest builds the SQL (readers, format mapping, validation); this module, which owns
DuckDB, runs it: a clean file straight into `requests`; any other staged, keeping every
rejected row with its line and reason before the new rows go in; then the register.
Any DuckDB error rolls everything back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from dashboard.errors import ImportFailed, mask_secrets, mask_unreadable
from dashboard.warehouse.connection import Warehouse, damaged
from dashboard.warehouse.rows import (
    NOT_JSON,
    SKIPPED,
    UNNAMED,
    NotClean,
    NotLean,
    insert_clean_requests,
    insert_new_requests,
    stage_in_file_order,
    update_grown_requests,
)

__all__ = ["NOT_JSON", "SKIPPED", "UNNAMED", "ImportCounts", "NotClean", "NotLean", "Unreadable", "read_sample",
           "run_import"]


class Unreadable(NotClean):
    """A clean-only read met a line DuckDB cannot read at all: only the staged read keeps it."""


_REJECTED = f"reason <> '{SKIPPED}'"


@dataclass(frozen=True)
class ImportCounts:
    import_id: int
    added: int
    duplicates: int
    rejected: int
    staged: bool  # False: read straight into `requests` (a clean file)
    updated: int = 0  # of the duplicates, rows whose usage grew (see run_import's `grows`)


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
        broken = damaged(e, wh.path)
        if broken:
            raise broken from e
        raise ImportFailed(f"{path}: cannot be read: {str(e).splitlines()[0]}") from e


def run_import(
    wh: Warehouse,
    *,
    macros: str,
    select_sql: str,
    params: dict[str, Any],
    file_name: str,
    sha256: Callable[[], str],
    format_name: str,
    uses_csv_rejects: bool,
    rejects: tuple[str, str],
    first_line: int = 1,
    clean_only: bool = False,
    line_events: str | None = None,
    reread_sql: str | None = None,
    grows: bool = False,
    lean: bool = False,
    extra_rejects: Sequence[tuple[int, str, str]] = (),
) -> ImportCounts:
    """Import one file's rows in one transaction: every row lands, or none does.

    Staged (the default): stage the rows, then keep the rejected ones and insert the new
    good ones. `clean_only`: insert the good rows straight from the reader with no staging
    table; when rows were rejected, `reread_sql` (the file read as the staged path reads
    it, but strict) reads them again for their lines and texts. A row only the staged path
    can take, or many repeated ids, rolls back and raises NotClean (as does a file imported
    before, whose rows would all be written and deleted again).

    `select_sql` yields every record in file order (a `reason` of SKIPPED marks a row that
    is no record), so where the reader left `line` NULL the staging rowid numbers it:
    record n (counting from 0) is line n + `first_line`. `line_events` (CSV: see
    readers.csv_line_events_sql) moves the lines of rejected rows to where the records
    really sit when blank lines or quoted fields with line breaks shift them.
    `sha256` gives the file's digest once the rows are in (it may be computed meanwhile).
    `uses_csv_rejects` with `clean_only`: the read passes over a line whose value its CSV
    reader cannot parse, keeping it in the `rejects` tables, and such a line counts as a
    rejected row (read again as text for its line and reason, which must find it rejected
    too); a line DuckDB cannot read at all raises Unreadable.
    `grows`: the format logs a request as it streams (Claude Code), so a known id whose
    record has more output tokens is the same request further on: its usage replaces the
    stored one (see update_grown_requests), on the staged path, which a clean-only import
    of a source with earlier rows takes.
    `lean` (with `clean_only`): the rows go to the table without the rarely filled columns,
    and a row with a value there raises NotLean (see insert_clean_requests).
    `extra_rejects`: rejected rows (line, text, reason) the reader cannot yield at all (lines
    too long for it, left out of the file it reads), kept beside its own.

    A damaged warehouse raises DamagedError (the message `report` and the app give) before
    anything commits: the import reads every stored row's model name inside its transaction.
    """
    cur = wh.cursor()
    with wh.write_lock(), _unordered(cur, clean_only):
        batch, was_fresh = wh.begin_batch(cur)
        try:
            cur.execute(macros)
            cur.execute("BEGIN TRANSACTION")
            import_id = cur.execute("SELECT nextval('import_ids')").fetchone()[0]
            cur.execute(
                "INSERT INTO imports (import_id, file_name, format, source, started_at, status) "
                "VALUES (?, ?, ?, ?, now(), 'running')",
                [import_id, file_name, format_name, params.get("source")],
            )
            updated = 0
            if clean_only:
                if _source_seen(cur, params.get("source")):
                    if grows:
                        raise NotClean("requests already stored may have grown")
                    if _file_seen(cur, sha256):
                        raise NotClean("the same file was imported before")
                if uses_csv_rejects:
                    _drop_rejects(cur, rejects)
                good, added, rejected = insert_clean_requests(
                    cur, select_sql, {**params, "import_id": import_id}, batch, lean=lean)
                if uses_csv_rejects:
                    rejected += _unparsed_lines(cur, rejects)
                if rejected:
                    _keep_rejected(cur, reread_sql, {**params, "import_id": import_id}, import_id, rejected,
                                   first_line=first_line, records=good + rejected, line_events=line_events)
            else:
                good, added, rejected, updated = _stage_and_insert(
                    cur, select_sql, {**params, "import_id": import_id}, import_id, batch,
                    uses_csv_rejects=uses_csv_rejects, rejects=rejects, first_line=first_line,
                    line_events=line_events, grows=grows,
                )
            if extra_rejects:
                cur.executemany("INSERT INTO rejected_rows VALUES (?, ?, ?, ?)",
                                [(import_id, line, raw, reason) for line, raw, reason in extra_rejects])
                rejected += len(extra_rejects)
            if rejected:
                _mask_unreadable_rows(cur, import_id)
            wh.map_models(cur)
            cur.execute(
                "UPDATE imports SET file_sha256 = ?, rows_added = ?, rows_duplicate = ?, rows_rejected = ?, "
                "finished_at = now(), status = 'complete' WHERE import_id = ?",
                [sha256(), added, good - added, rejected, import_id],
            )
            cur.execute("COMMIT")
        except NotClean as e:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            broken = damaged(e, wh.path)
            if broken:
                raise broken from e
            raise
        except duckdb.Error as e:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            broken = damaged(e, wh.path)
            if broken:
                raise broken from e
            raise ImportFailed(
                f"{file_name}: cannot be imported, nothing was changed: {str(e).splitlines()[0]}"
            ) from e
        except BaseException:  # anything else (the file's digest found it damaged, an interrupt)
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            raise
        # Rows changed in place are not in the batch the priced cache appends: it is rebuilt.
        wh.after_batch(cur, batch, was_fresh and not updated, mapped=True)
    return ImportCounts(import_id, added, good - added, rejected, staged=not clean_only, updated=updated)


@contextlib.contextmanager
def _unordered(cur: duckdb.DuckDBPyConnection, on: bool) -> Iterator[None]:
    """Let DuckDB write rows in any order (in parallel, not merged back into file order).

    The clean path may: its rows carry no line numbers, so their order means nothing (its
    re-reads that need file order keep it for themselves, see stage_in_file_order). So may
    the staged path's final insert, once the staging table (which must keep file order: its
    rowid numbers rejected rows) is read. The setting is global, so it is restored at once;
    every other writer waits on the same lock meanwhile.
    """
    if on:
        cur.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        if on:
            cur.execute("RESET preserve_insertion_order")


def _mask_unreadable_rows(cur: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Mask every long token in the text of the import's rejected rows that are no JSON object.

    No field of such a record can be named, so a key there has only its shape to go by: see
    errors.mask_unreadable (in Python: DuckDB's patterns cannot ask for a digit and a letter).
    """
    rows = cur.execute("SELECT rowid, raw FROM rejected_rows WHERE import_id = ? AND reason = ?",
                       [import_id, NOT_JSON]).fetchall()
    fixes = [(rowid, masked) for rowid, raw in rows if (masked := mask_unreadable(raw)) != raw]
    if fixes:
        cur.register("ingest_masked", pa.table({"id": [f[0] for f in fixes], "raw": [f[1] for f in fixes]}))
        cur.execute("UPDATE rejected_rows SET raw = m.raw FROM ingest_masked AS m WHERE rejected_rows.rowid = m.id")
        cur.unregister("ingest_masked")


def _drop_rejects(cur: duckdb.DuckDBPyConnection, rejects: tuple[str, str]) -> None:
    for table in rejects:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def _unparsed_lines(cur: duckdb.DuckDBPyConnection, rejects: tuple[str, str]) -> int:
    """Lines a clean read passed over for a value its reader could not parse (each line once:
    a re-read for first occurrences meets them again); Unreadable for any other reject."""
    lines, other = cur.execute(
        f"SELECT count(DISTINCT line), count(*) FILTER (WHERE error_type <> 'CAST') FROM {rejects[0]}"
    ).fetchone()
    _drop_rejects(cur, rejects)
    if other:
        raise Unreadable("a line DuckDB cannot read")
    return int(lines)


def _source_seen(cur: duckdb.DuckDBPyConnection, source: str | None) -> bool:
    """Whether rows of this source exist."""
    earlier = cur.execute("SELECT count(*) FROM (SELECT 1 FROM requests WHERE source = ? LIMIT 1)", [source])
    return bool(earlier.fetchone()[0])


def _file_seen(cur: duckdb.DuckDBPyConnection, sha256: Callable[[], str]) -> bool:
    """Whether an import already took a file with this digest."""
    return bool(cur.execute(
        "SELECT count(*) FROM imports WHERE file_sha256 = ? AND status = 'complete'", [sha256()]
    ).fetchone()[0])


def _stage_and_insert(
    cur: duckdb.DuckDBPyConnection, select_sql: str, params: dict[str, Any], import_id: int, batch: int, *,
    uses_csv_rejects: bool, rejects: tuple[str, str], first_line: int, line_events: str | None, grows: bool = False,
) -> tuple[int, int, int, int]:
    """Stage every row, keep the rejected ones, insert the new good ones; returns (good, added, rejected, updated).

    With `grows`, known requests whose staged record has more output tokens take its usage first.
    """
    cur.execute("DROP TABLE IF EXISTS staged")
    cur.execute(f"CREATE TEMP TABLE staged AS {select_sql}", params)
    structural: list[tuple[int, str, str]] = []
    if uses_csv_rejects:
        structural = cur.execute(
            f"SELECT line, first(csv_line), first(error_type || ': ' || error_message) "
            f"FROM {rejects[0]} GROUP BY line ORDER BY line"
        ).fetchall()
        _drop_rejects(cur, rejects)
    records, good, rejected = cur.execute(
        f"SELECT count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE {_REJECTED}) FROM staged"
    ).fetchone()
    lines = None
    if rejected or structural:
        lines = _place_rejected(cur, first_line, line_events, params["path"], records + len(structural),
                                unreadable=[r[0] for r in structural])
    if structural:
        cur.executemany(
            "INSERT INTO rejected_rows VALUES (?, ?, ?, ?)",
            [(import_id, int(lines.physical(line)) if lines else line, mask_unreadable(raw),
              mask_secrets(f"unreadable record: {why}"))
             for line, raw, why in structural],
        )
    if rejected:
        cur.execute(
            f"INSERT INTO rejected_rows SELECT ?, line, raw, reason FROM staged WHERE {_REJECTED}",
            [import_id],
        )
    updated = update_grown_requests(cur, "staged", "s.reason IS NULL") if grows else 0
    with _unordered(cur, True):  # the staged rows are numbered now, and a repeat's first occurrence is by line
        added = insert_new_requests(cur, "staged", "s.reason IS NULL", batch_id=batch)
    cur.execute("DROP TABLE staged")
    return good, added, rejected + len(structural), updated


def _keep_rejected(
    cur: duckdb.DuckDBPyConnection, select_sql: str | None, params: dict[str, Any], import_id: int,
    expected: int, *, first_line: int, records: int, line_events: str | None,
) -> None:
    """After a clean insert passed over `expected` rejected rows, read them again with their lines.

    `select_sql` reads the file as the staged path does, but keeps only `line`, `raw` and
    `reason` (NULL but for the rows rejected), in file order: the staging table's rowids
    number the rejected rows, in parallel, where a window over the whole file would not be.
    A second read that finds other rows than the first one passed over (it cannot, the two
    share their checks, but a count is cheap) raises NotClean: the staged path decides.
    """
    if select_sql is None:
        raise NotClean("rows were rejected and no second read was given")
    stage_in_file_order(cur, "staged", f"SELECT line, raw, reason FROM ({select_sql})", params)
    found = cur.execute(f"SELECT count(*) FROM staged WHERE {_REJECTED}").fetchone()[0]
    if found != expected:
        raise NotClean(f"a second read found {found} rejected rows, the first {expected}")
    _place_rejected(cur, first_line, line_events, params["path"], records)
    cur.execute(f"INSERT INTO rejected_rows SELECT ?, line, raw, reason FROM staged WHERE {_REJECTED}", [import_id])
    cur.execute("DROP TABLE staged")


def _place_rejected(cur: duckdb.DuckDBPyConnection, first_line: int, line_events: str | None, path: str,
                    records: int, unreadable: Sequence[int] = ()) -> LineMap | None:
    """Give the staged rejected rows the lines they sit on; returns the line map used, if any.

    Rows are numbered from the rowid, then moved past the `unreadable` lines (DuckDB's own
    numbers) and, with `line_events` (CSV), past blank lines and quoted line breaks. The map
    is used only when its count of the file's `records` agrees with DuckDB's: quotes read
    otherwise (a stray one inside a field) leave record numbers.
    """
    _number_rejected(cur, first_line)
    lines = LineMap.read(cur, line_events, path) if line_events else None
    if lines and lines.records != records:
        lines = None
    skipped = np.unique(np.concatenate([unreadable, lines.blank if lines else []]).astype(np.int64))
    if len(skipped) or lines:
        _fix_lines(cur, skipped, lines)
    return lines


def _number_rejected(cur: duckdb.DuckDBPyConnection, first_line: int) -> None:
    """Give rejected rows their line, from the rowid."""
    # rowids run on in file order from wherever DuckDB starts them (not 0 inside a transaction).
    cur.execute(
        f"UPDATE staged SET line = rowid - (SELECT min(rowid) FROM staged) + {int(first_line)} "
        f"WHERE line IS NULL AND {_REJECTED}"
    )


def _fix_lines(cur: duckdb.DuckDBPyConnection, skipped: np.ndarray, lines: LineMap | None) -> None:
    """Staged rows count records, not lines; move the lines of rejected ones to where they sit.

    DuckDB yields no record for an unreadable or blank line (`skipped`, in its own line
    numbers), so the record numbered n sits on the n-th line not skipped; `lines` then
    turns DuckDB's line numbers, which count a record spanning lines as one, into the
    file's own.
    """
    rows = cur.execute(f"SELECT DISTINCT line FROM staged WHERE {_REJECTED}").fetchnumpy()["line"]
    old = np.asarray(rows, dtype=np.int64)
    # Skipped line i (0-based, in order) has skipped[i] - i lines not skipped before it.
    new = old + np.searchsorted(skipped - np.arange(len(skipped)), old, side="right")
    if lines:
        new = lines.physical(new)
    moved = new != old
    if moved.any():
        cur.register("line_fixes", pa.table({"old": old[moved], "new": new[moved]}))
        cur.execute("UPDATE staged SET line = f.new FROM line_fixes AS f WHERE staged.line = f.old")
        cur.unregister("line_fixes")


class LineMap:
    """Where a CSV's records sit, from its blank lines and the lines inside quoted fields.

    DuckDB numbers lines as if every record were one line (a quoted field with line breaks
    counts once), blank lines included; an editor counts every line. Built from the rows
    of readers.csv_line_events_sql: a line with an odd number of quotes opens a field that
    the next such line closes (a doubled quote inside a field counts twice, so it never
    does either). Line numbers count from 1; the header is the first line. Arrays, not
    lists: a large export whose every record spans lines has millions of such lines.
    """

    def __init__(self, blank_lines: Sequence[int], odd_lines: Sequence[int], lines: int) -> None:
        odd = np.sort(np.asarray(odd_lines, dtype=np.int64))
        opens, closes = odd[0::2], odd[1::2]
        if len(opens) > len(closes):  # a field never closed runs to the end
            closes = np.append(closes, max(int(opens[-1]), lines))
        keep = closes > opens
        self.first, self.last = opens[keep] + 1, closes[keep]  # lines inside field k: first[k]..last[k]
        self._before = np.concatenate(([0], np.cumsum(self.last - self.first + 1)))  # inside fields before k
        # DuckDB's number of the line that opens field k: the lines it numbers after that sit further on.
        self._anchor = self.first - 1 - self._before[:-1]
        blank = np.sort(np.asarray(blank_lines, dtype=np.int64))
        if len(self.first):  # a blank line inside a quoted field is part of its record
            k = np.searchsorted(self.first, blank, side="right") - 1
            blank = blank[(k < 0) | (blank > self.last[np.maximum(k, 0)])]
        self.blank = self.logical(blank)  # DuckDB's numbers of the blank lines between records
        self.records = lines - int(self._before[-1]) - len(blank) - 1  # the records after the header

    @classmethod
    def read(cls, cur: duckdb.DuckDBPyConnection, sql: str, path: str) -> LineMap:
        rows = cur.execute(sql, {"path": path}).fetchnumpy()
        n, kind = np.asarray(rows["n"], dtype=np.int64), np.asarray(rows["kind"])
        return cls(n[kind == 0], n[kind == 1], int(n[kind == 2][0]))

    def logical(self, physical: np.ndarray) -> np.ndarray:
        """DuckDB's numbers of lines that start a record or are blank."""
        physical = np.asarray(physical, dtype=np.int64)
        return physical - self._before[np.searchsorted(self.first, physical, side="left")]

    def physical(self, logical: np.ndarray) -> np.ndarray:
        """The file's own numbers of DuckDB's lines `logical`."""
        logical = np.asarray(logical, dtype=np.int64)
        return logical + self._before[np.searchsorted(self._anchor, logical, side="left")]
