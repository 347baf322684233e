"""DuckDB's own readers for each reading shape, as SQL over the bound parameter $path.

Files never pass through Python row by row: DuckDB reads them (gzip and zstd included,
by extension) straight into the import's staging table. Lines that DuckDB itself cannot
read (broken UTF-8, wrong column count) are kept by `store_rejects` with their line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.ingest.base import EXTRACTED_COLUMNS, Format, Sample, json_path, sql_name
from dashboard.ingest.fields import DOC, LINE, Column, Json, Key
from dashboard.ingest.files import MAX_LINE_BYTES
from dashboard.ingest.render import (
    Leaves,
    column_uses,
    epoch_field,
    format_select,
    json_fields,
    nodes,
    reads,
    real_column,
    value_at,
)


def _line_limits(line_bytes: int) -> str:
    """The CSV reader's options for lines of at most `line_bytes`, in a buffer of one such line."""
    return f"max_line_size = {int(line_bytes)}, buffer_size = {int(line_bytes)}"


# DuckDB's CSV buffer defaults to 16 lines of the longest allowed size (256 MB here): even a
# 20-line sample then reads that much, and a large file is cut into fewer, larger pieces.
# A buffer of one longest line still reads such a line whole.
LINE_LIMITS = _line_limits(MAX_LINE_BYTES)

# The longest record the typed CSV read takes, where the file's first lines hold no quote (see
# planner.py). DuckDB's CSV reader shares a file among its threads a buffer at a time: with
# 16 MiB buffers, the last one of a 170 MB file is read by one thread while the others wait
# (0.1 s of a 1.3 s read on two cores; more on more cores), with 4 MiB ones they finish
# together. A record longer than the buffer is passed over, at times without a word, so
# the whole-file check measures the longest record (files.RecordScan) first, and a file
# with a longer one is read with MAX_LINE_BYTES (ImportPlan.widened; see importer._fitting).
CLEAN_LINE_BYTES = 4 * 1024 * 1024
# The largest file read so (a plain one: DuckDB reads a compressed file on one thread anyway).
# The read waits for the file's check, which is done before the insert would start for a
# file this size (it starts with the import command: 0.15-0.2 s for 170 MB here); on a larger one
# the wait would cost more than the read saves.
SHORT_READ_FILE_BYTES = 256 * 1024 * 1024

# The reject tables DuckDB fills for CSV-based readers; the loader copies them to rejected_rows.
REJECTS_TABLE = "ingest_reject_errors"
REJECTS_SCAN = "ingest_reject_scans"

_REJECTS = f"store_rejects = true, rejects_table = '{REJECTS_TABLE}', rejects_scan = '{REJECTS_SCAN}'"


DELIMITERS = {",": "','", ";": "';'", "\t": "'\t'", "|": "'|'"}


