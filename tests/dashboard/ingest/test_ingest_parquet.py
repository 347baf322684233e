"""Generic Parquet exports: detected by their magic bytes, mapped by header name, bad rows kept.

Parquet is binary by design, so it must be recognised before the test that turns away binary
junk. The files are written with pyarrow, typed as an export would type them (times as
timestamps, tokens as integers, cost as a decimal), the way a warehouse dump of request
logs looks.

A token column of floats may hold NaN, the missing-value marker of pandas and NumPy float
data (pandas docs, "Working with missing data"). pandas' own `to_parquet` writes it as null,
but writers that keep NaN apart from null (Arrow arrays built from NumPy data, polars, Spark)
store NaN itself, which reads as the text `nan`; some CSV writers spell it `NaN`.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import rejected, write_lines

from dashboard.errors import ImportFailed
from dashboard.ingest import import_file
from dashboard.ingest.base import Options
from dashboard.ingest.importer import sample_file

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def _table(n: int, bad: dict[int, dict] | None = None) -> pa.Table:
    rows = [
        {"request_id": f"req-{i}", "timestamp": T0.replace(minute=i % 60), "model": "deepseek-v4-flash",
         "prompt_tokens": 1000 + i, "cached_tokens": i % 500, "completion_tokens": 50 + i % 7,
         "cost": Decimal(f"0.{i % 1000:06d}")}
        for i in range(n)
    ]
    for i, change in (bad or {}).items():
        rows[i].update(change)
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("request_id", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")), ("model", pa.string()),
        ("prompt_tokens", pa.int64()), ("cached_tokens", pa.int64()), ("completion_tokens", pa.int64()),
        ("cost", pa.decimal128(18, 6)),
    ]))


@pytest.mark.slow
@pytest.mark.parametrize("compression", ["snappy", "zstd", "none"])
def test_a_parquet_export_is_detected_and_mapped_not_turned_away_as_binary(warehouse, tmp_path, compression):
    f = tmp_path / f"requests-{compression}.parquet"
    pq.write_table(_table(3000), f, compression=compression)
    assert sample_file(warehouse, f).shape == "parquet"
    res = import_file(warehouse, f)
    assert (res.format, res.added, res.rejected, res.status) == ("generic", 3000, 0, "complete")
    row = warehouse.query(
        "SELECT ts, model, input_tokens, cache_read_tokens, output_tokens, billed_cost, currency "
        "FROM requests WHERE request_id = 'req-1234'"
    ).fetchone()
    # prompt_tokens includes cached_tokens by default, as the OpenAI-style fields it is named after.
    assert row == (T0.replace(minute=1234 % 60), "deepseek-v4-flash", 2234 - 234, 234, 50 + 1234 % 7,
                   Decimal("0.000234"), "USD")


@pytest.mark.slow
def test_bad_parquet_rows_are_kept_with_record_number_text_and_reason(warehouse, tmp_path):
    f = tmp_path / "with-bad-rows.parquet"
    pq.write_table(_table(50, bad={4: {"prompt_tokens": -3}, 40: {"model": None}}), f)
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (48, 2)
    assert rejected(warehouse, res.import_id) == [
        (5, "prompt_tokens is negative: -3"),
        (41, "missing model (pass --model to attribute the file)"),
    ]
    raws = [json.loads(r[0]) for r in warehouse.query(
        "SELECT raw FROM rejected_rows WHERE import_id = ? ORDER BY line", [res.import_id]).fetchall()]
    assert [(r["request_id"], r["prompt_tokens"], r["model"]) for r in raws] == [
        ("req-4", -3, "deepseek-v4-flash"), ("req-40", 1040, None)]
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates, again.rejected) == (0, 48, 2)
    assert warehouse.query("SELECT count(*) FROM requests").fetchone()[0] == 48


def test_naive_parquet_times_are_read_in_the_named_zone(warehouse, tmp_path):
    f = tmp_path / "naive.parquet"
    table = pa.table({"request_id": ["a"], "timestamp": pa.array([datetime(2026, 10, 1, 9, 30)], pa.timestamp("us")),
                      "model": ["gpt-4o-mini"], "prompt_tokens": [10], "completion_tokens": [2]})
    pq.write_table(table, f)
    assert import_file(warehouse, f, options=Options(tz="Europe/Paris")).added == 1
    assert warehouse.query("SELECT ts FROM requests").fetchone()[0] == datetime(2026, 10, 1, 7, 30, tzinfo=UTC)


def test_a_truncated_parquet_file_changes_nothing(warehouse, tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(_table(2000), good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ImportFailed, match=r"cut\.parquet: cannot be read"):
        import_file(warehouse, cut)
    assert warehouse.query("SELECT count(*) FROM requests").fetchone()[0] == 0
    assert warehouse.query("SELECT count(*) FROM rejected_rows").fetchone()[0] == 0


@pytest.mark.slow
def test_parquet_list_tags_epoch_times_and_typed_columns_map_like_their_text(warehouse, tmp_path):
    f = tmp_path / "typed.parquet"
    pq.write_table(pa.table({
        "request_id": ["a", "b", "c"],
        "created_at": pa.array([1790000000000, 1790000060000, 1790000120000], pa.int64()),  # epoch milliseconds
        "model": ["gpt-4o"] * 3, "prompt_tokens": [10, 20, 30], "completion_tokens": [1, 2, 3],
        "tags": pa.array([["nightly", "eval"], None, []], pa.list_(pa.string())),
        "latency_ms": [812.5, None, 3.0], "user": ["u1", None, "u3"],
    }), f)
    assert import_file(warehouse, f).added == 3
    got = warehouse.query('SELECT request_id, ts, tags, latency_ms, "user" FROM requests ORDER BY 1').fetchall()
    assert got == [
        ("a", datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC), ["nightly", "eval"], 812.5, "u1"),
        ("b", datetime(2026, 9, 21, 14, 14, 20, tzinfo=UTC), None, None, None),
        ("c", datetime(2026, 9, 21, 14, 15, 20, tzinfo=UTC), [], 3.0, "u3"),
    ]
    text = tmp_path / "text-tags.parquet"  # tags kept as text, comma-separated or as a JSON array
    pq.write_table(pa.table({"request_id": ["d", "e"], "created_at": ["2026-10-01T00:00:00Z"] * 2,
                             "model": ["gpt-4o"] * 2, "prompt_tokens": [1, 1], "completion_tokens": [1, 1],
                             "tags": ["x, y", '["p", "q"]']}), text)
    assert import_file(warehouse, text).added == 2
    assert warehouse.query("SELECT tags FROM requests WHERE request_id IN ('d', 'e') ORDER BY request_id").fetchall() == [
        (["x", "y"],), (["p", "q"],)]


@pytest.mark.slow
def test_parquet_rows_without_ids_are_named_by_their_record_not_their_position(warehouse, tmp_path):
    table = _table(20).drop_columns(["request_id"])
    first, later = tmp_path / "first.parquet", tmp_path / "later.parquet"
    pq.write_table(table.slice(0, 15), first)
    pq.write_table(table.slice(5, 15), later)  # an export starting five rows on
    assert import_file(warehouse, first).added == 15
    res = import_file(warehouse, later)
    assert (res.added, res.duplicates) == (5, 10)
    ids = [r[0] for r in warehouse.query("SELECT request_id FROM requests").fetchall()]
    assert len(set(ids)) == 20 and all(i.startswith("h") for i in ids)


@pytest.mark.slow
def test_nan_in_a_token_column_is_a_missing_count(warehouse, tmp_path):
    nan = np.nan
    f = tmp_path / "float-tokens.parquet"
    pq.write_table(pa.table({
        "request_id": ["p1", "p2", "p3", "p4"],
        "timestamp": pa.array([T0, T0.replace(hour=13), T0.replace(hour=14), None], pa.timestamp("us", tz="UTC")),
        "model": ["gpt-4o"] * 4,
        # NumPy arrays: Arrow keeps their NaN as NaN (pandas' to_parquet would turn it into null).
        "input_tokens": pa.array(np.array([100.0, 200.0, nan, 5.0])),
        "cached_tokens": pa.array(np.array([nan, 50.0, nan, 0.0])),
        "output_tokens": pa.array(np.array([5.0, nan, 7.0, 1.0])),
        "request_count": pa.array(np.array([nan, 3.0, 1.0, 1.0])),
    }), f)
    assert pq.read_table(f).column("cached_tokens").null_count == 0  # NaN, not null
    res = import_file(warehouse, f)
    # NaN counts as a blank would: no tokens, and one request. A missing time is still rejected.
    assert (res.added, res.rejected) == (3, 1)
    assert rejected(warehouse, res.import_id) == [(4, "missing time")]
    assert warehouse.query(
        "SELECT request_id, input_tokens, cache_read_tokens, output_tokens, request_count FROM requests ORDER BY 1"
    ).fetchall() == [("p1", 100, 0, 5, 1), ("p2", 150, 50, 0, 3), ("p3", 0, 0, 7, 1)]


@pytest.mark.slow
def test_nan_in_a_csv_token_column_is_a_missing_count_and_other_words_are_still_rejected(warehouse, tmp_path):
    f = write_lines(tmp_path / "export.csv", [
        "request_id,timestamp,model,prompt_tokens,cached_tokens,completion_tokens",
        "c1,2026-10-01T08:00:00Z,gpt-4o,100,NaN,5",
        "c2,2026-10-01T08:01:00Z,gpt-4o,100, nan ,-nan",
        "c3,2026-10-01T08:02:00Z,gpt-4o,100,none,5",
        "c4,NaN,gpt-4o,100,0,5",
    ])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 2)
    assert rejected(warehouse, res.import_id) == [(4, "cache_read is not a whole number: none"),
                                                  (5, "unparsable time: NaN")]
    assert warehouse.query("SELECT request_id, input_tokens, cache_read_tokens, output_tokens FROM requests "
                           "ORDER BY 1").fetchall() == [("c1", 100, 0, 5), ("c2", 100, 0, 0)]
