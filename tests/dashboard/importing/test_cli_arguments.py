"""The import command line: a bad argument is one line and exit 2, a second import waits for
the warehouse another holds, and under --json every failure is still a JSON record."""

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.paths import REPO

LINE = json.dumps({"id": "c-1", "created": "2026-11-01T10:00:00+02:00", "model": "gpt-4o",
                   "usage": {"prompt_tokens": 10, "completion_tokens": 1}})


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def log(tmp_path) -> Path:
    path = tmp_path / "calls.jsonl"
    path.write_text(LINE + "\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["import", "--map", "=model"],
    ["import", "--map", "model="],
    ["import", "--map", "nonsense"],
    ["import", "--map", " =model"],
    # every time in the file has its offset, so the zone would never be asked for: checked up front
    ["import", "--tz", "Mars/Olympus"],
    ["import", "--tz", "../../etc/passwd"],
    ["import", "--wait", "soon"],
    ["import", "--wait", "-1"],
    ["import", "--format", "nope"],
    ["import", "--cached-included-in-input", "maybe"],
    ["report", "--month", "2026-11", "--by", "nope"],
    ["forecast", "--days", "abc"],
    ["nosuch"],
], ids=lambda a: " ".join(a))
def test_a_bad_argument_is_one_line_and_exit_2(tmp_path, log, args):
    db = tmp_path / "usage.duckdb"
    out = cli(*args, *(["--db", str(db), str(log)] if args[0] == "import" else []))
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith("error: python -m dashboard") and out.stdout == ""
    assert not db.exists()  # nothing was opened, let alone written


def test_a_time_zone_is_checked_for_an_import_from_the_app_too(warehouse, log):
    from dashboard.errors import ImportFailed
    from dashboard.ingest import Options, import_file

    with pytest.raises(ImportFailed, match=r"calls\.jsonl: unknown time zone 'Mars/Olympus'"):
        import_file(warehouse, log, options=Options(tz="Mars/Olympus"))
    assert warehouse.query("SELECT count(*) FROM imports").fetchone()[0] == 0


HOLD = """
import sys
import duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()  # until told to let go (or its stdin closes)
con.close()
"""


def hold(db: Path) -> subprocess.Popen:
    """Another process with the warehouse open for writing (DuckDB locks the file for it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    if proc.stdout.readline().strip() != "holding":
        with proc:
            pytest.fail("the process holding the warehouse did not start")
    return proc


@pytest.mark.slow
def test_a_second_import_waits_for_the_warehouse_and_gives_up_cleanly(tmp_path, log):
    # It failed at once, and with --json printed no JSON at all.
    db = tmp_path / "usage.duckdb"
    assert cli("import", "--db", str(db), str(log)).returncode == 0
    with hold(db) as holder:
        start = time.monotonic()
        out = cli("import", "--db", str(db), "--wait", "2", "--json", str(log))
        waited = time.monotonic() - start
        holder.kill()
    assert out.returncode == 1 and waited >= 2, (out.stdout, out.stderr)
    record = json.loads(out.stdout)
    assert record["status"] == "failed" and record["file"] == str(log)
    assert "gave up waiting for the warehouse after 2 s" in record["error"] and "locked by another process" in \
        record["error"]
    assert "waiting for the warehouse: another import is writing (0s)..." in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_a_second_import_goes_in_once_the_first_lets_go(tmp_path, log):
    db = tmp_path / "usage.duckdb"
    assert cli("import", "--db", str(db), str(log)).returncode == 0
    other = tmp_path / "other.jsonl"
    other.write_text(LINE.replace('"c-1"', '"c-2"') + "\n")
    command = [sys.executable, "-m", "dashboard", "import", "--db", str(db), "--json", str(other)]
    with hold(db) as holder, subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True) as second:
        said = second.stderr.readline()  # it waits (up to 30 s by default), saying so
        holder.stdin.write("go\n")
        holder.stdin.flush()
        stdout, stderr = second.communicate(timeout=120)
    assert said == "waiting for the warehouse: another import is writing (0s)...\n"
    assert second.returncode == 0, (stdout, stderr)
    assert json.loads(stdout)["added"] == 1


@pytest.mark.slow
def test_under_json_a_file_that_fails_is_a_record_too(tmp_path, log):
    db = tmp_path / "usage.duckdb"
    missing = tmp_path / "missing.jsonl"
    out = cli("import", "--db", str(db), "--json", str(missing), str(log))
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1
    assert [(r["file"], r["status"]) for r in records] == [(str(missing), "failed"), (str(log), "complete")]
    assert "no such file" in records[0]["error"]


@pytest.mark.slow
def test_explain_prints_the_plan_and_imports_nothing(tmp_path, log):
    db = tmp_path / "usage.duckdb"
    out = cli("import", "--explain", str(log), "--db", str(db))
    assert out.returncode == 0, out.stderr
    note = ("typed-lines (sample's keys): reads as absent the keys the format reads that no sample record has "
            "(response, timestamp, created_at, request and 12 more); a record holding one fails it, for the next read, "
            "as does a record without created")
    assert out.stdout.splitlines() == [f"{log}:", "  format: openai-jsonl (source 'openai-log', read as lines)",
                                       "  reads, in turn: typed-lines (sample's keys) -> typed-lines -> staged",
                                       "  table: lean while the rows fit", f"  note: {note}"]
    assert not db.exists()  # a warehouse that is not there is not created
    assert cli("import", str(log), "--db", str(db)).returncode == 0
    out = cli("import", "--explain", "--json", "--provider", "ourtoken", str(log), "--db", str(db))
    assert json.loads(out.stdout) == {"file": str(log), "format": "openai-jsonl", "source": "openai-log",
                                      "shape": "lines", "reads": ["typed-lines (sample's keys)", "typed-lines",
                                                                  "staged"],
                                      "table": "lean while the rows fit", "grows": False, "notes": [note],
                                      "decided": []}
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM imports").fetchone() == (1,)  # the import alone


@pytest.mark.slow
def test_explain_of_a_file_that_cannot_be_read_says_why_and_exits_1(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = cli("import", "--explain", str(empty), "--db", str(tmp_path / "usage.duckdb"))
    assert out.returncode == 1 and out.stdout == f"{empty}: FAILED: {empty}: the file is empty\n"


def test_each_file_of_a_command_is_registered_with_its_own_digest(tmp_path):
    # The first file's whole-file check starts before the warehouse opens, the others' as
    # each is imported: each import records its own file's SHA-256, and the same file again
    # adds nothing.
    import duckdb

    files = []
    for i in range(3):
        path = tmp_path / f"calls-{i}.jsonl"
        path.write_text(json.dumps({"id": f"c-{i}", "created": 1790000000 + i, "model": "gpt-4o",
                                    "usage": {"prompt_tokens": 10 + i, "completion_tokens": 1}}) + "\n")
        files.append(path)
    db = tmp_path / "usage.duckdb"
    out = cli("import", "--db", str(db), "--json", *map(str, files), str(files[0]))
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["file"], r["added"], r["duplicates"]) for r in records] == [
        (str(files[0]), 1, 0), (str(files[1]), 1, 0), (str(files[2]), 1, 0), (str(files[0]), 0, 1)]
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT file_name, file_sha256 FROM imports ORDER BY import_id").fetchall()
    assert stored == [(str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in [*files, files[0]]]
