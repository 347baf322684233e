"""A damaged warehouse file: an import is refused before anything commits, with the message
`report` and the app give, never a traceback after its rows are in."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO

from dashboard.ingest import import_file
from dashboard.warehouse import Warehouse
from dashboard.warehouse.connection import DamagedError

DAMAGED = "is damaged or not a DuckDB file"
BLOCK_BYTES = 262_144  # DuckDB's block size; the file starts with three 4 KiB headers
HEADERS = 3 * 4096


def lines(path: Path, prefix: str, n: int, models: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"{prefix}-{i}", "created": 1790000000 + i,
                                        "model": f"gpt-4o-{i % models}", "user": f"u{i % 50}",
                                        "usage": {"prompt_tokens": 100 + i, "completion_tokens": 5}}) + "\n"
                            for i in range(n)))
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def committed(path: Path) -> int | None:
    """How many rows of b.jsonl the warehouse holds, and its imports register says it took;
    None where the damage keeps either from being read."""
    try:
        with Warehouse.open(path) as wh:
            rows = wh.query("SELECT count(*) FROM requests WHERE request_id LIKE 'b-%'").fetchone()[0]
            taken = wh.query("SELECT coalesce(sum(rows_added), 0) FROM imports WHERE file_name LIKE '%b.jsonl' "
                             "AND status = 'complete'").fetchone()[0]
    except DamagedError:
        return None
    assert rows == taken
    return rows


@pytest.mark.slow
def test_an_import_into_a_damaged_warehouse_is_refused_before_it_commits(tmp_path):
    # The import used to commit its rows, then fail with a traceback while mapping model names.
    good = tmp_path / "good.duckdb"
    with Warehouse.open(good) as wh:
        import_file(wh, lines(tmp_path / "a.jsonl", "a", 300_000, 4))
    new = lines(tmp_path / "b.jsonl", "b", 500, 3)
    refused = 0
    for block in range((good.stat().st_size - HEADERS) // BLOCK_BYTES):
        # Flip bytes inside one data block at a time: some hold what an import reads.
        damaged = tmp_path / f"damaged-{block}.duckdb"
        shutil.copy(good, damaged)
        with damaged.open("r+b") as f:
            f.seek(HEADERS + block * BLOCK_BYTES + 5000)
            data = f.read(64)
            f.seek(HEADERS + block * BLOCK_BYTES + 5000)
            f.write(bytes(b ^ 0xFF for b in data))
        try:
            with Warehouse.open(damaged) as wh:
                import_file(wh, new)
        except DamagedError as e:
            assert DAMAGED in str(e) and str(damaged) in str(e)
            assert committed(damaged) in (0, None)  # nothing committed (None: that part cannot be read)
            refused += 1
            if refused == 1:  # the command line says the same in one line, and exits 1
                out = cli("import", "--db", str(damaged), str(new))
                assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
                assert out.stderr.strip().splitlines() == [f"error: {e}"]
                out = cli("import", "--db", str(damaged), "--json", str(new))
                record = json.loads(out.stdout)
                assert out.returncode == 1 and record["status"] == "failed" and DAMAGED in record["error"]
            if refused == 3:
                break
        else:
            assert committed(damaged) in (500, None)  # this block was not read: the import went in
        finally:
            damaged.unlink()
            Path(f"{damaged}.wal").unlink(missing_ok=True)
    assert refused, "no damaged block was read by the import: the test did not exercise a refusal"


def test_a_log_file_passed_as_the_warehouse_is_refused_not_imported_into_memory(tmp_path):
    # DuckDB opens a JSON-lines file as a database of views held in memory: rows imported
    # "into" it were reported added and gone when the command ended.
    log = lines(tmp_path / "log.jsonl", "c", 20, 1)
    before = log.read_bytes()
    out = cli("import", "--db", str(log), str(log))
    assert out.returncode == 1 and DAMAGED in out.stderr and "added" not in out.stdout, (out.stdout, out.stderr)
    assert log.read_bytes() == before
    with pytest.raises(DamagedError, match=DAMAGED):
        Warehouse.open(log)
