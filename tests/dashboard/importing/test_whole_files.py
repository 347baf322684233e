"""A file is read whole or refused whole: lines too long for DuckDB's line reader, compressed
files whose checksums fail, and compressed files whose name does not say so."""

import gzip
import io
import json
import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.errors import ImportFailed
from dashboard.ingest import files, import_file, readers, sample_file


def record(i: int, **extra) -> str:
    return json.dumps({"id": f"c-{i}", "created": 1790000000 + i, "model": "gpt-4o",
                       "usage": {"prompt_tokens": 100 + i, "completion_tokens": 5}, **extra})


def state(wh) -> tuple:
    """Everything an import may change."""
    return wh.query("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM rejected_rows), "
                    "(SELECT count(*) FROM imports WHERE status = 'complete')").fetchone()


@pytest.mark.slow
@pytest.mark.parametrize("pad_mb", [20, 50])
def test_a_line_longer_than_the_reader_takes_is_a_rejected_row_with_its_line(warehouse, tmp_path, pad_mb):
    # DuckDB's line reader rejects a line a little over its limit, but passes over one about
    # twice its buffer without a word: the 50 MB line vanished ("2 added, 0 rejected").
    path = tmp_path / "long.jsonl"
    with path.open("w") as f:
        f.write(record(1) + "\n")
        f.write(record(2, pad="x" * (pad_mb * 1_000_000)) + "\n")
        f.write(record(3) + "\n")
        f.write('{"id": "c-4", broken\n')
        f.write(record(5) + "\n")
    result = import_file(warehouse, path)
    assert (result.added, result.rejected) == (3, 2)
    rows = warehouse.query("SELECT line, reason, raw FROM rejected_rows WHERE import_id = ? ORDER BY line",
                           [result.import_id]).fetchall()
    assert [r[0] for r in rows] == [2, 4]  # the lines after the long one keep their numbers
    assert rows[0][1].startswith(f"line too long: {len(record(2, pad='x' * (pad_mb * 1_000_000))):,} bytes")
    assert rows[0][2].startswith('{"id": "c-2"') and len(rows[0][2]) <= files.LONG_LINE_KEPT
    assert rows[1][1] == "not a valid JSON object"
    assert {r[0] for r in warehouse.query("SELECT request_id FROM requests").fetchall()} == {"c-1", "c-3", "c-5"}


@pytest.mark.slow
def test_a_csv_line_longer_than_the_reader_takes_refuses_the_file_saying_which(warehouse, tmp_path):
    # DuckDB's CSV reader cannot even name the columns of such a file (its sniffer reads on past
    # the header): the file is refused whole, naming the line, rather than losing it.
    path = tmp_path / "long.csv"
    with path.open("w") as f:
        f.write("request_id,timestamp,model,prompt_tokens,completion_tokens,note\n")
        f.write("r1,2026-11-01T10:00:00Z,gpt-4o,10,1,a\n")
        f.write("r2,2026-11-01T10:00:00Z,gpt-4o,10,1," + "n" * 40_000_000 + "\n")
        f.write("r3,2026-11-01T10:00:00Z,gpt-4o,10,1,c\n")
    before = state(warehouse)
    with pytest.raises(ImportFailed, match=r"long\.csv: cannot be read: line too long: 40,000,036 bytes, .*\(line 3\); "
                                           "nothing was imported"):
        import_file(warehouse, path)
    assert state(warehouse) == before


@pytest.mark.parametrize("long_at", ["header", "first record"])
def test_a_csv_line_longer_than_the_first_look_reads_is_still_read(warehouse, tmp_path, long_at):
    # The header is first read with short lines (readers.FIRST_LOOK_BYTES), then, when a line
    # is longer, with an import's own limit: the columns and every row come through.
    long = "n" * (readers.FIRST_LOOK_BYTES + 10)
    note = f"note_{long}" if long_at == "header" else "note"
    path = tmp_path / "wide.csv"
    path.write_text(f"request_id,timestamp,model,prompt_tokens,completion_tokens,{note}\n"
                    f"r1,2026-11-01T10:00:00Z,gpt-4o,10,1,{long if long_at == 'first record' else 'a'}\n"
                    "r2,2026-11-01T10:00:00Z,gpt-4o,20,2,b\n")
    result = import_file(warehouse, path)
    assert (result.added, result.rejected) == (2, 0)
    assert warehouse.query("SELECT request_id, input_tokens FROM requests ORDER BY 1").fetchall() == [("r1", 10),
                                                                                                    ("r2", 20)]


