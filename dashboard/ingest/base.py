"""The contract between the importer and one module per log format.

A format module exports FORMAT, a `Format` declaring where each *extracted* field comes from
(see fields.py): all text, never validated or parsed by the format. The importer plans the
reads of a file from that declaration (see planner.py) and wraps every read in one shared SELECT
that validates, splits prompt tokens into disjoint buckets and gives each bad record a reason
a person understands (see sql.py). So every format gets the same rules for times, tokens and keys.

Reading shapes (`Sample.shape`), each exposed to the fields as relation `src`:
- "lines": one JSON document per line; columns `line` (1-based) and `raw` (the text).
- "json": a JSON array, or an object holding the array under `data` (as API responses
  such as Langfuse's `{"data": [...], "meta": {...}}` and OpenAI's lists do); `line` is
  the record number and `raw` the record's JSON text.
- "csv": a CSV/TSV with a header; every column as VARCHAR, plus `line`.
- "parquet": a Parquet file's columns, plus `line` (the row number).
- "documents": one or more JSON objects one after another, each over any number of lines
  (pretty-printed, as `jq .` writes them, or a request body saved to a file); each is a
  record or, for a format with `records`, holds its records; `line` is the line where a
  record starts (its number where the lines do not tell, see readers.document_record_lines).

The extracted fields (NULL where the format declares none):
request_id, ts, provider, upstream_provider, model, project, api_key, api_key_name, user,
tags, prompt_tokens, cache_read, cache_write, cache_write_1h, output, reasoning, latency_ms,
ttft_ms, status, billed_cost, currency, requests (how many requests the row stands for: 1
for request logs, N for aggregated exports), ts_end (where a row covers a span of time, such
as a usage bucket: its end; the span is priced over its length, see pricing.sql).
`prompt_tokens` is the provider's prompt count; the format's `cached_included` says whether it
already contains the cache buckets (OpenAI: true; Anthropic, Helicone: false).
`api_key` holds a secret (stored as a 4-character hint); `api_key_name` a label.
`parsed` (default: the reader's `ok`) is NULL for a line that is no record, false for one
that is not a JSON object; `problem` is why the format rejects a record it read (NULL: no
reason of its own; the shared checks still apply). `line`, `raw` and `cached_included` are
the importer's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboard.errors import DashboardError, mask_value
from dashboard.ingest.fields import Node

EXTRACTED_COLUMNS = (
    "line", "raw", "request_id", "ts", "provider", "upstream_provider", "model", "project",
    "api_key", "api_key_name", "user", "tags", "prompt_tokens", "cache_read", "cache_write",
    "cache_write_1h", "output", "reasoning", "cached_included", "latency_ms", "ttft_ms",
    "status", "billed_cost", "currency", "requests", "ts_end", "parsed", "problem",
)


@dataclass(frozen=True)
class Sample:
    """What detection sees of a file: its name, the shape, and a few records or the header."""

    name: str
    shape: str  # lines | json | csv | parquet | documents
    columns: tuple[str, ...] = ()  # csv / parquet header
    records: tuple[Mapping[str, Any], ...] = ()  # first JSON records (lines / json), first documents (documents)
    rows: tuple[Mapping[str, str | None], ...] = ()  # first CSV records, as text (header -> value)
    delimiter: str = ","  # csv
    quoted: bool = True  # csv: a quote in its first lines (False: none; see planner.py's narrow typed read)
    wrapped: bool = False  # json: the records are the array under the top-level object's `data`

    @property
    def lower_columns(self) -> set[str]:
        return {c.strip().lower() for c in self.columns}


@dataclass(frozen=True)
class Options:
    """What the person said on the command line or the Import page."""

    provider: str | None = None
    model: str | None = None
    tz: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)  # header -> canonical field
    cached_included: bool | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        # A name typed in a field (the Import page's are anyone's) is stored with the rows:
        # a key pasted into one is cut to its hint before anything sees it.
        for name in ("provider", "model", "source"):
            object.__setattr__(self, name, mask_value(getattr(self, name)))


def check_zone(tz: str) -> str:
    """`tz` when it names a time zone (see zones.checked_name), else ValueError.

    Checked before any file is read: a file whose times all carry an offset never asks DuckDB
    for the zone, and a mistyped one would pass unnoticed until a file with naive times.
    """
    from dashboard.warehouse.zones import checked_name  # the zones load DuckDB: the formats need not

    try:
        return checked_name(tz)
    except DashboardError as e:
        raise ValueError(str(e)) from e


@dataclass(frozen=True)
class Format:
    """A log format, declared: what it reads, how it is recognised, where each extracted field comes from.

    `fields` maps extracted columns (EXTRACTED_COLUMNS but `line`, `raw`, `cached_included`) to
    where they come from (see fields.py); a column it leaves out is NULL. Without `request_id`
    the importer derives each row's id from the record's text and its occurrence.
    `cached_included`: whether the prompt tokens already contain the cache buckets (None: the
    file does not say; --cached-included-in-input decides, else true).
    `keep`: the row filter; a record it does not keep is no request (not rejected, not counted).
    `qualify`: a window condition keeping one record of several (a reply logged in pieces).
    `prelude`: common table expressions over `src` the fields may read (they need line numbers).
    `records` (JSON lines, JSON, documents): where each document holds its records, a JSONPath with `[*]`
    (`$.batches[*].items[*]`); each is then a record, `doc` and `raw` its JSON text, `line` the
    document's line (JSON lines), the record's number (JSON) or the line where the record starts
    (documents; its number where the lines do not tell). A document without any is
    no request; a line that is no JSON object is rejected as such. Without it, each line or
    document is one record.
    `grows`: a request is logged as it streams, so a known id with more output tokens is the same
    request further on, whose usage replaces the stored one.
    `adapt`: the format for one file, where its fields depend on the file (its header, its first
    records): given the format, the sample and the options, the format to read that file with.
    """

    name: str
    source: str  # the `source` column value: the system the ids belong to
    shapes: tuple[str, ...]  # the reading shapes it reads, see the module docstring
    sniff: Callable[[Sample], int]  # 0 (not this format) .. 100 (certainly this format)
    fields: Mapping[str, Node | None] = field(default_factory=dict)  # (None: NULL on every row)
    cached_included: bool | None = None
    keep: Node | None = None
    qualify: Node | None = None
    prelude: str = ""
    records: str | None = None
    grows: bool = False
    adapt: Callable[[Format, Sample, Options], Format] | None = None

    @property
    def derives_ids(self) -> bool:
        return "request_id" not in self.fields

    @property
    def cached_open(self) -> bool:
        """Whether it is left to each file whether its prompt tokens include the cache buckets it has."""
        return self.cached_included is None and any(
            f in self.fields for f in ("cache_read", "cache_write", "cache_write_1h"))

    def for_file(self, sample: Sample, options: Options) -> Format:
        """This format as it reads the file `sample` is from; ValueError when it cannot read that shape."""
        if sample.shape not in self.shapes:
            raise ValueError(f"format {self.name} reads {' or '.join(self.shapes)} files, "
                             f"but this file is {sample.shape}")
        chosen = self.adapt(self, sample, options) if self.adapt else self
        unknown = set(chosen.fields) - (set(EXTRACTED_COLUMNS) - {"line", "raw", "cached_included"})
        if unknown:
            raise ValueError(f"format {self.name}: not an extracted column: {sorted(unknown)}")
        return chosen


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sql_name(name: str) -> str:
    """A column or key name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def json_path(keys: Sequence[str]) -> str:
    """The JSONPath of nested object `keys` as an SQL string literal; a key other than a plain name is quoted."""
    parts = (f".{k}" if _PLAIN_KEY.fullmatch(k) else '."' + k.replace('"', '\\"') + '"' for k in keys)
    return "'$" + "".join(parts).replace("'", "''") + "'"


