"""Hostile and mutated files against every importer: rows land or are rejected with a
reason, or the whole file is refused with our own error; never a crash or a hang.

Seeds are the realistic sample files of each format (tests/dashboard/ingest/samples and
two written here); hypothesis mutates them: truncation, random bytes (NUL, broken UTF-8),
huge fields, wrong types, ragged columns, deeply nested JSON.
"""

import json
import signal
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


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = Warehouse.open(tmp_path_factory.mktemp("hostile") / "usage.duckdb")
    yield w
    w.close()


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
