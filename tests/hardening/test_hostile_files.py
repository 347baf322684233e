"""Hostile and mutated files against every importer: rows land or are rejected with a
reason, or the whole file is refused with our own error; never a crash or a hang.

Seeds are the realistic sample files of each format (tests/dashboard/ingest/samples and
two written here); hypothesis mutates them: truncation, random bytes (NUL, broken UTF-8),
huge fields, wrong types, ragged columns, deeply nested JSON.
"""

import gzip
import json
import shutil
import signal
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dashboard.errors import ImportFailed
from dashboard.ingest import import_file
from dashboard.warehouse import Warehouse

SAMPLES = Path(__file__).resolve().parents[1] / "dashboard" / "ingest" / "samples"
OPENAI = "\n".join(
    json.dumps({"id": f"c-{i}", "created": 1790000000 + i, "model": "gpt-4o",
                "usage": {"prompt_tokens": 100 + i, "completion_tokens": 5,
                          "prompt_tokens_details": {"cached_tokens": i}}}) for i in range(20)
).encode() + b"\n"
GENERIC = b"request_id,timestamp,model,prompt_tokens,completion_tokens,cost\n" + b"".join(
    f"r{i},2026-11-0{1 + i % 9}T10:00:00Z,gpt-4o-mini,{100 + i},{i},0.00{i}\n".encode() for i in range(20)
)
SEEDS = {"openai.jsonl": OPENAI, "generic.csv": GENERIC}
SEEDS.update({p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*")) if p.is_file()} if SAMPLES.is_dir() else {})


@contextmanager
def deadline(seconds: int):
    def fail(*_):
        raise TimeoutError(f"import did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


PER_IMPORTER = 15


@st.composite
def mutations(draw, name: str):
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "bytes", "huge", "type", "ragged", "nest", "dup-line"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "bytes":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "huge":
            data[at:at] = b"9" * draw(st.sampled_from([20, 400, 200_000]))
        elif kind == "type":
            data[at:at] = draw(st.sampled_from([b'"x"', b"null", b"-7", b"1e308", b"[]", b"{}", b"true", b",,"]))
        elif kind == "ragged":
            data[at:at] = draw(st.sampled_from([b",", b",,,", b"\n", b'"', b"\r\n"]))
        elif kind == "nest":
            depth = draw(st.integers(10, 5000))
            data[at:at] = b"\n" + b'{"a":' * depth + b"1" + b"}" * depth + b"\n"
        elif kind == "dup-line":
            lines = bytes(data).split(b"\n")
            if len(lines) > 2:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
                data = bytearray(b"\n".join(lines))
    return bytes(data)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SEEDS))
@settings(max_examples=PER_IMPORTER, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_mutated_files_end_in_rows_rejections_or_a_clear_refusal(wh, tmp_path_factory, name, data):
    data = data.draw(mutations(name))
    path = tmp_path_factory.mktemp("f") / name
    path.write_bytes(data)
    before = wh.query("SELECT count(*) FROM requests").fetchone()[0]
    with deadline(60):
        try:
            result = import_file(wh, path)
        except ImportFailed as e:
            event(f"{name}: refused whole")
            assert str(path) in str(e)
            assert wh.query("SELECT count(*) FROM requests").fetchone()[0] == before
            return
    assert result.status == "complete"
    event(f"{name}: imported with {'some' if result.rejected else 'no'} rejected rows")
    assert min(result.added, result.duplicates, result.rejected) >= 0
    reasons = wh.query("SELECT reason FROM rejected_rows WHERE import_id = ?", [result.import_id]).fetchall()
    assert len(reasons) == result.rejected and all(r[0] for r in reasons)


@pytest.mark.slow
def test_a_10_mb_single_line_is_rejected_not_fatal(wh, tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_bytes(OPENAI + b'{"id": "big", "model": "' + b"m" * 10_000_000 + b'"}\n' + OPENAI.splitlines()[0] + b"\n")
    with deadline(60):
        result = import_file(wh, path)
    assert result.rejected == 1
    line, raw = wh.query("SELECT line, raw FROM rejected_rows WHERE import_id = ?", [result.import_id]).fetchone()
    assert line == 21 and len(raw) <= 100_000  # kept, but not 10 MB of it


def test_nul_bytes_and_broken_utf8_lines_are_rejected_with_their_line(wh, tmp_path):
    lines = OPENAI.splitlines()
    lines[3] = lines[3].replace(b"gpt-4o", b"gpt\x00\xff\xfe-4o")
    path = tmp_path / "dirty.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with deadline(60):
        result = import_file(wh, path)
    assert result.added + result.duplicates == 19
    assert result.rejected == 1
    assert wh.query("SELECT line FROM rejected_rows WHERE import_id = ?", [result.import_id]).fetchone()[0] == 4


def _flip(data: bytes, at: int, mask: bytes) -> bytes:
    flipped = bytearray(data)
    for i, m in enumerate(mask):
        if at + i < len(flipped):
            flipped[at + i] ^= m or 1
    return bytes(flipped)


def _state(wh) -> tuple:
    return wh.query("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM rejected_rows), "
                    "(SELECT count(*) FROM imports WHERE status = 'complete')").fetchone()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n in SEEDS if not n.endswith(".parquet")))
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_gzip_file_with_flipped_bytes_is_refused_whole_unless_its_text_is_intact(wh, tmp_path_factory, name, data):
    # A flip in the gzip header's time or OS byte changes no text, and no checksum covers it.
    packed = gzip.compress(SEEDS[name], mtime=0)
    at = data.draw(st.integers(0, len(packed) - 1), label="at")
    flipped = _flip(packed, at, data.draw(st.binary(min_size=1, max_size=8), label="mask"))
    path = tmp_path_factory.mktemp("gz") / (name + ".gz")
    path.write_bytes(flipped)
    before = _state(wh)
    try:
        intact = gzip.decompress(flipped) == SEEDS[name]
    except (OSError, EOFError, zlib.error):
        intact = False
    with deadline(60):
        try:
            import_file(wh, path)
        except ImportFailed as e:
            event(f"{name}: refused whole")
            assert str(path) in str(e) and _state(wh) == before
            assert not intact, f"an intact file was refused: {e}"
            return
    event(f"{name}: imported (text intact)")
    assert intact, "a gzip file whose text changed was imported"


LONG_LINE_BYTES = 40_000_000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["openai.jsonl", *(n for n in SEEDS if n.endswith(".jsonl") and "claude" in n)])
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_a_line_too_long_to_read_is_a_rejected_row_at_its_line(wh, tmp_path_factory, name, data):
    lines = SEEDS[name].rstrip(b"\n").split(b"\n")
    at = data.draw(st.integers(0, len(lines)), label="line index")
    size = data.draw(st.sampled_from([17_000_000, LONG_LINE_BYTES]), label="size")
    long_line = b'{"id": "long", "pad": "' + b"p" * size + b'"}'
    path = tmp_path_factory.mktemp("long") / name
    path.write_bytes(b"\n".join([*lines[:at], long_line, *lines[at:]]) + b"\n")
    with deadline(120):
        result = import_file(wh, path)
    rows = wh.query("SELECT line, reason FROM rejected_rows WHERE import_id = ? AND reason LIKE 'line too long%'",
                    [result.import_id]).fetchall()
    assert rows == [(at + 1, rows[0][1])] and f"{len(long_line):,} bytes" in rows[0][1]


