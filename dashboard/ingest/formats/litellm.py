"""LiteLLM proxy spend logs: the `LiteLLM_SpendLogs` table dumped to CSV or a JSON array, or `/spend/logs`.

Columns from LiteLLM's `schema.prisma` (model LiteLLM_SpendLogs): request_id, call_type,
api_key (the hashed virtual key), spend, total_tokens, prompt_tokens, completion_tokens,
startTime, endTime, completionStartTime, model, model_group, custom_llm_provider, user,
end_user, team_id, metadata, cache_hit, request_tags, status.

- `spend` is LiteLLM's charge for the call; the route as billed is `custom_llm_provider`.
- `prompt_tokens` follows OpenAI's rules in LiteLLM's usage object (it adds Anthropic's
  cache reads and writes in), so `cached_included` is true. Provider cache counts are only
  in `metadata.additional_usage_values` (or `metadata.usage_object`):
  `prompt_tokens_details.cached_tokens` / `cache_read_input_tokens` and
  `cache_creation_input_tokens`.
- `cache_hit` is LiteLLM's own response cache, not prompt caching: it is not a cache read.
  A hit answers from that cache without calling the provider (LiteLLM logs its `spend` as
  0 and repeats the cached response's usage), so it bills no tokens: its buckets are 0
  here, and its computed cost $0, as the provider's bill has it. It stays a request.
- `api_key` is a secret-like hash and is kept only as a hint; the key alias
  (`metadata.user_api_key_alias`) is the label when there is one. The project is the key's
  project or team (alias first), the user the end user, else the proxy user.
- In a CSV dump `metadata` is JSON text; in JSON it is an object (or JSON text). Both work,
  and malformed JSON text reads as absent instead of failing the file.
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

NAME = "litellm"
SHAPE = "auto"  # CSV dump, JSON array or JSON lines
SOURCE = "litellm"

_SIGNATURE = ("request_id", "call_type", "spend", "starttime")


def sniff(sample: Sample) -> int:
    if sample.shape == "parquet":
        return 0
    return 95 if set(_SIGNATURE) <= field_names(sample) else 0


def select_sql(sample: Sample, options: Options) -> str:
    if sample.shape not in ("csv", "json", "lines"):
        raise ValueError(f"the litellm format reads CSV, JSON or JSON lines, not {sample.shape}")
    meta = field(sample, "metadata")

    def usage(path: str) -> str:
        return first(in_json(meta, f"$.additional_usage_values.{path}"), in_json(meta, f"$.usage_object.{path}"))

    start = field(sample, "startTime")
    # A response-cache hit: no provider call, no billed tokens (see above).
    hit = f"lower(trim(CAST({field(sample, 'cache_hit')} AS VARCHAR))) IN ('true', '1', 't', 'yes')"

    def billed(tokens: str) -> str:
        return f"CASE WHEN {hit} THEN '0' ELSE {tokens} END"

    return select(
        raw=csv_raw(sample) if sample.shape == "csv" else None,
        request_id=field(sample, "request_id"),
        ts=start,
        provider=field(sample, "custom_llm_provider"),
        model=first(f"nullif(trim({field(sample, 'model')}), '')", field(sample, "model_group")),
        project=first(
            in_json(meta, "$.user_api_key_project_alias"), in_json(meta, "$.user_api_key_project_id"),
            in_json(meta, "$.user_api_key_team_alias"), field(sample, "team_id"),
        ),
        api_key=field(sample, "api_key"),
        api_key_name=in_json(meta, "$.user_api_key_alias"),
        user=first(f"nullif(trim({field(sample, 'end_user')}), '')", f"nullif(trim({field(sample, 'user')}), '')"),
        tags=safe_tags(field(sample, "request_tags")),
        prompt_tokens=billed(field(sample, "prompt_tokens")),
        cache_read=billed(first(usage("prompt_tokens_details.cached_tokens"), usage("cache_read_input_tokens"))),
        cache_write=billed(first(usage("cache_creation_input_tokens"),
                                 usage("prompt_tokens_details.cache_creation_tokens"))),
        output=billed(field(sample, "completion_tokens")),
        reasoning=billed(usage("completion_tokens_details.reasoning_tokens")),
        cached_included="true",
        latency_ms=first(field(sample, "request_duration_ms"), ms_between(start, field(sample, "endTime"))),
        ttft_ms=ms_between(start, field(sample, "completionStartTime")),
        status=first(f"nullif(trim({field(sample, 'status')}), '')", in_json(meta, "$.status")),
        billed_cost=field(sample, "spend"),
    )
