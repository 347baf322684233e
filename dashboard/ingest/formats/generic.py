"""Generic CSV, JSONL or Parquet: columns mapped from common header names, or by --map.

This is how an export whose header we have never seen gets in (a gateway's dashboard
export, a spreadsheet). Header names are compared lower-case with spaces and dashes as
underscores, and a dollar unit in parentheses at the end is left out for the guess ("Spend (USD)"
is a `spend`, so the billed cost; "Cost (EUR)" is not guessed: the billed cost is in USD unless
a currency column says otherwise). `--map HEADER=FIELD` wins over the automatic guess. Aggregated exports (a
request count per row) keep that count in `request_count`.

A row may cover a span of time: a time given as a date only (2026-08-24) is that day in the
--tz zone (from its midnight to the next), and an end time (`end_time`, as OpenAI's usage
buckets have beside `start_time`) makes the span run from the time to it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dashboard.ingest.base import EXTRACTED_COLUMNS, Format, Options, Sample
from dashboard.ingest.fields import Json, Node, col, sql

# canonical field -> header names it is guessed from, best first
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp", "time", "created_at", "created", "datetime", "date", "start_time", "starttime",
           "request_time", "ts"),
    "ts_end": ("end_time", "endtime", "ts_end", "end_timestamp", "ended_at", "end_at", "period_end", "bucket_end"),
    "request_id": ("request_id", "requestid", "id", "generation_id", "call_id", "trace_id"),
    "provider": ("provider", "provider_name", "route", "gateway"),
    "model": ("model", "model_name", "model_id", "modelname"),
    "project": ("project", "project_id", "project_name", "app", "app_name", "application"),
    "api_key": ("api_key", "key"),
    "api_key_name": ("api_key_name", "key_name", "key_alias", "api_key_alias"),
    "user": ("user", "user_id", "end_user", "username"),
    "tags": ("tags", "tag", "labels"),
    "requests": ("request_count", "requests", "num_requests", "count"),
    "prompt_tokens": ("prompt_tokens", "input_tokens", "tokens_prompt", "tokens_input", "input", "prompt",
                      "contexttokens", "context_tokens"),
    "cache_read": ("cache_read_tokens", "cached_tokens", "cache_read", "cache_read_input_tokens",
                   "tokens_cached", "cache_hit_tokens", "cached_input_tokens"),
    "cache_write": ("cache_write_tokens", "cache_creation_tokens", "cache_creation_input_tokens",
                    "cache_write"),
    "output": ("completion_tokens", "output_tokens", "tokens_completion", "tokens_output", "output",
               "completion", "generatedtokens", "generated_tokens"),
    "reasoning": ("reasoning_tokens", "tokens_reasoning"),
    "billed_cost": ("cost", "cost_usd", "spend", "spend_usd", "amount", "amount_usd", "total_cost", "billed_cost",
                    "billed", "billed_amount", "charge", "charges", "charged", "price", "usd"),
    "currency": ("currency",),
    "latency_ms": ("latency_ms", "duration_ms", "latency", "generation_time_ms", "response_time_ms"),
    "ttft_ms": ("ttft_ms", "time_to_first_token_ms", "ttft"),
    "status": ("status", "status_code", "http_status"),
}

_FIELD_ALIASES = {"time": "ts", "cost": "billed_cost", "input_tokens": "prompt_tokens",
                  "output_tokens": "output", "cache_read_tokens": "cache_read",
                  "cache_write_tokens": "cache_write", "reasoning_tokens": "reasoning",
                  "key": "api_key", "request_count": "requests", "end_time": "ts_end", "end": "ts_end"}


def norm(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


_UNIT = re.compile(r"\s*\(\s*(usd|us\$|\$)\s*\)\s*$", re.IGNORECASE)


def bare(header: str) -> str:
    """The header as norm gives it, without a dollar unit in parentheses at its end ("Spend (USD)" -> "spend")."""
    return norm(_UNIT.sub("", header)) or norm(header)


def canonical_field(name: str) -> str:
    """A --map target as a person may write it ("time", "cost", "input_tokens") -> extracted column."""
    n = norm(name)
    n = _FIELD_ALIASES.get(n, n)
    fields = set(EXTRACTED_COLUMNS) - {"line", "raw", "cached_included", "parsed", "problem"}  # not a file's
    if n not in fields:
        known = sorted(fields | set(_FIELD_ALIASES))
        raise ValueError(f"--map target {name!r} is not a field; use one of: {', '.join(known)}")
    return n


def guess_mapping(headers: list[str], explicit: dict[str, str] | None = None) -> dict[str, str]:
    """canonical field -> header, from explicit `header=field` pairs first, then synonyms."""
    by_norm = {norm(h): h for h in headers}
    mapping: dict[str, str] = {}
    for header, field in (explicit or {}).items():
        if header not in headers and norm(header) not in by_norm:
            raise ValueError(f"--map names header {header!r}, which the file does not have; "
                             f"headers: {', '.join(headers)}")
        mapping[canonical_field(field)] = header if header in headers else by_norm[norm(header)]
    by_bare: dict[str, str] = {}
    for h in headers:
        by_bare.setdefault(bare(h), h)
    used = set(mapping.values())
    for field, names in SYNONYMS.items():
        if field in mapping:
            continue
        for name in names:
            h = by_norm.get(name) or by_bare.get(name)
            if h is not None and h not in used:
                mapping[field] = h
                used.add(h)
                break
    return mapping


def _headers(sample: Sample) -> list[str]:
    if sample.shape in ("csv", "parquet"):
        return list(sample.columns)
    keys: list[str] = []
    for rec in sample.records:
        keys.extend(k for k in rec if k not in keys)
    return keys


_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


def _dates_only(sample: Sample, header: str) -> bool:
    """Whether the sampled records give column `header` as dates without a time of day."""
    values = [r.get(header) for r in sample.rows if r.get(header) is not None and str(r.get(header)).strip()]
    return bool(values) and any(_DATE.fullmatch(str(v)) for v in values)


def sniff(sample: Sample) -> int:
    mapping = guess_mapping(_headers(sample))
    if "ts" in mapping and ("prompt_tokens" in mapping or "output" in mapping):
        return 30
    if "prompt_tokens" in mapping and "output" in mapping:
        return 20
    return 0


def _fields(fmt: Format, sample: Sample, options: Options) -> Format:
    """The format with the fields the file's header (or --map) names."""
    mapping = guess_mapping(_headers(sample), dict(options.mapping))

    def node(field: str, header: str) -> Node:
        if sample.shape == "parquet" and field == "tags":
            # A list column as its JSON text: DuckDB's own text for it, "[a, b]", would split wrongly.
            return sql("json_extract_string(to_json({c}), '$')", c=col(header, as_text=False))
        if sample.shape in ("csv", "parquet"):
            return col(header, exact=True)
        return Json((header,))

    fields = {field: node(field, header) for field, header in mapping.items()}
    if "ts" in fields and sample.shape == "csv" and _dates_only(sample, mapping["ts"]):
        # Kept as text, not read as a time by a typed CSV reader: a date is a day (its span), not its midnight.
        fields["ts"] = sql("ing_text({ts})", ts=fields["ts"])
    return replace(fmt, fields=fields)


FORMAT = Format(
    name="generic",
    source="generic",
    shapes=("csv", "lines", "json", "parquet"),
    sniff=sniff,
    adapt=_fields,
)
