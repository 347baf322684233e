"""OpenRouter activity export (CSV), read by header name.

Headers as OpenRouter's Activity page exports them: `generation_id, created_at, cost_total,
tokens_prompt, tokens_completion, tokens_reasoning, tokens_cached, model_permaslug,
provider_name, api_key_name, app_name, generation_time_ms, time_to_first_token_ms`; older
exports have no `tokens_cached`.

The route as billed is OpenRouter (`cost_total` is what it charged); `provider_name` is the
upstream that served the request. Token counts follow OpenAI's rules: `tokens_prompt`
includes `tokens_cached`, `tokens_completion` includes `tokens_reasoning`. The model is the
permaslug (`openai/gpt-4o-2024-08-06`); the catalog resolver drops the vendor prefix.
"""

from __future__ import annotations

from dashboard.ingest.base import Format, Sample, has
from dashboard.ingest.fields import Const, col


def sniff(sample: Sample) -> int:
    if sample.shape != "csv" or not has(sample, "generation_id"):
        return 0
    return 95 if has(sample, "tokens_prompt") and has(sample, "model_permaslug", "model") else 0


FORMAT = Format(
    name="openrouter-csv",
    source="openrouter",
    shapes=("csv",),
    sniff=sniff,
    fields={
        "request_id": col("generation_id"),
        "ts": col("created_at"),
        "provider": Const("openrouter"),
        "upstream_provider": col("provider_name"),
        "model": col("model_permaslug", "model"),
        "project": col("app_name"),
        "api_key_name": col("api_key_name"),
        "user": col("user", "external_user"),
        "prompt_tokens": col("tokens_prompt"),
        "cache_read": col("tokens_cached"),
        "output": col("tokens_completion"),
        "reasoning": col("tokens_reasoning"),
        "latency_ms": col("generation_time_ms"),
        "ttft_ms": col("time_to_first_token_ms"),
        "billed_cost": col("cost_total"),
    },
    cached_included=True,
)
