"""The import path every format shares: exactly once, nothing lost, a broken file changes nothing.

OpenAI-style lines follow the chat completions reference (`usage.prompt_tokens` includes
`usage.prompt_tokens_details.cached_tokens`) and DeepSeek's API docs (hit + miss).
"""

import gzip
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from support.paths import REPO

from dashboard.errors import ImportFailed
from dashboard.ingest import Options, import_file
from dashboard.warehouse import Warehouse


def line(i, prompt=1000, cached=200, completion=50, model="deepseek-v4-flash", created=1790000000, **extra):
    body = {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": created + i if isinstance(created, int) else created, "model": model,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "prompt_tokens_details": {"cached_tokens": cached}}}
    body.update(extra)
    return json.dumps(body)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rows(wh, sql="SELECT request_id, input_tokens, cache_read_tokens, output_tokens FROM requests ORDER BY 1"):
    return wh.query(sql).fetchall()


@pytest.mark.slow
def test_openai_lines_map_to_disjoint_buckets(warehouse, tmp_path):
    f = write(tmp_path / "log.jsonl", [line(1), line(2, prompt=102056, cached=94464, completion=252)])
    res = import_file(warehouse, f, options=Options(provider="ourtoken"))
    assert (res.format, res.added, res.duplicates, res.rejected) == ("openai-jsonl", 2, 0, 0)
    assert rows(warehouse) == [("chatcmpl-1", 800, 200, 50), ("chatcmpl-2", 7592, 94464, 252)]
    cost = warehouse.query(f"SELECT cost FROM ({warehouse.priced_sql()}) WHERE request_id = 'chatcmpl-2'").fetchone()[0]
    assert cost == (7592 * Decimal("0.112") + 94464 * Decimal("0.002") + 252 * Decimal("0.224")) / 1_000_000


@pytest.mark.slow
def test_reimport_and_overlapping_export_add_nothing(warehouse, tmp_path):
    first = write(tmp_path / "a.jsonl", [line(i) for i in range(5)])
    overlap = write(tmp_path / "b.jsonl", [line(i) for i in range(3, 8)])
    assert import_file(warehouse, first).added == 5
    again = import_file(warehouse, first)
    assert (again.added, again.duplicates) == (0, 5)
    res = import_file(warehouse, overlap)
    assert (res.added, res.duplicates) == (3, 2)
    assert warehouse.query("SELECT count(*) FROM requests").fetchone()[0] == 8
    register = warehouse.query("SELECT rows_added, rows_duplicate, status FROM imports ORDER BY import_id").fetchall()
    assert register == [(5, 0, "complete"), (0, 5, "complete"), (3, 2, "complete")]


@pytest.mark.slow
def test_bad_records_are_kept_with_line_and_reason_and_good_ones_land(warehouse, tmp_path):
    f = write(tmp_path / "mixed.jsonl", [
        line(1),
        '{"id": "x", "truncated": ',
        line(3, completion="lots"),
        line(4, prompt=10, cached=11),
        line(5, prompt=-5, cached=0),
        json.dumps({"id": "no-time", "model": "gpt-4o", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}),
        line(7, created="yesterday-ish"),
        line(8, model=None),
        line(9),
    ])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 7)
    rejected = warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall()
    assert rejected == [
        (2, "not a valid JSON object"),
        (3, "output is not a whole number: lots"),
        (4, "cached tokens (11) exceed prompt tokens (10)"),
        (5, "prompt_tokens is negative: -5"),
        (6, "missing time"),
        (7, "unparsable time: yesterday-ish"),
        (8, "missing model (pass --model to attribute the file)"),
    ]
    raw = warehouse.query("SELECT raw FROM rejected_rows WHERE line = 3").fetchone()[0]
    assert json.loads(raw)["id"] == "chatcmpl-3"


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


# Cut at 70 %: DuckDB reads a cut zstd stream's whole blocks without a word (thousands of
# good rows), so only the check of the stream itself refuses it.
_LONG_LOG = ("\n".join(line(i) for i in range(20000)) + "\n").encode()