def guess_delimiter(header_line: str) -> str:
    """The delimiter of a CSV/TSV from its header line (DuckDB's sniffer can be misled by bad rows)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _record_alias(columns: Sequence[str]) -> str:
    """The reader's alias, whose row (a STRUCT of the file's columns) becomes `__record`.

    A file column of the same name would be taken instead of the row, so the name avoids them.
    """
    taken = {c.lower() for c in columns}
    alias = "ingest_record"
    while alias in taken:
        alias += "_"
    return alias


def reader_sql(shape: str, delimiter: str = ",", numbered: bool = True, keep_rejects: bool = True,
               columns: Sequence[str] = (), wrapped: bool = False, records: str | None = None,
               placed: bool = False) -> str:
    """SELECT producing `src` for a shape: `line`, `ok`, `__record`, and `raw` + `doc` (JSON) or the file's columns.

    Every record the reader yields is a row, in file order, so a staging table's rowid is
    the record number. `numbered` adds `line` as a column (formats that join or dedupe on
    it); otherwise `line` is NULL and the loader numbers rejected rows from the rowid,
    which spares a single-threaded window over the whole file.

    CSV: `raw` is NULL; formats rebuild it where they hash it into a derived id.
    CSV and Parquet: `__record` is the record as a STRUCT of the file's columns, so a
    rejected row's text is built from it for that row alone (see importer.shown_sql);
    the other shapes carry their text in `raw` and leave `__record` NULL.
    Lines: `doc` is the text when it is a JSON object, else NULL (and `ok` false), so a
    malformed line becomes a rejected row instead of failing the whole file; `ok` is NULL
    for a blank line, which is no record at all.
    `keep_rejects` False: a line DuckDB cannot read fails the query instead (a clean-only read).
    `columns`: the file's columns (CSV, Parquet), which the reader's own names must not shadow.
    `wrapped` (JSON): the records are the array under the top-level object's `data`.
    `records` (lines, numbered; json; documents): each document holds its records at this JSONPath (see base.Format).
    `placed` (documents, numbered, with `records`): `line` is the line where the record starts, where
    the file is pretty-printed (see document_record_lines), else the record's number.
    """
    record = _record_alias(columns)
    rejects = _REJECTS if keep_rejects else "ignore_errors = false"
    line = "row_number() OVER ()" if numbered else "NULL::BIGINT"
    if shape == "lines":
        lines = f"""
            SELECT {line} AS line, raw,
                   -- a cheap text test first, so valid lines are parsed once here and once for fields
                   CASE WHEN ltrim(raw) LIKE '{{%' AND json_valid(raw) THEN raw END AS doc
            FROM {_read_lines(rejects)}"""
        if records is not None:
            lines = _nested_records(lines, records)
        return f"""
        SELECT line, raw, doc, CASE WHEN trim(raw) <> '' THEN doc IS NOT NULL END AS ok, NULL AS "__record" FROM (
            {lines}
        )
        """
    if shape == "csv":
        # The reader's own columns come first: a file column of the same name is found after them.
        return (f"SELECT {line} + 1 AS line, true AS ok, NULL::VARCHAR AS raw, {record} AS \"__record\", * "
                f"FROM {_read_csv(delimiter, rejects)} AS {record}")
    if shape == "json":
        return _json_sql(wrapped, records)
    if shape == "parquet":
        return (f"SELECT row_number() OVER () AS line, true AS ok, {record} AS \"__record\", * "
                f"FROM read_parquet($path) AS {record}")
    if shape == "documents":
        return _documents_sql(line, records, placed and numbered)
    raise ValueError(f"unknown reading shape {shape!r}")


def _json_sql(wrapped: bool, records: str | None) -> str:
    """reader_sql for the JSON shape: the array's elements, or the records each holds at `records`."""
    # Typed as JSON: left to detect, DuckDB makes the records STRUCTs (and re-types their values).
    values = _WRAPPED_RECORDS if wrapped else _ARRAY_RECORDS
    if records is not None:  # each value holds records, as a document does
        values = f"(SELECT rec AS json FROM ({_records_in(values, records)}))"
    return f"""
        SELECT row_number() OVER () AS line, CAST(json AS VARCHAR) AS raw,
               CASE WHEN json_type(json) = 'OBJECT' THEN CAST(json AS VARCHAR) END AS doc,
               coalesce(json_type(json) = 'OBJECT', false) AS ok, NULL AS "__record"
        FROM {values}
        """


def _documents_sql(line: str, records: str | None, placed: bool) -> str:
    """reader_sql for the documents shape: `line` the SQL numbering the records, `placed` see there."""
    # (numbered before the texts are made: the window then holds one copy of each record)
    values = _json_values("unstructured", MAX_DOCUMENT_BYTES)
    top = f"SELECT json AS rec FROM {values}" if records is None else _records_in(values, records)
    numbered_records = f"SELECT {line} AS line, rec FROM ({top})"
    if placed and records is not None:
        numbered_records = document_record_lines(numbered_records, records)
    return f"""
        SELECT line, CAST(rec AS VARCHAR) AS raw,
               CASE WHEN json_type(rec) = 'OBJECT' THEN CAST(rec AS VARCHAR) END AS doc,
               coalesce(json_type(rec) = 'OBJECT', false) AS ok, NULL AS "__record"
        FROM ({numbered_records})
        """