def has(sample: Sample, *names: str) -> bool:
    """Whether the CSV/Parquet header has any of `names` (case-insensitive)."""
    return any(n.lower() in sample.lower_columns for n in names)


def keys_in(records: Sequence[Mapping[str, Any]], *paths: str) -> int:
    """How many of the sample records have every dotted path."""
    def has_path(rec: Any, path: str) -> bool:
        for part in path.split("."):
            if not isinstance(rec, Mapping) or part not in rec:
                return False
            rec = rec[part]
        return True

    return sum(all(has_path(r, p) for p in paths) for r in records)


def csv_raw(sample: Sample, delimiter: str = ",", record: str = 'src."__record"', quoted: bool = False) -> str:
    """SQL rebuilding a CSV record's text from its columns, fields of the reader's `record` STRUCT.

    From the STRUCT rather than from `src`, where a file column named like one of the reader's
    own (`line`, `ok`, `raw`) would give the reader's value instead of the file's.

    Derived ids hash the text joined with commas, whatever the file's delimiter (so they stay
    what earlier imports stored); a rejected row shows it joined with the file's own delimiter
    and, `quoted`, with a field holding the delimiter, a quote or a line break quoted as the
    file had it, so the text reads back as the same record.
    """
    sep = delimiter.replace("'", "''")

    def value(c: str) -> str:
        v = f"coalesce({record}.{sql_name(c)}, '')"
        if not quoted:
            return v
        return (f"CASE WHEN regexp_matches({v}, '[{sep}\"\\r\\n]') "
                f"THEN '\"' || replace({v}, '\"', '\"\"') || '\"' ELSE {v} END")

    cols = [value(c) for c in sample.columns]
    return f"concat_ws('{sep}', {', '.join(cols)})" if cols else "''"


def record_text(sample: Sample, delimiter: str = ",", record: str = 'src."__record"',
                quoted: bool = False) -> str | None:
    """SQL for the text of a CSV or Parquet record, from the reader's `record` STRUCT; None for JSON shapes.

    A CSV record is its fields joined (see csv_raw); a Parquet record is its JSON.
    """
    if sample.shape == "csv":
        return csv_raw(sample, delimiter, record, quoted)
    if sample.shape == "parquet":
        return f"CAST(to_json({record}) AS VARCHAR)"
    return None


def field_names(sample: Sample) -> set[str]:
    """Lower-case CSV headers, or the keys of the sample JSON records."""
    if sample.shape == "csv":
        return sample.lower_columns
    return {k.lower() for r in sample.records for k in r}