@pytest.mark.slow
@pytest.mark.parametrize("junk", [
    pytest.param(b"\x00\x01\x02\xff\xfe" * 2000, id="binary"),
    pytest.param(gzip.compress(("\n".join(line(i) for i in range(2000))).encode())[:-400], id="truncated-gzip"),
    pytest.param(_zstd(_LONG_LOG)[: len(_zstd(_LONG_LOG)) * 7 // 10], id="truncated-zstd"),
    pytest.param(_zstd(_LONG_LOG)[:200], id="zstd-cut-in-its-first-block"),
    pytest.param(b"", id="empty"),
])
def test_a_file_that_cannot_be_read_changes_nothing(warehouse, tmp_path, junk):
    good = write(tmp_path / "good.jsonl", [line(1)])
    import_file(warehouse, good)
    before = warehouse.query("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM imports), "
                             "(SELECT count(*) FROM rejected_rows)").fetchone()
    suffix = {b"\x1f\x8b": ".gz", b"\x28\xb5": ".zst"}.get(junk[:2], "")
    bad = tmp_path / f"bad.jsonl{suffix}"
    bad.write_bytes(junk)
    with pytest.raises(ImportFailed, match=r"bad\.jsonl") as failed:
        import_file(warehouse, bad)
    if suffix == ".zst":
        assert "the zstd stream is cut short or damaged" in str(failed.value)
    after = warehouse.query("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM imports), "
                            "(SELECT count(*) FROM rejected_rows)").fetchone()
    assert after == before


def test_a_folder_or_a_missing_path_is_named_for_what_it_is(warehouse, tmp_path):
    with pytest.raises(ImportFailed, match="is a folder; pass the files in it"):
        import_file(warehouse, tmp_path)
    with pytest.raises(ImportFailed, match="no such file"):
        import_file(warehouse, tmp_path / "nope.jsonl")


@pytest.mark.slow
def test_compressed_files_are_read_by_duckdb(warehouse, tmp_path):
    gz = tmp_path / "log.jsonl.gz"
    gz.write_bytes(gzip.compress(("\n".join(line(i) for i in range(50)) + "\n").encode()))
    assert import_file(warehouse, gz).added == 50
    zst = tmp_path / "log.jsonl.zst"
    zst.write_bytes(_zstd(_LONG_LOG))
    assert import_file(warehouse, zst).added == 20000 - 50


@pytest.mark.slow
def test_naive_times_are_utc_unless_tz_names_their_zone(warehouse, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\n"
                   "a,2026-11-01 09:00:00,gpt-4o,10,1\n"
                   "b,2026-11-01T09:00:00+02:00,gpt-4o,10,1\n")
    import_file(warehouse, csv)
    other = tmp_path / "t2.csv"
    # --tz names the zone of naive times only: a time that names its own zone is read in it
    # (DuckDB's cast to a naive time would drop the name without a word), and one whose
    # trailing word names no zone ("PM") is rejected rather than read as 09:00.
    other.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\nc,2026-11-01 09:00:00,gpt-4o,10,1\n"
                     "d,2026-11-01 09:00:00 UTC,gpt-4o,10,1\ne,2026-11-01 09:00:00 Europe/Berlin,gpt-4o,10,1\n"
                     "f,2026-11-01T09:00:00-07:00,gpt-4o,10,1\ng,2026-11-01,gpt-4o,10,1\n"
                     "h,2026-11-01 09:00:00 PM,gpt-4o,10,1\n"
                     # daylight saving: 02:30 on 8 March does not exist in New York, 01:30 on 1 November twice
                     "i,2026-03-08 02:30:00,gpt-4o,10,1\nj,2026-11-01 01:30:00,gpt-4o,10,1\n"
                     # an abbreviation names no zone for sure (DuckDB reads CST as Chicago's, BST as
                     # Bangladesh's): --tz decides, as for a naive time
                     "k,2026-07-01 10:00:00 EDT,gpt-4o,10,1\nl,2026-01-15 10:00:00 EST,gpt-4o,10,1\n")
    result = import_file(warehouse, other, options=Options(tz="America/New_York"))
    got = dict(warehouse.query("SELECT request_id, ts FROM requests").fetchall())
    assert got["a"] == datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert got["b"] == datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert got["c"] == datetime(2026, 11, 1, 14, tzinfo=UTC)  # 09:00 EST (UTC-5): DST ended at 06:00 UTC that day
    assert got["d"] == datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert got["e"] == datetime(2026, 11, 1, 8, tzinfo=UTC)  # CET (UTC+1)
    assert got["f"] == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert got["g"] == datetime(2026, 11, 1, 4, tzinfo=UTC)  # midnight EDT (UTC-4), before DST ended
    assert result.rejected == 1 and "h" not in got
    assert got["i"] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # as if the clocks had moved: 03:30 EDT
    assert got["j"] == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # the second 01:30, in EST
    assert (got["k"], got["l"]) == (datetime(2026, 7, 1, 14, tzinfo=UTC), datetime(2026, 1, 15, 15, tzinfo=UTC))
    shanghai = tmp_path / "t3.csv"
    shanghai.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\n"
                        "m,2026-10-01 07:30:00 CST,gpt-4o,10,1\n")
    import_file(warehouse, shanghai, options=Options(tz="Asia/Shanghai"))
    assert warehouse.query("SELECT ts FROM requests WHERE request_id = 'm'").fetchone()[0] == datetime(
        2026, 9, 30, 23, 30, tzinfo=UTC)  # China Standard Time: the last day of September, not October


