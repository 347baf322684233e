"""Anthropic Messages usage (JSONL): Claude Code session logs and logged Messages API responses.

Field names from Anthropic's Messages API reference (`usage.input_tokens`,
`cache_read_input_tokens`, `cache_creation_input_tokens`, `cache_creation.ephemeral_5m_input_tokens`
/ `ephemeral_1h_input_tokens`, `output_tokens`) and from Claude Code's session files
(`~/.claude/projects/*/*.jsonl`: `type`, `message`, `requestId`, `timestamp`, `cwd`, `sessionId`).

`input_tokens` excludes both cache buckets, so `cached_included` is false. Without the
5-minute / 1-hour split every cache write is a 5-minute write.

Claude Code writes one line per content block of a reply, each repeating the reply's
`requestId` and `message.id`; the usage grows as the reply streams, and only the last
line carries its final `output_tokens`. Each reply is one request: the usage of its last
line at the time of its first; the other lines are dropped here (not rejected, not
counted). Lines without usage (the person's messages, summaries) and the `<synthetic>`
placeholders Claude Code writes for API errors are not requests either. The project is the
last folder of the session's `cwd`.

A session imported while a reply is still streaming keeps that reply's usage so far; the
next import of the session finds the same id with more output tokens and replaces the
usage (GROWS), where any other known id is a duplicate.
"""

from __future__ import annotations

from dashboard.ingest.base import Format, Sample, keys_in
from dashboard.ingest.fields import DOC, LINE, Const, First, first, j, sql


def _bare_responses(sample: Sample) -> int:
    return sum(1 for r in sample.records if r.get("type") == "message" and keys_in([r], "usage.input_tokens"))


def sniff(sample: Sample) -> int:
    if sample.shape != "lines" or not sample.records:
        return 0
    if keys_in(sample.records, "message.usage.input_tokens") or _bare_responses(sample):
        return 90
    # A Claude Code session may open with many lines that carry no usage: the person's
    # messages, a summary line per earlier conversation it continues, file snapshots.
    if keys_in(sample.records, "sessionId", "uuid", "type") or _session_bookkeeping(sample):
        return 70
    return 0


def _session_bookkeeping(sample: Sample) -> int:
    """How many records are Claude Code's `summary` or `file-history-snapshot` lines."""
    return sum(1 for r in sample.records
               if (r.get("type") == "summary" and "leafUuid" in r)
               or (r.get("type") == "file-history-snapshot" and "snapshot" in r))


def _usage(path: str) -> First:
    return first(j(f"$.message.usage.{path}"), j(f"$.usage.{path}"))


_MODEL = first(j("$.message.model"), j("$.model"))
_HAS_USAGE = sql("(json_exists({doc}, '$.message.usage') OR (json_exists({doc}, '$.usage') AND {type} = 'message'))",
                 doc=DOC, type=j("$.type"))
_REQUEST_ID = first(j("$.requestId"), j("$.message.id"), j("$.id"))
# The lines of one reply, in file order; a line without any id stands for itself.
_REPLY = "PARTITION BY coalesce({id}, 'line ' || {line}) ORDER BY {line}"

FORMAT = Format(
    name="anthropic",
    source="anthropic",
    shapes=("lines",),
    sniff=sniff,
    fields={
        "request_id": _REQUEST_ID,
        "ts": sql(f"first_value({{ts}}) OVER ({_REPLY})", ts=first(j("$.timestamp"), j("$.created_at")),
                  id=_REQUEST_ID, line=LINE),
        "provider": Const("anthropic"),
        "model": _MODEL,
        "project": sql("nullif(regexp_extract({cwd}, '([^/\\\\]+)[/\\\\]*$', 1), '')", cwd=j("$.cwd")),
        "prompt_tokens": _usage("input_tokens"),
        "cache_read": _usage("cache_read_input_tokens"),
        "cache_write": first(_usage("cache_creation.ephemeral_5m_input_tokens"), _usage("cache_creation_input_tokens")),
        "cache_write_1h": _usage("cache_creation.ephemeral_1h_input_tokens"),
        "output": _usage("output_tokens"),
        "billed_cost": j("$.costUSD"),
    },
    cached_included=False,
    keep=sql("{usage} AND coalesce({model}, '') <> '<synthetic>'", usage=_HAS_USAGE, model=_MODEL),
    qualify=sql(f"row_number() OVER ({_REPLY} DESC) = 1", id=_REQUEST_ID, line=LINE),
    grows=True,
)