def _nested_records(lines: str, records: str) -> str:
    """The records each JSON document of `lines` holds at the JSONPath `records`, one row each, on the
    document's line; a line that is no JSON object stays one row (with no `doc`), a blank one too.

    All at once, unlike _records_in: a line's length bounds the square cost (34,000 OTLP spans,
    near MAX_LINE_BYTES, take 4 s; container by container, 2 s), and the lines of a usual
    export, a few hundred records each, are read 8% faster so. A longer document is read as a
    document (see importer._long_lines_sample)."""
    return f"""
            SELECT line, CASE WHEN doc IS NULL THEN raw ELSE CAST(rec AS VARCHAR) END AS raw,
                   CASE WHEN json_type(rec) = 'OBJECT' THEN CAST(rec AS VARCHAR) END AS doc
            FROM (
                SELECT line, raw, doc, unnest(CASE WHEN doc IS NULL THEN [NULL::JSON]
                                                   ELSE json_extract(doc, {_literal(records)}) END) AS rec
                FROM ({lines})
            )"""


def _json_values(layout: str, max_bytes: int = 64 << 20) -> str:
    """The file's JSON values as one column `json`: the elements of an array ('array'), or
    the top-level values ('unstructured'), each at most `max_bytes` (64 MiB)."""
    return (f"read_json($path, format = '{layout}', records = false, columns = {{'json': 'JSON'}}, "
            f"maximum_object_size = {int(max_bytes)})")


# A document of the documents shape is held whole while its records are taken out of it (a
# request body saved to a file is well under this); DuckDB's JSON reader keeps buffers of
# twice this size for each thread, within the warehouse's memory limit (1 GB by default).
MAX_DOCUMENT_BYTES = 32 << 20


def _records_in(values: str, records: str) -> str:
    """SELECT of `rec`: the records each JSON value (column `json` of relation `values`) holds at `records`.

    The containers of the records first, then the records of each: unnesting one list of a
    large document's records at once costs time growing with the square of their number
    (70 s for 200,000 OTLP spans in one document, 9 s taken per container).
    """
    query = f"SELECT json AS rec FROM {values}"
    if "[*]" not in records:
        raise ValueError(f"the records of a document are at a JSONPath with [*]: {records!r}")
    *containers, last, rest = records.removeprefix("$").split("[*]")
    for step in (["[*]".join(containers)] if containers else []) + [last]:
        query = f"SELECT unnest(json_extract(rec, {_literal('$' + step + '[*]')})) AS rec FROM ({query})"
    if rest:
        query = f"SELECT json_extract(rec, {_literal('$' + rest)}) AS rec FROM ({query})"
    return query


def document_record_lines(numbered_records: str, records: str) -> str:
    """`numbered_records` (`line`: the record's number, `rec`) with `line` the line where each record starts.

    A pretty-printer indents each line by its depth: a record at `records` opens a line indented
    by one step for each key and each `[*]` of the path (a step: the indent of the file's first
    indented line), and no other object does in an OTLP export. The n-th such line is where
    record n starts.
    Where the file has not as many such lines as records (it is not pretty-printed throughout),
    every record keeps its number. Reads the file's lines once more, beside its records.
    """
    depth = records.count("[*]") + len([k for k in records.replace("[*]", "").split(".")[1:] if k])
    lines = _read_lines("ignore_errors = true")
    return f"""
        WITH numbered AS MATERIALIZED ({numbered_records}),
        step AS (SELECT strlen(regexp_extract(raw, '^[ \t]*')) AS width FROM {lines}
                 WHERE regexp_matches(raw, '^[ \t]+[^ \t]') LIMIT 1),
        starts AS (
            SELECT row_number() OVER () AS k, n FROM (SELECT row_number() OVER () AS n, raw FROM {lines})
            WHERE starts_with(ltrim(raw, ' \t'), '{{')
              AND strlen(raw) - strlen(ltrim(raw, ' \t')) = {depth} * (SELECT width FROM step)
        )
        SELECT CASE WHEN (SELECT count(*) FROM starts) = (SELECT count(*) FROM numbered) THEN s.n ELSE r.line END
                   AS line, r.rec
        FROM numbered AS r LEFT JOIN starts AS s ON s.k = r.line"""