@pytest.mark.parametrize("tz", [None, "Asia/Shanghai"])
def test_an_offset_after_a_space_is_read_as_go_and_others_print_it(warehouse, tmp_path, tz):
    # Go's time.Time.String(): '2006-01-02 15:04:05.999999999 -0700 MST', with the monotonic
    # clock's reading after it for a time.Now(); DuckDB's own cast reads none of these. The
    # offset decides, whatever --tz says.
    csv = tmp_path / "go.csv"
    csv.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\n"
                   "a,2026-11-01 10:00:00 +0000 UTC,gpt-4o,10,1\n"
                   "b,2026-11-01 10:00:00.123456789 -0700 MST,gpt-4o,10,1\n"
                   "c,2026-11-01 10:00:00 +08:00,gpt-4o,10,1\n"
                   "d,2026-11-01 10:00:00.5 +0000 UTC m=+0.000012345,gpt-4o,10,1\n"
                   "e,2026-11-01 10:00:00 Z,gpt-4o,10,1\n"
                   "f,soon +0800,gpt-4o,10,1\n")
    res = import_file(warehouse, csv, options=Options(tz=tz))
    assert (res.added, res.rejected) == (5, 1)
    got = dict(warehouse.query("SELECT request_id, ts FROM requests").fetchall())
    assert got == {
        "a": datetime(2026, 11, 1, 10, tzinfo=UTC), "b": datetime(2026, 11, 1, 17, 0, 0, 123456, tzinfo=UTC),
        "c": datetime(2026, 11, 1, 2, tzinfo=UTC), "d": datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC),
        "e": datetime(2026, 11, 1, 10, tzinfo=UTC),
    }
    assert warehouse.query("SELECT reason FROM rejected_rows").fetchone()[0] == "unparsable time: soon +0800"


@pytest.mark.slow
@pytest.mark.parametrize("tz", [None, "Europe/Berlin"])
def test_words_and_placeholder_times_are_rejected_not_filed_under_another_century(warehouse, tmp_path, tz):
    # DuckDB casts 'infinity', '-infinity', 'inf' and 'epoch' to timestamps, and a zero time
    # (0001-01-01, Go's default) parses fine: kept, such rows would fall out of every month.
    csv = tmp_path / "t.csv"
    csv.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\n"
                   "a,infinity,gpt-4o,10,1\nb,-infinity,gpt-4o,10,1\nc, Inf ,gpt-4o,10,1\nd,EPOCH,gpt-4o,10,1\n"
                   "e,0001-01-01T00:00:00Z,gpt-4o,10,1\nf,2100-01-01 12:00:00,gpt-4o,10,1\n"
                   "g,2000-01-01 12:00:00,gpt-4o,10,1\nh,2026-11-01 09:00:00,gpt-4o,10,1\n"
                   "i,1790000000,gpt-4o,10,1\nj,100000000,gpt-4o,10,1\n")
    res = import_file(warehouse, csv, options=Options(tz=tz))
    assert (res.added, res.rejected) == (3, 7)
    out_of_range = "time out of range (not in 2000 to 2099): "
    assert warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (2, "unparsable time: infinity"), (3, "unparsable time: -infinity"), (4, "unparsable time:  Inf "),
        (5, out_of_range + "EPOCH"), (6, out_of_range + "0001-01-01T00:00:00Z"),
        (7, out_of_range + "2100-01-01 12:00:00"), (11, out_of_range + "100000000"),  # epoch seconds: 1973
    ]
    assert sorted(r[0] for r in warehouse.query("SELECT request_id FROM requests").fetchall()) == ["g", "h", "i"]


