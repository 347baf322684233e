"""Execute an import plan (see planner.py), each read as one transaction: all of it lands, or none of it.

The plan's clean reads go straight into `requests`, each giving way to the next when it
cannot take the file; the staged read keeps every rejected row with its line and reason
before the new rows go in; then the register. Any DuckDB error rolls everything back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from dashboard.errors import ImportFailed, mask_secrets, mask_unreadable
from dashboard.ingest.planner import ImportPlan, Read, ReadKind, Table
from dashboard.ingest.readers import REJECTS_SCAN, REJECTS_TABLE
from dashboard.ingest.reasons import NOT_JSON, REASONS, SKIPPED, UNNAMED
from dashboard.ingest.sql import CACHED_OVER, MACROS, shared_provider
from dashboard.warehouse.connection import Warehouse, damaged
from dashboard.warehouse.rows import (
    NotClean,
    NotLean,
    insert_clean_requests,
    insert_new_requests,
    prepare_clean_insert,
    refusal,
    sequence_value,
    stage_in_file_order,
    update_grown_requests,
)

if TYPE_CHECKING:
    from dashboard.ingest import lines as lines_of

__all__ = ["NOT_JSON", "SKIPPED", "UNNAMED", "ImportCounts", "NotClean", "NotLean", "ReadFailed", "Unreadable",
           "execute", "execute_staged", "read_sample"]


class Unreadable(NotClean):
    """A clean read met a line DuckDB cannot read at all: only the staged read keeps it."""


class ReadFailed(NotClean):
    """DuckDB failed a clean read (a typed reader met a value of another type, a malformed line)."""


class CachedOverPrompt(Exception):
    """A read of a plan with an `otherwise` met a row with more cached than prompt tokens; nothing was written."""


_REJECTED = f"reason <> '{SKIPPED}'"


@dataclass(frozen=True)
class ImportCounts:
    import_id: int
    added: int
    duplicates: int
    rejected: int
    staged: bool  # False: read straight into `requests` (a clean file)
    updated: int = 0  # of the duplicates, rows whose usage grew (see _run)
    cached_included: bool | None = None  # as the rows were read, where the plan left it to them


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


def execute(wh: Warehouse, plan: ImportPlan, *, path: str, file_name: str,
            sha256: Callable[[], str]) -> ImportCounts:
    """Import one file as `plan` says, in one transaction: every row lands, or none does.

    The clean reads are tried in turn: a read that gives way rolls back and the next one is
    tried; the staged read ends the plan. A read that meets a row with more cached than prompt
    tokens where the plan has an `otherwise` rolls back, and that plan runs instead. `path` is
    the file DuckDB reads (see files.readable), `file_name` what the register calls it, `sha256`
    gives its digest once the rows are in (it may be computed meanwhile).
    """
    return _by_the_rows(plan, lambda p: _execute(wh, p, path=path, file_name=file_name, sha256=sha256))


def _by_the_rows(plan: ImportPlan, run: Callable[[ImportPlan], ImportCounts]) -> ImportCounts:
    """`run(plan)`, or `run(plan.otherwise)` where a row showed the cached tokens are not in the
    prompt tokens; the counts say how the prompt tokens were read, where the format leaves that to the file."""
    try:
        counts = run(plan)
    except CachedOverPrompt:
        assert plan.otherwise is not None
        return _by_the_rows(plan.otherwise, run)
    if not plan.cached_open:
        return counts
    return dataclasses.replace(counts, cached_included=plan.params.get("cached_included") is not False)


def _execute(wh: Warehouse, plan: ImportPlan, *, path: str, file_name: str,
             sha256: Callable[[], str]) -> ImportCounts:
    params = {**plan.params, "path": path}
    lean = plan.table is not Table.FULL
    for read in plan.clean:
        counts = _clean(wh, plan, read, params, file_name, sha256, lean)
        if isinstance(counts, ImportCounts):
            return counts
        if counts is _GaveWay.TO_STAGED:
            break
    return execute_staged(wh, plan, path=path, file_name=file_name, sha256=sha256)


def execute_staged(wh: Warehouse, plan: ImportPlan, *, path: str, file_name: str, sha256: Callable[[], str],
                   extra_rejects: Sequence[tuple[int, str, str]] = ()) -> ImportCounts:
    """The plan's staged read alone. `extra_rejects`: rejected rows (line, text, reason) the reader
    cannot yield at all (lines too long for it, left out of the file it reads), kept beside its own."""
    return _by_the_rows(plan, lambda p: _run(wh, _Job(p, p.staged, {**p.params, "path": path}, file_name, sha256),
                                             extra_rejects=extra_rejects))


class _GaveWay(enum.Enum):
    NEXT = "the next read"
    TO_STAGED = "the staged read"


def _clean(wh: Warehouse, plan: ImportPlan, read: Read, params: dict[str, Any], file_name: str,
           sha256: Callable[[], str], lean: bool) -> ImportCounts | _GaveWay:
    """One clean read: into the lean table where `lean` says the rows may go there, and where a
    row turns out to have a value that table leaves out, into the full one."""
    job = _Job(plan, read, params, file_name, sha256)
    for into_lean in (True, False) if lean else (False,):
        try:
            return _run(wh, job, lean=into_lean)
        except NotLean:
            continue
        except Unreadable:  # a line DuckDB cannot read: the next clean read would fail on it too
            return _GaveWay.TO_STAGED
        except NotClean:
            return _GaveWay.NEXT
    return _GaveWay.NEXT


@dataclass(frozen=True)
class _Job:
    """One read of a plan, with its parameters and the file's name and digest."""

    plan: ImportPlan
    read: Read
    params: dict[str, Any]
    file_name: str
    sha256: Callable[[], str]

    @property
    def clean(self) -> bool:
        return self.read.kind is not ReadKind.STAGED

    @property
    def uses_csv_rejects(self) -> bool:
        """Whether the read keeps lines in DuckDB's rejects tables: the staged read of a file read by
        lines, and a typed CSV read, which passes over a line whose value it cannot parse."""
        return (not self.clean and self.plan.lines_read) or self.read.unparsed_kept


