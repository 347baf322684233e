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

from dashboard.ingest.base import Format, Sample, field_names
from dashboard.ingest.fields import Expr, First, Node, first, in_json, key, ms_between, non_blank, safe_tags, sql


def sniff(sample: Sample) -> int:
    if sample.shape == "parquet":
        return 0
    keys = field_names(sample)
    if {"traceid", "starttime"} <= keys and keys & {"usagedetails", "prompttokens", "usage"}:
        return 90
    return 0


def _plus(a: Node, b: Node) -> Expr:
    """a + b as text when both are whole numbers; else `a` unchanged, so a bad value is still rejected."""
    return sql("CASE WHEN {b} IS NULL THEN {a} "
               "WHEN TRY_CAST({a} AS HUGEINT) IS NOT NULL AND TRY_CAST({b} AS HUGEINT) IS NOT NULL "
               "THEN CAST(TRY_CAST({a} AS HUGEINT) + TRY_CAST({b} AS HUGEINT) AS VARCHAR) ELSE {a} END", a=a, b=b)


_USAGE_DETAILS, _COST_DETAILS, _LEGACY_USAGE = key("usageDetails"), key("costDetails"), key("usage")


def _usage(*keys: str) -> First:
    return first(*(in_json(_USAGE_DETAILS, f'$."{k}"') for k in keys))


_REASONING = _usage("output_reasoning_tokens", "output_reasoning")
_OUTPUT = first(_usage("output"), key("completionTokens"), in_json(_LEGACY_USAGE, "$.output"))
_START = key("startTime")

FORMAT = Format(
    name="langfuse",
    source="langfuse",
    shapes=("csv", "json", "lines"),
    sniff=sniff,
    fields={
        "request_id": key("id"),
        "ts": _START,
        "model": first(non_blank(key("model")), key("providedModelName")),
        "project": key("projectId"),
        "user": key("userId"),
        "tags": safe_tags(key("tags")),
        "prompt_tokens": first(_usage("input"), key("promptTokens"), in_json(_LEGACY_USAGE, "$.input")),
        "cache_read": _usage("input_cached_tokens", "cache_read_input_tokens", "input_cache_read"),
        "cache_write": _usage("cache_creation_input_tokens", "input_cache_creation"),
        "output": _plus(_OUTPUT, _REASONING),
        "reasoning": _REASONING,
        "latency_ms": ms_between(_START, key("endTime")),
        "ttft_ms": ms_between(_START, key("completionStartTime")),
        "status": key("level"),
        "billed_cost": first(in_json(_COST_DETAILS, "$.total"), key("totalCost", "calculatedTotalCost")),
    },
    cached_included=False,
    keep=sql("coalesce(upper(trim({type})), 'GENERATION') IN ('GENERATION', 'EMBEDDING')", type=key("type")),
)