def test_a_daily_export_with_dates_only_is_read_in_the_named_zone(warehouse, tmp_path):
    f = tmp_path / "daily.csv"
    f.write_text("request_id,date,model,prompt_tokens,completion_tokens\n"
                 "d1,2026-11-02,gpt-4o,10,1\nd2,1793577600,gpt-4o,10,1\n")
    import_file(warehouse, f, options=Options(tz="Europe/Berlin"))
    got = dict(warehouse.query("SELECT request_id, ts FROM requests").fetchall())
    assert got["d1"] == datetime(2026, 11, 1, 23, tzinfo=UTC)  # midnight in Berlin (UTC+1)
    assert got["d2"] == datetime(2026, 11, 2, tzinfo=UTC)  # epoch seconds carry no zone


def test_gateway_history_export_imports_as_generic_csv(warehouse, tmp_path):
    # The OurToken history export: daily rows with a request count, input/output/cache read tokens, spend.
    f = tmp_path / "ourtoken-history.csv"
    f.write_text("Date,Model,Requests,Input Tokens,Output Tokens,Cache Read Tokens,Spend (USD)\n"
                 "2026-11-01,deepseek-v4-flash,120,900000,60000,700000,0.1234\n"
                 "2026-11-02,deepseek-v4-flash,80,500000,40000,100000,0.0712\n")
    res = import_file(warehouse, f, options=Options(
        provider="ourtoken", cached_included=False,
        mapping={"Requests": "request_count", "Spend (USD)": "cost"}))
    assert (res.format, res.added, res.rejected) == ("generic", 2, 0)
    got = warehouse.query("SELECT request_count, input_tokens, cache_read_tokens, output_tokens, billed_cost "
                          "FROM requests ORDER BY ts").fetchall()
    assert got == [(120, 900000, 700000, 60000, Decimal("0.1234")), (80, 500000, 100000, 40000, Decimal("0.0712"))]


@pytest.mark.slow
def test_map_and_cached_included_choose_the_semantics(warehouse, tmp_path):
    f = tmp_path / "custom.csv"
    f.write_text("when;which;in;out;hit\n2026-11-01T00:00:00Z;gpt-4o;1000;10;400\n")
    mapping = {"when": "time", "which": "model", "in": "input_tokens", "out": "output_tokens",
               "hit": "cache_read_tokens"}
    import_file(warehouse, f, options=Options(mapping=mapping, cached_included=True, source="custom-a"))
    import_file(warehouse, f, options=Options(mapping=mapping, cached_included=False, source="custom-b"))
    got = warehouse.query("SELECT source, input_tokens, cache_read_tokens FROM requests ORDER BY source").fetchall()
    assert got == [("custom-a", 600, 400), ("custom-b", 1000, 400)]


def test_map_targets_are_the_fields_the_error_lists(warehouse, tmp_path):
    """The one-hour cache write is a --map target (and the error's list says so); the reader's
    own columns are not."""
    f = tmp_path / "writes.csv"
    f.write_text("when,which,in,w1h,out\n2026-11-01T00:00:00Z,claude-sonnet-4-5,1000,300,10\n")
    mapping = {"when": "time", "which": "model", "in": "input_tokens", "w1h": "cache_write_1h", "out": "output"}
    import_file(warehouse, f, options=Options(mapping=mapping, cached_included=False, provider="anthropic"))
    assert warehouse.query("SELECT input_tokens, cache_write_1h_tokens FROM requests").fetchall() == [(1000, 300)]
    for target in ("parsed", "bogus"):
        with pytest.raises(ImportFailed, match=r"is not a field; use one of: .*cache_write_1h") as failed:
            import_file(warehouse, f, options=Options(mapping={"in": target}))
        assert "parsed" not in str(failed.value).split("use one of:")[1]


