"""The contract between the importer and one module per log format.

A format module maps a file to *extracted* fields, all text, in SQL: it never validates
and never parses numbers itself. The importer wraps that SELECT in one shared SELECT that
validates, splits prompt tokens into disjoint buckets and gives each bad record a reason
a person understands. So every format gets the same rules for times, tokens and keys.

Reading shapes (`Format.shape`), each exposed to the format's SQL as relation `src`:
- "lines": one JSON document per line; columns `line` (1-based) and `raw` (the text).
- "json": a JSON array, or an object holding the array under `data` (as API responses
  such as Langfuse's `{"data": [...], "meta": {...}}` and OpenAI's lists do); `line` is
  the record number and `raw` the record's JSON text.
- "csv": a CSV/TSV with a header; every column as VARCHAR, plus `line`.
- "parquet": a Parquet file's columns, plus `line` (the row number).

The format's SELECT over `src` must produce these columns (NULL where unknown):
line, raw, request_id, ts, provider, upstream_provider, model, project, api_key,
api_key_name, user, tags, prompt_tokens, cache_read, cache_write, cache_write_1h, output,
reasoning, cached_included, latency_ms, ttft_ms, status, billed_cost, currency, requests
(how many requests the row stands for: 1 for request logs, N for aggregated exports),
ts_end (where a row covers a span of time, such as a usage bucket: its end; the span is
priced over its length, see pricing.sql).
`prompt_tokens` is the provider's prompt count; `cached_included` says whether it
already contains the cache buckets (OpenAI: true; Anthropic, Helicone: false).
`api_key` holds a secret (stored as a 4-character hint); `api_key_name` a label.
`parsed` (default: the reader's `ok`) is NULL for a line that is no record, false for one
that is not a JSON object; `problem` is why the format rejects a record it read (NULL: no
reason of its own; the shared checks still apply).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    shape: str  # lines | json | csv | parquet
    columns: tuple[str, ...] = ()  # csv / parquet header
    records: tuple[Mapping[str, Any], ...] = ()  # first JSON records (lines / json)
    rows: tuple[Mapping[str, str | None], ...] = ()  # first CSV records, as text (header -> value)
    delimiter: str = ","  # csv
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


def check_zone(tz: str) -> str:
    """`tz` when it names a time zone (an IANA name such as 'Europe/Berlin', or 'UTC'), else ValueError.

    Checked before any file is read: a file whose times all carry an offset never asks DuckDB
    for the zone, and a mistyped one would pass unnoticed until a file with naive times.
    """
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise ValueError(f"unknown time zone {tz!r}: use an IANA name such as 'Europe/Berlin' or 'UTC'") from e
    return tz


class Format(Protocol):
    NAME: str
    SHAPE: str  # the reading shape, see the module docstring
    SOURCE: str  # the `source` column value: the system the ids belong to

    def sniff(self, sample: Sample) -> int:
        """0 (not this format) .. 100 (certainly this format)."""
        ...

    def select_sql(self, sample: Sample, options: Options) -> str:
        """SELECT over `src` producing EXTRACTED_COLUMNS (all text but `line`)."""
        ...


def j(path: str, raw: str = "src.doc") -> str:
    """SQL for a JSON field of the record as text; `path` is a constant JSONPath from the format."""
    return f"json_extract_string({raw}, '{path}')"


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sql_name(name: str) -> str:
    """A column or key name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def json_path(keys: Sequence[str]) -> str:
    """The JSONPath of nested object `keys` as an SQL string literal; a key other than a plain name is quoted."""
    parts = (f".{k}" if _PLAIN_KEY.fullmatch(k) else '."' + k.replace('"', '\\"') + '"' for k in keys)
    return "'$" + "".join(parts).replace("'", "''") + "'"


def first(*exprs: str) -> str:
    return f"coalesce({', '.join(exprs)})"


def col(sample: Sample, *names: str) -> str:
    """SQL for the first present CSV/Parquet column among `names` (case-insensitive), else NULL."""
    lookup = {c.strip().lower(): c for c in sample.columns}
    for name in names:
        real = lookup.get(name.lower())
        if real is not None:
            return f"CAST(src.{sql_name(real)} AS VARCHAR)"
    return "NULL"


def has(sample: Sample, *names: str) -> bool:
    return any(n.lower() in sample.lower_columns for n in names)


def select(where: str | None = None, **exprs: str) -> str:
    """`SELECT <EXTRACTED_COLUMNS> FROM src [WHERE ...]`; unnamed columns are NULL.

    `where` drops records that are not requests at all (not rejected: not counted).
    """
    unknown = set(exprs) - set(EXTRACTED_COLUMNS)
    if unknown:
        raise ValueError(f"not an extracted column: {sorted(unknown)}")
    parts = []
    for c in EXTRACTED_COLUMNS:
        e = exprs.get(c)
        if c == "line":
            e = e or "src.line"
        elif c == "raw":
            if e and exprs.get("request_id"):
                # The record's text is only hashed into an id when the record has none
                # (built for a few more rows than that: a cheap test, see ing_maybe_blank).
                e = f"CASE WHEN ing_maybe_blank({exprs['request_id']}) THEN {e} END"
            e = e or "src.raw"
        elif c == "cached_included":
            e = e or "NULL"
        elif c == "parsed":
            e = e or "src.ok"
        parts.append(f"{e or 'NULL'} AS \"{c}\"")
    parts.append('src."__record" AS "__record"')  # the reader's record, for a rejected row's text
    sql = "SELECT " + ",\n       ".join(parts) + "\nFROM src"
    return sql + (f"\nWHERE {where}" if where else "")


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


def field(sample: Sample, *names: str) -> str:
    """The first present of several fields: a CSV column, or a top-level JSON key."""
    if sample.shape == "csv":
        return col(sample, *names)
    return first(*(j(f"$.{n}") for n in names))


def in_json(text: str, path: str) -> str:
    """A field of JSON held as text; NULL when the text is not JSON."""
    return f"CASE WHEN json_valid({text}) THEN json_extract_string({text}, '{path}') END"


def ms_between(start: str, end: str) -> str:
    """Milliseconds from one timestamp text to another, as text (NULL when either is not a time)."""
    diff = f"date_diff('millisecond', TRY_CAST({start} AS TIMESTAMPTZ), TRY_CAST({end} AS TIMESTAMPTZ))"
    return f"CAST({diff} AS VARCHAR)"


def safe_tags(text: str) -> str:
    """The tag list, dropped when it looks like JSON but is not (one bad row must not fail the file)."""
    return f"CASE WHEN trim({text}) NOT LIKE '[%' OR json_valid({text}) THEN {text} END"


def field_names(sample: Sample) -> set[str]:
    """Lower-case CSV headers, or the keys of the sample JSON records."""
    if sample.shape == "csv":
        return sample.lower_columns
    return {k.lower() for r in sample.records for k in r}
