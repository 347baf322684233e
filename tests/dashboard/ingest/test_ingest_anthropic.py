"""Anthropic usage: Claude Code session logs and logged Messages API responses.

Field names from Anthropic's Messages API reference (`usage.input_tokens`, `cache_read_input_tokens`,
`cache_creation_input_tokens`, `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`,
`output_tokens`) and from Claude Code's session files (`type`, `message`, `requestId`, `timestamp`,
`cwd`, `sessionId`, `isApiErrorMessage`, `costUSD`). `input_tokens` excludes both cache buckets.
"""

import json
from decimal import Decimal

import pytest
from ingest_helpers import SAMPLES, mapped, rejected, utc, write_lines

from dashboard.ingest import Options, import_file

SESSION = SAMPLES / "claude_code_session.jsonl"
MESSAGES = SAMPLES / "anthropic_messages.jsonl"


def _buckets(row):
    keys = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens")
    return tuple(row[k] for k in keys)


def test_claude_code_session_counts_each_reply_once_and_skips_non_requests(warehouse):
    res = import_file(warehouse, SESSION)
    # 8 lines: a summary, two of the person's lines, one reply written as two lines,
    # an API-error placeholder, and two more replies.
    assert (res.format, res.added, res.duplicates, res.rejected) == ("anthropic", 3, 0, 0)
    rows = mapped(warehouse, "anthropic")
    assert list(rows) == ["req_011CRKk2b8VtQ4mYx3Zp9sJd", "req_011CRKk3Lz5Hq8wPv2Nc7tXb", "msg_01Ne6Tq2vXz8LbR4mW9cJk3p"]
    first = rows["req_011CRKk2b8VtQ4mYx3Zp9sJd"]
    # One request for the reply: the time of its first line, the usage of its last (whose
    # output_tokens is the reply's final count: the first line, written while it streamed,
    # says 3), counted once, not twice.
    assert first["ts"] == utc(2025, 7, 21, 9, 14, 5, 532000)
    assert _buckets(first) == (4, 13502, 6139, 0, 187)
    assert (first["provider"], first["model"], first["project"]) == ("anthropic", "claude-sonnet-4-20250514", "billing-api")


@pytest.mark.slow
def test_cache_writes_split_into_5_minute_and_1_hour(warehouse):
    import_file(warehouse, SESSION)
    rows = mapped(warehouse, "anthropic")
    # Split given: 320 five-minute + 1200 one-hour writes (of 1520).
    assert _buckets(rows["req_011CRKk3Lz5Hq8wPv2Nc7tXb"]) == (7, 19641, 320, 1200, 412)
    # No split (older logs): all 2048 creation tokens are 5-minute writes.
    older = rows["msg_01Ne6Tq2vXz8LbR4mW9cJk3p"]
    assert _buckets(older) == (1830, 0, 2048, 0, 96)
    assert older["billed_cost"] == Decimal("0.0213")
    assert older["project"] == "billing-api"  # from a cwd with a trailing slash


def test_input_tokens_are_not_reduced_by_cache_reads(warehouse):
    """input_tokens excludes the cache buckets already: subtracting them again would go negative."""
    res = import_file(warehouse, MESSAGES)
    assert (res.added, res.rejected) == (2, 0)
    rows = mapped(warehouse, "anthropic")
    assert _buckets(rows["msg_013Zva2CMHLNnXjNJJKqJ2EF"]) == (12, 48210, 0, 0, 1024)


@pytest.mark.slow
def test_bare_api_responses_map_with_their_logged_time_in_utc(warehouse):
    import_file(warehouse, MESSAGES)
    row = mapped(warehouse, "anthropic")["msg_01XFDUDYJgAACzvnptvVoYEL"]
    assert row["ts"] == utc(2025, 3, 2, 13, 0, 0, 250000)  # logged as 14:00:00.250+01:00
    assert (row["provider"], row["model"], _buckets(row)) == ("anthropic", "claude-3-7-sonnet-20250219", (2095, 0, 0, 0, 503))
    assert row["billed_cost"] is None


