"""Helicone request export (JSON lines or a JSON array, as `@helicone/export` writes them).

Field names from Helicone's `HeliconeRequest` type (the rows of `/v1/request/query-clickhouse`,
which the export tool writes): request_id, request_created_at, model / request_model /
response_model, provider, prompt_tokens, completion_tokens, prompt_cache_read_tokens,
prompt_cache_write_tokens, costUSD / cost, delay_ms / latency, time_to_first_token,
request_user_id / user_id, properties / request_properties, response_status / status.

Helicone stores `prompt_tokens` without the cache reads and writes it counts separately,
so `cached_included` is false (subtracting them again would count them twice). The route
is Helicone's `provider` (OPENAI, ANTHROPIC, ...: lower-cased on import); the cost is
Helicone's figure for the call. The project is the custom property `project` or `app`.
"""

from __future__ import annotations

from dashboard.ingest.base import Format, Sample, keys_in
from dashboard.ingest.fields import First, first, j, non_blank


def sniff(sample: Sample) -> int:
    if sample.shape not in ("lines", "json") or not sample.records:
        return 0
    if not keys_in(sample.records, "request_id", "request_created_at"):
        return 0
    tokens = keys_in(sample.records, "prompt_cache_read_tokens") + keys_in(sample.records, "prompt_tokens")
    return 90 if tokens else 0


def _property(name: str) -> First:
    spellings = (name, name.capitalize(), name.upper())
    return first(*(j(f"$.{where}.{s}") for where in ("properties", "request_properties") for s in spellings))


FORMAT = Format(
    name="helicone",
    source="helicone",
    shapes=("lines", "json"),
    sniff=sniff,
    fields={
        "request_id": j("$.request_id"),
        "ts": j("$.request_created_at"),
        "provider": j("$.provider"),
        "model": first(non_blank(j("$.model")), j("$.response_model"), j("$.request_model")),
        "project": first(_property("project"), _property("app")),
        "user": first(j("$.user_id"), j("$.request_user_id"), j("$.helicone_user")),
        "prompt_tokens": j("$.prompt_tokens"),
        "cache_read": j("$.prompt_cache_read_tokens"),
        "cache_write": j("$.prompt_cache_write_tokens"),
        "output": j("$.completion_tokens"),
        "latency_ms": first(j("$.latency"), j("$.delay_ms")),
        "ttft_ms": j("$.time_to_first_token"),
        "status": first(j("$.status"), j("$.response_status")),
        "billed_cost": first(j("$.costUSD"), j("$.cost")),
    },
    cached_included=False,
)