def documents_sample_sql(chars: int, documents: int = 3) -> str:
    """The first `documents` top-level JSON values of the file: each one's length and its first `chars` characters."""
    return (f"SELECT strlen(CAST(json AS VARCHAR)), left(CAST(json AS VARCHAR), {int(chars)}) "
            f"FROM {_json_values('unstructured', MAX_DOCUMENT_BYTES)} LIMIT {int(documents)}")


_ARRAY_RECORDS = _json_values("array")
# The whole document is one value here, so it must fit the object size limit (64 MB): an API
# response saved to a file, not a bulk export (those are arrays or JSON lines).
_WRAPPED_RECORDS = f"(SELECT unnest(json_extract(json, '$.data[*]')) AS json FROM {_json_values('unstructured')})"


def wrapped_records_sql() -> str:
    """Whether the file is one JSON object holding its records under `data` (one row: true or false).

    An object with its own `usage` is a record (an embeddings response also has a `data` array).
    """
    return ("SELECT count(*) = 1 AND bool_and(json_type(json, '$.data') = 'ARRAY' AND "
            f"json_type(json, '$.usage') IS NULL) FROM (SELECT json FROM {_json_values('unstructured')} LIMIT 2)")


# Where the first record sits: record n (0-based rowid) of a CSV is line n + 2 (after the header).
FIRST_LINE = {"lines": 1, "csv": 2, "json": 1, "parquet": 1, "documents": 1}


def _read_lines(errors: str, limits: str = LINE_LIMITS) -> str:
    """Every line of the file as one text column `raw`, nothing split or unquoted."""
    return ("read_csv($path, columns = {'raw': 'VARCHAR'}, header = false, delim = chr(1), quote = '', "
            f"escape = '', auto_detect = false, strict_mode = false, {limits}, {errors})")


def _read_csv(delimiter: str, errors: str) -> str:
    return (f"read_csv($path, header = true, all_varchar = true, {LINE_LIMITS}, "
            f"delim = {DELIMITERS[delimiter]}, quote = '\"', escape = '\"', {errors})")


def csv_line_events_sql() -> str:
    """The lines that move a CSV's records off one line each, and the number of lines.

    Rows (n, kind): kind 0 for a blank line n, 1 for a line n with an odd number of quotes,
    and one row (number of lines, 2). A line with an odd number of quotes opens or closes
    a quoted field that runs over several lines; DuckDB numbers such a record as one line
    and yields no record for a blank line, so these are what finding a record's own line
    needs (see lines.LineMap). Only files with rejected rows pay for this pass.
    """
    lines = _read_lines("ignore_errors = true")
    odd_quotes = "contains(raw, '\"') AND (length(raw) - length(replace(raw, '\"', ''))) % 2 = 1"
    return (
        f"SELECT n, CASE WHEN raw IS NULL THEN 0 ELSE 1 END AS kind "
        f"FROM (SELECT row_number() OVER () AS n, raw FROM {lines}) WHERE raw IS NULL OR {odd_quotes} "
        f"UNION ALL SELECT count(*), 2 FROM {lines}"
    )