@pytest.mark.slow
def test_csv_rows_with_the_wrong_number_of_columns_are_rejected_with_their_line(warehouse, tmp_path):
    f = tmp_path / "ragged.csv"
    f.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\n"
                 "a,2026-11-01T00:00:00Z,gpt-4o,10,1\n"
                 "b,2026-11-01T00:00:00Z,gpt-4o\n"
                 "c,2026-11-01T00:00:00Z,gpt-4o,x,1\n"
                 "d,2026-11-01T00:00:00Z,gpt-4o,10,1\n")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (2, 2)
    got = warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall()
    assert got[0][0] == 3 and "MISSING COLUMNS" in got[0][1]
    assert got[1] == (4, "prompt_tokens is not a whole number: x")
    raw = warehouse.query("SELECT raw FROM rejected_rows WHERE line = 4").fetchone()[0]
    assert raw == "c,2026-11-01T00:00:00Z,gpt-4o,x,1"


@pytest.mark.slow
@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_rejected_row_of_a_delimited_file_keeps_its_text_with_the_files_delimiter(warehouse, tmp_path, sep):
    header = sep.join(["request_id", "timestamp", "model", "prompt_tokens", "completion_tokens", "cost"])
    bad = sep.join(["s2", "2026-11-01 10:00:00", "gpt-4o", "5", "1", "0,0012"])  # a decimal comma
    f = tmp_path / "semicolons.csv"
    f.write_text(f"{header}\n" + sep.join(["s1", "2026-11-01 10:00:00", "gpt-4o", "5", "1", "0.0012"])
                 + f"\n{bad}\n")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (1, 1)
    assert warehouse.query("SELECT line, raw, reason FROM rejected_rows").fetchall() == [
        (3, bad, "billed cost is not a number: 0,0012")]
    # A row without an id is still named by its comma-joined text, as earlier imports named it.
    unnamed = ["", "2026-11-02 10:00:00", "gpt-4o", "7", "1", ""]
    g = tmp_path / "unnamed.csv"
    g.write_text(f"{header}\n{sep.join(unnamed)}\n")
    assert import_file(warehouse, g).added == 1
    expected = "h" + hashlib.md5(",".join(unnamed).encode()).hexdigest()
    assert warehouse.query("SELECT request_id FROM requests WHERE request_id LIKE 'h%'").fetchall() == [(expected,)]


@pytest.mark.slow
def test_blank_lines_are_no_records_and_keep_later_line_numbers_right(warehouse, tmp_path):
    f = write(tmp_path / "gappy.jsonl", [line(1), "", "   ", line(4, prompt=-1, cached=0), "", line(6)])
    res = import_file(warehouse, f)
    assert (res.added, res.duplicates, res.rejected) == (2, 0, 1)
    assert warehouse.query("SELECT line, reason FROM rejected_rows").fetchall() == [
        (4, "prompt_tokens is negative: -1")]


@pytest.mark.slow
def test_rows_with_a_blank_id_get_ids_from_their_own_text(warehouse, tmp_path):
    f = tmp_path / "some-ids.csv"
    f.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\n"
                 "a,2026-11-01T00:00:00Z,gpt-4o,10,1\n"
                 ",2026-11-01T00:00:00Z,gpt-4o,20,1\n"
                 ",2026-11-01T00:00:00Z,gpt-4o,30,1\n")
    assert import_file(warehouse, f).added == 3
    assert import_file(warehouse, f).duplicates == 3
    ids = [r[0] for r in rows(warehouse)]
    assert ids[0] == "a" and len(set(ids)) == 3 and all(i.startswith("h") for i in ids[1:])


def test_rows_without_ids_get_stable_ids(warehouse, tmp_path):
    f = tmp_path / "noid.csv"
    f.write_text("timestamp,model,prompt_tokens,completion_tokens\n"
                 "2026-11-01T00:00:00Z,gpt-4o,10,1\n2026-11-01T00:00:00Z,gpt-4o,10,1\n")
    assert import_file(warehouse, f).added == 2  # two identical requests stay two
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates) == (0, 2)


