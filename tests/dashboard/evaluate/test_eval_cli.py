"""`python -m dashboard eval` in a subprocess against the loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from support.eval_server import EVAL_KEY, SUITE
from support.paths import REPO

from dashboard.warehouse import Warehouse

TARGET_KEYS = {"target", "base_url", "tests", "runs", "passed", "pass_rate", "pass_rate_lo95", "pass_rate_hi95",
               "errors", "p50_latency_ms", "p95_latency_ms", "input_tokens", "cache_read_tokens", "output_tokens",
               "cost_usd", "cost_per_pass_usd"}
# A subprocess that imports the app's commands takes a few seconds to start on a shared machine.
pytestmark = pytest.mark.slow
RESULT_KEYS = {"target", "test", "repeat", "passed", "failed_asserts", "latency_ms", "cost_usd", "error"}


@pytest.fixture
def workdir(tmp_path: Path, prices_file: Path) -> Path:
    """A working directory whose data/prices.local.toml adds the loopback route."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.local.toml").write_text(prices_file.read_text())
    return tmp_path


def evaluate(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OURTOKEN_API_KEY", "USAGE_DB")}
    env.update(PYTHONPATH=str(REPO), EVAL_TEST_KEY=EVAL_KEY)
    proc = subprocess.run([sys.executable, "-m", "dashboard", "eval", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    pieces = [EVAL_KEY[i:i + 8] for i in range(len(EVAL_KEY) - 7)]
    assert not [p for p in pieces if p in proc.stdout + proc.stderr]
    assert "Traceback" not in proc.stderr
    return proc


def test_json_output_of_two_targets(server, workdir):
    db = workdir / "usage.duckdb"
    proc = evaluate(workdir, str(SUITE), "--target", f"loopback/oracle={server.base_url}",
                    "--target", f"loopback/sometimes={server.base_url}", "--repeat", "2", "--concurrency", "6",
                    "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [set(t) >= TARGET_KEYS for t in doc["targets"]] == [True, True]
    assert all(set(r) >= RESULT_KEYS for r in doc["results"]) and len(doc["results"]) == 48
    oracle, sometimes = doc["targets"]
    assert (oracle["runs"], oracle["passed"], sometimes["passed"]) == (24, 24, 10)
    assert Decimal(oracle["cost_per_pass_usd"]) == (Decimal(oracle["cost_usd"]) / 24).quantize(Decimal("1e-12"))
    assert sometimes["pass_rate"] == pytest.approx(10 / 24)
    with Warehouse.open(db, read_only=True) as wh:
        assert wh.query("SELECT count(*), count(*) FILTER (WHERE passed) FROM eval_results").fetchone() == (48, 34)
        assert wh.query("SELECT run_id FROM eval_runs").fetchone()[0] == doc["run_id"]


def test_text_output_shows_the_table_and_the_verdict(server, workdir):
    proc = evaluate(workdir, str(SUITE), "--target", f"loopback/oracle={server.base_url}",
                    "--target", f"loopback/toolbot={server.base_url}", "--db", str(workdir / "u.duckdb"))
    assert proc.returncode == 0, proc.stderr
    assert "Pass rate (95% CI)" in proc.stdout and "100.0% (75.8–100.0%)" in proc.stdout
    assert "significant at 95%: loopback/oracle passes more often" in proc.stdout
    assert "] 24/24 runs" in proc.stderr  # the progress bar


def test_a_failing_target_still_exits_0(server, workdir):
    proc = evaluate(workdir, str(SUITE), "--target", f"loopback/flaky={server.base_url}", "--max-attempts", "2",
                    "--db", str(workdir / "u.duckdb"), "--json")
    assert proc.returncode == 0, proc.stderr
    flaky = json.loads(proc.stdout)["targets"][0]
    assert flaky["errors"] == 12 and flaky["errors_by_kind"] == {"server_error": 12} and flaky["cost_per_pass_usd"] is None


def test_a_key_named_by_env_goes_only_in_the_header(server, workdir):
    proc = evaluate(workdir, str(SUITE), "--target", f"loopback/leaky={server.base_url}", "--api-key-env",
                    "EVAL_TEST_KEY", "--db", str(workdir / "u.duckdb"), "--json")
    assert proc.returncode == 0, proc.stderr
    with Warehouse.open(workdir / "u.duckdb", read_only=True) as wh:
        stored = json.dumps(wh.query("SELECT * FROM eval_results").fetchall(), default=str)
    assert "***" in stored and not [EVAL_KEY[i:i + 8] for i in range(len(EVAL_KEY) - 7) if EVAL_KEY[i:i + 8] in stored]


@pytest.mark.parametrize(
    ("suite_text", "args", "message"),
    [
        ("prompts: ['x']\ntests: [{assert: [{type: llm-rubric, value: good}]}]", (),
         "assertion type 'llm-rubric' is not supported"),
        ("prompts: ['x']\ntests:\n  - vars: {a: [b\n", (), "is not valid YAML at line"),
        (None, (), "cannot read suite"),
        ("prompts: ['x']\ntests: [{}]", ("--target", "loopback/no-such-model=http://127.0.0.1:9/v1"),
         "no-such-model"),
        ("prompts: ['x']\ntests: [{}]", ("--target", "oracle-without-route"), "is not PROVIDER/MODEL=BASE_URL"),
        ("prompts: ['x']\ntests: [{}]", ("--target", "loopback/oracle=http://example.com/v1"), "refusing plain http"),
        ("prompts: ['x']\ntests: [{}]", ("--repeat", "0"), "--repeat is a whole number from 1 to 100"),
    ],
    ids=["refused-type", "yaml-line", "missing-file", "unknown-model", "bad-target", "http", "repeat"],
)
def test_unusable_suites_and_arguments_exit_2_with_one_line(workdir, suite_text, args, message):
    path = workdir / "s.yaml"
    if suite_text is not None:
        path.write_text(suite_text)
    if "--target" not in args:
        args = (*args, "--target", "loopback/oracle=http://127.0.0.1:9/v1")
    proc = evaluate(workdir, str(path), *args, "--db", str(workdir / "u.duckdb"))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""
