"""Helicone request export (JSON lines, as `@helicone/export` writes it).

Field names from Helicone's `HeliconeRequest` type (rows of /v1/request/query-clickhouse): request_id,
request_created_at, request_user_id, request_properties, response_status, provider, delay_ms,
time_to_first_token, prompt_tokens, prompt_cache_read_tokens, prompt_cache_write_tokens,
completion_tokens, costUSD, properties, model. Helicone's `prompt_tokens` already excludes the cache
reads and writes it reports separately.
"""

import json
from decimal import Decimal

import pytest
from ingest_helpers import SAMPLES, mapped, rejected, utc, write_lines

from dashboard.ingest import import_file

EXPORT = SAMPLES / "helicone_export.jsonl"


@pytest.mark.slow
def test_requests_map_with_route_project_user_and_status(warehouse):
    res = import_file(warehouse, EXPORT)
    assert (res.format, res.added, res.rejected) == ("helicone", 3, 0)
    row = mapped(warehouse, "helicone")["5c2b8f4e-0a1d-4e7b-9c3f-6d8e2a1b4c70"]
    assert row == {
        "ts": utc(2025, 7, 8, 22, 5, 45, 123000), "provider": "openai", "upstream_provider": None,
        "model": "gpt-4o-2024-08-06", "project": "billing-api", "api_key": None, "user": "user-17", "tags": None,
        "input_tokens": 1048, "cache_read_tokens": 1792, "cache_write_tokens": 0, "cache_write_1h_tokens": 0,
        "output_tokens": 412, "reasoning_tokens": 0, "latency_ms": 5123.0, "ttft_ms": 612.0, "status": "200",
        "billed_cost": Decimal("0.00898"),
    }


def test_prompt_tokens_are_not_reduced_by_cache_counts_again(warehouse):
    """prompt_tokens (4) already excludes 13502 read + 6139 written: a second subtraction would be negative."""
    import_file(warehouse, EXPORT)
    row = mapped(warehouse, "helicone")["e7d6c5b4-a392-4180-9f7e-6d5c4b3a2918"]
    buckets = (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"], row["output_tokens"])
    assert buckets == (4, 13502, 6139, 350)
    assert (row["provider"], row["project"], row["user"]) == ("anthropic", "support-bot", "cust-42")
    assert row["billed_cost"] == Decimal("0.03233385")


@pytest.mark.slow
def test_failed_request_keeps_its_status_and_requested_model(warehouse):
    import_file(warehouse, EXPORT)
    row = mapped(warehouse, "helicone")["0f1e2d3c-4b5a-4968-8776-655443322110"]
    assert (row["status"], row["model"], row["input_tokens"], row["billed_cost"]) == ("429", "gpt-4o", 0, Decimal(0))


@pytest.mark.slow
def test_reimport_adds_nothing(warehouse):
    import_file(warehouse, EXPORT)
    again = import_file(warehouse, EXPORT)
    assert (again.added, again.duplicates, again.rejected) == (0, 3, 0)


@pytest.mark.slow
def test_bad_records_are_recorded_and_good_ones_land(warehouse, tmp_path):
    lines = EXPORT.read_text(encoding="utf-8").splitlines()
    good = json.loads(lines[0])
    f = write_lines(tmp_path / "export.jsonl", [
        lines[0],
        json.dumps({**good, "request_id": "neg", "prompt_tokens": -4}),
        json.dumps({**good, "request_id": "when", "request_created_at": "2025-13-45 99:00"}),
        json.dumps({**good, "request_id": "what", "model": None, "response_model": None, "request_model": ""}),
        "not json at all",
        lines[1],
    ])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 4)
    assert rejected(warehouse, res.import_id) == [
        (2, "prompt_tokens is negative: -4"),
        (3, "unparsable time: 2025-13-45 99:00"),
        (4, "missing model (pass --model to attribute the file)"),
        (5, "not a valid JSON object"),
    ]
