"""Evaluation runs in the warehouse (`eval_runs`, `eval_results`; migration 9).

The warehouse is passed in: this module writes and reads through its cursor with bound
parameters and imports no database driver. A run read back is the same `EvalRun` the runner
made, so the summary of a stored run equals the one shown when it ran. The texts stored are
the runner's, already scrubbed of the API key.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from dashboard.errors import WarehouseError
from dashboard.evaluate.runner import EvalResult, EvalRun

__all__ = ["list_runs", "load_run", "save_run"]

RESULT_COLUMNS = (
    "run_id", "target", "base_url", "test_index", "test", "test_named", "prompt_index", "repeat", "passed",
    "failed_asserts", "latency_ms", "ttft_ms", "input_tokens", "cache_read_tokens", "cache_write_tokens",
    "output_tokens", "reasoning_tokens", "cost_usd", "cost_note", "error_kind", "error", "output",
)


class Store(Protocol):
    read_only: bool

    def cursor(self) -> Any: ...

    def transaction(self, cur: Any) -> Any: ...

    def write_lock(self, wait: bool = True) -> Any: ...

    def query(self, sql: str, params: Any = None) -> Any: ...


def save_run(wh: Store, run: EvalRun) -> None:
    """Store the run and every result in one transaction."""
    if wh.read_only:
        raise WarehouseError("the warehouse is open read-only, so the run cannot be stored; close the other "
                             "process that holds it, or pass another --db")
    rows = [
        [run.run_id, r.target, r.base_url, r.test_index, str(r.test), isinstance(r.test, str), r.prompt_index,
         r.repeat, r.passed, json.dumps(list(r.failed_asserts)), r.latency_ms, r.ttft_ms, r.input_tokens,
         r.cache_read_tokens, r.cache_write_tokens, r.output_tokens, r.reasoning_tokens,
         None if r.cost_usd is None else str(r.cost_usd), r.cost_note, r.error_kind, r.error, r.output]
        for r in run.results
    ]
    cur = wh.cursor()
    with wh.write_lock(), wh.transaction(cur):
        cur.execute(
            "INSERT INTO eval_runs (run_id, started_at, finished_at, suite_name, suite_sha256, targets, repeats, tests)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, run.started_at, run.finished_at, run.suite_name, run.suite_sha256,
             json.dumps([list(t) for t in run.targets]), run.repeat, run.tests],
        )
        if rows:
            cur.executemany(
                f"INSERT INTO eval_results ({', '.join(RESULT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(RESULT_COLUMNS))})",
                rows,
            )


def list_runs(wh: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The latest runs first: id, when, suite, its hash, targets, repeats, runs and passes."""
    cur = wh.query(
        """
        SELECT r.run_id, r.started_at, r.suite_name, r.suite_sha256, r.targets, r.repeats, r.tests,
            count(x.run_id) AS runs, count(x.run_id) FILTER (WHERE x.passed) AS passed
        FROM eval_runs AS r LEFT JOIN eval_results AS x ON x.run_id = r.run_id
        GROUP BY ALL ORDER BY r.started_at DESC LIMIT ?
        """,
        [limit],
    )
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        rec["targets"] = [t[0] for t in json.loads(rec["targets"])]
        out.append(rec)
    return out


def load_run(wh: Store, run_id: str) -> EvalRun:
    """A stored run as the runner made it; WarehouseError when there is no such run."""
    head = wh.query(
        "SELECT run_id, started_at, finished_at, suite_name, suite_sha256, targets, repeats, tests "
        "FROM eval_runs WHERE run_id = ?",
        [run_id],
    ).fetchall()
    if not head:
        raise WarehouseError(f"no evaluation run {run_id!r} in the warehouse; pick one of the stored runs")
    rid, started, finished, suite, sha, targets, repeats, tests = head[0]
    cur = wh.query(
        f"SELECT {', '.join(RESULT_COLUMNS)} FROM eval_results WHERE run_id = ? "
        "ORDER BY rowid",
        [run_id],
    )
    results = []
    for row in cur.fetchall():
        rec = dict(zip(RESULT_COLUMNS, row, strict=True))
        rec.pop("run_id")
        named = rec.pop("test_named")
        rec["test"] = rec["test"] if named else int(rec["test"])
        rec["failed_asserts"] = tuple(json.loads(rec["failed_asserts"]))
        rec["output"] = rec["output"] or ""
        results.append(EvalResult(**rec))
    return EvalRun(rid, started, finished, suite, sha, tuple(tuple(t) for t in json.loads(targets)), repeats,
                   tests, tuple(results))