# The longest line a first look at a file (its first lines, a CSV's header) reads. DuckDB reads
# a whole buffer before its first record, so a buffer of LINE_LIMITS' size costs a large file
# 10 to 40 ms to show a few lines; a longer line fails the look, and the file is looked at
# again with LINE_LIMITS.
FIRST_LOOK_BYTES = 256 * 1024


def header_sql(delimiter: str, rows: int = 0, line_bytes: int | None = FIRST_LOOK_BYTES) -> str:
    """The CSV header, read by DuckDB with the given delimiter, and its first `rows` records as text.

    `line_bytes`: the longest line read (None: MAX_LINE_BYTES); a longer one fails the read.
    """
    limits = _line_limits(line_bytes or MAX_LINE_BYTES)
    return (
        f"SELECT * FROM read_csv($path, header = true, all_varchar = true, delim = {DELIMITERS[delimiter]}, "
        f"quote = '\"', escape = '\"', ignore_errors = true, {limits}) LIMIT {int(rows)}"
    )


def head_lines_sql(line_bytes: int | None = None) -> str:
    """The first lines as text, for detection (DuckDB decompresses by extension).

    `line_bytes` None: lines up to MAX_LINE_BYTES, any line the reader cannot take passed over.
    Else a first look: lines of at most `line_bytes`, and a line it cannot take fails the read,
    so the lines it gives are the ones the first form gives.
    """
    errors = "ignore_errors = true" if line_bytes is None else "ignore_errors = false"
    return f"SELECT raw FROM {_read_lines(errors, _line_limits(line_bytes or MAX_LINE_BYTES))} LIMIT 20"



# The reads of a format: its SELECT over the reader that feeds it, as (format SELECT, reader).


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def text_read(fmt: Format, sample: Sample, numbered: bool, keep_rejects: bool = True,
              placed: bool = True) -> tuple[str, str]:
    """The format over the shape's plain reader, each JSON record parsed once for all its fields.

    `placed`: a document's record is numbered by the line where it starts (see reader_sql).

    Every JSON field of a format is an element of one multi-path extraction done in the
    reader (DuckDB parses the document a single time for all paths), which is what keeps
    wide JSON formats near DuckDB's own speed.
    """
    reader = reader_sql(sample.shape, sample.delimiter, numbered, keep_rejects=keep_rejects,
                        columns=sample.columns, wrapped=sample.wrapped, records=fmt.records, placed=placed)
    paths = json_fields(fmt, sample)
    if paths:
        reader = f"SELECT *, {_extract_all('doc', paths)} AS __j FROM ({reader})"
    index = {p: i + 1 for i, p in enumerate(paths)}
    return format_select(fmt, sample, Leaves(json=lambda keys: f"src.__j[{index[keys]}]")), reader


def _extract_all(json_sql: str, paths: Sequence[Sequence[str]]) -> str:
    """SQL: the text at each of `paths` (keys from the top) of the JSON `json_sql`, as a list, parsed once for all."""
    return f"json_extract_string({json_sql}, [{', '.join(json_path(p) for p in paths)}])"


READER_COLUMNS = {"line", "raw", "doc", "ok", "__record"}  # the reader's own, beside the format's


def _case_clash(spec: dict) -> bool:
    """Two keys of one object that differ only in case (`project`, `Project`): DuckDB's STRUCT
    field names ignore case, so such fields have no typed read."""
    keys = [k.lower() for k in spec]
    return len(set(keys)) < len(keys) or any(isinstance(v, dict) and _case_clash(v) for v in spec.values())


