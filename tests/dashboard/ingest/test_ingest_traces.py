"""Public request traces: Azure LLM inference CSVs and the Mooncake conversation trace.

Field names from the datasets' own documentation: Azure/AzurePublicDataset
(`TIMESTAMP,ContextTokens,GeneratedTokens`, naive UTC times with 7 fractional digits) and
kvcache-ai/Mooncake's FAST'25 traces (`timestamp` in ms from the start, `input_length`,
`output_length`, `hash_ids`: one id per 512-token prompt block, equal ids = equal prefix).
The real files are read in place from ../shared/fixtures/traces; those tests skip without them.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from ingest_helpers import SAMPLES, mapped, rejected, utc, write_lines

from dashboard.ingest import Options, import_file

AZURE = SAMPLES / "azure_trace_sample.csv"
MOONCAKE = SAMPLES / "mooncake_sample.jsonl"
GPT_4O = Options(provider="openai", model="gpt-4o")


@pytest.mark.slow
def test_azure_rows_are_attributed_by_the_options_and_read_as_utc(warehouse):
    res = import_file(warehouse, AZURE, options=GPT_4O)
    # CRLF, no final newline, and two identical rows that stay two requests.
    assert (res.format, res.added, res.rejected) == ("azure-trace", 4, 0)
    rows = list(mapped(warehouse, "azure-trace").values())
    assert [(r["ts"], r["input_tokens"], r["output_tokens"]) for r in rows] == [
        (utc(2023, 11, 16, 18, 17, 3, 979960), 4808, 10),
        (utc(2023, 11, 16, 18, 17, 4, 31960), 3180, 8),
        (utc(2023, 11, 16, 18, 17, 4, 31960), 3180, 8),
        (utc(2023, 11, 16, 18, 17, 4, 120644), 7433, 14),
    ]
    assert {(r["provider"], r["model"], r["cache_read_tokens"]) for r in rows} == {("openai", "gpt-4o", 0)}


def test_azure_times_stay_utc_whatever_the_time_zone_option(warehouse):
    import_file(warehouse, AZURE, options=Options(provider="openai", model="gpt-4o", tz="America/New_York"))
    first = next(iter(mapped(warehouse, "azure-trace").values()))
    assert first["ts"] == utc(2023, 11, 16, 18, 17, 3, 979960)


@pytest.mark.slow
def test_azure_without_a_model_rejects_every_row_saying_to_pass_model(warehouse):
    res = import_file(warehouse, AZURE)
    assert (res.added, res.rejected) == (0, 4)
    assert {reason for _, reason in rejected(warehouse, res.import_id)} == {
        "missing model (pass --model to attribute the file)"
    }


@pytest.mark.slow
def test_azure_derived_ids_make_reimport_a_no_op(warehouse):
    import_file(warehouse, AZURE, options=GPT_4O)
    again = import_file(warehouse, AZURE, options=GPT_4O)
    assert (again.added, again.duplicates) == (0, 4)


@pytest.mark.slow
def test_azure_bad_rows_are_recorded(warehouse, tmp_path):
    f = write_lines(tmp_path / "trace.csv", [
        "TIMESTAMP,ContextTokens,GeneratedTokens",
        "2023-11-16 18:17:03.9799600,4808,10",
        "2023-11-16 18:17:04.0319600,3180,x",
        "16/11/2023 18:17,3180,8",
        "2023-11-16 18:17:04.1206440,7433,14",
    ], end="\r\n")
    res = import_file(warehouse, f, options=GPT_4O)
    assert (res.added, res.rejected) == (2, 2)
    assert rejected(warehouse, res.import_id) == [
        (3, "output is not a whole number: x"),
        (4, "unparsable time: 16/11/2023 18:17"),
    ]


@pytest.mark.slow
def test_mooncake_cache_reads_come_from_repeated_block_prefixes(warehouse):
    res = import_file(warehouse, MOONCAKE, options=GPT_4O)
    assert (res.format, res.added, res.rejected) == ("mooncake", 5, 0)
    rows = list(mapped(warehouse, "mooncake-trace").values())
    assert [(r["cache_read_tokens"], r["input_tokens"], r["output_tokens"]) for r in rows] == [
        (0, 1300, 20),             # [1,2,3]: nothing seen before
        (2 * 512, 1700 - 1024, 31),  # [1,2,4,5]: 1 and 2 seen, 4 new: the prefix stops there
        (900, 0, 12),              # [1,2]: both seen, 1024 capped at the 900-token prompt
        (0, 2000, 64),             # [6,2,3,7]: the first block is new, so nothing is read
        (1500, 0, 8),              # [1,2,4]: all seen, 1536 capped at 1500
    ]


@pytest.mark.slow
def test_mooncake_times_count_from_the_documented_base(warehouse):
    import_file(warehouse, MOONCAKE, options=GPT_4O)
    times = [r["ts"] for r in mapped(warehouse, "mooncake-trace").values()]
    base = utc(2024, 1, 1)
    assert times == [base + timedelta(milliseconds=ms) for ms in (0, 1500, 3000, 4000, 61000)]


@pytest.mark.slow
def test_mooncake_bad_lines_are_recorded(warehouse, tmp_path):
    good = MOONCAKE.read_text(encoding="utf-8").splitlines()
    f = write_lines(tmp_path / "trace.jsonl", [
        good[0],
        json.dumps({"timestamp": 10, "input_length": "abc", "output_length": 5, "hash_ids": [9]}),
        json.dumps({"timestamp": "soon", "input_length": 100, "output_length": 5, "hash_ids": [1]}),
        '{"timestamp": 20, "input_length": 512',
        good[2],
    ])
    res = import_file(warehouse, f, options=GPT_4O)
    assert (res.added, res.rejected) == (2, 3)
    assert rejected(warehouse, res.import_id) == [
        (2, "prompt_tokens is not a whole number: abc"),
        (3, "unparsable time: soon"),
        (4, "not a valid JSON object"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "rows", "first", "last"),
    [
        ("AzureLLMInferenceTrace_code.csv", 8_819, utc(2023, 11, 16, 18, 15), utc(2023, 11, 16, 19, 15)),
        ("AzureLLMInferenceTrace_conv.csv", 19_366, utc(2023, 11, 16, 18, 15), utc(2023, 11, 16, 19, 15)),
    ],
    ids=["code", "conv"],
)
def test_azure_fixture_imports_every_row_once(warehouse, traces, name, rows, first, last):
    res = import_file(warehouse, traces / name, options=GPT_4O)
    assert (res.format, res.added, res.duplicates, res.rejected) == ("azure-trace", rows, 0, 0)
    lo, hi, n = warehouse.query("SELECT min(ts), max(ts), count(*) FROM requests").fetchone()
    assert first <= lo < hi < last and n == rows
    again = import_file(warehouse, traces / name, options=GPT_4O)
    assert (again.added, again.duplicates) == (0, rows)


@pytest.mark.slow
def test_azure_fixture_is_priced_on_the_chosen_route(warehouse, traces):
    import_file(warehouse, traces / "AzureLLMInferenceTrace_code.csv", options=GPT_4O)
    cost, unpriced, inp, out = warehouse.query(
        f"SELECT sum(cost), count(*) FILTER (WHERE unpriced), sum(input_tokens), sum(output_tokens) "
        f"FROM ({warehouse.priced_sql()})"
    ).fetchone()
    assert unpriced == 0
    assert cost == (inp * Decimal("2.5") + out * 10) / 1_000_000  # gpt-4o: 2.50 in, 10.00 out per 1M


@pytest.mark.slow
def test_mooncake_fixture_reads_37_4_percent_of_input_from_cache(warehouse, traces):
    res = import_file(warehouse, traces / "mooncake_conversation_trace.jsonl", options=GPT_4O)
    assert (res.format, res.added, res.rejected) == ("mooncake", 12_031, 0)
    cached, total = warehouse.query(
        "SELECT sum(cache_read_tokens), sum(cache_read_tokens + input_tokens) FROM requests"
    ).fetchone()
    assert cached / total * 100 == pytest.approx(37.4, abs=0.1)
    again = import_file(warehouse, traces / "mooncake_conversation_trace.jsonl", options=GPT_4O)
    assert (again.added, again.duplicates) == (0, 12_031)