def _run(wh: Warehouse, job: _Job, lean: bool = False, extra_rejects: Sequence[tuple[int, str, str]] = ()
         ) -> ImportCounts:
    """Import the file's rows by one read in one transaction: every row lands, or none does.

    Staged: stage the rows, then keep the rejected ones and insert the new good ones. Clean:
    insert the good rows straight from the reader with no staging table; when rows were
    rejected, the plan's `reread` (the file read as the staged path reads it, but strict)
    reads them again for their lines and texts. A row only the staged path can take, or many
    repeated ids, rolls back and raises NotClean (as does a file imported before, whose rows
    would all be written and deleted again); a read DuckDB fails raises ReadFailed, a line it
    cannot read at all Unreadable.

    A read yields every record in file order (a `reason` of SKIPPED marks a row that is no
    record), so where the reader left `line` NULL the staging rowid numbers it: record n
    (counting from 0) is line n + the plan's `first_line`; the plan's `line_events` (CSV)
    moves the lines of rejected rows to where the records really sit when blank lines or
    quoted fields with line breaks shift them.
    A format whose records grow (Claude Code) has a known id whose record has more output
    tokens replace the stored usage (see update_grown_requests), on the staged path, which a
    clean import of a source with earlier rows gives way to.
    `lean` (clean): the rows go to the table without the rarely filled columns, and a row with
    a value there raises NotLean (see insert_clean_requests).

    A damaged warehouse raises DamagedError (the message `report` and the app give) before
    anything commits: the import reads every stored row's model name inside its transaction.
    """
    cur = wh.cursor()
    with wh.write_lock(), _unordered(cur, job.clean):
        batch, was_current = wh.begin_batch(cur)
        try:
            import_id = _begin(cur, job)
            params = {**job.params, "import_id": import_id}
            if job.clean:
                good, added, rejected = _insert_clean(cur, job, params, import_id, batch, lean)
                updated = 0
            else:
                good, added, rejected, updated = _stage_and_insert(cur, job, params, import_id, batch)
            if extra_rejects:
                cur.executemany("INSERT INTO rejected_rows VALUES (?, ?, ?, ?)",
                                [(import_id, line, raw, reason) for line, raw, reason in extra_rejects])
                rejected += len(extra_rejects)
            if rejected:
                _mask_unreadable_rows(cur, import_id)
            wh.map_models(cur)
            # Rows changed in place are no batch the priced cache can take in: it is rebuilt.
            wh.record_batch(cur, batch, was_current and not updated)
            cur.execute(
                "UPDATE imports SET file_sha256 = ?, rows_added = ?, rows_duplicate = ?, rows_rejected = ?, "
                "finished_at = now(), status = 'complete' WHERE import_id = ?",
                [job.sha256(), added, good - added, rejected, import_id],
            )
            cur.execute("COMMIT")
        except BaseException as e:
            _roll_back(cur, e, wh, job)
            raise
    return ImportCounts(import_id, added, good - added, rejected, staged=not job.clean, updated=updated)


