"""Every check a record goes through, one bad row per reason, each beside good rows on the edge.

Good rows skip the chain of reasons in one conjunction (dashboard/ingest/sql.py): these rows
sit on each check's boundary, so a conjunction that let a bad row through, or stopped a
good one, shows here. The same rows run as CSV and as JSON lines.
"""

import json
from decimal import Decimal

import pytest

from dashboard.ingest import Options, import_file

COLUMNS = ["request_id", "timestamp", "model", "request_count", "prompt_tokens", "cached_tokens",
           "cache_write_tokens", "cw1h", "completion_tokens", "reasoning_tokens", "cost", "project"]
GOOD = dict(zip(COLUMNS, ["g", "2026-11-01T10:00:00Z", "deepseek-v4-flash", "1", "100", "60", "30", "10", "20",
                          "20", "0.001", "web"], strict=True))

# (request id, changed fields, reason or None for a good row)
CASES = [
    ("good-edges", {}, None),  # cached + written = prompt, reasoning = output
    ("good-blank-cost", {"cost": ""}, None),
    ("good-padded", {"project": "  web  ", "model": " deepseek-v4-flash "}, None),
    ("good-2099", {"timestamp": "2099-12-31T23:59:59Z"}, None),
    ("bad-requests", {"request_count": "-1"}, "requests is negative: -1"),
    ("bad-prompt", {"prompt_tokens": "-1"}, "prompt_tokens is negative: -1"),
    ("bad-read", {"cached_tokens": "-1"}, "cache_read is negative: -1"),
    ("bad-write", {"cache_write_tokens": "-1"}, "cache_write is negative: -1"),
    ("bad-write-1h", {"cw1h": "-1"}, "cache_write_1h is negative: -1"),
    ("bad-output", {"completion_tokens": "-1", "reasoning_tokens": "0"}, "output is negative: -1"),
    ("bad-reasoning", {"reasoning_tokens": "-1"}, "reasoning is negative: -1"),
    ("bad-fraction", {"completion_tokens": "12.5"}, "output is not a whole number: 12.5"),
    ("bad-cached", {"cached_tokens": "61"}, "cached tokens (101) exceed prompt tokens (100)"),
    ("bad-thinking", {"reasoning_tokens": "21"}, "reasoning tokens (21) exceed output tokens (20)"),
    ("bad-cost", {"cost": "abc"}, "billed cost is not a number: abc"),
    ("bad-infinity", {"timestamp": "infinity"}, "unparsable time: infinity"),
    ("bad-1999", {"timestamp": "1999-12-31T23:59:59Z"},
     "time out of range (not in 2000 to 2099): 1999-12-31T23:59:59Z"),
    ("bad-2100", {"timestamp": "2100-01-01T00:00:00Z"},
     "time out of range (not in 2000 to 2099): 2100-01-01T00:00:00Z"),
    ("bad-no-time", {"timestamp": " "}, "missing time"),
    ("bad-no-model", {"model": "  "}, "missing model (pass --model to attribute the file)"),
]

MAPPING = {"cw1h": "cache_write_1h"}


def records():
    for rid, changes, _ in CASES:
        yield {**GOOD, "request_id": rid, **changes}


def write_csv(path):
    text = ",".join(COLUMNS) + "\n" + "".join(",".join(r[c] for c in COLUMNS) + "\n" for r in records())
    path.write_text(text, encoding="utf-8")
    return path


def write_lines(path):
    path.write_text("".join(json.dumps(r) + "\n" for r in records()), encoding="utf-8")
    return path


@pytest.mark.parametrize("write", [write_csv, write_lines], ids=["csv", "jsonl"])
def test_each_bad_row_gets_its_reason_and_each_edge_row_lands(warehouse, tmp_path, write):
    path = write(tmp_path / ("rows.csv" if write is write_csv else "rows.jsonl"))
    # The prompt tokens include the cached ones here: a row with more cached than prompt tokens is bad.
    res = import_file(warehouse, path, options=Options(mapping=MAPPING, cached_included=True))
    good = [rid for rid, _, reason in CASES if reason is None]
    assert (res.added, res.rejected) == (len(good), len(CASES) - len(good))
    got = dict(warehouse.query("SELECT line, reason FROM rejected_rows").fetchall())
    first = 2 if write is write_csv else 1
    assert got == {first + i: reason for i, (_, _, reason) in enumerate(CASES) if reason is not None}
    rows = warehouse.query(
        "SELECT request_id, model, project, input_tokens, cache_read_tokens, cache_write_tokens, "
        "cache_write_1h_tokens, output_tokens, reasoning_tokens, billed_cost, currency, request_count "
        "FROM requests ORDER BY request_id").fetchall()
    assert [r[0] for r in rows] == sorted(good)
    edges = {r[0]: r[1:] for r in rows}
    assert edges["good-edges"] == ("deepseek-v4-flash", "web", 0, 60, 30, 10, 20, 20, Decimal("0.001"), "USD", 1)
    assert edges["good-blank-cost"][-3:] == (None, None, 1)  # no billed cost: no currency either
    assert edges["good-padded"][:2] == ("deepseek-v4-flash", "web")

