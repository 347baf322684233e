"""OpenAI-compatible response logs (JSONL): OurToken, OpenAI, DeepSeek native, OpenRouter.

One `chat.completion` object per line, or a `{request, response}` pair per line. Field
names from the OpenAI chat completions reference and DeepSeek's API docs:
`usage.prompt_tokens` includes `usage.prompt_tokens_details.cached_tokens`; DeepSeek adds
`prompt_cache_hit_tokens` + `prompt_cache_miss_tokens` = `prompt_tokens`; OpenRouter puts
the billed cost in `usage.cost` and the upstream in `provider`.

A streamed response is logged as `chat.completion.chunk` lines sharing one `id`. With
`stream_options: {"include_usage": true}` every chunk has `"usage": null` but the last,
which has `"choices": []` and the usage of the whole request (OpenRouter's last chunk
holds `usage.cost` too). So the usage chunk is the request, and the chunks without usage
are no requests at all: skipped, not rejected, not counted. Where every chunk carries the
usage so far (vLLM's continuous usage stats), the last chunk with usage is the request.
"""

from __future__ import annotations

from dashboard.ingest.base import Options, Sample, first, j, keys_in, select

NAME = "openai-jsonl"
SHAPE = "lines"
SOURCE = "openai-log"
CHUNK = "chat.completion.chunk"  # the `object` of each piece of a streamed response


def sniff(sample: Sample) -> int:
    if sample.shape != "lines" or not sample.records:
        return 0
    # A streamed completion opens with as many chunks as it has pieces of text, all with
    # `"usage": null`: the chunk object names the format before any usage appears.
    if any(r.get("object") == CHUNK and "model" in r for r in sample.records):
        return 90
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
    prompt_tokens, output = both("$.usage.prompt_tokens"), both("$.usage.completion_tokens")
    chunk = f"{both('$.object')} = '{CHUNK}'"
    has_usage = f"({prompt_tokens} IS NOT NULL OR {output} IS NOT NULL)"
    stream = any(r.get("object") == CHUNK for r in sample.records)
    sql = select(
        # Chunks without usage are skipped through `parsed` (NULL: no record, see
        # sql.canonical_sql) rather than a WHERE: a WHERE numbers every line and keeps every
        # file, streamed or not, from the typed reader (importer._build, readers.typed_lines),
        # where this costs one more field. A stream log keeps one chunk per stream instead
        # (below), so a stream logged without any usage is rejected, not skipped unseen.
        parsed="src.ok" if stream else f"CASE WHEN {chunk} AND NOT {has_usage} THEN NULL ELSE src.ok END",
        problem=(f"CASE WHEN {chunk} AND NOT {has_usage} THEN 'a streamed response logged without its usage "
                 "(stream_options.include_usage was off): no tokens to count' END") if stream else None,
        request_id=both("$.id"),
        ts=first(both("$.created"), j("$.timestamp"), j("$.created_at"), j("$.request.timestamp")),
        provider=f"CASE WHEN {cost} IS NOT NULL THEN 'openrouter' ELSE {j('$.route')} END",
        upstream_provider=both("$.provider"),
        model=both("$.model"),
        project=first(j("$.project"), j("$.metadata.project"), j("$.request.metadata.project")),
        user=first(j("$.user"), j("$.request.user")),
        tags=first(j("$.tags"), j("$.metadata.tags")),
        prompt_tokens=prompt_tokens,
        cache_read=first(both("$.usage.prompt_cache_hit_tokens"), both("$.usage.prompt_tokens_details.cached_tokens")),
        cache_write=both("$.usage.prompt_tokens_details.cache_write_tokens"),
        output=output,
        reasoning=both("$.usage.completion_tokens_details.reasoning_tokens"),
        cached_included="true",
        latency_ms=first(j("$.latency_ms"), j("$.duration_ms")),
        ttft_ms=j("$.ttft_ms"),
        status=first(j("$.status"), j("$.status_code")),
        billed_cost=cost,
    )
    if not stream:
        return sql
    # A stream log: some servers (vLLM's continuous usage stats) put the usage so far on every
    # chunk, so the last chunk with usage is the request's whole usage. Keeping it takes line
    # numbers, which keep the file from the typed reader: only files that open with chunks pay.
    # A chunk without any id stands for itself.
    last = f"PARTITION BY coalesce({both('$.id')}, 'line ' || src.line) ORDER BY {has_usage} DESC, src.line DESC"
    return sql + f"\nQUALIFY {chunk} IS NOT TRUE OR row_number() OVER ({last}) = 1"
