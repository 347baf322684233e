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

from dashboard.ingest.base import Options, Sample, col, csv_raw, has, select

NAME = "openrouter-csv"
SHAPE = "csv"
SOURCE = "openrouter"


def sniff(sample: Sample) -> int:
    if sample.shape != "csv" or not has(sample, "generation_id"):
        return 0
    return 95 if has(sample, "tokens_prompt") and has(sample, "model_permaslug", "model") else 0


def select_sql(sample: Sample, options: Options) -> str:
    return select(
        raw=csv_raw(sample),
        request_id=col(sample, "generation_id"),
        ts=col(sample, "created_at"),
        provider="'openrouter'",
        upstream_provider=col(sample, "provider_name"),
        model=col(sample, "model_permaslug", "model"),
        project=col(sample, "app_name"),
        api_key_name=col(sample, "api_key_name"),
        user=col(sample, "user", "external_user"),
        prompt_tokens=col(sample, "tokens_prompt"),
        cache_read=col(sample, "tokens_cached"),
        output=col(sample, "tokens_completion"),
        reasoning=col(sample, "tokens_reasoning"),
        cached_included="true",
        latency_ms=col(sample, "generation_time_ms"),
        ttft_ms=col(sample, "time_to_first_token_ms"),
        billed_cost=col(sample, "cost_total"),
    )
