"""OpenAI-compatible logs of streamed responses: `chat.completion.chunk` lines.

Field names and behaviour from the OpenAI chat completions reference (the streaming "chat
completion chunk object": `id` the same on every chunk of one completion, `object`
`chat.completion.chunk`; with `stream_options: {"include_usage": true}` "an additional
chunk will be streamed before the `data: [DONE]` message. The `usage` field on this chunk
shows the token usage statistics for the entire request, and the `choices` field will
always be an empty array. All other chunks will also include a `usage` field, but with a
null value") and OpenRouter's usage accounting docs (for a streamed request the usage,
`usage.cost` included, arrives in the last SSE message).
"""

import json
from decimal import Decimal

import pytest
from ingest_helpers import rejected, write_lines

from dashboard.ingest import detect, import_file, plan_file, sample_file
from dashboard.ingest.loader import read_sample
from dashboard.ingest.planner import ReadKind
from dashboard.ingest.sql import MACROS


def chunks(cid, n=3, created=1790000000, model="gpt-4o-2024-08-06", usage=None, **last):
    """The lines of one streamed completion: `n` content chunks with `usage: null`, then the usage chunk."""
    head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_1"}
    lines = [json.dumps({**head, "choices": [{"index": 0, "delta": {"content": f"part {i}"}, "finish_reason": None}],
                         "usage": None}) for i in range(n)]
    usage = usage or {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940,
                      "prompt_tokens_details": {"cached_tokens": 256},
                      "completion_tokens_details": {"reasoning_tokens": 8}}
    return [*lines, json.dumps({**head, "choices": [], "usage": usage, **last})]


def stored(wh):
    return wh.query(
        "SELECT request_id, provider, input_tokens, cache_read_tokens, output_tokens, reasoning_tokens, billed_cost "
        "FROM requests ORDER BY request_id"
    ).fetchall()


