"""Detection: every sample file is recognised as its format without --format.

The samples are written from each format's documented field names (see the format test files).
Files that open with many lines which are no requests: a streamed OpenAI completion (chat
completions reference: `chat.completion.chunk` objects, `"usage": null` on every chunk but
the last), and a Claude Code session file (`~/.claude/projects/*/*.jsonl`), which may open
with `{"type": "summary", "summary", "leafUuid"}` lines, one per earlier conversation it
continues, and holds `{"type": "file-history-snapshot", "messageId", "snapshot"}` lines.
"""

import json

import pytest
from ingest_helpers import SAMPLES, write_lines

from dashboard.ingest import detect, import_file, sample_file

CASES = [
    ("claude_code_session.jsonl", "anthropic"),
    ("anthropic_messages.jsonl", "anthropic"),
    ("openrouter_activity.csv", "openrouter-csv"),
    ("openrouter_activity_2024.csv", "openrouter-csv"),
    ("litellm_spend_logs.csv", "litellm"),
    ("litellm_spend_logs.json", "litellm"),
    ("langfuse_observations.jsonl", "langfuse"),
    ("langfuse_observations.csv", "langfuse"),
    ("langfuse_observations_legacy.json", "langfuse"),
    ("helicone_export.jsonl", "helicone"),
    ("azure_trace_sample.csv", "azure-trace"),
    ("mooncake_sample.jsonl", "mooncake"),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_sample_is_detected_as_its_format(warehouse, name, expected):
    fmt_name = detect(sample_file(warehouse, SAMPLES / name)).name
    assert fmt_name == expected


def test_claude_code_session_is_detected_before_any_reply_appears(warehouse, tmp_path):
    """A session may open with many of the person's lines; detection must not need a reply."""
    lines = (SAMPLES / "claude_code_session.jsonl").read_text(encoding="utf-8").splitlines()
    f = tmp_path / "session.jsonl"
    f.write_text("\n".join([lines[0]] + [lines[1]] * 12 + lines[2:]) + "\n", encoding="utf-8")
    fmt_name = detect(sample_file(warehouse, f)).name
    assert fmt_name == "anthropic"


SESSION_LINES = (SAMPLES / "claude_code_session.jsonl").read_text(encoding="utf-8").splitlines()
SUMMARIES = [json.dumps({"type": "summary", "summary": f"Topic {i}", "leafUuid": f"leaf-{i}"}) for i in range(30)]
SNAPSHOTS = [json.dumps({"type": "file-history-snapshot", "messageId": f"m-{i}", "isSnapshotUpdate": False,
                         "snapshot": {"messageId": f"m-{i}", "trackedFileBackups": {},
                                      "timestamp": "2025-07-21T09:14:00.000Z"}}) for i in range(30)]
CHUNK = {"id": "chatcmpl-S2", "object": "chat.completion.chunk", "created": 1790000000, "model": "gpt-4o",
         "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}], "usage": None}
USAGE_CHUNK = {**CHUNK, "choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 40}}
OPENINGS = {
    "claude-code-after-summaries": (SUMMARIES + SESSION_LINES[1:], "anthropic", 3),
    "claude-code-after-file-snapshots": (SESSION_LINES[:1] + SNAPSHOTS + SESSION_LINES[1:], "anthropic", 3),
    "openai-stream-after-content-chunks": ([json.dumps(CHUNK)] * 40 + [json.dumps(USAGE_CHUNK)], "openai-jsonl", 1),
}


@pytest.mark.parametrize(("lines", "expected", "requests"), OPENINGS.values(), ids=OPENINGS.keys())
def test_a_file_opening_with_many_lines_that_are_no_requests_is_detected_and_imported(
        warehouse, tmp_path, lines, expected, requests):
    f = write_lines(tmp_path / "log.jsonl", lines)
    fmt_name = detect(sample_file(warehouse, f)).name
    assert fmt_name == expected
    res = import_file(warehouse, f)
    assert (res.format, res.added, res.duplicates, res.rejected) == (expected, requests, 0, 0)


@pytest.mark.parametrize(("text", "value"), [
    ('{"a": 1}', {"a": 1}),
    ('{"spans": [{"id": "1"}, {"id": "2"}, {"id', {"spans": [{"id": "1"}, {"id": "2"}, {}]}),
    ('{"a": [1, 2, {"b": "x,[y', {"a": [1, 2, {}]}),
    ('{"a": "}]", "b": [true, fal', {"a": "}]", "b": [True]}),
    ('[' * 200_000, None),
    ("5", None),
], ids=["whole", "cut-in-a-key", "cut-in-a-string", "brackets-in-a-string", "hostile-nesting", "no-container"])
def test_a_document_cut_short_is_sampled_as_its_whole_members(text, value):
    from dashboard.ingest.importer import json_prefix

    assert json_prefix(text) == value
