"""Langfuse observations export (CSV, JSON array, JSON lines).

Field names from Langfuse's public observations API and UI export: id, traceId, type, startTime,
endTime, completionStartTime, model, providedModelName, usageDetails, costDetails, promptTokens,
completionTokens, totalCost, projectId, userId, tags, level. Usage and cost are tracked on observations
of type generation and embedding (langfuse.com/docs/token-usage; the observation types page: "embedding
is a call to a LLM to generate embeddings and can include model, token usage and costs"). Usage types are
disjoint in Langfuse
(its integrations move cached and reasoning counts out of `input` / `output` into
`input_cached_tokens` / `output_reasoning_tokens`; Anthropic's `input` already excludes
`cache_read_input_tokens` and `cache_creation_input_tokens`).
"""

import json
from decimal import Decimal

import pytest
from ingest_helpers import SAMPLES, mapped, rejected, utc, write_lines

from dashboard.ingest import Options, import_file

JSONL = SAMPLES / "langfuse_observations.jsonl"
CSV = SAMPLES / "langfuse_observations.csv"
LEGACY = SAMPLES / "langfuse_observations_legacy.json"

EXPECTED = {
    "7f1e0c8a-3b2d-4c6e-9a1f-5d8b2c4e6f70": {
        "ts": utc(2025, 7, 8, 22, 5, 45, 123000), "provider": None, "upstream_provider": None,
        "model": "gpt-4o-2024-08-06", "project": "cm3q9x1ab0001lf08proj2025", "api_key": None, "user": "user-17",
        "tags": ["nightly", "eval"], "input_tokens": 1048, "cache_read_tokens": 1792, "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0, "output_tokens": 412, "reasoning_tokens": 0, "latency_ms": 5123.0,
        "ttft_ms": 612.0, "status": "DEFAULT", "billed_cost": Decimal("0.00898"),
    },
    "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a": {
        "ts": utc(2025, 7, 8, 22, 7, 10, 500000), "provider": None, "upstream_provider": None,
        "model": "o4-mini-2025-04-16", "project": "cm3q9x1ab0001lf08proj2025", "api_key": None, "user": "user-17",
        "tags": [], "input_tokens": 1210, "cache_read_tokens": 0, "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0, "output_tokens": 412 + 2688, "reasoning_tokens": 2688, "latency_ms": 21877.0,
        "ttft_ms": 20410.0, "status": "DEFAULT", "billed_cost": Decimal("0.014971"),
    },
    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d": {
        "ts": utc(2025, 7, 8, 22, 6, 1), "provider": None, "upstream_provider": None,
        "model": "claude-sonnet-4-20250514", "project": "cm3q9x1ab0001lf08proj2025", "api_key": None, "user": None,
        "tags": ["support"], "input_tokens": 4, "cache_read_tokens": 13502, "cache_write_tokens": 6139,
        "cache_write_1h_tokens": 0, "output_tokens": 350, "reasoning_tokens": 0, "latency_ms": 8412.0,
        "ttft_ms": 1118.0, "status": "ERROR", "billed_cost": Decimal("0.03233385"),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("sample", [JSONL, CSV], ids=["jsonl", "csv"])
def test_generations_map_with_disjoint_usage_and_other_observations_are_skipped(warehouse, sample):
    res = import_file(warehouse, sample)
    # 5 observations: 3 generations, a span and an event (skipped, not rejected).
    assert (res.format, res.added, res.duplicates, res.rejected) == ("langfuse", 3, 0, 0)
    assert mapped(warehouse, "langfuse") == dict(sorted(EXPECTED.items(), key=lambda kv: kv[1]["ts"]))


@pytest.mark.slow
def test_csv_and_jsonl_exports_of_the_same_observations_are_the_same_requests(warehouse):
    import_file(warehouse, JSONL)
    res = import_file(warehouse, CSV)
    assert (res.added, res.duplicates) == (0, 3)


def test_older_export_with_prompt_and_completion_tokens(warehouse):
    res = import_file(warehouse, LEGACY)
    assert (res.format, res.added, res.rejected) == ("langfuse", 1, 0)
    row = mapped(warehouse, "langfuse")["gen-legacy-0001"]
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (512, 128, 0)
    assert (row["billed_cost"], row["latency_ms"], row["ttft_ms"]) == (Decimal("0.00448"), 2500.0, None)
    assert (row["user"], row["project"], row["tags"]) == ("user-3", "clx0legacyproj", None)


@pytest.mark.slow
@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty-printed"])
def test_an_api_response_holding_the_records_under_data_imports_them(warehouse, tmp_path, indent):
    """The public API's GET /api/public/observations answers {"data": [...], "meta": {...}}; saved
    to a file, its records import as the same records in an array or in JSON lines do."""
    records = [json.loads(line) for line in JSONL.read_text(encoding="utf-8").splitlines() if line.strip()]
    page = tmp_path / "observations-page-1.json"
    page.write_text(json.dumps({"data": records, "meta": {"page": 1, "limit": 50, "totalItems": len(records),
                                                          "totalPages": 1}}, indent=indent))
    res = import_file(warehouse, page)
    assert (res.format, res.added, res.rejected) == ("langfuse", len(EXPECTED), 0)
    rows = mapped(warehouse, "langfuse")
    for rid, want in EXPECTED.items():
        assert {k: rows[rid][k] for k in want} == want
    assert import_file(warehouse, JSONL).duplicates == len(EXPECTED)


@pytest.mark.slow
def test_a_one_line_response_with_a_data_array_and_usage_is_a_record_not_a_page(warehouse, tmp_path):
    """An embeddings response also holds a `data` array, but its own usage makes it the request."""
    embedding = {"object": "list", "id": "emb-1", "created": 1751536800, "model": "text-embedding-3-small",
                 "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                 "usage": {"prompt_tokens": 8, "total_tokens": 8}}
    res = import_file(warehouse, write_lines(tmp_path / "embedding.jsonl", [json.dumps(embedding)]))
    assert (res.format, res.added) == ("openai-jsonl", 1)
    assert mapped(warehouse, "openai-log")["emb-1"]["input_tokens"] == 8


@pytest.mark.slow
def test_provider_option_attributes_the_file(warehouse):
    import_file(warehouse, JSONL, options=Options(provider="openai"))
    assert {r["provider"] for r in mapped(warehouse, "langfuse").values()} == {"openai"}


@pytest.mark.slow
def test_reimport_adds_nothing(warehouse):
    import_file(warehouse, JSONL)
    again = import_file(warehouse, JSONL)
    assert (again.added, again.duplicates, again.rejected) == (0, 3, 0)


@pytest.mark.slow
def test_bad_generations_are_recorded_and_good_ones_land(warehouse, tmp_path):
    lines = JSONL.read_text(encoding="utf-8").splitlines()
    good = json.loads(lines[1])

    def gen(oid, **changes):
        return json.dumps({**good, "id": oid, **changes})

    f = write_lines(tmp_path / "observations.jsonl", [
        lines[0],  # a span
        lines[1],
        '{"id": "cut", "type": "GENERATION", "usageDetails": {"input": ',
        gen("bad-output", usageDetails={"input": 10, "output": "many"}),
        gen("no-model", model=None, providedModelName=None),
        gen("bad-cost", costDetails={"total": "abc"}),
        gen("bad-tags", tags='["a", '),
    ])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 4)
    assert rejected(warehouse, res.import_id) == [
        (3, "not a valid JSON object"),
        (4, "output is not a whole number: many"),
        (5, "missing model (pass --model to attribute the file)"),
        (6, "billed cost is not a number: abc"),
    ]
    assert mapped(warehouse, "langfuse")["bad-tags"]["tags"] is None


EMBEDDING = {"id": "obs-e1", "traceId": "tr-9", "type": "EMBEDDING", "name": "embed-docs",
             "startTime": "2025-07-08T22:08:00.000Z", "endTime": "2025-07-08T22:08:00.300Z",
             "model": "text-embedding-3-small", "usageDetails": {"input": 120000, "total": 120000},
             "costDetails": {"input": 0.0024, "total": 0.0024}, "level": "DEFAULT", "projectId": "proj-abc"}
EMBEDDING_CSV = ('obs-e1,tr-9,EMBEDDING,embed-docs,2025-07-08T22:08:00.000Z,2025-07-08T22:08:00.300Z,,'
                 'text-embedding-3-small,,"{""input"": 120000, ""total"": 120000}",'
                 '"{""input"": 0.0024, ""total"": 0.0024}",DEFAULT,,proj-abc,,,production')


@pytest.mark.slow
@pytest.mark.parametrize(("sample", "line"), [(JSONL, json.dumps(EMBEDDING)), (CSV, EMBEDDING_CSV)],
                         ids=["jsonl", "csv"])
def test_embedding_observations_are_requests_with_their_usage_and_cost(warehouse, tmp_path, sample, line):
    f = write_lines(tmp_path / f"with-embedding{sample.suffix}", [*sample.read_text(encoding="utf-8").splitlines(), line])
    res = import_file(warehouse, f)
    assert (res.format, res.added, res.duplicates, res.rejected) == ("langfuse", 4, 0, 0)
    row = mapped(warehouse, "langfuse")["obs-e1"]
    assert (row["model"], row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (
        "text-embedding-3-small", 120000, 0, 0)
    assert (row["billed_cost"], row["project"], row["latency_ms"]) == (Decimal("0.0024"), "proj-abc", 300.0)