PLAIN = {"id": "chatcmpl-P", "object": "chat.completion", "created": 1790000100, "model": "gpt-4o-mini",
         "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 10}}


def test_a_streamed_completion_is_one_request_with_the_usage_of_its_last_chunk(warehouse, tmp_path):
    f = write_lines(tmp_path / "stream.jsonl", chunks("chatcmpl-S1"))
    res = import_file(warehouse, f)
    # The content chunks are no requests: neither added, nor duplicates, nor rejected.
    assert (res.format, res.added, res.duplicates, res.rejected, res.staged) == ("openai-jsonl", 1, 0, 0, False)
    assert stored(warehouse) == [("chatcmpl-S1", None, 900 - 256, 256, 40, 8, None)]


@pytest.mark.slow
def test_interleaved_streams_and_plain_completions_each_count_once(warehouse, tmp_path):
    a, b = chunks("chatcmpl-A", n=2), chunks("chatcmpl-B", n=4, usage={"prompt_tokens": 50, "completion_tokens": 5})
    lines = [a[0], b[0], b[1], a[1], json.dumps(PLAIN), b[2], a[2], b[3], b[4]]
    res = import_file(warehouse, write_lines(tmp_path / "mixed.jsonl", lines))
    assert (res.added, res.duplicates, res.rejected) == (3, 0, 0)
    assert stored(warehouse) == [
        ("chatcmpl-A", None, 644, 256, 40, 8, None),
        ("chatcmpl-B", None, 50, 0, 5, 0, None),
        ("chatcmpl-P", None, 100, 0, 10, 0, None),
    ]


@pytest.mark.slow
def test_an_openrouter_stream_keeps_the_cost_of_its_last_chunk(warehouse, tmp_path):
    usage = {"prompt_tokens": 2000, "completion_tokens": 100, "cost": 0.0123,
             "prompt_tokens_details": {"cached_tokens": 1500}}
    f = write_lines(tmp_path / "openrouter.jsonl",
                    chunks("gen-1790000000-abc", model="anthropic/claude-3.5-sonnet", usage=usage, provider="Anthropic"))
    assert import_file(warehouse, f).added == 1
    assert stored(warehouse) == [("gen-1790000000-abc", "openrouter", 500, 1500, 100, 0, Decimal("0.0123"))]


@pytest.mark.slow
def test_a_stream_with_a_bad_line_goes_the_staged_way_and_skips_the_same_chunks(warehouse, tmp_path):
    lines = [*chunks("chatcmpl-S1"), '{"id": "cut", "object": "chat.completion.chunk", "usage": ']
    res = import_file(warehouse, write_lines(tmp_path / "torn.jsonl", lines))
    assert (res.added, res.duplicates, res.rejected) == (1, 0, 1)
    assert rejected(warehouse, res.import_id) == [(5, "not a valid JSON object")]
    assert stored(warehouse) == [("chatcmpl-S1", None, 644, 256, 40, 8, None)]


@pytest.mark.slow
def test_the_typed_read_skips_the_same_chunks_as_the_line_by_line_read(warehouse, tmp_path):
    # A log that opens with plain completions keeps DuckDB's typed reader (only one that opens
    # with chunks is read by line, for the last chunk with usage); its chunks are skipped alike.
    plain = [json.dumps({**PLAIN, "id": f"chatcmpl-P{i}"}) for i in range(10)]
    f = write_lines(tmp_path / "stream.jsonl", [*plain, *chunks("chatcmpl-S1")])
    plan = plan_file(warehouse, f)
    assert plan.clean[0].kind is ReadKind.EPOCH_LINES  # clean lines keep DuckDB's typed reader
    query = "SELECT reason, request_id, input_tokens, output_tokens FROM ({}) ORDER BY request_id, reason"
    params = {**plan.params, "path": str(f), "import_id": None}
    _, by_line = read_sample(warehouse, query.format(plan.staged.sql), str(f), params, macros=MACROS)
    _, typed = read_sample(warehouse, query.format(plan.clean[0].sql), str(f), params, macros=MACROS)
    skipped = ("", "chatcmpl-S1", 0, 0)  # SKIPPED: no record, so neither stored nor rejected
    assert typed == by_line == [*[(None, f"chatcmpl-P{i}", 100, 10) for i in range(10)], *[skipped] * 3,
                                (None, "chatcmpl-S1", 644, 40)]


@pytest.mark.slow
def test_a_stream_with_the_usage_so_far_on_every_chunk_keeps_its_last(warehouse, tmp_path):
    """vLLM's `continuous_usage_stats` puts the usage so far on every chunk: the last is the request's."""
    head = {"id": "chatcmpl-V", "object": "chat.completion.chunk", "created": 1790000000, "model": "gpt-4o-mini"}
    lines = [json.dumps({**head, "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}],
                         "usage": {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": 20 + n}})
             for n in range(1, 16)]
    lines.append(json.dumps({**head, "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 15}}))
    res = import_file(warehouse, write_lines(tmp_path / "vllm.jsonl", lines))
    assert (res.added, res.duplicates, res.rejected) == (1, 0, 0)
    assert stored(warehouse) == [("chatcmpl-V", None, 20, 0, 15, 0, None)]
    again = import_file(warehouse, write_lines(tmp_path / "vllm.jsonl", lines))
    assert (again.added, again.duplicates) == (0, 1)


@pytest.mark.slow
@pytest.mark.parametrize("usage", [None, {}], ids=["no-usage", "empty-usage"])
def test_a_plain_completion_without_usage_is_still_a_request(warehouse, tmp_path, usage):
    body = {k: v for k, v in PLAIN.items() if k != "usage"} | ({"usage": usage} if usage is not None else {})
    res = import_file(warehouse, write_lines(tmp_path / "plain.jsonl", [json.dumps(body)]), "openai-jsonl")
    assert (res.added, res.rejected) == (1, 0)
    assert stored(warehouse) == [("chatcmpl-P", None, 0, 0, 0, 0, None)]


def test_a_stream_log_is_detected_as_openai(warehouse, tmp_path):
    f = write_lines(tmp_path / "stream.jsonl", chunks("chatcmpl-S1"))
    assert detect(sample_file(warehouse, f)).name == "openai-jsonl"


@pytest.mark.slow
def test_a_stream_logged_without_usage_is_rejected_not_skipped_unseen(warehouse, tmp_path):
    """Without `stream_options.include_usage` no chunk has usage: the stream is a request whose
    tokens are unknown. It is rejected with its last line and why, where it was skipped without a word."""
    without = chunks("chatcmpl-N", n=3)[:-1]  # the content chunks alone: no usage chunk
    lines = [*chunks("chatcmpl-S1"), *without]
    res = import_file(warehouse, write_lines(tmp_path / "streams.jsonl", lines))
    assert (res.added, res.duplicates, res.rejected) == (1, 0, 1)
    assert rejected(warehouse, res.import_id) == [
        (7, "a streamed response logged without its usage (stream_options.include_usage was off): "
            "no tokens to count")]
    assert stored(warehouse) == [("chatcmpl-S1", None, 644, 256, 40, 8, None)]