@pytest.mark.slow
def test_one_hour_cache_writes_are_priced_at_their_own_rate(warehouse):
    import_file(warehouse, SESSION)
    cost = warehouse.query(
        f"SELECT cost FROM ({warehouse.priced_sql()}) WHERE request_id = 'req_011CRKk3Lz5Hq8wPv2Nc7tXb'"
    ).fetchone()[0]
    # claude-sonnet-4 per 1M: input 3, cache read 0.3, 5m write 3.75, 1h write 6, output 15.
    expected = (7 * 3 + 19641 * Decimal("0.3") + 320 * Decimal("3.75") + 1200 * 6 + 412 * 15) / 1_000_000
    assert cost == expected


@pytest.mark.slow
def test_provider_option_overrides_the_route(warehouse):
    import_file(warehouse, MESSAGES, options=Options(provider="Bedrock"))
    rows = mapped(warehouse, "anthropic")
    assert {(r["provider"], r["upstream_provider"]) for r in rows.values()} == {("bedrock", "anthropic")}


@pytest.mark.slow
def test_reimport_adds_nothing(warehouse):
    assert import_file(warehouse, SESSION).added == 3
    again = import_file(warehouse, SESSION)
    assert (again.added, again.duplicates, again.rejected) == (0, 3, 0)


@pytest.mark.slow
def test_bad_lines_are_recorded_and_good_ones_land(warehouse, tmp_path):
    good = SESSION.read_text(encoding="utf-8").splitlines()[2]

    def reply(rid, **usage):
        body = json.loads(good)
        body["requestId"] = rid
        body["message"]["usage"].update(usage)
        return body

    no_time = reply("req_no_time")
    del no_time["timestamp"]
    f = write_lines(tmp_path / "session.jsonl", [
        good,
        '{"type":"assistant","message":{"id":"msg_cut","usage":{"input_tokens":',
        json.dumps(reply("req_bad_output", output_tokens="12k")),
        json.dumps(no_time),
        json.dumps(reply("req_negative", cache_read_input_tokens=-3)),
        '{"type":"user","message":{"role":"user","content":"thanks"},"timestamp":"2025-07-21T09:30:00Z"}',
        json.dumps(reply("req_ok_2")),
    ])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 4)
    assert rejected(warehouse, res.import_id) == [
        (2, "not a valid JSON object"),
        (3, "output is not a whole number: 12k"),
        (4, "missing time"),
        (5, "cache_read is negative: -3"),
    ]


@pytest.mark.slow
def test_a_reply_imported_mid_stream_takes_its_final_usage_on_the_next_import(warehouse, tmp_path):
    # A session imported while Claude Code is still writing a reply (its first line, 3 output
    # tokens so far); the next import of the grown session replaces that usage, in the priced
    # cache too, and an older copy of the session never takes it back.
    lines = SESSION.read_text(encoding="utf-8").splitlines(keepends=True)
    session = tmp_path / "session.jsonl"
    session.write_text("".join(lines[:3]), encoding="utf-8")
    assert import_file(warehouse, session).added == 1
    rid = "req_011CRKk2b8VtQ4mYx3Zp9sJd"

    def stored():
        sql = f"SELECT output_tokens, cost FROM ({warehouse.priced_sql()}) WHERE request_id = ?"
        return warehouse.query(sql, [rid]).fetchone()

    output, partial_cost = stored()
    assert output == 3
    session.write_text("".join(lines), encoding="utf-8")
    res = import_file(warehouse, session)
    assert (res.added, res.duplicates, res.rejected, res.updated) == (2, 1, 0, 1)
    assert _buckets(mapped(warehouse, "anthropic")[rid]) == (4, 13502, 6139, 0, 187)
    output, final_cost = stored()
    assert output == 187 and final_cost > partial_cost
    older = tmp_path / "older.jsonl"
    older.write_text("".join(lines[:3]), encoding="utf-8")
    again = import_file(warehouse, older)
    assert (again.added, again.duplicates, again.updated) == (0, 1, 0)
    assert stored() == (187, final_cost)
    assert warehouse.query("SELECT count(*) FROM requests").fetchone()[0] == 3
