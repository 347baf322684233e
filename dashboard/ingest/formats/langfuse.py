"""Langfuse observations export (CSV, JSON array or JSON lines).

Field names from Langfuse's public observations API and its UI export: id, traceId, type,
startTime, endTime, completionStartTime, model, providedModelName, usageDetails,
costDetails, promptTokens / completionTokens (before usage details existed), projectId,
userId, tags, level. `usageDetails` and `costDetails` are objects in JSON and JSON text
in CSV.

Only GENERATION and EMBEDDING observations are requests: Langfuse tracks usage and cost on
these two types alone (its token and cost tracking docs); spans, events and the rest are
skipped.

Usage types are disjoint in Langfuse: its integrations move
`prompt_tokens_details.cached_tokens` (OpenAI) to `input_cached_tokens` and subtract it
from `input` (likewise `cache_read` -> `input_cache_read`, reasoning -> `output_reasoning_tokens`
subtracted from `output`), Anthropic's `input_tokens` already excludes its
`cache_read_input_tokens` / `cache_creation_input_tokens`, and the UI adds every usage type
named `input*` into input. So `usageDetails.input` excludes cached tokens
(`cached_included` false) and the output bucket is `output` plus the reasoning count.
`costDetails.total` is taken as the billed cost. Langfuse knows no provider: pass
--provider to attribute the file to a route.
"""

from __future__ import annotations

from dashboard.ingest.base import (
    Options,
    Sample,
    csv_raw,
    field,
    field_names,
    first,
    in_json,
    ms_between,
    safe_tags,
    select,
)

NAME = "langfuse"
SHAPE = "auto"  # CSV, JSON array or JSON lines
SOURCE = "langfuse"


def sniff(sample: Sample) -> int:
    if sample.shape == "parquet":
        return 0
    keys = field_names(sample)
    if {"traceid", "starttime"} <= keys and keys & {"usagedetails", "prompttokens", "usage"}:
        return 90
    return 0










def _plus(a: str, b: str) -> str:
    """a + b as text when both are whole numbers; else `a` unchanged, so a bad value is still rejected."""
    return (
        f"CASE WHEN {b} IS NULL THEN {a} "
        f"WHEN TRY_CAST({a} AS HUGEINT) IS NOT NULL AND TRY_CAST({b} AS HUGEINT) IS NOT NULL "
        f"THEN CAST(TRY_CAST({a} AS HUGEINT) + TRY_CAST({b} AS HUGEINT) AS VARCHAR) ELSE {a} END"
    )


def select_sql(sample: Sample, options: Options) -> str:
    if sample.shape not in ("csv", "json", "lines"):
        raise ValueError(f"the langfuse format reads CSV, JSON or JSON lines, not {sample.shape}")
    usage_details = field(sample, "usageDetails")
    cost_details = field(sample, "costDetails")
    legacy_usage = field(sample, "usage")

    def usage(*keys: str) -> str:
        return first(*(in_json(usage_details, f'$."{k}"') for k in keys))

    reasoning = usage("output_reasoning_tokens", "output_reasoning")
    output = first(usage("output"), field(sample, "completionTokens"), in_json(legacy_usage, "$.output"))
    obs_type = field(sample, "type")
    start = field(sample, "startTime")
    where = f"coalesce(upper(trim({obs_type})), 'GENERATION') IN ('GENERATION', 'EMBEDDING')"
    if sample.shape != "csv":
        where = f"NOT src.ok OR ({where})"
    return select(
        where=where,
        raw=csv_raw(sample) if sample.shape == "csv" else None,
        request_id=field(sample, "id"),
        ts=start,
        model=first(f"nullif(trim({field(sample, 'model')}), '')", field(sample, "providedModelName")),
        project=field(sample, "projectId"),
        user=field(sample, "userId"),
        tags=safe_tags(field(sample, "tags")),
        prompt_tokens=first(usage("input"), field(sample, "promptTokens"), in_json(legacy_usage, "$.input")),
        cache_read=usage("input_cached_tokens", "cache_read_input_tokens", "input_cache_read"),
        cache_write=usage("cache_creation_input_tokens", "input_cache_creation"),
        output=_plus(output, reasoning),
        reasoning=reasoning,
        cached_included="false",
        latency_ms=ms_between(start, field(sample, "endTime")),
        ttft_ms=ms_between(start, field(sample, "completionStartTime")),
        status=field(sample, "level"),
        billed_cost=first(in_json(cost_details, "$.total"), field(sample, "totalCost", "calculatedTotalCost")),
    )
