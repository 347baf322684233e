"""The shared SQL every import goes through: validation, disjoint buckets, reasons.

Formats only extract text (see base.py); this wraps their SELECT so that every format
follows the same rules. Values the person typed (provider, model, time zone, source) are
bound parameters, never spliced into the text.
"""

from __future__ import annotations

MACROS = """
CREATE OR REPLACE TEMP MACRO ing_dec(v) AS TRY_CAST(trim(CAST(v AS VARCHAR)) AS DECIMAL(38, 6));
CREATE OR REPLACE TEMP MACRO ing_blank(v) AS v IS NULL OR trim(CAST(v AS VARCHAR)) = '';
CREATE OR REPLACE TEMP MACRO ing_tok_ok(v) AS
    ing_blank(v) OR (ing_dec(v) IS NOT NULL AND ing_dec(v) = floor(ing_dec(v))
                     AND abs(ing_dec(v)) < 1000000000000000);
CREATE OR REPLACE TEMP MACRO ing_tok(v) AS
    CASE WHEN ing_blank(v) THEN 0 WHEN ing_tok_ok(v) THEN CAST(ing_dec(v) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO ing_ts(v, tz) AS
    CASE
        WHEN ing_blank(v) THEN NULL
        WHEN regexp_full_match(trim(v), '[0-9]{11,14}(\\.[0-9]+)?')
            THEN to_timestamp(TRY_CAST(trim(v) AS DOUBLE) / 1000)
        WHEN regexp_full_match(trim(v), '[0-9]{9,10}(\\.[0-9]+)?')
            THEN to_timestamp(TRY_CAST(trim(v) AS DOUBLE))
        WHEN regexp_matches(trim(v), '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$')
            THEN TRY_CAST(trim(v) AS TIMESTAMPTZ)
        ELSE timezone(tz, TRY_CAST(trim(v) AS TIMESTAMP))
    END;
CREATE OR REPLACE TEMP MACRO ing_text(v) AS nullif(trim(CAST(v AS VARCHAR)), '');
"""

_TOKEN_FIELDS = ("requests", "prompt_tokens", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")


def _token_reasons() -> str:
    parts = []
    for f in _TOKEN_FIELDS:
        parts.append(
            f"WHEN NOT ing_tok_ok(t.{f}) THEN '{f} is not a whole number: ' || left(t.{f}, 60)"
        )
        parts.append(f"WHEN ing_tok(t.{f}) < 0 THEN '{f} is negative: ' || t.{f}")
    return "\n            ".join(parts)


def canonical_sql(format_sql: str) -> str:
    """Wrap a format's SELECT (to follow `WITH src AS (...),`).

    The result has the `requests` columns plus `line`, `raw` and `reason`.

    Parameters: $source, $provider, $model, $tz, $cached_included, $import_id.
    """
    return f"""
x AS (
{format_sql}
),
t AS (
    SELECT
        x.*,
        ing_ts(x.ts, $tz) AS ts_parsed,
        coalesce($cached_included, x.cached_included, true) AS included,
        ing_tok(x.cache_read) + ing_tok(x.cache_write) + ing_tok(x.cache_write_1h) AS cache_total,
        coalesce($model, ing_text(x.model)) AS model_final
    FROM x
),
v AS (
    SELECT
        t.*,
        CASE
            WHEN NOT coalesce(t.parsed, true) THEN 'not a valid JSON object'
            WHEN ing_blank(t.ts) THEN 'missing time'
            WHEN t.ts_parsed IS NULL THEN 'unparsable time: ' || left(t.ts, 60)
            WHEN t.model_final IS NULL THEN 'missing model (pass --model to attribute the file)'
            {_token_reasons()}
            WHEN t.included AND t.cache_total > ing_tok(t.prompt_tokens)
                THEN 'cached tokens (' || t.cache_total || ') exceed prompt tokens ('
                     || ing_tok(t.prompt_tokens) || ')'
            WHEN ing_tok(t.reasoning) > ing_tok(t.output)
                THEN 'reasoning tokens (' || ing_tok(t.reasoning) || ') exceed output tokens ('
                     || ing_tok(t.output) || ')'
            WHEN NOT ing_blank(t.billed_cost) AND TRY_CAST(trim(t.billed_cost) AS DECIMAL(38, 12)) IS NULL
                THEN 'billed cost is not a number: ' || left(t.billed_cost, 60)
        END AS reason
    FROM t
)
SELECT
    v.line,
    CASE WHEN v.reason IS NOT NULL THEN left(v.raw, 100000) END AS raw,
    v.reason,
    coalesce($source, 'import') AS source,
    coalesce(
        ing_text(v.request_id),
        'h' || md5(coalesce(v.raw, '')) || '-'
            || row_number() OVER (PARTITION BY md5(coalesce(v.raw, '')) ORDER BY v.line)
    ) AS request_id,
    v.ts_parsed AS ts,
    lower(coalesce($provider, ing_text(v.provider))) AS provider,
    CASE WHEN $provider IS NOT NULL THEN lower(ing_text(v.provider)) ELSE ing_text(v.upstream_provider) END
        AS upstream_provider,
    v.model_final AS model,
    ing_text(v.project) AS project,
    coalesce(
        ing_text(v.api_key_name),
        CASE WHEN ing_text(v.api_key) IS NOT NULL THEN '…' || right(ing_text(v.api_key), 4) END
    ) AS api_key,
    ing_text(v."user") AS "user",
    CASE
        WHEN ing_blank(v.tags) THEN NULL
        WHEN trim(v.tags) LIKE '[%' THEN TRY_CAST(json_extract_string(v.tags, '$[*]') AS VARCHAR[])
        ELSE list_filter(list_transform(string_split(v.tags, ','), lambda s: trim(s)), lambda s: s <> '')
    END AS tags,
    CASE WHEN v.included THEN ing_tok(v.prompt_tokens) - v.cache_total ELSE ing_tok(v.prompt_tokens) END
        AS input_tokens,
    ing_tok(v.cache_read) AS cache_read_tokens,
    ing_tok(v.cache_write) AS cache_write_tokens,
    ing_tok(v.cache_write_1h) AS cache_write_1h_tokens,
    ing_tok(v.output) AS output_tokens,
    ing_tok(v.reasoning) AS reasoning_tokens,
    TRY_CAST(v.latency_ms AS DOUBLE) AS latency_ms,
    TRY_CAST(v.ttft_ms AS DOUBLE) AS ttft_ms,
    ing_text(v.status) AS status,
    TRY_CAST(trim(v.billed_cost) AS DECIMAL(38, 12)) AS billed_cost,
    coalesce(ing_text(v.currency), CASE WHEN NOT ing_blank(v.billed_cost) THEN 'USD' END) AS currency,
    $import_id AS import_id,
    CASE WHEN ing_blank(v.requests) THEN 1 ELSE ing_tok(v.requests) END AS request_count
FROM v
"""