@pytest.mark.slow
def test_columns_named_like_the_readers_own_keep_their_values_in_ids_and_rejected_text(warehouse, tmp_path):
    # `line`, `ok`, `raw`, `__record` and `ingest_record` are names the reader uses itself; a
    # file's columns of those names must still be what ids are derived from and rows show.
    header = "timestamp,model,prompt_tokens,completion_tokens,line,ok,raw,__record,ingest_record\n"
    rows_ = [f"2026-11-01T00:00:0{i}Z,gpt-4o,10,1,L{i},O{i},R{i},X{i},I{i}\n" for i in range(5)]
    first = tmp_path / "first.csv"
    first.write_text(header + "".join(rows_[:4]) + "2026-11-01T00:00:09Z,gpt-4o,-1,1,Lb,Ob,Rb,Xb,Ib\n")
    res = import_file(warehouse, first)
    assert (res.added, res.rejected) == (4, 1)
    assert warehouse.query("SELECT line, raw FROM rejected_rows").fetchall() == [
        (6, "2026-11-01T00:00:09Z,gpt-4o,-1,1,Lb,Ob,Rb,Xb,Ib")]
    expected = "h" + hashlib.md5(rows_[0].strip().encode()).hexdigest() + "-1"
    assert expected in {r[0] for r in rows(warehouse)}
    # A later export starting one row on: ids follow the rows' text, not their position.
    later = tmp_path / "later.csv"
    later.write_text(header + "".join(rows_[1:]))
    res = import_file(warehouse, later)
    assert (res.added, res.duplicates) == (1, 3)


@pytest.mark.slow
def test_cli_import_and_report_json(tmp_path):
    db = tmp_path / "cli.duckdb"
    f = write(tmp_path / "log.jsonl", [line(i, created=1793491200) for i in range(3)])  # 2026-11-01
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\xff" * 100)
    out = subprocess.run([sys.executable, "-m", "dashboard", "import", str(f), str(junk), "--db", str(db),
                          "--provider", "ourtoken", "--json"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    records = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["status"] for r in records] == ["complete", "failed"]
    assert [r["updated"] for r in records] == [0, 0]  # an added key: requests logged mid-stream, updated
    assert {k: records[0][k] for k in ("format", "added", "duplicates", "rejected")} == {
        "format": "openai-jsonl", "added": 3, "duplicates": 0, "rejected": 0}
    rep = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", "2026-11", "--db", str(db),
                          "--json"], cwd=REPO, capture_output=True, text=True)
    assert rep.returncode == 0, rep.stderr
    data = json.loads(rep.stdout)
    per_request = (800 * Decimal("0.112") + 200 * Decimal("0.002") + 50 * Decimal("0.224")) / 1_000_000
    assert Decimal(data["total_usd"]) == 3 * per_request
    assert data["rows"][0]["key"] == "deepseek-v4-flash"
    assert set(data["rows"][0]) >= {"key", "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens",
                                    "output_tokens", "cost_usd", "billed_usd"}
    assert (data["month"], data["timezone"], data["unpriced_requests"], data["billed_usd"]) == (
        "2026-11", "UTC", 0, None)


@pytest.mark.slow
def test_report_refuses_a_missing_warehouse_and_a_malformed_month(tmp_path):
    """A mistyped --db is an error, not an empty warehouse created on the spot and reported as $0.00;
    a month must be YYYY-MM ('2026-1' was read as January)."""
    missing = tmp_path / "typo" / "usage.duckdb"
    out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", "2026-11", "--db", str(missing)],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 1 and "no warehouse at" in out.stderr and str(missing) in out.stderr
    assert not missing.parent.exists()
    db = tmp_path / "usage.duckdb"
    Warehouse.open(db).close()
    for month in ("2026-1", "2026-13", "26-11", "2026-11-01", "9999-12", "1999-12"):
        out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", month, "--db", str(db)],
                             cwd=REPO, capture_output=True, text=True)
        assert out.returncode == 2 and f"month {month!r} is" in out.stderr, (month, out.stderr)  # a usage error
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", "2026-11", "--tz", "Mars/Olympus",
                          "--db", str(db)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and "unknown time zone 'Mars/Olympus'" in out.stderr


@pytest.mark.slow
def test_a_report_by_day_lists_the_days_in_calendar_order(warehouse, tmp_path):
    from dashboard.warehouse.queries import month_report

    nov1 = 1793491200  # 2026-11-01 00:00 UTC; line(i) adds i seconds, taken off again here
    times = {1: nov1 + 1800, 2: nov1 + 20 * 3600, 3: nov1 + 34 * 3600}  # Nov 1 00:30, Nov 1 20:00, Nov 2 10:00
    prompts = {1: 100, 2: 200, 3: 90000}  # the last request costs the most, so by cost Nov 2 would lead
    lines = [line(i, prompt=prompts[i], cached=0, created=times[i] - i) for i in (1, 2, 3)]
    import_file(warehouse, write(tmp_path / "days.jsonl", lines), options=Options(provider="ourtoken"))
    assert [(r["key"], r["requests"]) for r in month_report(warehouse, "2026-11", "day").rows] == [
        ("2026-11-01", 2), ("2026-11-02", 1)]
    # In Tokyo (UTC+9) the 20:00 request falls on Nov 2: Nov 1 has one request, Nov 2 two.
    assert [(r["key"], r["requests"]) for r in month_report(warehouse, "2026-11", "day", "Asia/Tokyo").rows] == [
        ("2026-11-01", 1), ("2026-11-02", 2)]


