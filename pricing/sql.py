"""The cost math as SQL, so a database computes exactly what `pricing.cost` computes.

Plain text, no database import. The rows come from `pricing.price_rows`: one per model,
period, UTC weekday, UTC hour and prompt-size band, none overlapping. Rates are stored per
token as DECIMAL(18,12) (catalog rates have at most 6 decimals per 1M tokens, so this is
exact), token counts as BIGINT, and every product is DECIMAL with scale 12: no division,
no float, no rounding.
"""

from __future__ import annotations

__all__ = ["PRICE_COLUMNS", "priced_requests_sql"]

PRICE_COLUMNS = (
    "provider", "model", "valid_from", "valid_to", "weekday", "hour", "min_prompt_tokens",
    "max_prompt_tokens", "currency", "price_window", "input_per_token", "cache_read_per_token",
    "cache_write_per_token", "cache_write_1h_per_token", "output_per_token", "reasoning_per_token",
)

# A row may stand for several requests (request_count): its band is the one that holds its
# prompt tokens per request, compared without division (prompt > (min - 1) x n and
# prompt <= max x n), in HUGEINT as max x n passes BIGINT's range.
_PROMPT = "CAST(q.input_tokens + q.cache_read_tokens + q.cache_write_tokens + q.cache_write_1h_tokens AS HUGEINT)"
_REQUESTS = "greatest(coalesce(q.request_count, 1), 1)"

_IDENT = frozenset("abcdefghijklmnopqrstuvwxyz_0123456789.")


def _ident(name: str) -> str:
    if not name or not set(name) <= _IDENT:
        raise ValueError(f"not a plain table name: {name!r}")
    return name


def priced_requests_sql(requests: str = "requests", prices: str = "prices", model_map: str = "model_map") -> str:
    """SELECT every request with its per-bucket cost, total cost and an `unpriced` flag.

    `model_map` maps each logged (provider, model) to the catalog entry it resolves to
    (the Python resolver fills it), so aliases and vendor prefixes resolve the same way
    in SQL as in Python. A request whose model has no price keeps its volume, with NULL
    cost and `unpriced = true`, never a cost of 0.
    """
    r, p, m = _ident(requests), _ident(prices), _ident(model_map)
    return f"""
    SELECT
        q.*,
        mm.price_provider,
        mm.price_model,
        pr.price_window,
        pr.currency AS price_currency,
        pr.input_per_token,
        pr.cache_read_per_token,
        pr.cache_write_per_token,
        pr.cache_write_1h_per_token,
        pr.output_per_token,
        pr.reasoning_per_token,
        pr.input_per_token IS NULL AS unpriced,
        q.input_tokens * pr.input_per_token AS input_cost,
        q.cache_read_tokens * pr.cache_read_per_token AS cache_read_cost,
        q.cache_write_tokens * pr.cache_write_per_token AS cache_write_cost,
        q.cache_write_1h_tokens * pr.cache_write_1h_per_token AS cache_write_1h_cost,
        (q.output_tokens - q.reasoning_tokens) * pr.output_per_token
            + q.reasoning_tokens * pr.reasoning_per_token AS output_cost,
        q.input_tokens * pr.input_per_token
            + q.cache_read_tokens * pr.cache_read_per_token
            + q.cache_write_tokens * pr.cache_write_per_token
            + q.cache_write_1h_tokens * pr.cache_write_1h_per_token
            + (q.output_tokens - q.reasoning_tokens) * pr.output_per_token
            + q.reasoning_tokens * pr.reasoning_per_token AS cost
    FROM {r} AS q
    LEFT JOIN {m} AS mm
        ON mm.provider = coalesce(q.provider, '') AND mm.model = q.model
    LEFT JOIN {p} AS pr
        ON pr.provider = mm.price_provider
        AND pr.model = mm.price_model
        AND pr.weekday = CAST(((epoch_ms(q.ts) // 86400000) + 3) % 7 AS TINYINT)
        AND pr.hour = CAST((epoch_ms(q.ts) // 3600000) % 24 AS TINYINT)
        AND q.ts >= pr.valid_from AND q.ts < pr.valid_to
        AND {_PROMPT} > (pr.min_prompt_tokens - 1) * {_REQUESTS}
        AND {_PROMPT} <= CAST(pr.max_prompt_tokens AS HUGEINT) * {_REQUESTS}
    """
