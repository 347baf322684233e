"""Import files into the warehouse: detect the format, map it, run it as one transaction."""

from __future__ import annotations

import json
import re
import tempfile
from concurrent.futures import Future
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from dashboard.errors import ImportFailed, WarehouseError, mask_unreadable, mask_value
from dashboard.ingest import files, readers
from dashboard.ingest.base import Format, Options, Sample, check_zone
from dashboard.ingest.files import BrokenFile
from dashboard.ingest.formats import all_formats, by_name
from dashboard.ingest.loader import ImportCounts, execute, execute_staged, read_sample
from dashboard.ingest.planner import ImportPlan, plan
from dashboard.ingest.sql import MACROS
from dashboard.warehouse import Warehouse


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
    # Whether the prompt tokens were read as including the cached ones, where the format leaves
    # it to the file (None: the format says); decided by the rows when no one said (see planner.py).
    cached_included: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LongLines(Exception):
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


def _unreadable_long_line(name: str, long_lines: tuple[files.LongLine, ...]) -> ImportFailed:
    """The error of a file that cannot be read for its first line too long to read."""
    return ImportFailed(f"{name}: cannot be read: {_long_line_rejects(long_lines[:1])[0][2]} (line "
                        f"{long_lines[0].line}); nothing was imported")


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
    try:
        _, rows = read_sample(wh, readers.head_lines_sql(readers.FIRST_LOOK_BYTES), name, src)
    except ImportFailed:  # a line longer than a first look reads, or one the reader cannot take
        _, rows = read_sample(wh, readers.head_lines_sql(), name, src)
    lines = [r[0] for r in rows if r[0] and r[0].strip()]
    if not lines:
        # (a zstd file cut before its first whole block says so here)
        return _long_lines_sample(wh, name, src, files.check_file(path, readers.MAX_LINE_BYTES).long_lines)
    head = lines[0].lstrip("\ufeff").lstrip()
    if head.startswith("{"):
        return _lines_sample(wh, name, src, lines)
    if head.startswith("["):
        return _json_sample(wh, name, src)
    return _csv_sample(wh, path, name, src, head, quoted=any('"' in line for line in lines))


def _long_lines_sample(wh: Warehouse, name: str, src: dict[str, str],
                       long_lines: tuple[files.LongLine, ...]) -> Sample:
    """A file whose every line the line reader passed over: too long for it, or no text at all.

    A JSON document on one line longer than a line may be (an OTLP export of a large batch of
    spans) is read as a document, as a pretty-printed one is; any other such line cannot be read.
    """
    if not long_lines:
        raise ImportFailed(f"{name}: no readable text lines (is it a binary file?)")
    head = long_lines[0].head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _documents_sample(wh, name, src)
    if head.startswith(b"["):
        return _json_sample(wh, name, src)
    raise _unreadable_long_line(name, long_lines)


def _lines_sample(wh: Warehouse, name: str, src: dict[str, str], lines: list[str]) -> Sample:
    """A file that starts like JSON lines: its first records, or the records one JSON object holds."""
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
        return _documents_sample(wh, name, src)
    return Sample(name, "lines", records=tuple(records))


def _csv_sample(wh: Warehouse, path: Path, name: str, src: dict[str, str], head: str, quoted: bool) -> Sample:
    """A CSV or TSV: its header, and a few records too (a format may read its fields' values, such as a
    time given as a date only); `quoted`, whether its first lines hold a quote."""
    delimiter = readers.guess_delimiter(head)
    try:
        columns, rows = read_sample(wh, readers.header_sql(delimiter, SAMPLE_ROWS), name, src)
    except ImportFailed:  # a line longer than a first look reads
        columns, rows = _csv_header_long_lines(wh, path, name, src, delimiter)
    return Sample(name, "csv", columns=tuple(columns), delimiter=delimiter, quoted=quoted,
                  rows=tuple(dict(zip(columns, r, strict=True)) for r in rows))


