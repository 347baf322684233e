"""LiteLLM proxy spend logs: a `LiteLLM_SpendLogs` CSV dump and the `/spend/logs` JSON array.

Column names from LiteLLM's schema.prisma (model LiteLLM_SpendLogs: request_id, call_type, api_key,
spend, total_tokens, prompt_tokens, completion_tokens, startTime, endTime, completionStartTime,
model, model_group, custom_llm_provider, user, metadata, cache_hit, request_tags, team_id, end_user,
status) and from its spend-log payload (`metadata.additional_usage_values` holds the usage fields
beyond prompt/completion/total: `prompt_tokens_details.cached_tokens`, `cache_read_input_tokens`,
`cache_creation_input_tokens`, `completion_tokens_details.reasoning_tokens`; `user_api_key_alias`).
LiteLLM's `prompt_tokens` includes the cache buckets; `cache_hit` is its own response cache.
"""

import json
from decimal import Decimal

import pytest
from ingest_helpers import SAMPLES, mapped, rejected, utc

from dashboard.ingest import import_file

DUMP = SAMPLES / "litellm_spend_logs.csv"
API = SAMPLES / "litellm_spend_logs.json"


@pytest.mark.slow
def test_csv_dump_maps_route_labels_and_cache_tokens_from_metadata(warehouse):
    res = import_file(warehouse, DUMP)
    assert (res.format, res.added, res.rejected) == ("litellm", 4, 0)
    row = mapped(warehouse, "litellm")["chatcmpl-BqX2f9Kd7LmN3pQ8rS1tU4vW"]
    assert row == {
        "ts": utc(2025, 7, 8, 22, 5, 45, 123000), "provider": "openai", "upstream_provider": None,
        "model": "gpt-4o-2024-08-06", "project": "billing", "api_key": "ci-key", "user": "user-17",
        "tags": ["nightly", "eval"], "input_tokens": 2840 - 1792, "cache_read_tokens": 1792,
        "cache_write_tokens": 0, "cache_write_1h_tokens": 0, "output_tokens": 412, "reasoning_tokens": 0,
        "latency_ms": 5123.0, "ttft_ms": 612.0, "status": "success", "billed_cost": Decimal("0.00898"),
    }


@pytest.mark.slow
def test_anthropic_call_subtracts_reads_and_writes_once_and_hints_the_hashed_key(warehouse):
    import_file(warehouse, DUMP)
    row = mapped(warehouse, "litellm")["msg_01Jd4Kp8sRw2NxV7cT5qYm1a"]
    # prompt_tokens 19645 = 4 fresh + 13502 read + 6139 written.
    assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (4, 13502, 6139)
    assert (row["provider"], row["model"]) == ("anthropic", "claude-sonnet-4-20250514")
    assert row["api_key"] == "…9e0f"  # no alias: only a hint of the hashed key is kept
    assert (row["user"], row["project"], row["tags"]) == ("cust-42", None, [])
    assert row["billed_cost"] == Decimal("0.03233385")


@pytest.mark.slow
def test_litellm_response_cache_hit_is_not_a_prompt_cache_read_and_bills_nothing(warehouse):
    # A hit of LiteLLM's response cache never reached the provider: LiteLLM logs spend 0 and
    # repeats the cached response's usage (2840 prompt, 412 completion tokens). Computed at
    # that usage it would cost what the provider never billed.
    import_file(warehouse, DUMP)
    hit = "chatcmpl-BqX2f9Kd7LmN3pQ8rS1tU4vW_cache_hit1752012400.12"
    row = mapped(warehouse, "litellm")[hit]
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (0, 0, 0)
    assert row["billed_cost"] == Decimal("0")
    cost, unpriced = warehouse.query(
        f"SELECT cost, unpriced FROM ({warehouse.priced_sql()}) WHERE request_id = ?", [hit]).fetchone()
    assert (cost, unpriced) == (Decimal("0"), False)
    miss = mapped(warehouse, "litellm")["chatcmpl-BqX2f9Kd7LmN3pQ8rS1tU4vW"]  # the call it repeats
    assert (miss["input_tokens"] + miss["cache_read_tokens"], miss["output_tokens"]) == (2840, 412)


def test_spend_in_scientific_notation_is_exact(warehouse):
    import_file(warehouse, DUMP)
    row = mapped(warehouse, "litellm")["emb-8c1d2e3f"]
    assert row["billed_cost"] == Decimal("0.000015")
    assert (row["model"], row["input_tokens"], row["output_tokens"], row["project"]) == (
        "text-embedding-3-small", 750, 0, "team-7")


@pytest.mark.slow
def test_spend_logs_json_with_metadata_as_object_or_text(warehouse):
    res = import_file(warehouse, API)
    assert (res.format, res.added, res.rejected) == ("litellm", 2, 0)
    rows = mapped(warehouse, "litellm")
    reasoning = rows["chatcmpl-Cz81Lm2Nn3Oo4Pp5Qq6Rr7Ss"]
    assert (reasoning["input_tokens"], reasoning["cache_read_tokens"]) == (1210 - 1024, 1024)
    assert (reasoning["output_tokens"], reasoning["reasoning_tokens"]) == (1252, 1024)
    assert (reasoning["latency_ms"], reasoning["ttft_ms"]) == (12500.0, 10750.0)
    assert (reasoning["api_key"], reasoning["project"], reasoning["tags"]) == ("ci-key", "billing", ["nightly"])
    assert reasoning["billed_cost"] == Decimal("0.00452")
    failed = rows["chatcmpl-Dd91Mn2Oo3Pp4Qq5Rr6Ss7Tt"]
    assert failed["ts"] == utc(2025, 7, 9, 10, 1)  # naive times are UTC
    assert (failed["status"], failed["latency_ms"], failed["user"], failed["api_key"]) == (
        "failure", 30500.0, "cust-42", "…9e0f")


@pytest.mark.slow
def test_reimport_adds_nothing(warehouse):
    import_file(warehouse, DUMP)
    again = import_file(warehouse, DUMP)
    assert (again.added, again.duplicates, again.rejected) == (0, 4, 0)


@pytest.mark.slow
def test_bad_records_are_recorded_and_malformed_metadata_does_not_fail_the_file(warehouse, tmp_path):
    good = json.loads(API.read_text(encoding="utf-8"))[0]
    f = tmp_path / "spend_logs.json"
    f.write_text(json.dumps([
        good,
        42,
        {**good, "request_id": "bad-time", "startTime": "yesterday"},
        {**good, "request_id": "bad-tokens", "prompt_tokens": 12.5},
        {**good, "request_id": "bad-cache", "prompt_tokens": 100},
        {**good, "request_id": "odd-metadata", "metadata": '{"additional_usage_values": ', "request_tags": '["a",'},
    ]), encoding="utf-8")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 4)
    assert rejected(warehouse, res.import_id) == [
        (2, "not a valid JSON object"),
        (3, "unparsable time: yesterday"),
        (4, "prompt_tokens is not a whole number: 12.5"),
        (5, "cached tokens (1024) exceed prompt tokens (100)"),
    ]
    odd = mapped(warehouse, "litellm")["odd-metadata"]
    assert (odd["input_tokens"], odd["cache_read_tokens"], odd["api_key"], odd["tags"]) == (1210, 0, "…6b4b", None)