@dataclass(frozen=True)
class _Typed:
    """The nested STRUCT spec of a format's JSON fields (every leaf VARCHAR), and how a field reads from it."""

    spec: dict
    whole: tuple[str, ...]  # top-level objects read as one JSON value, their fields extracted from it
    inside: Mapping[str, tuple[tuple[str, ...], ...]]  # each whole object's fields, by their keys within it

    def field(self, keys: tuple[str, ...]) -> str:
        top, *rest = keys
        if top in self.whole:
            return f"src.{_extracted(self.whole.index(top))}[{self.inside[top].index(tuple(rest)) + 1}]"
        return "src." + ".".join(sql_name(k) for k in keys)

    def columns(self, more: Mapping[str, str] | None = None) -> str:
        """The reader's `columns`: the spec's, and `more` (key: type)."""
        def sql_type(node: dict | str) -> str:
            if isinstance(node, str):
                return node
            return "STRUCT(" + ", ".join(f"{sql_name(k)} {sql_type(v)}" for k, v in node.items()) + ")"
        spec = {**self.spec, **(more or {})}
        return "{" + ", ".join(f"{_literal(k)}: {_literal(sql_type(v))}" for k, v in spec.items()) + "}"

    def reader(self, rows: str) -> str:
        """`rows` (a reader with a column per top-level key) with each whole object's fields extracted.

        One extraction of all of an object's paths, and none where the object is missing (as
        it is on every line of a file that lacks it): a tenth of a second per 2M OpenAI lines
        against a `json_extract_string` per field, each called on every line.
        """
        if not self.whole:
            return rows
        extracts = ", ".join(
            f"CASE WHEN {sql_name(top)} IS NOT NULL THEN {_extract_all(sql_name(top), self.inside[top])} END "
            f"AS {_extracted(i)}" for i, top in enumerate(self.whole))
        return f"SELECT *, {extracts} FROM ({rows})"


def _absent_guard(keys: Sequence[str], held: Sequence[str] = ()) -> str:
    """A WHERE failing the read at a record that holds one of `keys`, or no value at one of `held`
    (see typed_lines)."""
    tests = [f"{sql_name(k)} IS NOT NULL" for k in keys] + [f"{sql_name(k)} IS NULL" for k in held]
    if not tests:
        return ""
    return (f"\n        WHERE CASE WHEN {' OR '.join(tests)} "
            "THEN error('a record is not of the shape its sample showed') ELSE true END")


def _extracted(i: int) -> str:
    return f"__j{i}"


def _typed_fields(fmt: Format, sample: Sample) -> _Typed | None:
    """The format's JSON fields as one nested STRUCT; None when they cannot be.

    Possible when the format reads fields of the record only (no other column of its own),
    no two top-level keys differ only in case, and no field is also read as an object. A
    top-level object is read as one JSON value, its fields extracted from it, when none of
    the sample records has it (the `response` of the pair shape in a file of plain
    responses: a NULL costs one column where a struct costs one per field, about 1 CPU-s per
    5M lines for the OpenAI format) or when two of its keys differ only in case (Helicone's
    `properties.project` and `properties.Project`). Only speed depends on the sample.
    """
    paths = json_fields(fmt, sample)
    if not paths or any(isinstance(n, Column) for n in nodes(fmt, sample)):
        return None
    spec: dict = {}
    for keys in paths:
        *parents, leaf = keys
        node = spec
        for k in parents:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                return None  # a field that is also read as a whole: not a struct
        if isinstance(node.get(leaf), dict):
            return None
        node[leaf] = "VARCHAR"
    if READER_COLUMNS & set(spec) or len({k.lower() for k in spec}) < len(spec):
        return None
    whole = _read_whole(spec, sample)
    if any(_extracted(i) in spec for i in range(len(whole))):
        return None
    for k in whole:
        spec[k] = "JSON"
    inside = {top: tuple(dict.fromkeys(tuple(rest) for t, *rest in paths if t == top)) for top in whole}
    return _Typed(spec, whole, inside)


def _read_whole(spec: dict, sample: Sample) -> tuple[str, ...]:
    """The top-level objects of `spec` to read as one JSON value: those no sample record has, or with a case clash."""
    seen = {k for rec in sample.records if isinstance(rec, Mapping) for k in rec}
    return tuple(k for k, v in spec.items() if isinstance(v, dict) and (k not in seen or _case_clash(v)))