# A custom key (any shape: letters, digits, `-`, `_`) in every place a log may carry it by name,
# and a key of a well-known prefix in the text columns of a good row.
_PART = st.from_regex(r"[A-Za-z0-9_-]{11,19}", fullmatch=True)
KEY = st.builds(lambda a, b: a + "7q" + b, _PART, _PART)  # a digit and a letter in it, as a key has
NAMED = [
    '"url": "https://gw.example/v1/chat?key={k}&x=1"', '"url": "https://gw.example/v1?api_key={k}"',
    '"next": "/page?cursor=2&token={k}"', '"note": "sent access_token={k} again"', '"key": "{k}"',
    '"token": "{k}"', '"client_secret": "{k}"', '"headers": {{"Cookie": "sid={k}; lang=en"}}',
    '"headers": {{"Ocp-Apim-Subscription-Key": "{k}"}}', '"headers": {{"x-api-key": "{k}"}}',
    '"headers": {{"authorization": "{k}"}}', '"raw_headers": "Authorization: Basic {k}\\r\\nHost: h"',
    '"attributes": [{{"key": "llm.api_key", "value": {{"stringValue": "{k}"}}}}]',
    '"headers": [{{"name": "X-Custom-Auth-Token", "value": "{k}"}}]',
]
PREFIXED = ["sk-{k}", "sk_{k}", "gsk_{k}", "xai-{k}", "pplx-{k}", "hf_{k}", "AIza{k}", "Bearer {k}", "key={k}"]
COLUMNS = ['"user": "{v}"', '"project": "team {v}"', '"tags": ["{v}", "batch"]', '"model": "{v}"']


def _texts(wh) -> str:
    tables = wh.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                      "AND table_type = 'BASE TABLE'").fetchall()
    return "\n".join(str(r) for (t,) in tables for r in wh.query(f'SELECT * FROM "{t}"').fetchall())


@pytest.mark.slow
@pytest.mark.parametrize("named", NAMED, ids=lambda n: n.split("{")[0].strip('" :'))
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=KEY, prefixed=st.sampled_from(PREFIXED), column=st.sampled_from(COLUMNS), broken=st.booleans())
def test_a_key_in_any_shape_and_place_is_never_stored_whole(tmp_path_factory, new_warehouse_file, key, named, prefixed,
                                                            column, broken):
    usage = '"usage": {"prompt_tokens": 10, "completion_tokens": 1}'
    rejected = '{"id": "r1", "created": "not a time", "model": "gpt-4o", ' + usage + ", " + named.format(k=key) + "}"
    if broken:  # a line that does not parse: nothing in it can be named by its field
        rejected = rejected[:-1] + ", broken"
    value = prefixed.format(k=key)
    good = '{"id": "g1", "created": 1790000000, "model": "gpt-4o", ' + usage + ", " + column.format(v=value) + "}"
    path = tmp_path_factory.mktemp("keys") / "keys.jsonl"
    path.write_text(rejected + "\n" + good + "\n")
    event(f"{prefixed.format(k='KEY')} in {column.split(':')[0]}" + (", broken line" if broken else ""))
    shutil.copyfile(new_warehouse_file, path.parent / "w.duckdb")
    with Warehouse.open(path.parent / "w.duckdb") as w:
        result = import_file(w, path)
        assert (result.added, result.rejected) == (1, 1)
        stored = _texts(w)
    assert key[:-4] not in stored