def test_json_lines_whose_first_line_is_longer_than_the_first_look_reads_are_still_read(warehouse, tmp_path):
    # The first lines are first read short (readers.FIRST_LOOK_BYTES); a longer one fails that
    # look, and they are read again as an import reads them: the format is still detected.
    path = tmp_path / "long.jsonl"
    records = [{"id": f"c{i}", "object": "chat.completion", "created": 1790000000 + i, "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": 10 + i, "completion_tokens": 1}} for i in range(2)]
    records[0]["note"] = "n" * (readers.FIRST_LOOK_BYTES + 10)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = import_file(warehouse, path)
    assert (result.format, result.added, result.rejected) == ("openai-jsonl", 2, 0)
    assert warehouse.query("SELECT request_id, input_tokens FROM requests ORDER BY 1").fetchall() == [("c0", 10),
                                                                                                    ("c1", 11)]


def _otlp_export(spans: int) -> str:
    """One OTLP JSON export request of `spans` GenAI spans, on one line (the Collector's file exporter)."""
    def span(i: int) -> dict:
        return {"traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": "chat",
                "startTimeUnixNano": str(1_790_000_000_000_000_000 + i * 1_000_000_000),
                "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                               {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                               {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(1000 + i)}},
                               {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "50"}},
                               {"key": "pad", "value": {"stringValue": "p" * 200}}]}
    return json.dumps({"resourceSpans": [{"resource": {"attributes": []},
                                          "scopeSpans": [{"scope": {"name": "x"}, "spans": [span(i) for i in range(spans)]}]}]})


@pytest.mark.slow
def test_a_json_document_on_one_line_longer_than_a_line_may_be_is_read_as_a_document(warehouse, tmp_path):
    # A large batch of spans on the one line of an OTLP export was refused as "no readable text
    # lines (is it a binary file?)": the line reader passes over a line that long.
    path = tmp_path / "traces.jsonl"
    path.write_text(_otlp_export(40_000) + "\n", encoding="utf-8")
    assert path.stat().st_size > readers.MAX_LINE_BYTES
    result = import_file(warehouse, path)
    assert (result.format, result.added, result.rejected) == ("otel-genai", 40_000, 0)
    assert warehouse.query("SELECT count(*), sum(input_tokens), sum(output_tokens) FROM requests").fetchone() == (
        40_000, sum(1000 + i for i in range(40_000)), 40_000 * 50)


@pytest.mark.slow
def test_a_file_whose_only_line_is_too_long_and_no_json_says_so(warehouse, tmp_path):
    path = tmp_path / "one.log"
    path.write_text("x" * (readers.MAX_LINE_BYTES + 10) + "\n", encoding="utf-8")
    before = state(warehouse)
    with pytest.raises(ImportFailed, match=r"one\.log: cannot be read: line too long: 16,777,226 bytes, .*\(line 1\); "
                                           "nothing was imported"):
        import_file(warehouse, path)
    assert state(warehouse) == before


def _gzip_lines(n: int) -> bytes:
    return gzip.compress(("\n".join(record(i) for i in range(n)) + "\n").encode(), mtime=0)


@pytest.mark.slow
def test_a_gzip_file_with_bytes_flipped_is_refused_whole(warehouse, tmp_path):
    # It imported 9,980 rows and 10,032 rows of junk: DuckDB does not check the CRC.
    import_file(warehouse, _write(tmp_path / "first.jsonl", [record(i) for i in range(100_000, 100_010)]))
    data = bytearray(_gzip_lines(20_000))
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    path = tmp_path / "flipped.jsonl.gz"
    path.write_bytes(bytes(data))
    before = state(warehouse)
    with pytest.raises(ImportFailed, match=r"flipped\.jsonl\.gz: cannot be read: the gzip stream is cut short or "
                                           r"damaged .*checksums do not hold"):
        import_file(warehouse, path)
    assert state(warehouse) == before