def epoch_keys(fmt: Format, sample: Sample) -> tuple[str, ...] | None:
    """The JSON field the format's time comes from first, when every sample record with it holds a JSON number.

    Such a time is epoch seconds or milliseconds (OpenAI's `created`). The JSON reader gives
    it as a DOUBLE, the number the text read gets too: as text, the reader writes a number
    in its shortest form, which casts back to that DOUBLE. The format must read that field
    nowhere else.
    """
    keys = epoch_field(fmt, sample)
    if keys is None:
        return None
    values = [v for v in (value_at(r, keys) for r in sample.records) if v is not None]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return keys if values and len(numbers) == len(values) else None


def typed_lines(fmt: Format, sample: Sample, epoch: bool = False, absent: Sequence[str] = (),
                held: Sequence[str] = ()) -> tuple[str, str] | None:
    """The format read by DuckDB's JSON reader, typed to just the fields it uses; None when it can't be.

    `read_json` with a declared nested STRUCT (every leaf VARCHAR) parses each line once,
    in parallel, straight into those fields: about twice as fast as reading lines and
    extracting paths. But it fails the whole file on one malformed line and knows neither
    line numbers nor a line's text, so it serves only a clean-only import; a format that
    reads the record whole or its line has none.
    `epoch`: the time the format takes first is read as a number (see epoch_keys), given
    as `ts_epoch` beside a `ts` that holds the other times only where it is missing
    (see sql.canonical_sql); None when the sample does not hold it as a number. A time
    later in the file that is no number fails the read.
    `absent`: top-level keys the records must not hold (any value but null): a record that
    does fails the read (see render.narrowed, the format that leaves them out). `held`:
    top-level keys (of those the format reads) every record must hold a value at, or fail the
    read: the keys a format reads only where these are missing are not read (render.shadowed_keys).
    """
    if reads(fmt, sample, DOC) or reads(fmt, sample, LINE) or fmt.prelude or fmt.records is not None:
        return None
    keys = epoch_keys(fmt, sample) if epoch else None
    if epoch and keys is None:
        return None
    typed = _typed_fields(fmt, sample)
    if typed is None:
        return None
    number = None
    if keys is not None:
        *parents, leaf = keys
        node: Any = typed.spec
        for k in parents:
            node = node.get(k) if isinstance(node, dict) else None
        if not isinstance(node, dict) or node.get(leaf) != "VARCHAR":
            return None  # inside an object read whole
        node[leaf] = "DOUBLE"
        number = typed.field(keys)
    leaves = Leaves(json=typed.field, overrides={Json(keys): "NULL"} if keys else {})
    columns = typed.columns(dict.fromkeys(absent, "JSON"))  # (JSON takes any value; null is NULL)
    reader = typed.reader(f"""
        SELECT NULL::BIGINT AS line, NULL::VARCHAR AS raw, NULL::VARCHAR AS doc, true AS ok, NULL AS "__record",
               *{f" EXCLUDE ({', '.join(map(sql_name, absent))})" if absent else ""}
        FROM read_json($path, format = 'newline_delimited', columns = {columns},
                       maximum_object_size = {MAX_LINE_BYTES}){_absent_guard(absent, held)}
        """)
    return format_select(fmt, sample, leaves, epoch=number), reader