def _csv_header_long_lines(wh: Warehouse, path: Path, name: str, src: dict[str, str],
                           delimiter: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The CSV header and first records read with lines as long as an import reads, else why not."""
    try:
        return read_sample(wh, readers.header_sql(delimiter, SAMPLE_ROWS, line_bytes=None), name, src)
    except ImportFailed as e:
        # DuckDB's CSV sniffer reads past the header, and fails on a line too long for it.
        long_lines = files.check_file(path, readers.MAX_LINE_BYTES).long_lines
        if not long_lines:
            raise
        raise _unreadable_long_line(name, long_lines) from e


def _wrapped(wh: Warehouse, name: str, src: dict[str, str]) -> bool:
    try:
        _, rows = read_sample(wh, readers.wrapped_records_sql(), name, src)
    except ImportFailed:  # not one JSON document at all
        return False
    return bool(rows and rows[0][0])


# How much of each of its first documents the sample of a documents file holds: a record or
# two is enough to recognise a format, and a document may be the whole file.
SAMPLE_DOCUMENT_CHARS = 1 << 20


def _documents_sample(wh: Warehouse, name: str, src: dict[str, str]) -> Sample:
    """A file of JSON documents spread over lines (pretty-printed): the start of each of its first documents."""
    try:
        rows: list[tuple[Any, ...]]
        _, rows = read_sample(wh, readers.documents_sample_sql(SAMPLE_DOCUMENT_CHARS), name, src)
    except ImportFailed as e:
        raise ImportFailed(f"{e} (it starts like JSON, but is neither JSON lines nor JSON documents of at most "
                           f"{readers.MAX_DOCUMENT_BYTES >> 20} MiB each; split a larger document, or write "
                           "it as JSON lines)") from e
    documents = [json_prefix(head) for _, head in rows]
    if not any(isinstance(d, dict) for d in documents):
        raise ImportFailed(f"{name}: starts like JSON lines but no line parses as a JSON object")
    return Sample(name, "documents", records=tuple(d for d in documents if isinstance(d, dict)))


# A JSON string, a bracket or a comma; a quote that opens no whole string ends the text read.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]|"')


def json_prefix(text: str) -> Any:
    """The value a JSON text cut short begins with: every array and object open where it was cut,
    closed after its last whole member (a sample of a document too large to read whole); None
    when there is none. Every token that opens or closes one is a place to cut, so the ones
    open at the last such place are those open at the end."""
    closers: list[str] = []
    cut = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            break
        if token in ("[", "{"):
            closers.append("]" if token == "[" else "}")
            cut = match.end()
        elif token in ("]", "}") and closers:
            closers.pop()
            cut = match.end()
        elif token == ",":
            cut = match.start()
    closed = "".join(reversed(closers))
    try:
        return json.loads(text[:cut] + closed)
    except (ValueError, RecursionError):
        return None


def _json_sample(wh: Warehouse, name: str, src: dict[str, str], wrapped: bool = False) -> Sample:
    _, rows = read_sample(wh, readers.reader_sql("json", wrapped=wrapped) + " LIMIT 10", name, src)
    try:
        records = [json.loads(r[1]) for r in rows]
    except (ValueError, RecursionError) as e:
        raise ImportFailed(f"{name}: a JSON array whose first records cannot be read: {e}") from e
    return Sample(name, "json", records=tuple(r for r in records if isinstance(r, dict)), wrapped=wrapped)


def choose(sample: Sample, fmt_name: str | None, options: Options) -> Format:
    """The named format, else generic when a mapping is given, else the best detected one."""
    try:
        if fmt_name:
            return by_name(fmt_name)
        if options.mapping:
            return by_name("generic")
    except KeyError as e:
        raise ImportFailed(str(e.args[0])) from e
    return detect(sample)


def detect(sample: Sample) -> Format:
    scored = [(fmt.sniff(sample), -i, fmt) for i, fmt in enumerate(all_formats())]
    score, _, best = max(scored, key=lambda s: (s[0], s[1]))
    if score <= 0:
        known = ", ".join(f.name for f in all_formats())
        what = f"columns {_shown(sample.columns)}" if sample.columns else "its records"
        raise ImportFailed(
            f"{sample.name}: format not recognised from {what}; pass --format NAME "
            f"(known: {known}) or, for a generic file, --map HEADER=FIELD"
        )
    return best


def plan_file(wh: Warehouse, path: Path | str, fmt_name: str | None = None,
              options: Options | None = None, sample: Sample | None = None) -> ImportPlan:
    """How `path` would be imported (see planner.py), without writing anything; `sample`: the file's
    sample when it was just read (sample_file)."""
    path = Path(path)
    options = options or Options()
    sample = sample or sample_file(wh, path)
    return _plan(choose(sample, fmt_name, options), sample, options, path)


def _plan(fmt: Format, sample: Sample, options: Options, path: Path) -> ImportPlan:
    try:
        return plan(fmt, sample, options)
    except ValueError as e:
        raise ImportFailed(f"{path}: {e}") from e


def preview(wh: Warehouse, path: Path | str, fmt_name: str | None = None,
            options: Options | None = None) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    """The detected format and the first mapped rows, without writing anything."""
    path = Path(path)
    options = options or Options()
    sample = sample_file(wh, path)
    fmt = choose(sample, fmt_name, options)
    the_plan = _plan(fmt, sample, options, path)
    if the_plan.otherwise:
        # The cached tokens are left to the rows: the first rows are shown as read first (as
        # included), rather than failing on one that has more cached than prompt tokens.
        the_plan = _plan(fmt, sample, replace(options, cached_included=True), path)
    with files.readable(path) as source:
        columns, rows = read_sample(wh, f"SELECT * FROM ({the_plan.staged.sql}) LIMIT 20", str(path),
                                    {**the_plan.params, "path": str(source), "import_id": None}, macros=MACROS)
    return the_plan.format, columns, rows


def import_file(wh: Warehouse, path: Path | str, fmt_name: str | None = None,
                options: Options | None = None, display_name: str | None = None,
                sample: Sample | None = None, check: Future[files.FileCheck] | None = None) -> ImportResult:
    """Import one file; a file that cannot be read changes nothing and raises ImportFailed.

    `display_name` is what the register and the result call the file (an upload's own
    name rather than the temporary path it was saved under); `sample`, the file's sample when
    it was just read (sample_file, survey.decide), which spares reading it again; `check`, the
    file's check when it was started earlier (files.check_in_background), else it starts here.
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
    if check is None and path.is_file():  # (not a FIFO: planning refuses one, a check would wait on it)
        check = files.check_in_background(path, readers.MAX_LINE_BYTES)  # beside the planning
    the_plan = plan_file(wh, path, fmt_name, options, sample)
    # what the register, the result and the command's output call the file: an upload's name is anyone's
    file_name = mask_value(display_name or str(path)) or str(path)
    with files.readable(path) as source:
        counts = _import(wh, the_plan, path, str(source), file_name,
                         check or files.check_in_background(path, readers.MAX_LINE_BYTES))
    return ImportResult(file_name, the_plan.format, counts.added, counts.duplicates, counts.rejected,
                        "complete", import_id=counts.import_id, staged=counts.staged, updated=counts.updated,
                        cached_included=counts.cached_included)


def _fitting(the_plan: ImportPlan, path: Path, check: Future[files.FileCheck]) -> ImportPlan:
    """The plan, where its reads take every record of the file; else the plan widened.

    A read of records shorter than MAX_LINE_BYTES is for a plain file of at most
    readers.SHORT_READ_FILE_BYTES whose check finds no longer record (files.RecordScan): DuckDB passes
    over a longer one, at times without a word, and takes a hundred times as long over one a
    quoted line break joins.
    """
    if the_plan.line_bytes >= readers.MAX_LINE_BYTES:
        return the_plan
    if files.compression(path) is not None or path.stat().st_size > readers.SHORT_READ_FILE_BYTES:
        return the_plan.widened()
    longest = check.result().longest_record
    return the_plan if longest is not None and longest <= the_plan.line_bytes else the_plan.widened()


def _import(wh: Warehouse, the_plan: ImportPlan, path: Path, source: str, file_name: str,
            check: Future[files.FileCheck]) -> ImportCounts:
    """Execute the plan (its reads widened where the file's records are longer than they take,
    see _fitting); a file with lines too long for the line reader is read without them."""
    def digest() -> str:
        # Asked for before the import commits: a line DuckDB may have passed over undoes it.
        done = check.result()
        if done.long_lines and the_plan.lines_read:
            raise LongLines(done.long_lines)
        return done.sha256

    try:
        the_plan = _fitting(the_plan, path, check)
        return execute(wh, the_plan, path=source, file_name=file_name, sha256=digest)
    except LongLines:
        pass
    except (BrokenFile, WarehouseError):
        raise
    except ImportFailed:
        # DuckDB failed on the file: a damaged one says so (check.result raises BrokenFile),
        # and one with lines too long is read without them, as below.
        if not (check.result().long_lines and the_plan.lines_read):
            raise
    # Read again from a copy with those lines left empty, so the rest keep their numbers.
    done = check.result()
    with tempfile.TemporaryDirectory(prefix="usage-import-") as folder:
        copy = files.without_long_lines(path, done.compression, done.long_lines, Path(folder) / "text")
        return execute_staged(wh, the_plan, path=str(copy), file_name=file_name, sha256=lambda: done.sha256,
                              extra_rejects=_long_line_rejects(done.long_lines))