@pytest.mark.slow
def test_a_zstd_file_with_bytes_flipped_is_refused_whole(warehouse, tmp_path):
    text = _write(tmp_path / "plain.jsonl", [record(i) for i in range(20_000)])
    path = tmp_path / "flipped.jsonl.zst"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{text}', columns = {{'raw': 'VARCHAR'}}, header = false, "
                             f"delim = chr(1), quote = '')) TO '{path}' (FORMAT csv, HEADER false, QUOTE '', "
                             "COMPRESSION zstd)")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    path.write_bytes(bytes(data))
    before = state(warehouse)
    with pytest.raises(ImportFailed, match="the zstd stream is cut short or damaged"):
        import_file(warehouse, path)
    assert state(warehouse) == before


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("name", ["logs.jsonl", "logs", "logs.gzip"])
def test_a_gzip_file_is_known_by_its_magic_bytes_whatever_its_name(warehouse, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(_gzip_lines(500))
    result = import_file(warehouse, path)
    assert (result.format, result.added, result.rejected) == ("openai-jsonl", 500, 0)
    assert not list(tmp_path.glob("*.gz"))  # the name DuckDB reads it by is gone again


@pytest.mark.slow
def test_a_zstd_file_is_known_by_its_magic_bytes(warehouse, tmp_path):
    text = _write(tmp_path / "plain.jsonl", [record(i) for i in range(300)])
    path = tmp_path / "logs.jsonl"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{text}', columns = {{'raw': 'VARCHAR'}}, header = false, "
                             f"delim = chr(1), quote = '')) TO '{path}' (FORMAT csv, HEADER false, QUOTE '', "
                             "COMPRESSION zstd)")
    assert path.read_bytes()[:4] == files.MAGIC["zstd"]
    assert (import_file(warehouse, path).added, import_file(warehouse, text).duplicates) == (300, 300)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(lengths=st.lists(st.integers(0, 120), min_size=1, max_size=30), cuts=st.lists(st.integers(1, 49), max_size=40),
       limit=st.integers(50, 90))
def test_the_line_scan_finds_every_long_line_however_the_blocks_fall(lengths, cuts, limit):
    text = b"\n".join(bytes([97 + i % 26]) * n for i, n in enumerate(lengths))
    scan, pos = files.LineScan(limit), 0
    for size in cuts * (len(text) // max(sum(cuts), 1) + 1) or [49]:
        if pos >= len(text):
            break
        scan.feed(text[pos:pos + size])
        pos += size
    if pos < len(text):
        for at in range(pos, len(text), 49):
            scan.feed(text[at:at + 49])
    found = files.number_lines(io.BytesIO(text), scan.finish())
    starts = [m.start() for m in re.finditer(b"(?:^|(?<=\n))[^\n]*", text)]
    expected = [(i + 1, starts[i], n) for i, n in enumerate(lengths) if n > limit]
    assert [(ln.line, ln.start, ln.length) for ln in found] == expected
    assert all(ln.head == text[ln.start:ln.start + min(ln.length, files.LONG_LINE_KEPT)] for ln in found)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(lengths=st.lists(st.integers(0, 40), min_size=1, max_size=20), limit=st.integers(5, 30))
def test_the_copy_without_long_lines_keeps_every_other_line_where_it_was(tmp_path_factory, lengths, limit):
    folder = tmp_path_factory.mktemp("copy")
    text = b"\n".join(b"x" * n for n in lengths) + b"\n"
    path = folder / "f"
    path.write_bytes(text)
    scan = files.LineScan(limit)
    for at in range(0, len(text), limit - 1):  # blocks shorter than the limit, as 1 MiB blocks are
        scan.feed(text[at:at + limit - 1])
    copy = files.without_long_lines(path, None, scan.finish(), folder / "copy")
    kept = copy.read_bytes().split(b"\n")
    assert kept == [b"" if len(line) > limit else line for line in text.split(b"\n")]


def test_the_reader_limit_is_what_the_scan_looks_for():
    assert readers.MAX_LINE_BYTES > files.BLOCK_BYTES  # a long line spans blocks with no line break
    assert readers.CLEAN_LINE_BYTES >= files.BLOCK_BYTES  # a record inside a block is short enough for any read


def _longest_record(text: bytes, block_starts: set[int]) -> int:
    """RecordScan's answer the slow way: every record that joins lines (a quoted line break),
    and every line that a block starts inside, or that starts the text or ends it."""
    longest, open_at, start = 0, None, 0
    lines = text.split(b"\n")
    for i, line in enumerate(lines):
        end = start + len(line)
        if i in (0, len(lines) - 1) or any(start <= b <= end for b in block_starts):
            longest = max(longest, end - start)
        if line.count(b'"') % 2:
            if open_at is None:
                open_at = start
            else:
                longest, open_at = max(longest, end - open_at), None
        start = end + 1
    return longest if open_at is None else max(longest, len(text) - open_at)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), min_size=1, max_size=30),
       cuts=st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_the_record_scan_measures_every_record_longer_than_a_block_however_the_blocks_fall(lines, cuts):
    # lines of n bytes with q quotes each: an odd count opens a record over lines, the next one closes it
    text = b"\n".join(b"x" * n + b'"' * q for n, q in lines)
    scan, pos, starts = files.RecordScan(), 0, set()
    while pos < len(text):
        size = cuts[len(starts) % len(cuts)]
        scan.feed(text[pos:pos + size])
        starts.add(pos)
        pos += size
    assert scan.finish() == _longest_record(text, starts - {0})


