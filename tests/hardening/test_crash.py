"""An import killed at any moment leaves the warehouse as before or complete, never half.

Each round starts `python -m dashboard import` on a 150,000-row file, kills it with
SIGKILL after a random delay (seeded), and reopens the file: the request count must be
either the count before the import or that plus the file's rows, and the register must
not claim anything that did not land. The same import run again then ends with exactly
the expected rows.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.paths import REPO

from dashboard.warehouse import Warehouse

ROWS = 150_000
ROUNDS = 6


def write_log(path: Path, rows: int, offset: int = 0) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(offset, offset + rows):
            f.write(json.dumps({"id": f"c-{i}", "object": "chat.completion", "created": 1790000000 + i,
                                "model": "deepseek-v4-flash",
                                "usage": {"prompt_tokens": 1000 + i % 500, "completion_tokens": 40,
                                          "prompt_tokens_details": {"cached_tokens": i % 700}}}) + "\n")


def counts(db: Path) -> tuple[int, list[tuple[str, int | None]]]:
    with Warehouse.open(db) as wh:
        n = wh.query("SELECT count(*) FROM requests").fetchone()[0]
        register = wh.query("SELECT status, rows_added FROM imports ORDER BY import_id").fetchall()
    return n, register


@pytest.mark.slow
def test_kill_9_during_import_is_all_or_nothing(tmp_path):
    db = tmp_path / "usage.duckdb"
    base, big = tmp_path / "base.jsonl", tmp_path / "big.jsonl"
    write_log(base, 1000, offset=10_000_000)
    write_log(big, ROWS)
    cmd = [sys.executable, "-m", "dashboard", "import", "--db", str(db), "--provider", "ourtoken"]
    subprocess.run([*cmd, str(base)], cwd=REPO, check=True, capture_output=True)
    before, _ = counts(db)
    assert before == 1000
    # How long a whole import takes here (on a scratch copy), so the kills land inside one.
    scratch = [sys.executable, "-m", "dashboard", "import", "--db", str(tmp_path / "scratch.duckdb"), str(big)]
    started = time.monotonic()
    subprocess.run(scratch, cwd=REPO, check=True, capture_output=True)
    whole = time.monotonic() - started
    rng = random.Random(20261128)
    outcomes = []
    for _ in range(ROUNDS):
        proc = subprocess.Popen([*cmd, str(big)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 0.7) * whole)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        n, register = counts(db)
        assert n in (before, before + ROWS), f"half an import landed: {n} rows"
        assert all(status == "complete" for status, _ in register), register
        assert sum(added for _, added in register) == n
        outcomes.append(n == before + ROWS)
        if n == before + ROWS:
            break  # it finished before the kill: nothing more to interrupt
    print(f"kill -9 rounds: {len(outcomes)}, interrupted mid-import: {sum(not d for d in outcomes)}, all consistent")
    assert any(not done for done in outcomes), "no round interrupted the import; the file is too small"
    result = subprocess.run([*cmd, str(big), "--json"], cwd=REPO, check=True, capture_output=True, text=True)
    report = json.loads(result.stdout)
    n, register = counts(db)
    assert n == before + ROWS
    if outcomes[-1]:
        assert (report["added"], report["duplicates"]) == (0, ROWS)
    else:
        assert (report["added"], report["duplicates"]) == (ROWS, 0)
    assert register[-1] == ("complete", report["added"])
