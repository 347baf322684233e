"""Import files into the warehouse: detect the format, map it, run it as one transaction."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from dashboard.errors import ImportFailed, WarehouseError, mask_unreadable
from dashboard.ingest import files, readers
from dashboard.ingest.base import Options, Sample, check_zone, record_text
from dashboard.ingest.files import BrokenFile
from dashboard.ingest.formats import all_formats, by_name
from dashboard.ingest.sql import MACROS, TYPED_FIELDS, canonical_sql, lean_fits
from dashboard.warehouse import Warehouse
from dashboard.warehouse.loader import ImportCounts, NotClean, NotLean, Unreadable, read_sample, run_import
from dashboard.warehouse.rows import lean_sample_sql


@dataclass(frozen=True)
class ImportResult:
    file: str
    format: str
    added: int
    duplicates: int
    rejected: int
    status: str  # "complete" or "failed"
    message: str = ""
    import_id: int | None = None
    staged: bool = False  # True when bad rows or repeated ids sent the file through a staging table
    updated: int = 0  # of the duplicates, requests logged mid-stream before whose usage grew (see run_import)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LongLines(NotClean):
    """The file has lines longer than the line reader takes (see files.check_file)."""

    def __init__(self, long_lines: tuple[files.LongLine, ...]) -> None:
        super().__init__(f"{len(long_lines)} lines longer than the reader takes")
        self.long_lines = long_lines


def _long_line_rejects(long_lines: tuple[files.LongLine, ...]) -> list[tuple[int, str, str]]:
    """A rejected row (line, text, reason) for each line too long to read."""
    limit_mib = readers.MAX_LINE_BYTES // (1 << 20)
    return [(ln.line, mask_unreadable(ln.head.decode("utf-8", "replace")) or "",
             f"line too long: {ln.length:,} bytes, over the {limit_mib} MiB a record may have; "
             "split the record or leave out its largest fields") for ln in long_lines]


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PAR1"


def _looks_binary(path: Path) -> bool:
    """Mostly control bytes in the first 8 KiB (a stray NUL in a text log is a bad row, not this)."""
    with path.open("rb") as f:
        head = f.read(8192)
    if head.startswith(tuple(files.MAGIC.values())):
        return False
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > len(head) // 10


def _shown(names: tuple[str, ...] | list[str], limit: int = 12) -> str:
    """Column names for a message: a few, each cut short, never a wall of junk."""
    parts = [repr(n[:40] + ("…" if len(n) > 40 else "")) for n in list(names)[:limit]]
    return "[" + ", ".join(parts) + (", …" if len(names) > limit else "") + "]"


def sample_file(wh: Warehouse, path: Path) -> Sample:
    """What detection needs: the reading shape and the header or the first records."""
    path = Path(path)
    if not path.is_file():
        return _sample(wh, path, path)
    with files.readable(path) as source:
        try:
            return _sample(wh, path, source)
        except ImportFailed:
            if files.compression(path):  # a damaged one says so, rather than how DuckDB failed on it
                files.check_file(path, readers.MAX_LINE_BYTES)
            raise


# The CSV records a sample holds beside the header.
SAMPLE_ROWS = 5


def _sample(wh: Warehouse, path: Path, source: Path) -> Sample:
    """sample_file, reading the file DuckDB reads as `source` (see files.readable)."""
    name, src = str(path), {"path": str(source)}
    if path.is_dir():
        raise ImportFailed(f"{name}: is a folder; pass the files in it (for example {name}/*.jsonl)")
    if not path.is_file():
        raise ImportFailed(f"{name}: no such file")
    if path.stat().st_size == 0:
        raise ImportFailed(f"{name}: the file is empty")
    if _is_parquet(path):  # before the binary test: a Parquet file is binary by design
        columns, _ = read_sample(wh, "SELECT * FROM read_parquet($path) LIMIT 0", name, src)
        return Sample(name, "parquet", columns=tuple(columns))
    if _looks_binary(path):
        raise ImportFailed(f"{name}: looks like a binary file, not a text log or a Parquet file; "
                           "export the logs as CSV, JSON lines or Parquet")
    _, rows = read_sample(wh, readers.head_lines_sql(), name, src)
    lines = [r[0] for r in rows if r[0] and r[0].strip()]
    if not lines:
        files.check_file(path, readers.MAX_LINE_BYTES)  # a zstd file cut before its first whole block says so
        raise ImportFailed(f"{name}: no readable text lines (is it a binary file?)")
    head = lines[0].lstrip("\ufeff").lstrip()
    if head.startswith("{"):
        records = []
        for line in lines[:10]:
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # deeply nested JSON is hostile input, not a crash
                continue
            if isinstance(obj, dict):
                records.append(obj)
        # One object, on one line or pretty-printed, may hold the records (an API response saved).
        if len(records) <= 1 and _wrapped(wh, name, src):
            return _json_sample(wh, name, src, wrapped=True)
        if not records:
            raise ImportFailed(f"{name}: starts like JSON lines but no line parses as a JSON object")
        return Sample(name, "lines", records=tuple(records))
    if head.startswith("["):
        return _json_sample(wh, name, src)
    delimiter = readers.guess_delimiter(head)
    try:
        # A few records too: a format may read its fields' values (a time given as a date only).
        columns, rows = read_sample(wh, readers.header_sql(delimiter, SAMPLE_ROWS), name, src)
    except ImportFailed as e:
        # DuckDB's CSV sniffer reads past the header, and fails on a line too long for it.
        long_lines = files.check_file(path, readers.MAX_LINE_BYTES).long_lines
        if not long_lines:
            raise
        raise ImportFailed(f"{name}: cannot be read: {_long_line_rejects(long_lines[:1])[0][2]} (line "
                           f"{long_lines[0].line}); nothing was imported") from e
    return Sample(name, "csv", columns=tuple(columns), delimiter=delimiter,
                  rows=tuple(dict(zip(columns, r, strict=True)) for r in rows))


def _wrapped(wh: Warehouse, name: str, src: dict[str, str]) -> bool:
    try:
        _, rows = read_sample(wh, readers.wrapped_records_sql(), name, src)
    except ImportFailed:  # not one JSON document at all
        return False
    return bool(rows and rows[0][0])


def _json_sample(wh: Warehouse, name: str, src: dict[str, str], wrapped: bool = False) -> Sample:
    _, rows = read_sample(wh, readers.reader_sql("json", wrapped=wrapped) + " LIMIT 10", name, src)
    try:
        records = [json.loads(r[1]) for r in rows]
    except (ValueError, RecursionError) as e:
        raise ImportFailed(f"{name}: a JSON array whose first records cannot be read: {e}") from e
    return Sample(name, "json", records=tuple(r for r in records if isinstance(r, dict)), wrapped=wrapped)


def choose(sample: Sample, fmt_name: str | None, options: Options) -> ModuleType:
    """The named format, else generic when a mapping is given, else the best detected one."""
    try:
        if fmt_name:
            return by_name(fmt_name)
        if options.mapping:
            return by_name("generic")
    except KeyError as e:
        raise ImportFailed(str(e.args[0])) from e
    return detect(sample)


def detect(sample: Sample) -> ModuleType:
    scored = [(fmt.sniff(sample), -i, fmt) for i, fmt in enumerate(all_formats())]
    score, _, best = max(scored, key=lambda s: (s[0], s[1]))
    if score <= 0:
        known = ", ".join(f.NAME for f in all_formats())
        what = f"columns {_shown(sample.columns)}" if sample.columns else "its records"
        raise ImportFailed(
            f"{sample.name}: format not recognised from {what}; pass --format NAME "
            f"(known: {known}) or, for a generic file, --map HEADER=FIELD"
        )
    return best


def preview(wh: Warehouse, path: Path | str, fmt_name: str | None = None,
            options: Options | None = None) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    """The detected format and the first mapped rows, without writing anything."""
    path = Path(path)
    sample = sample_file(wh, path)
    options = options or Options()
    fmt = choose(sample, fmt_name, options)
    sql, params, *_ = _build(fmt, sample, options, path)
    with files.readable(path) as source:
        columns, rows = read_sample(wh, f"SELECT * FROM ({sql}) LIMIT 20", str(path),
                                    {**params, "path": str(source), "import_id": None}, macros=MACROS)
    return fmt.NAME, columns, rows


def shown_sql(sample: Sample) -> str:
    """The text a rejected row keeps: the line itself, or the record rebuilt from the reader's `__record`.

    A CSV record is joined with the file's own delimiter; a Parquet record is shown as JSON.
    """
    return record_text(sample, sample.delimiter, 'v."__record"', quoted=True) or "v.raw"


class CleanRead(NamedTuple):
    """A clean-only read and what it is: "typed-csv" (a CSV reader parsing values, see
    readers.typed_csv), "epoch" (the typed JSON read with its time as a number), "typed-lines"
    (the typed JSON read) or "text" (the strict read itself)."""

    sql: str
    kind: str


def _build(fmt: ModuleType, sample: Sample, options: Options,
           path: Path) -> tuple[str, dict[str, Any], tuple[CleanRead, ...], str, bool]:
    """The import's SQL and parameters, the SQL of the clean-only reads to try in turn, and of a strict one,
    and whether the format's fields alone let the rows go to the lean table (see sql.lean_fits).

    A clean-only read keeps no rejects (a line DuckDB cannot read fails it) and, for
    JSON lines, uses DuckDB's typed JSON reader where the format allows; first with the
    time read as a number where the sample holds it so (see readers.typed_lines), then
    as text. For a CSV whose rows have ids, the first lets the reader parse their times,
    tokens and amounts (see readers.typed_csv), and that reader keeps the lines it cannot
    read or parse in the rejects tables instead. The strict read is the import's own,
    failing on such a line too: it reads the rejected rows of a clean-only import again,
    for their lines and texts, and is itself the clean-only read a typed CSV read falls
    back to (see import_file).
    """
    shape = sample.shape if fmt.SHAPE == "auto" else fmt.SHAPE
    if fmt.SHAPE != "auto" and sample.shape != fmt.SHAPE:
        raise ImportFailed(f"{path}: format {fmt.NAME} reads {fmt.SHAPE} files, but this file is {sample.shape}")
    try:
        format_sql = fmt.select_sql(sample, options)
    except ValueError as e:
        raise ImportFailed(f"{path}: {e}") from e
    derive_ids = 'NULL AS "request_id"' in format_sql
    # Formats that filter, join or dedupe records, or number derived ids, need line numbers
    # up front; the rest get them from the staging table, only for the rows rejected.
    numbered = derive_ids or "\nWHERE " in format_sql or format_sql.count("src.line") > 1
    zone_given = bool(options.tz)

    def full(reader: str) -> str:
        mapped, reader = readers.parse_json_once(format_sql, reader)
        return f"WITH src AS ({reader}),\n" + canonical_sql(mapped, zone_given=zone_given, derive_ids=derive_ids,
                                                            shown=shown_sql(sample))

    def parsed(keep_rejects: bool) -> str | None:
        # JSON lines parsed once per line into the format's fields, where the format allows.
        read = readers.parsed_lines(format_sql, sample.records, numbered, keep_rejects) if shape == "lines" else None
        return read and f"WITH src AS ({read[1]}),\n" + canonical_sql(read[0], zone_given=zone_given,
                                                                      derive_ids=derive_ids)

    sql = parsed(True) or full(readers.reader_sql(shape, sample.delimiter, numbered, columns=sample.columns,
                                                  wrapped=sample.wrapped))
    # The staged read, strict: for reading the rejected rows of a clean-only import again.
    strict = parsed(False) or full(readers.reader_sql(shape, sample.delimiter, numbered, keep_rejects=False,
                                                      columns=sample.columns, wrapped=sample.wrapped))
    cleans: list[CleanRead] = []
    for epoch in (True, False):
        typed = readers.typed_lines(format_sql, sample.records, epoch) if shape == "lines" and not numbered else None
        if typed:
            cleans.append(CleanRead(f"WITH src AS ({typed[1]}),\n" + canonical_sql(
                typed[0], zone_given=zone_given, derive_ids=False, record_text=False,
                typed={"ts_epoch"} if epoch else ()), "epoch" if epoch else "typed-lines"))
    # (with --tz, a naive time is read in that zone, which a TIMESTAMPTZ read cannot know)
    types = {f: t for f, t in TYPED_FIELDS.items() if not (f == "ts" and zone_given)}
    csv = readers.typed_csv(format_sql, sample.columns, sample.delimiter, types, numbered) \
        if shape == "csv" and not derive_ids else None
    if csv:
        cleans.append(CleanRead(f"WITH src AS ({csv[1]}),\n" + canonical_sql(
            csv[0], zone_given=zone_given, derive_ids=False, record_text=False, typed=csv[2]), "typed-csv"))
    if not cleans or csv:
        cleans.append(CleanRead(strict, "text"))
    params = {
        "path": str(path),
        "source": options.source or fmt.SOURCE,
        "provider": options.provider,
        "model": options.model,
        "cached_included": options.cached_included,
    }
    if options.tz:
        params["tz"] = options.tz
    return sql, params, tuple(cleans), strict, lean_fits(format_sql, bool(options.provider))


def import_file(wh: Warehouse, path: Path | str, fmt_name: str | None = None,
                options: Options | None = None, display_name: str | None = None) -> ImportResult:
    """Import one file; a file that cannot be read changes nothing and raises ImportFailed.

    `display_name` is what the register and the result call the file (an upload's own
    name rather than the temporary path it was saved under).
    """
    if wh.read_only:
        raise ImportFailed(f"{path}: the warehouse {str(wh.path)!r} is open read-only; imports are disabled")
    path = Path(path)
    options = options or Options()
    if options.tz:
        try:
            check_zone(options.tz)
        except ValueError as e:
            raise ImportFailed(f"{path}: {e}") from e
    sample = sample_file(wh, path)
    fmt = choose(sample, fmt_name, options)
    sql, params, cleans, strict, fits = _build(fmt, sample, options, path)
    with files.readable(path) as source:
        params["path"] = str(source)
        counts = _import(wh, fmt, sample, path, display_name, sql, params, cleans, strict, fits)
    return ImportResult(display_name or str(path), fmt.NAME, counts.added, counts.duplicates, counts.rejected,
                        "complete", import_id=counts.import_id, staged=counts.staged, updated=counts.updated)


def _import(wh: Warehouse, fmt: ModuleType, sample: Sample, path: Path, display_name: str | None, sql: str,
            params: dict[str, Any], cleans: tuple[CleanRead, ...], strict: str, fits: bool) -> ImportCounts:
    # The rows go to the lean table where the format's fields alone let them, else where the
    # file's first rows do; never those of a format whose rows grow (see update_grown_requests).
    lean = not getattr(fmt, "GROWS", False) and (fits or _lean_so_far(wh, cleans[0].sql, params))
    lines_read = (sample.shape if fmt.SHAPE == "auto" else fmt.SHAPE) in ("lines", "csv")
    # Checking the file whole (its digest, checksums, long lines) takes a second or more on a
    # large file; it runs beside DuckDB's work, not before it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        check = pool.submit(files.check_file, path, readers.MAX_LINE_BYTES)

        def digest() -> str:
            # Asked for before the import commits: a line DuckDB may have passed over undoes it.
            done = check.result()
            if done.long_lines and lines_read:
                raise LongLines(done.long_lines)
            return done.sha256

        try:
            return _import_read(wh, fmt, sample, path, display_name, sql, params, cleans, strict, lean, digest)
        except LongLines:
            pass
        except (BrokenFile, WarehouseError):
            raise
        except ImportFailed:
            # DuckDB failed on the file: a damaged one says so (check.result raises BrokenFile),
            # and one with lines too long is read without them, as below.
            if not (check.result().long_lines and lines_read):
                raise
        # Read again from a copy with those lines left empty, so the rest keep their numbers.
        done = check.result()
        with tempfile.TemporaryDirectory(prefix="usage-import-") as folder:
            copy = files.without_long_lines(path, done.compression, done.long_lines, Path(folder) / "text")
            return _run(wh, fmt, sample, sql, {**params, "path": str(copy)}, path, display_name,
                        lambda: done.sha256, extra_rejects=_long_line_rejects(done.long_lines))


def _import_read(wh: Warehouse, fmt: ModuleType, sample: Sample, path: Path, display_name: str | None, sql: str,
                 params: dict[str, Any], cleans: tuple[CleanRead, ...], strict: str, lean: bool,
                 digest: Callable[[], str]) -> ImportCounts:
    # Good rows go straight from the reader into the table; rejected rows and a few
    # repeated ids are read again for their lines and first occurrences. A line DuckDB
    # cannot read, a row the typed read cannot name or many repeated ids send the file
    # through a staging table instead, which keeps each bad row with its line and text.
    # A typed CSV read (see _build) counts a line whose value its reader cannot parse as
    # rejected, to be read again as text; where the text read keeps that line, or it
    # meets a row it cannot name, the file is read clean again as text first. A typed
    # JSON read whose time is no number after all is made again with the time as text.
    for clean in cleans:
        try:
            return _run_clean(wh, fmt, sample, clean, params, path, display_name, digest, strict, lean)
        except (BrokenFile, LongLines, WarehouseError):
            raise
        except Unreadable:  # a line DuckDB cannot read: the text read would fail on it too
            break
        except (NotClean, ImportFailed) as e:
            # With its time read as a number, a typed JSON read fails on a time that is no
            # number (DuckDB's "Failed to cast value to numerical": no other field of that
            # read is a number); only then is the read with the time as text worth making.
            if clean.kind == "epoch" and "numerical" not in str(e):
                break
            continue
    return _run(wh, fmt, sample, sql, params, path, display_name, digest)


# How many good rows of a file a clean read takes first, to see whether they fit the lean table.
LEAN_SAMPLE_ROWS = 10_000


def _lean_so_far(wh: Warehouse, sql: str, params: dict[str, Any]) -> bool:
    """Whether the first LEAN_SAMPLE_ROWS good rows of a clean read all fit the lean table.

    For a format that may fill the rarely filled fields (OpenAI logs may carry a user, a
    latency, reasoning tokens), a file whose rows so far do not is likely to have none at all.
    Only a guess, which costs a few hundredths of a second: the lean insert checks every row,
    and a row that does not fit sends the file to the full table (NotLean). A read that fails
    on its first rows here decides nothing either: the import meets the same failure.
    """
    try:
        _, rows = read_sample(wh, lean_sample_sql(sql, LEAN_SAMPLE_ROWS), params["path"],
                              {**params, "import_id": None}, macros=MACROS)
    except ImportFailed:
        return False
    misfits, seen = rows[0]
    return seen > 0 and misfits == 0


def _run_clean(wh: Warehouse, fmt: ModuleType, sample: Sample, clean: CleanRead, params: dict[str, Any],
               path: Path, display_name: str | None, sha256: Callable[[], str], strict: str,
               lean: bool) -> ImportCounts:
    """One clean-only read: into the lean table where `lean` says the rows may go there, and
    where a row turns out to have a value that table leaves out (NotLean), into the full one."""
    def run(into_lean: bool) -> ImportCounts:
        return _run(wh, fmt, sample, clean.sql, params, path, display_name, sha256, clean_only=True,
                    reread_sql=strict, unparsed_kept=clean.kind == "typed-csv", lean=into_lean)

    if lean:
        try:
            return run(True)
        except NotLean:
            pass
    return run(False)


def _run(wh: Warehouse, fmt: ModuleType, sample: Sample, sql: str, params: dict[str, Any], path: Path,
         display_name: str | None, sha256: Callable[[], str], clean_only: bool = False,
         reread_sql: str | None = None, unparsed_kept: bool = False, lean: bool = False,
         extra_rejects: Sequence[tuple[int, str, str]] = ()) -> ImportCounts:
    shape = sample.shape if fmt.SHAPE == "auto" else fmt.SHAPE
    return run_import(
        wh,
        macros=MACROS,
        select_sql=sql,
        params=params,
        file_name=display_name or str(path),
        sha256=sha256,
        format_name=fmt.NAME,
        uses_csv_rejects=(shape in ("lines", "csv") and not clean_only) or unparsed_kept,
        rejects=(readers.REJECTS_TABLE, readers.REJECTS_SCAN),
        first_line=readers.FIRST_LINE[shape],
        clean_only=clean_only,
        line_events=readers.csv_line_events_sql() if shape == "csv" else None,
        reread_sql=reread_sql,
        grows=getattr(fmt, "GROWS", False),
        lean=lean,
        extra_rejects=extra_rejects,
    )
