"""OpenRouter activity export (CSV), read by header name.

Header names from OpenRouter's Activity export: generation_id, created_at, cost_total, tokens_prompt,
tokens_completion, tokens_reasoning, tokens_cached, model_permaslug, provider_name, api_key_name,
app_name, generation_time_ms, time_to_first_token_ms (older exports have no tokens_cached).
`tokens_prompt` includes `tokens_cached` and `tokens_completion` includes `tokens_reasoning`.
"""

from decimal import Decimal

import pytest
from ingest_helpers import SAMPLES, mapped, rejected, utc, write_lines

from dashboard.ingest import import_file

ACTIVITY = SAMPLES / "openrouter_activity.csv"
OLDER = SAMPLES / "openrouter_activity_2024.csv"


@pytest.mark.slow
def test_rows_map_to_the_billed_route_with_the_upstream_and_labels(warehouse):
    res = import_file(warehouse, ACTIVITY)
    assert (res.format, res.added, res.rejected) == ("openrouter-csv", 3, 0)
    row = mapped(warehouse, "openrouter")["gen-1752012345-q8Lk2Xv0bZ7RmT1sYc4e"]
    assert row == {
        "ts": utc(2025, 7, 8, 22, 5, 45, 123000), "provider": "openrouter", "upstream_provider": "OpenAI",
        "model": "openai/gpt-4o-2024-08-06", "project": "billing-api", "api_key": "ci-key", "user": None,
        "tags": None, "input_tokens": 2840 - 1792, "cache_read_tokens": 1792, "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0, "output_tokens": 412, "reasoning_tokens": 0, "latency_ms": 5123.0,
        "ttft_ms": 612.0, "status": None, "billed_cost": Decimal("0.00898"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("generation_id", "buckets", "billed"),
    [
        ("gen-1752012430-Hw3Nd8Pq1Zr6Ty0Uv5Xa", (1210, 0, 3100, 2688), Decimal("0.0149")),
        ("gen-1752048000-Mb7Vc2Xz9Lk4Jh1Gf6Ds", (9120 - 8192, 8192, 640, 0), Decimal("0.0318")),
    ],
    ids=["reasoning-inside-completion", "cached-inside-prompt"],
)
def test_token_counts_follow_openai_rules(warehouse, generation_id, buckets, billed):
    import_file(warehouse, ACTIVITY)
    row = mapped(warehouse, "openrouter")[generation_id]
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"], row["reasoning_tokens"]) == buckets
    assert row["billed_cost"] == billed


@pytest.mark.slow
def test_empty_app_name_leaves_the_project_unset(warehouse):
    import_file(warehouse, ACTIVITY)
    row = mapped(warehouse, "openrouter")["gen-1752048000-Mb7Vc2Xz9Lk4Jh1Gf6Ds"]
    assert (row["project"], row["api_key"], row["upstream_provider"]) == (None, "laptop", "Amazon Bedrock")


def test_older_export_without_tokens_cached(warehouse):
    res = import_file(warehouse, OLDER)
    assert (res.format, res.added, res.rejected) == ("openrouter-csv", 2, 0)
    row = mapped(warehouse, "openrouter")["gen-1730419200-Aa1Bb2Cc3Dd4Ee5Ff6Gg"]
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (2010, 0, 200)
    assert row["billed_cost"] == Decimal("0.0004215")


@pytest.mark.slow
def test_reimport_adds_nothing(warehouse):
    import_file(warehouse, ACTIVITY)
    again = import_file(warehouse, ACTIVITY)
    assert (again.added, again.duplicates, again.rejected) == (0, 3, 0)


@pytest.mark.slow
def test_bad_rows_are_recorded_and_good_ones_land(warehouse, tmp_path):
    header, first, *_ = ACTIVITY.read_text(encoding="utf-8").splitlines()
    f = write_lines(tmp_path / "activity.csv", [
        header,
        first,
        "gen-b1,2025-07-08 23:00:00,0.001,n/a,10,0,0,openai/gpt-4o,OpenAI,ci-key,app,100,50",
        "gen-b2,2025-07-08 23:00:01,0.001,800,10,0,900,openai/gpt-4o,OpenAI,ci-key,app,100,50",
        "gen-b3,,0.001,800,10,0,0,openai/gpt-4o,OpenAI,ci-key,app,100,50",
        "gen-b4,2025-07-08 23:00:03,$0.01,800,10,0,0,openai/gpt-4o,OpenAI,ci-key,app,100,50",
        "gen-b5,2025-07-08 23:00:04,0.001,800,10,0,0,openai/gpt-4o,OpenAI,ci-key,app,100,50,surplus",
        "gen-ok,2025-07-08 23:00:05,0.001,800,10,0,0,openai/gpt-4o,OpenAI,ci-key,app,100,50",
    ])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 5)
    reasons = rejected(warehouse, res.import_id)
    assert reasons[:4] == [
        (3, "prompt_tokens is not a whole number: n/a"),
        (4, "cached tokens (900) exceed prompt tokens (800)"),
        (5, "missing time"),
        (6, "billed cost is not a number: $0.01"),
    ]
    assert reasons[4][0] == 7 and reasons[4][1].startswith("unreadable record")
    assert set(mapped(warehouse, "openrouter")) == {"gen-1752012345-q8Lk2Xv0bZ7RmT1sYc4e", "gen-ok"}