def _begin(cur: duckdb.DuckDBPyConnection, job: _Job) -> int:
    """Open the import's transaction and register the import as running; returns its id.

    The macros, and with them the count sql.CACHED_OVER, and the clean insert's own count (see
    rows.prepare_clean_insert) are made first, outside the transaction, so that its rollback
    leaves the counts for _roll_back to read.
    """
    cur.execute(MACROS)
    prepare_clean_insert(cur)
    cur.execute("BEGIN TRANSACTION")
    import_id = cur.execute("SELECT nextval('import_ids')").fetchone()[0]
    cur.execute("INSERT INTO imports (import_id, file_name, format, source, started_at, status) "
                "VALUES (?, ?, ?, ?, now(), 'running')",
                [import_id, job.file_name, job.plan.format, job.params.get("source")])
    return import_id


def _roll_back(cur: duckdb.DuckDBPyConnection, e: BaseException, wh: Warehouse, job: _Job) -> None:
    """Undo the import's transaction, and raise what `e` means for the plan (or return to re-raise `e`)."""
    with contextlib.suppress(duckdb.Error):
        cur.execute("ROLLBACK")
    if not isinstance(e, NotClean | duckdb.Error):
        return  # anything else (the file's digest found it damaged, an interrupt)
    broken = damaged(e, wh.path)
    if broken:
        raise broken from e
    # The read failed on purpose at a row with more cached than prompt tokens: the count says so.
    if job.plan.otherwise and sequence_value(cur, CACHED_OVER):
        raise CachedOverPrompt() from e
    if isinstance(e, NotClean) and (why := refusal(cur, e)) is not e:
        raise why from e
    if isinstance(e, duckdb.Error):
        if job.clean:
            raise ReadFailed(str(e).splitlines()[0]) from e
        raise ImportFailed(
            f"{job.file_name}: cannot be imported, nothing was changed: {str(e).splitlines()[0]}"
        ) from e


def _insert_clean(cur: duckdb.DuckDBPyConnection, job: _Job, params: dict[str, Any], import_id: int,
                  batch: int, lean: bool) -> tuple[int, int, int]:
    """Insert the good rows straight from a clean read; returns (good, added, rejected)."""
    if _source_seen(cur, job.params.get("source")):
        if job.plan.grows:
            raise NotClean("requests already stored may have grown")
        if _file_seen(cur, job.sha256):
            raise NotClean("the same file was imported before")
    if job.read.unparsed_kept:
        _drop_rejects(cur)
    good, added, rejected = insert_clean_requests(cur, job.read.sql, params, batch, REASONS, lean=lean,
                                                  provider=shared_provider(params.get("provider")))
    if job.read.unparsed_kept:
        rejected += _unparsed_lines(cur)
    if rejected:
        _keep_rejected(cur, job.plan, params, import_id, rejected, records=good + rejected)
    return good, added, rejected


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
        import pyarrow as pa  # here, not at the top: a tenth of a second of every import's start-up

        cur.register("ingest_masked", pa.table({"id": [f[0] for f in fixes], "raw": [f[1] for f in fixes]}))
        cur.execute("UPDATE rejected_rows SET raw = m.raw FROM ingest_masked AS m WHERE rejected_rows.rowid = m.id")
        cur.unregister("ingest_masked")


_REJECTS = (REJECTS_TABLE, REJECTS_SCAN)


def _drop_rejects(cur: duckdb.DuckDBPyConnection) -> None:
    for table in _REJECTS:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def _unparsed_lines(cur: duckdb.DuckDBPyConnection) -> int:
    """Lines a clean read passed over for a value its reader could not parse (each line once:
    a re-read for first occurrences meets them again); Unreadable for any other reject."""
    lines, other = cur.execute(
        f"SELECT count(DISTINCT line), count(*) FILTER (WHERE error_type <> 'CAST') FROM {REJECTS_TABLE}"
    ).fetchone()
    _drop_rejects(cur)
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