@pytest.mark.slow
def test_a_month_row_with_no_priced_request_has_no_cost_not_a_cost_of_zero(tmp_path):
    db = tmp_path / "cli.duckdb"
    f = write(tmp_path / "log.jsonl", [line(1, created=1793491200),  # 2026-11-01, priced
                                       line(2, created=1793491200, model="acme-unlisted-model")])
    subprocess.run([sys.executable, "-m", "dashboard", "import", str(f), "--db", str(db), "--provider", "ourtoken"],
                   cwd=REPO, capture_output=True, text=True, check=True)

    def report(*extra):
        out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", "2026-11", "--db", str(db),
                              *extra], cwd=REPO, capture_output=True, text=True, check=True)
        return out.stdout

    data = json.loads(report("--json"))
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["acme-unlisted-model"]["cost_usd"] is None and rows["acme-unlisted-model"]["unpriced_requests"] == 1
    assert rows["acme-unlisted-model"]["requests"] == 1 and rows["acme-unlisted-model"]["input_tokens"] == 800
    per_request = (800 * Decimal("0.112") + 200 * Decimal("0.002") + 50 * Decimal("0.224")) / 1_000_000
    assert Decimal(rows["deepseek-v4-flash"]["cost_usd"]) == Decimal(data["total_usd"]) == per_request
    assert data["unpriced_requests"] == 1
    text = {ln.split()[0]: ln for ln in report().splitlines() if ln.startswith(("acme", "deepseek"))}
    assert "no price" in text["acme-unlisted-model"] and text["acme-unlisted-model"].split()[-1] == "1"
    assert "no price" not in text["deepseek-v4-flash"]


@pytest.mark.slow
def test_month_report_holds_billed_cost_against_the_computed_cost_of_the_same_requests(warehouse, tmp_path):
    from dashboard.warehouse.queries import month_report

    billed = json.loads(line(1, created=1793491200))
    billed["usage"]["cost"] = "0.000200"  # the route's own bill, on one request of three
    f = write(tmp_path / "log.jsonl", [json.dumps(billed), line(2, created=1793491200), line(3, created=1793491200)])
    import_file(warehouse, f, options=Options(provider="ourtoken"))
    rep = month_report(warehouse, "2026-11")
    per_request = (800 * Decimal("0.112") + 200 * Decimal("0.002") + 50 * Decimal("0.224")) / 1_000_000
    row = rep.rows[0]
    assert (row["requests"], row["billed_requests"]) == (3, 1)
    assert row["cost_usd"] == 3 * per_request and row["billed_usd"] == Decimal("0.0002")
    assert row["comparable_computed_usd"] == per_request  # like for like: the one billed request
    data = rep.as_dict()
    assert (data["billed_requests"], Decimal(data["comparable_computed_usd"])) == (1, per_request)
    warehouse.close()  # the command opens the file itself
    out = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", "2026-11", "--db",
                          str(warehouse.path)], cwd=REPO, capture_output=True, text=True, check=True)
    assert "billed cost is known for 1 of 3 requests; computed cost of those: $0.00" in out.stdout


@pytest.mark.slow
def test_shipped_samples_import_as_documented(warehouse):
    samples = REPO / "data" / "samples"
    a = import_file(warehouse, samples / "ourtoken-responses.jsonl", options=Options(provider="ourtoken"))
    b = import_file(warehouse, samples / "ourtoken-history.csv", options=Options(
        provider="ourtoken", cached_included=False, mapping={"Requests": "request_count", "Spend (USD)": "cost"}))
    assert (a.added, a.rejected, b.added, b.rejected) == (3, 0, 2, 0)
    # The history export's spend is exactly what the catalog computes for its tokens.
    billed, computed = warehouse.query(
        f"SELECT sum(billed_cost), sum(cost) FROM ({warehouse.priced_sql()}) WHERE source = 'generic'").fetchone()
    assert billed == computed == Decimal("1.1564") + Decimal("0.6516")
