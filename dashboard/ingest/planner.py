"""How one file is imported, decided before anything is read: `plan(format, sample, options) -> ImportPlan`.

A pure function of the format, the file's sample and the person's options. The plan lists
the reads to try, each a small value naming its kind and its SQL, and the loader runs them
in turn (see loader.execute):

1. The clean reads, fastest first. A clean read keeps no bad row: it inserts the good rows
   straight from DuckDB's reader, and where rows were rejected, reads them again with the
   `reread` for their lines and texts. A clean read that fails, or meets a row only the
   staged read can take, gives way to the next; one that meets a line DuckDB cannot read at
   all gives way to the staged read at once.
   - TYPED_CSV: a CSV whose rows have ids, with the times, tokens and amounts the format takes
     from one column as it is parsed by the CSV reader (see readers.typed_csv); where the
     sample's first lines hold no quote, of records up to readers.CLEAN_LINE_BYTES, with a
     `wider` twin that `ImportPlan.widened()` reads a file with a longer record by (the
     importer decides which, by the file's check).
   - EPOCH_LINES: JSON lines read by the typed JSON reader, the time read as a number, where
     the sample holds it so (see readers.typed_lines).
   - TYPED_LINES: the same with the time as text.
     Where the format reads top-level keys no sample record has (the pair shape's `request`
     in a file of plain responses, a `user` the file never sets), the first of these reads is
     tried first without them (`Read.absent`, render.narrowed): every field under them is NULL,
     as the full read finds them on such a file, and a record that holds one fails the read.
   - TEXT: the strict read, every field as text.
2. The staged read, which keeps every bad row with its line and text: the last step.

The rows go to the lean table (`request_rows_lean`) when the format's fields leave its absent
columns empty (Table.LEAN), or while they fit it (Table.IF_ROWS_FIT: the first row that does
not stops the read, and the full table takes the file); never for a format whose records grow.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dashboard.errors import SECRET_MIN_CHARS, plainly_keyless
from dashboard.ingest import readers
from dashboard.ingest.base import Format, Options, Sample, record_text
from dashboard.ingest.render import (
    derives_ids,
    is_null,
    narrowed,
    numbered_because,
    sample_texts,
    shadowed_keys,
    unseen_keys,
)
from dashboard.ingest.sql import EMPTIED, KNOWN_FIELDS, TYPED_FIELDS, canonical_sql, lean_fits


class ReadKind(enum.Enum):
    TYPED_CSV = "typed-csv"
    EPOCH_LINES = "epoch"
    TYPED_LINES = "typed-lines"
    TEXT = "text"
    STAGED = "staged"


class Table(enum.Enum):
    LEAN = "lean"  # request_rows_lean: the format leaves its absent columns empty
    IF_ROWS_FIT = "lean while the rows fit"  # the first row that does not sends the file to the full table
    FULL = "full"  # request_rows


@dataclass(frozen=True)
class Read:
    """One read of the file: its kind and the SQL yielding canonical rows with `line`, `raw` and `reason`."""

    kind: ReadKind
    sql: str
    # The CSV reader passes over a line whose value it cannot parse, keeping it in its rejects
    # tables: such a line counts as rejected, read again as text.
    unparsed_kept: bool = False
    line_bytes: int = readers.MAX_LINE_BYTES  # the longest record (line) it reads
    wider: Read | None = None  # the same read taking records of up to MAX_LINE_BYTES, where this one takes fewer
    # JSON lines: the top-level keys the format reads that the sample's records lack, which this read
    # takes as absent (NULL) from every record: a record that holds one fails it (see render.narrowed)
    absent: tuple[str, ...] = ()
    # ... and the keys every record must hold a value at, or fail it: those the format reads only
    # where these are missing go unread (render.shadowed_keys)
    held: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.kind.value + (" (sample's keys)" if self.absent else "")


@dataclass(frozen=True)
class ImportPlan:
    format: str
    source: str
    shape: str
    params: Mapping[str, Any]  # bound parameters of every read but $path and $import_id
    clean: tuple[Read, ...]  # tried in turn, before the staged read
    staged: Read
    reread: str  # the staged read, strict: reads the rows a clean read rejected again
    table: Table
    grows: bool
    first_line: int  # the line of the first record (after a CSV's header)
    line_events: str | None = None  # CSV: where records sit off their lines (readers.csv_line_events_sql)
    notes: tuple[str, ...] = field(default=())
    # Where the format leaves open whether the prompt tokens include the cached ones and the
    # person did not say: this plan reads them as included until a row has more cached than
    # prompt tokens, which fails its read (sql.CACHED_OVER); the loader then runs `otherwise`,
    # the plan reading them as separate buckets. One read of the file decides, where reading it
    # whole first to decide cost a read more every time.
    otherwise: ImportPlan | None = None
    cached_open: bool = False  # the format leaves to the file whether the prompt tokens include the cached ones

    @property
    def line_bytes(self) -> int:
        """The longest record every clean read takes: a file whose check finds a longer one is read by `widened()`."""
        return min(r.line_bytes for r in self.clean)

    def widened(self) -> ImportPlan:
        """This plan with each clean read taking records of up to MAX_LINE_BYTES."""
        return replace(self, clean=tuple(r.wider or r for r in self.clean),
                       otherwise=self.otherwise.widened() if self.otherwise else None)

    @property
    def lines_read(self) -> bool:
        """Whether the file is read by lines (JSON lines, CSV), where a line too long for the reader fails it."""
        return self.shape in ("lines", "csv")

    def explain(self) -> str:
        """The plan in words, for `import --explain`."""
        steps = [*(r.name for r in self.clean), ReadKind.STAGED.value]
        lines = [f"format: {self.format} (source {self.source!r}, read as {self.shape})",
                 f"reads, in turn: {' -> '.join(steps)}",
                 f"table: {self.table.value}",
                 *(f"note: {n}" for n in self.notes)]
        if self.grows:
            lines.append("records grow: a known id with more output tokens replaces the stored usage")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "source": self.source, "shape": self.shape,
                "reads": [r.name for r in self.clean] + [ReadKind.STAGED.value],
                "table": self.table.value, "grows": self.grows, "notes": list(self.notes)}


def _empty(fmt: Format, sample: Sample) -> frozenset[str]:
    """The fields the format leaves NULL on every row of the file, which its reads leave out (sql.EMPTIED)."""
    return frozenset(f for f in EMPTIED if is_null(fmt, sample, f))


def _with_src(read: tuple[str, str]) -> str:
    mapped, reader = read
    return f"WITH src AS ({reader}),\n{mapped}"


def _clean_lines(fmt: Format, sample: Sample, zone_given: bool, guard: bool) -> list[Read]:
    cleans = _typed_lines(fmt, sample, zone_given, guard)
    absent = unseen_keys(fmt, sample)
    if cleans and absent and not any(k.lower() in readers.READER_COLUMNS or k.startswith("__") for k in absent):
        # The keys read only where a key every sample record holds is missing are not read at all:
        # the read fails at a record without that key instead (render.shadowed_keys).
        shadowed = shadowed_keys(fmt, sample, absent)
        guarded = tuple(k for k in absent if k not in shadowed)
        held = tuple(sorted({k for keys in shadowed.values() for k in keys}))
        narrow = _typed_lines(narrowed(fmt, sample, absent), sample, zone_given, guard, guarded, held)
        cleans[:0] = [replace(r, absent=absent, held=held) for r in narrow[:1]]
    return cleans


def _absent_note(read: Read) -> str:
    shown = ", ".join(read.absent[:4]) + (f" and {len(read.absent) - 4} more" if len(read.absent) > 4 else "")
    held = f", as does a record without {', '.join(read.held)}" if read.held else ""
    return (f"{read.name}: reads as absent the keys the format reads that no sample record has "
            f"({shown}); a record holding one fails it, for the next read{held}")


def _typed_lines(fmt: Format, sample: Sample, zone_given: bool, guard: bool, absent: tuple[str, ...] = (),
                 held: tuple[str, ...] = ()) -> list[Read]:
    cleans, empty = [], _empty(fmt, sample)
    for kind, epoch in ((ReadKind.EPOCH_LINES, True), (ReadKind.TYPED_LINES, False)):
        typed = readers.typed_lines(fmt, sample, epoch, absent, held)
        if typed:
            body = canonical_sql(typed[0], zone_given=zone_given, derive_ids=False, record_text=False,
                                 typed={"ts_epoch"} if epoch else (), guard_cached=guard, known=True, empty=empty)
            cleans.append(Read(kind, f"WITH src AS ({typed[1]}),\n{body}"))
    return cleans


def _clean_csv(fmt: Format, sample: Sample, zone_given: bool, up_front: bool, guard: bool) -> Read | None:
    # (with --tz, a naive time is read in that zone, which a TIMESTAMPTZ read cannot know)
    types = {f: t for f, t in TYPED_FIELDS.items() if not (f == "ts" and zone_given)}
    empty = _empty(fmt, sample)

    def read(line_bytes: int) -> Read | None:
        csv = readers.typed_csv(fmt, sample, types, up_front, line_bytes)
        if not csv:
            return None
        body = canonical_sql(csv[0], zone_given=zone_given, derive_ids=False, record_text=False, typed=csv[2],
                             guard_cached=guard, known=True, empty=empty)
        return Read(ReadKind.TYPED_CSV, f"WITH src AS ({csv[1]}),\n{body}", unparsed_kept=True, line_bytes=line_bytes)

    wide = read(readers.MAX_LINE_BYTES)
    # A file whose first lines hold no quote is read with short records first (readers.CLEAN_LINE_BYTES).
    return replace(read(readers.CLEAN_LINE_BYTES), wider=wide) if wide and not sample.quoted else wide


def _staged_sql(fmt: Format, sample: Sample, zone_given: bool, up_front: bool, keep_rejects: bool,
                guard: bool, placed: bool = True) -> str:
    """The staged read: JSON lines parsed once per line into the format's fields where it allows, else the text read.

    `placed`: records of JSON documents are numbered by the line where they start (a second read of
    the file's lines; a clean read, which keeps no line, has no need of it)."""
    derive = derives_ids(fmt, sample)
    parsed = readers.parsed_lines(fmt, sample, up_front, keep_rejects) if sample.shape == "lines" else None
    if parsed:
        return f"WITH src AS ({parsed[1]}),\n" + canonical_sql(parsed[0], zone_given=zone_given, derive_ids=derive,
                                                             guard_cached=guard, known=True, empty=_empty(fmt, sample))
    mapped, reader = readers.text_read(fmt, sample, up_front, keep_rejects, placed)
    shown = record_text(sample, sample.delimiter, 'v."__record"', quoted=True) or "v.raw"
    return f"WITH src AS ({reader}),\n" + canonical_sql(mapped, zone_given=zone_given, derive_ids=derive, shown=shown,
                                                       guard_cached=guard, known=True, empty=_empty(fmt, sample))


# How many known texts a field may have (see known_texts): each row not among them is compared with every one.
KNOWN_TEXTS = 8


def known_texts(fmt: Format, sample: Sample, options: Options) -> dict[str, list[str]]:
    """For each of sql.KNOWN_FIELDS, the plainly keyless texts of 11 bytes or more (errors.plainly_keyless)
    the sample shows at its leaves, the most frequent first: the reads store such a value
    without testing it for a key, which it cannot hold (a model name, on every row). Only speed
    depends on them: a value not among them is tested."""
    known = {}
    for name in KNOWN_FIELDS:
        texts = sample_texts(fmt, sample, name)
        if name == "model" and options.model:
            texts[options.model] += 1
        known[name] = [t for t, _ in texts.most_common()
                       if len(t.encode()) >= SECRET_MIN_CHARS and plainly_keyless(t)][:KNOWN_TEXTS]
    return known


def params_of(fmt: Format, sample: Sample, options: Options) -> dict[str, Any]:
    """The bound parameters of a format's reads: what the person typed, or the file holds, never enters the SQL text."""
    params: dict[str, Any] = {"source": options.source or fmt.source, "provider": options.provider,
                              "model": options.model, "cached_included": options.cached_included,
                              "known": known_texts(fmt, sample, options)}
    if options.tz:
        params["tz"] = options.tz
    return params


def plan(fmt: Format, sample: Sample, options: Options) -> ImportPlan:
    """The reads that import the file `sample` is from with format `fmt` (see the module docstring).

    ValueError when the format cannot read the file's shape.
    """
    declared, fmt = fmt, fmt.for_file(sample, options)
    zone_given = bool(options.tz)
    because = numbered_because(fmt, sample)
    up_front = bool(because)
    guard = options.cached_included is None and fmt.cached_open  # see ImportPlan.otherwise
    staged = _staged_sql(fmt, sample, zone_given, up_front, keep_rejects=True, guard=guard)
    strict = _staged_sql(fmt, sample, zone_given, up_front, keep_rejects=False, guard=guard)
    cleans: list[Read] = []
    notes: list[str] = []
    if guard:
        notes.append("cached tokens: read as included in the prompt tokens, unless a row has more cached than "
                     "prompt tokens: then the file is read again as separate buckets")
    if up_front:
        notes.append(f"line numbers read up front ({', '.join(because)})"
                     + (": no typed JSON read" if sample.shape == "lines" else ""))
    elif sample.shape == "lines":
        cleans = _clean_lines(fmt, sample, zone_given, guard)
        notes.extend(_absent_note(r) for r in cleans if r.absent)
    typed_csv = _clean_csv(fmt, sample, zone_given, up_front, guard) \
        if sample.shape == "csv" and not derives_ids(fmt, sample) else None
    if typed_csv:
        cleans.append(typed_csv)
        if typed_csv.wider:
            notes.append(f"typed-csv reads records of up to {typed_csv.line_bytes >> 20} MiB in a plain file of up "
                         f"to {readers.SHORT_READ_FILE_BYTES >> 20} MiB whose check finds none longer, else of up "
                         f"to {readers.MAX_LINE_BYTES >> 20} MiB")
    if not cleans or typed_csv:
        cleans.append(Read(ReadKind.TEXT, _staged_sql(fmt, sample, zone_given, up_front, keep_rejects=False,
                                                      guard=guard, placed=False)
                           if sample.shape == "documents" else strict))
    if fmt.grows:
        table = Table.FULL
    elif lean_fits(fmt, sample, bool(options.provider)):
        table = Table.LEAN
    else:
        table = Table.IF_ROWS_FIT
    params = params_of(fmt, sample, options)
    otherwise = plan(declared, sample, replace(options, cached_included=False)) if guard else None
    return ImportPlan(
        format=fmt.name, source=options.source or fmt.source, shape=sample.shape, params=params, otherwise=otherwise,
        clean=tuple(cleans), staged=Read(ReadKind.STAGED, staged), reread=strict, table=table, grows=fmt.grows,
        cached_open=fmt.cached_open,
        first_line=readers.FIRST_LINE[sample.shape],
        line_events=readers.csv_line_events_sql() if sample.shape == "csv" else None, notes=tuple(notes),
    )