def _stage_and_insert(cur: duckdb.DuckDBPyConnection, job: _Job, params: dict[str, Any], import_id: int,
                      batch: int) -> tuple[int, int, int, int]:
    """Stage every row, keep the rejected ones, insert the new good ones; returns (good, added, rejected, updated).

    For a format whose records grow, known requests whose staged record has more output tokens take its usage first.
    """
    cur.execute("DROP TABLE IF EXISTS staged")
    cur.execute(f"CREATE TEMP TABLE staged AS {job.read.sql}", params)
    structural: list[tuple[int, str, str]] = []
    if job.uses_csv_rejects:
        structural = cur.execute(
            f"SELECT line, first(csv_line), first(error_type || ': ' || error_message) "
            f"FROM {REJECTS_TABLE} GROUP BY line ORDER BY line"
        ).fetchall()
        _drop_rejects(cur)
    records, good, rejected = cur.execute(
        f"SELECT count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE {_REJECTED}) FROM staged"
    ).fetchone()
    lines = None
    if rejected or structural:
        lines = _place_rejected(cur, job.plan, params["path"], records + len(structural),
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
    updated = update_grown_requests(cur, "staged", "s.reason IS NULL") if job.plan.grows else 0
    with _unordered(cur, True):  # the staged rows are numbered now, and a repeat's first occurrence is by line
        added = insert_new_requests(cur, "staged", "s.reason IS NULL", batch_id=batch)
    cur.execute("DROP TABLE staged")
    return good, added, rejected + len(structural), updated


def _keep_rejected(cur: duckdb.DuckDBPyConnection, plan: ImportPlan, params: dict[str, Any], import_id: int,
                   expected: int, *, records: int) -> None:
    """After a clean insert passed over `expected` rejected rows, read them again with their lines.

    The plan's `reread` reads the file as the staged path does, but keeps only `line`, `raw`
    and `reason` (NULL but for the rows rejected), in file order: the staging table's rowids
    number the rejected rows, in parallel, where a window over the whole file would not be.
    A second read that finds other rows than the first one passed over (it cannot, the two
    share their checks, but a count is cheap) raises NotClean: the staged path decides.
    """
    stage_in_file_order(cur, "staged", f"SELECT line, raw, reason FROM ({plan.reread})", params)
    found = cur.execute(f"SELECT count(*) FROM staged WHERE {_REJECTED}").fetchone()[0]
    if found != expected:
        raise NotClean(f"a second read found {found} rejected rows, the first {expected}")
    _place_rejected(cur, plan, params["path"], records)
    cur.execute(f"INSERT INTO rejected_rows SELECT ?, line, raw, reason FROM staged WHERE {_REJECTED}", [import_id])
    cur.execute("DROP TABLE staged")


def _place_rejected(cur: duckdb.DuckDBPyConnection, plan: ImportPlan, path: str, records: int,
                    unreadable: Sequence[int] = ()) -> lines_of.LineMap | None:
    """Give the staged rejected rows the lines they sit on; returns the line map used, if any.

    Rows are numbered from the rowid, then moved past the `unreadable` lines (DuckDB's own
    numbers) and, with the plan's `line_events` (CSV), past blank lines and quoted line breaks. The map
    is used only when its count of the file's `records` agrees with DuckDB's: quotes read
    otherwise (a stray one inside a field) leave record numbers.
    """
    from dashboard.ingest import lines as lines_of  # here: NumPy's import, 0.05 s, only for a file with rejected rows

    _number_rejected(cur, plan.first_line)
    lines = None
    if plan.line_events:
        events = cur.execute(plan.line_events, {"path": path}).fetchnumpy()
        lines = lines_of.LineMap.from_events(events["n"], events["kind"])
    if lines and lines.records != records:
        lines = None
    skipped = lines_of.skipped(unreadable, lines)
    if len(skipped) or lines:
        # Staged rows count records, not lines: the rejected ones move to the lines they sit on.
        numbered = cur.execute(f"SELECT DISTINCT line FROM staged WHERE {_REJECTED}").fetchnumpy()["line"]
        _move_lines(cur, *lines_of.renumbered(numbered, skipped, lines))
    return lines


def _number_rejected(cur: duckdb.DuckDBPyConnection, first_line: int) -> None:
    """Give rejected rows their line, from the rowid."""
    # rowids run on in file order from wherever DuckDB starts them (not 0 inside a transaction).
    cur.execute(
        f"UPDATE staged SET line = rowid - (SELECT min(rowid) FROM staged) + {int(first_line)} "
        f"WHERE line IS NULL AND {_REJECTED}"
    )


def _move_lines(cur: duckdb.DuckDBPyConnection, old: lines_of.Lines, new: lines_of.Lines) -> None:
    """Give the staged rejected rows on line old[i] line new[i] instead."""
    moved = new != old
    if moved.any():
        import pyarrow as pa  # here, not at the top: a tenth of a second of every import's start-up

        cur.register("line_fixes", pa.table({"old": old[moved], "new": new[moved]}))
        cur.execute("UPDATE staged SET line = f.new FROM line_fixes AS f WHERE staged.line = f.old")
        cur.unregister("line_fixes")
