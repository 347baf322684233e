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

from dashboard.ingest.base import Format, Sample, field_names
from dashboard.ingest.fields import Expr, First, first, in_json, key, ms_between, non_blank, safe_tags, sql

_SIGNATURE = ("request_id", "call_type", "spend", "starttime")


def sniff(sample: Sample) -> int:
    if sample.shape == "parquet":
        return 0
    return 95 if set(_SIGNATURE) <= field_names(sample) else 0


_META = key("metadata")


def _usage(path: str) -> First:
    return first(in_json(_META, f"$.additional_usage_values.{path}"), in_json(_META, f"$.usage_object.{path}"))


_START = key("startTime")
# A response-cache hit: no provider call, no billed tokens (see above).
_HIT = sql("lower(trim(CAST({hit} AS VARCHAR))) IN ('true', '1', 't', 'yes')", hit=key("cache_hit"))


def _billed(tokens: object) -> Expr:
    return sql("CASE WHEN {hit} THEN '0' ELSE {tokens} END", hit=_HIT, tokens=tokens)


FORMAT = Format(
    name="litellm",
    source="litellm",
    shapes=("csv", "json", "lines"),
    sniff=sniff,
    fields={
        "request_id": key("request_id"),
        "ts": _START,
        "provider": key("custom_llm_provider"),
        "model": first(non_blank(key("model")), key("model_group")),
        "project": first(
            in_json(_META, "$.user_api_key_project_alias"), in_json(_META, "$.user_api_key_project_id"),
            in_json(_META, "$.user_api_key_team_alias"), key("team_id"),
        ),
        "api_key": key("api_key"),
        "api_key_name": in_json(_META, "$.user_api_key_alias"),
        "user": first(non_blank(key("end_user")), non_blank(key("user"))),
        "tags": safe_tags(key("request_tags")),
        "prompt_tokens": _billed(key("prompt_tokens")),
        "cache_read": _billed(first(_usage("prompt_tokens_details.cached_tokens"), _usage("cache_read_input_tokens"))),
        "cache_write": _billed(first(_usage("cache_creation_input_tokens"),
                                     _usage("prompt_tokens_details.cache_creation_tokens"))),
        "output": _billed(key("completion_tokens")),
        "reasoning": _billed(_usage("completion_tokens_details.reasoning_tokens")),
        "latency_ms": first(key("request_duration_ms"), ms_between(_START, key("endTime"))),
        "ttft_ms": ms_between(_START, key("completionStartTime")),
        "status": first(non_blank(key("status")), in_json(_META, "$.status")),
        "billed_cost": key("spend"),
    },
    cached_included=True,
)