def test_a_record_longer_than_a_block_is_measured_and_dense_quotes_are_not_followed():
    scan = files.RecordScan()
    scan.feed(b'a,"one\n' + b"x" * 100 + b'\nend",1\nb,2\n')  # a quoted field over three lines
    assert scan.finish() == len(b'a,"one\n' + b"x" * 100 + b'\nend",1')
    dense = files.RecordScan()
    dense.feed(b'"a","b"\n' * (files.QUOTES_FOLLOWED // 4 + 1))
    assert dense.finish() is None


@pytest.mark.slow
@pytest.mark.parametrize("note", ["x" * 8_500_000, '"' + "a line, then a break\n" * 400_000 + '"'],
                         ids=["one line", "quoted line breaks"])
def test_a_csv_record_longer_than_the_first_read_takes_is_read_whole(warehouse, tmp_path, note):
    # The typed read takes records of up to 4 MiB (readers.CLEAN_LINE_BYTES), and DuckDB's CSV
    # reader rejects a longer one (the quoted one here), or passes over it without a word: the
    # last line, 8.5 MB long, was missing ("20000 added"). The file's check measures it.
    assert readers.CLEAN_LINE_BYTES < len(note) < readers.MAX_LINE_BYTES
    path = tmp_path / "long.csv"
    with path.open("w") as f:
        f.write("request_id,timestamp,model,prompt_tokens,completion_tokens,note\n")
        for i in range(20_000):
            f.write(f"r-{i},2026-10-01 00:00:{i % 60:02d},gpt-4o,{100 + i},5,short\n")
        f.write(f"r-long,2026-10-02 00:00:00,gpt-4o,7,5,{note}\n")
    result = import_file(warehouse, path)
    assert (result.added, result.rejected) == (20_001, 0)
    assert warehouse.query("SELECT sum(input_tokens) FROM requests").fetchone()[0] == sum(range(100, 20_100)) + 7


def test_the_sample_says_whether_a_csvs_first_lines_hold_a_quote(warehouse, tmp_path):
    plain, quoted = tmp_path / "plain.csv", tmp_path / "quoted.csv"
    plain.write_text("request_id,model\nr1,gpt-4o\n", encoding="utf-8")
    quoted.write_text('request_id,model\nr1,"gpt-4o, mini"\n', encoding="utf-8")
    assert (sample_file(warehouse, plain).quoted, sample_file(warehouse, quoted).quoted) == (False, True)
