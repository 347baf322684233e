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

from dataclasses import replace

from dashboard.ingest.base import Format, Options, Sample, keys_in
from dashboard.ingest.fields import LINE, OK, First, first, j, sql

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


def _both(path: str) -> First:
    """The field of a plain response, or of the `response` of a {request, response} pair."""
    return first(j(path), j(path.replace("$.", "$.response.", 1)))


_COST = _both("$.usage.cost")
_PROMPT, _OUTPUT = _both("$.usage.prompt_tokens"), _both("$.usage.completion_tokens")
_CHUNK = sql(f"{{o}} = '{CHUNK}'", o=_both("$.object"))
_HAS_USAGE = sql("({p} IS NOT NULL OR {o} IS NOT NULL)", p=_PROMPT, o=_OUTPUT)
# (the usage first: most records have it, and so skip the comparison of their object)
_NO_USAGE = sql("NOT {usage} AND {chunk}", chunk=_CHUNK, usage=_HAS_USAGE)


def _streams(fmt: Format, sample: Sample, options: Options) -> Format:
    """A stream log: one chunk per stream is the request.

    Some servers (vLLM's continuous usage stats) put the usage so far on every chunk, so the
    last chunk with usage is the request's whole usage. Keeping it takes line numbers, which
    keep the file from the typed reader: only files that open with chunks pay. A chunk without
    any id stands for itself, and a stream logged without any usage is rejected, not skipped.
    """
    if not any(r.get("object") == CHUNK for r in sample.records):
        return fmt
    last = sql("row_number() OVER (PARTITION BY coalesce({id}, 'line ' || {line}) "
               "ORDER BY {usage} DESC, {line} DESC) = 1", id=_both("$.id"), line=LINE, usage=_HAS_USAGE)
    problem = sql("CASE WHEN {none} THEN 'a streamed response logged without its usage "
                  "(stream_options.include_usage was off): no tokens to count' END", none=_NO_USAGE)
    return replace(fmt, fields={**fmt.fields, "parsed": OK, "problem": problem},
                   qualify=sql("{chunk} IS NOT TRUE OR {last}", chunk=_CHUNK, last=last))


FORMAT = Format(
    name="openai-jsonl",
    source="openai-log",
    shapes=("lines",),
    sniff=sniff,
    fields={
        # Chunks without usage are skipped through `parsed` (NULL: no record, see
        # sql.canonical_sql) rather than a row filter, which would need line numbers and keep
        # every file, streamed or not, from the typed reader: this costs one more field.
        "parsed": sql("CASE WHEN {none} THEN NULL ELSE {ok} END", none=_NO_USAGE, ok=OK),
        "request_id": _both("$.id"),
        "ts": first(_both("$.created"), j("$.timestamp"), j("$.created_at"), j("$.request.timestamp")),
        "provider": sql("CASE WHEN {cost} IS NOT NULL THEN 'openrouter' ELSE {route} END",
                        cost=_COST, route=j("$.route")),
        "upstream_provider": _both("$.provider"),
        "model": _both("$.model"),
        "project": first(j("$.project"), j("$.metadata.project"), j("$.request.metadata.project")),
        "user": first(j("$.user"), j("$.request.user")),
        "tags": first(j("$.tags"), j("$.metadata.tags")),
        "prompt_tokens": _PROMPT,
        "cache_read": first(_both("$.usage.prompt_cache_hit_tokens"),
                            _both("$.usage.prompt_tokens_details.cached_tokens")),
        "cache_write": _both("$.usage.prompt_tokens_details.cache_write_tokens"),
        "output": _OUTPUT,
        "reasoning": _both("$.usage.completion_tokens_details.reasoning_tokens"),
        "latency_ms": first(j("$.latency_ms"), j("$.duration_ms")),
        "ttft_ms": j("$.ttft_ms"),
        "status": first(j("$.status"), j("$.status_code")),
        "billed_cost": _COST,
    },
    cached_included=True,
    adapt=_streams,
)