def parsed_lines(fmt: Format, sample: Sample, numbered: bool = True,
                 keep_rejects: bool = True) -> tuple[str, str] | None:
    """The lines reader with each line parsed once, straight into the typed fields; None when it can't be.

    Like `typed_lines`, but every line is a row with its line number and text, so it serves
    the staged import that keeps bad rows: `from_json` (which, unlike the strict transform,
    reads a value of another shape as NULL, as `json_extract_string` does) parses each JSON
    object once into the fields, where the plain lines reader validates it and then extracts
    the paths. A line that is not a JSON object gets no fields and `ok` false, as there;
    `doc` is the text of a JSON object, as there, for formats that also read the record whole.
    About a third faster than the plain lines reader on 5M OpenAI lines.
    """
    typed = _typed_fields(fmt, sample) if fmt.records is None else None
    if typed is None:
        return None
    structure = json.dumps(typed.spec)
    line = "row_number() OVER ()" if numbered else "NULL::BIGINT"
    rejects = _REJECTS if keep_rejects else "ignore_errors = false"
    reader = typed.reader(f"""
        SELECT line, raw, CASE WHEN rec IS NOT NULL THEN raw END AS doc,
               CASE WHEN trim(raw) <> '' THEN rec IS NOT NULL END AS ok,
               NULL AS "__record", unnest(rec) FROM (
            SELECT {line} AS line, raw,
                   -- a JSON text starting with a brace is an object; TRY: a malformed one gets no fields
                   CASE WHEN ltrim(raw) LIKE '{{%' THEN TRY(from_json(raw, {_literal(structure)})) END AS rec
            FROM {_read_lines(rejects)}
        )
        """)
    return format_select(fmt, sample, Leaves(json=typed.field)), reader


def typed_csv(fmt: Format, sample: Sample, types: Mapping[str, str], numbered: bool = False,
              line_bytes: int = MAX_LINE_BYTES) -> tuple[str, str, frozenset[str]] | None:
    """The format read by DuckDB's CSV reader with some fields parsed by the reader itself; None when none can be.

    A field of `types` (field name: SQL type) that the format takes from one file column as
    it is, and from no other place, is parsed by the reader, which turns text to numbers and
    times without making strings of them first: a fifth less work for a large clean file.
    Returns the format's SQL over the typed columns, the reader, and the fields it types.
    The reader passes over a line with a value it cannot parse, keeping it in the rejects
    tables (as it does a line it cannot read at all), and keeps no line's text, so it
    serves only a clean-only import, which reads such lines again as text.
    `__record`, from which formats build a record's text, is a NULL of the right shape: a
    row without an id of its own cannot be named from this read. `line_bytes`: the longest
    record it reads (see CLEAN_LINE_BYTES).
    """
    uses = column_uses(fmt, sample)
    typed: dict[str, str] = {}
    for name in (f for f in EXTRACTED_COLUMNS if f in types):
        node = fmt.fields.get(name)
        node = Column(node.names) if isinstance(node, Key) and sample.shape == "csv" else node
        if isinstance(node, Column) and node.as_text:
            real = real_column(sample, node.names, node.exact)
            if real is not None and uses[real] == 1:
                typed[real] = name
    if not typed:
        return None

    def column(real: str, field: str) -> str:
        return f"src.{sql_name(real)}" if typed.get(real) == field else f"CAST(src.{sql_name(real)} AS VARCHAR)"

    listed = ", ".join(f"{_literal(c)}: {_literal(types[f])}" for c, f in typed.items())
    record = "STRUCT(" + ", ".join(f"{sql_name(c)} VARCHAR" for c in sample.columns) + ")"
    line = "row_number() OVER () + 1" if numbered else "NULL::BIGINT"
    reader = (f"SELECT {line} AS line, true AS ok, NULL::VARCHAR AS raw, NULL::{record} AS \"__record\", * "
              f"FROM read_csv($path, header = true, all_varchar = true, types = {{{listed}}}, "
              f"{_line_limits(line_bytes)}, delim = {DELIMITERS[sample.delimiter]}, quote = '\"', escape = '\"', "
              f"{_REJECTS})")
    mapped = format_select(fmt, sample, Leaves(json=_no_json, column=column))
    return mapped, reader, frozenset(typed.values())


def _no_json(keys: tuple[str, ...]) -> str:
    raise ValueError(f"a CSV has no JSON field {keys!r}")
