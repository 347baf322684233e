"""OpenAI-compatible response logs (JSONL): OurToken, OpenAI, DeepSeek native, OpenRouter.

One `chat.completion` object per line, or a `{request, response}` pair per line. Field
names from the OpenAI chat completions reference and DeepSeek's API docs:
`usage.prompt_tokens` includes `usage.prompt_tokens_details.cached_tokens`; DeepSeek adds
`prompt_cache_hit_tokens` + `prompt_cache_miss_tokens` = `prompt_tokens`; OpenRouter puts
the billed cost in `usage.cost` and the upstream in `provider`.
"""

from __future__ import annotations

from dashboard.ingest.base import Options, Sample, first, j, keys_in, select

NAME = "openai-jsonl"
SHAPE = "lines"
SOURCE = "openai-log"


def sniff(sample: Sample) -> int:
    if sample.shape != "lines" or not sample.records:
        return 0
    hits = keys_in(sample.records, "usage", "model") + keys_in(sample.records, "response.usage")
    if hits == 0:
        return 0
    usage_shapes = keys_in(sample.records, "usage.prompt_tokens") + keys_in(
        sample.records, "response.usage.prompt_tokens"
    )
    return 90 if usage_shapes else 0


def select_sql(sample: Sample, options: Options) -> str:
    def both(path: str) -> str:
        return first(j(path), j(path.replace("$.", "$.response.", 1)))

    cost = both("$.usage.cost")
    return select(
        request_id=both("$.id"),
        ts=first(both("$.created"), j("$.timestamp"), j("$.created_at"), j("$.request.timestamp")),
        provider=f"CASE WHEN {cost} IS NOT NULL THEN 'openrouter' ELSE {j('$.route')} END",
        upstream_provider=both("$.provider"),
        model=both("$.model"),
        project=first(j("$.project"), j("$.metadata.project"), j("$.request.metadata.project")),
        user=first(j("$.user"), j("$.request.user")),
        tags=first(j("$.tags"), j("$.metadata.tags")),
        prompt_tokens=both("$.usage.prompt_tokens"),
        cache_read=first(both("$.usage.prompt_cache_hit_tokens"), both("$.usage.prompt_tokens_details.cached_tokens")),
        cache_write=both("$.usage.prompt_tokens_details.cache_write_tokens"),
        output=both("$.usage.completion_tokens"),
        reasoning=both("$.usage.completion_tokens_details.reasoning_tokens"),
        cached_included="true",
        latency_ms=first(j("$.latency_ms"), j("$.duration_ms")),
        ttft_ms=j("$.ttft_ms"),
        status=first(j("$.status"), j("$.status_code")),
        billed_cost=cost,
    )
