"""Mooncake request traces (JSONL: `timestamp`, `input_length`, `output_length`, `hash_ids`), kvcache-ai/Mooncake.

`timestamp` counts milliseconds from the start of the trace, which has no date: requests
are placed from a fixed base, 2024-01-01T00:00:00Z, so that the same file always lands on
the same times. The trace names no model or route: import it with --provider and --model.

Cache reads are derived from `hash_ids`, one id per 512-token block of the prompt, equal
ids meaning an equal prefix. With an unbounded cache, a block is read from cache when its
id appeared in an earlier request and every block before it in this request was read too
(a prefix cache stops at the first miss); cached tokens = min(hits × 512, input_length).
This needs state across requests, so it is one SQL pass over all blocks: the first line
where each id appears, then per request the position of its first miss.
"""

from __future__ import annotations

from dashboard.ingest.base import Format, Sample, keys_in
from dashboard.ingest.fields import LINE, j, sql

BASE_TIME = "2024-01-01 00:00:00"
BLOCK_TOKENS = 512


def sniff(sample: Sample) -> int:
    if sample.shape != "lines":
        return 0
    return 95 if keys_in(sample.records, "hash_ids", "input_length", "timestamp") else 0


_HITS = f"""
WITH mc_ids AS (
    SELECT line, TRY_CAST(json_extract(doc, '$.hash_ids') AS VARCHAR[]) AS ids FROM src WHERE ok
),
mc_blocks AS (
    SELECT line, unnest(ids) AS block, unnest(range(1, len(ids) + 1)) AS pos FROM mc_ids
),
mc_seen AS (
    SELECT line, pos, min(line) OVER (PARTITION BY block) < line AS seen FROM mc_blocks
),
mc_hits AS (
    SELECT line, coalesce(min(pos) FILTER (WHERE NOT seen) - 1, count(*)) * {BLOCK_TOKENS} AS hit_tokens
    FROM mc_seen GROUP BY line
)
"""

_T, _INPUT_LENGTH = j("$.timestamp"), j("$.input_length")
_SINCE_BASE = "to_microseconds(CAST(round(TRY_CAST({t} AS DOUBLE) * 1000) AS BIGINT))"

FORMAT = Format(
    name="mooncake",
    source="mooncake-trace",
    shapes=("lines",),
    sniff=sniff,
    fields={
        # Out-of-range numbers stay text, so they are rejected as unparsable rather than overflow.
        "ts": sql(f"""CASE WHEN abs(TRY_CAST({{t}} AS DOUBLE)) < 1e13
            THEN strftime(TIMESTAMP '{BASE_TIME}' + {_SINCE_BASE}, '%Y-%m-%dT%H:%M:%S.%fZ')
            ELSE {{t}} END""", t=_T),
        "prompt_tokens": _INPUT_LENGTH,
        "cache_read": sql("CAST(least((SELECT h.hit_tokens FROM mc_hits AS h WHERE h.line = {line}), "
                          "TRY_CAST({n} AS BIGINT)) AS VARCHAR)", line=LINE, n=_INPUT_LENGTH),
        "output": j("$.output_length"),
    },
    cached_included=True,
    prelude=_HITS,
)
