"""`python -m dashboard call` in a subprocess against the loopback server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.fake_server import FAKE_KEY, FakeOpenAI
from support.paths import REPO

from dashboard.warehouse import Warehouse

IN, OUT = Decimal("0.5"), Decimal("2.0")
CALL_KEYS = {
    "status", "latency_ms", "ttft_ms", "prompt_tokens", "cached_tokens", "completion_tokens", "cost_usd",
    "error",
}
Proc = subprocess.CompletedProcess[str]
SUMMARY_KEYS = {"p50_latency_ms", "p95_latency_ms", "total_cost_usd", "errors"}


@pytest.fixture
def workdir(tmp_path: Path, prices_file: Path) -> Path:
    """A working directory whose data/prices.local.toml adds the loopback route."""
    (tmp_path / "data").mkdir()
    shutil.copy(prices_file, tmp_path / "data" / "prices.local.toml")
    return tmp_path


def cli(workdir: Path, url: str, *args: str, key: bool = True, **extra_env: str) -> Proc:
    """Run `call --base-url URL --model fake-model ARGS` with the key in FAKE_KEY_VAR."""
    args = ("--base-url", url, "--model", "fake-model", *args)
    env = {k: v for k, v in os.environ.items() if k not in ("OURTOKEN_API_KEY", "USAGE_DB")}
    env.update(extra_env, PYTHONPATH=str(REPO))
    if key:
        env["FAKE_KEY_VAR"] = FAKE_KEY
        args = (*args, "--api-key-env", "FAKE_KEY_VAR")
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "call", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=60,
    )
    runs = [FAKE_KEY[i : i + 8] for i in range(len(FAKE_KEY) - 7)]  # any 8 characters of the key in a row
    assert not [r for r in runs if r in proc.stdout or r in proc.stderr], proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def as_json(proc: Proc) -> dict[str, Any]:
    doc = json.loads(proc.stdout)
    assert set(doc) == {"calls", "summary"} and set(doc["summary"]) == SUMMARY_KEYS
    assert all(set(c) == CALL_KEYS for c in doc["calls"])
    return doc


@pytest.mark.slow
def test_repeated_streaming_calls_as_json_are_recorded(fake: FakeOpenAI, workdir: Path) -> None:
    db = workdir / "usage.duckdb"
    url = fake.base_url("delay=0.1")
    proc = cli(workdir, url, "--provider", "loopback", "--prompt", "one two three four", "--stream",
               "--repeat", "3", "--concurrency", "2", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = as_json(proc)
    per_call = (4 * IN + 5 * OUT) / 1_000_000
    assert [c["status"] for c in doc["calls"]] == [200, 200, 200]
    assert all(c["ttft_ms"] >= 100 and c["latency_ms"] >= c["ttft_ms"] for c in doc["calls"])
    tokens = [(c["prompt_tokens"], c["cached_tokens"], c["completion_tokens"]) for c in doc["calls"]]
    assert tokens == [(4, 0, 5)] * 3
    assert [Decimal(c["cost_usd"]) for c in doc["calls"]] == [per_call] * 3
    assert Decimal(doc["summary"]["total_cost_usd"]) == 3 * per_call
    summary = doc["summary"]
    assert summary["errors"] == 0 and summary["p95_latency_ms"] >= summary["p50_latency_ms"] > 100
    assert fake.count("delay=0.1") == 3 and fake.max_active == 2
    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"
    with Warehouse.open(db, read_only=True) as wh:
        rows = wh.query("SELECT provider, model, api_key, status, output_tokens FROM requests "
                        "WHERE source = 'live'").fetchall()
    assert rows == [("loopback", "fake-model", "…7890", "200", 5)] * 3
    assert FAKE_KEY.encode() not in db.read_bytes()


@pytest.mark.slow
def test_provider_defaults_from_the_catalog_by_model(fake: FakeOpenAI, workdir: Path) -> None:
    messages = workdir / "messages.json"
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "x"}]
    messages.write_text(json.dumps(chat))
    proc = cli(workdir, fake.base_url(), "--messages-json", str(messages), "--max-tokens", "2", "--json",
               "--no-record")
    assert proc.returncode == 0, proc.stderr
    call = as_json(proc)["calls"][0]
    assert (call["prompt_tokens"], call["completion_tokens"]) == (3, 2)
    assert Decimal(call["cost_usd"]) == (3 * IN + 2 * OUT) / 1_000_000  # priced on the loopback route
    assert fake.hits[0].body is not None and fake.hits[0].body["max_tokens"] == 2
    assert not (workdir / "data" / "usage.duckdb").exists()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["status=401", "echokey"], ids=["401", "server-echoes-the-key"])
def test_failed_calls_exit_1_and_never_show_the_key(fake: FakeOpenAI, workdir: Path, mode: str) -> None:
    db = workdir / "usage.duckdb"
    proc = cli(workdir, fake.base_url(mode), "--prompt", "hi", "--json", "--db", str(db))
    assert proc.returncode == 1
    doc = as_json(proc)
    assert doc["calls"][0]["status"] == 401 and "rejected the API key" in doc["calls"][0]["error"]
    assert doc["calls"][0]["cost_usd"] is None and doc["summary"]["errors"] == 1
    with Warehouse.open(db, read_only=True) as wh:  # a failure is not a billed request: not stored
        assert wh.query("SELECT count(*) FROM requests").fetchall() == [(0,)]
    assert "1 failed call(s) not recorded" in proc.stderr


@pytest.mark.slow
def test_no_usage_is_a_null_cost_with_a_note_recorded_to_usage_db(fake: FakeOpenAI, workdir: Path) -> None:
    db = workdir / "elsewhere.duckdb"
    proc = cli(workdir, fake.base_url("nousage"), "--prompt", "hi", "--json", USAGE_DB=str(db))
    assert proc.returncode == 0
    doc = as_json(proc)
    assert doc["calls"][0]["cost_usd"] is None and doc["summary"]["total_cost_usd"] is None
    assert "usage not reported" in proc.stderr
    with Warehouse.open(db, read_only=True) as wh:
        assert wh.query("SELECT status, output_tokens FROM requests").fetchall() == [("200", 0)]


@pytest.mark.slow
def test_text_output_shows_a_redacted_request(fake: FakeOpenAI, workdir: Path) -> None:
    proc = cli(workdir, fake.base_url(), "--prompt", "hi", "--no-record", "--requests-per-day", "1000")
    assert proc.returncode == 0, proc.stderr
    assert "Authorization: Bearer ***" in proc.stdout and "Hello from the loopback server." in proc.stdout
    assert "per 30-day month" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "needle"),
    [("http://api.example.com/v1", "refusing plain http://"), ("https://api.example.com/v1", "no API key")],
    ids=["http-not-loopback", "missing-key"],
)
def test_configuration_errors_are_one_line(workdir: Path, url: str, needle: str) -> None:
    proc = cli(workdir, url, "--prompt", "hi", "--no-record", key=False)
    assert proc.returncode == 1 and needle in proc.stderr and proc.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "args", "needle"),
    [
        ("echobody=66", ("--json",), "HTTP 400"),
        ("echomsg=190", (), "HTTP 400"),
        ("echoid=whole", ("--stream",), "note: the server's response id held the API key"),
        ("echochunk", ("--stream",), "(your key is ***)"),
        ("echochunk+echoheader", ("--json",), '"status": 200'),
    ],
    ids=["error-body", "error-message", "id", "streamed-chunk", "header"],
)
def test_an_echoed_key_is_scrubbed_from_all_output(fake: FakeOpenAI, workdir: Path, mode: str,
                                                   args: tuple[str, ...], needle: str) -> None:
    db = workdir / "usage.duckdb"
    proc = cli(workdir, fake.base_url(mode), "--prompt", "hi", "--db", str(db), *args)  # cli() checks for runs
    assert needle in proc.stdout + proc.stderr
    with Warehouse.open(db, read_only=True) as wh:
        ids = [r[0] for r in wh.query("SELECT request_id FROM requests").fetchall()]
    assert all(FAKE_KEY[3:11] not in i for i in ids)
    stored = db.read_bytes()
    assert not [i for i in range(len(FAKE_KEY) - 7) if FAKE_KEY[i : i + 8].encode() in stored]


def test_the_default_key_goes_only_to_its_own_base_url(workdir: Path) -> None:
    """OURTOKEN_API_KEY is OurToken's: another host gets no key unless --api-key-env names one."""
    proc = cli(workdir, "https://api.example.com/v1", "--prompt", "hi", "--no-record", key=False,
               OURTOKEN_API_KEY=FAKE_KEY)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no API key for https://api.example.com/v1" in proc.stderr
    assert "OURTOKEN_API_KEY is sent only to https://api.ourtoken.ai/v1" in proc.stderr
