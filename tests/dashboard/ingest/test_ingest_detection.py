"""Detection: every sample file is recognised as its format without --format.

The samples are written from each format's documented field names (see the format test files).
"""

import pytest
from ingest_helpers import SAMPLES

from dashboard.ingest import detect, sample_file

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
    fmt_name = detect(sample_file(warehouse, SAMPLES / name)).NAME
    assert fmt_name == expected


def test_claude_code_session_is_detected_before_any_reply_appears(warehouse, tmp_path):
    """A session may open with many of the person's lines; detection must not need a reply."""
    lines = (SAMPLES / "claude_code_session.jsonl").read_text(encoding="utf-8").splitlines()
    f = tmp_path / "session.jsonl"
    f.write_text("\n".join([lines[0]] + [lines[1]] * 12 + lines[2:]) + "\n", encoding="utf-8")
    fmt_name = detect(sample_file(warehouse, f)).NAME
    assert fmt_name == "anthropic"
