"""The scenario, simulate-cache and forecast commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from forecast_helpers import ACME_TOML, MOONCAKE, needs_mooncake
from support.paths import REPO

from dashboard.forecasts.scenario import DAYS_PER_MONTH
from dashboard.forecasts.trend import MAX_HORIZON

M = 1_000_000
PYTHON = REPO / ".venv" / "bin" / "python"


def dashboard(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    return subprocess.run(
        [python, "-m", "dashboard", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def acme_cwd(tmp_path: Path) -> Path:
    """A working directory whose data/prices.local.toml adds the test route `acme`."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.local.toml").write_text(ACME_TOML, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_scenario_json(acme_cwd: Path) -> None:
    run = dashboard(
        "scenario", "--route", "acme/big,acme/small", "--requests-per-day", "1000", "--input-tokens", "2000",
        "--output-tokens", "500", "--cache-hit", "0.4", "--cache-write-share", "0.1", "--growth", "10",
        "--months", "2", "--json", cwd=acme_cwd,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    big, small = out["routes"]
    assert (big["route"], big["cheapest"], small["route"], small["cheapest"]) == (
        "acme/big", False, "acme/small", True)  # fmt: skip
    assert [m["month"] for m in small["months"]] == [1, 2]
    assert [m["requests"] for m in small["months"]] == [30_000, 33_000]
    # month 2: 33,000 requests x 2000 prompt tokens = 66M: 26.4M read, 6.6M written, 33M input; 16.5M out
    month2 = (
        33_000_000 * Decimal("0.5") / M + 26_400_000 * Decimal("0.05") / M
        + 6_600_000 * Decimal("0.625") / M + 16_500_000 * Decimal(2) / M
    )  # fmt: skip
    assert Decimal(small["months"][1]["cost_usd"]) == month2
    assert Decimal(small["total_usd"]) == month2 * 10 / 11 + month2
    assert isinstance(small["total_usd"], str)


@pytest.mark.slow
def test_scenario_on_the_shipped_catalog() -> None:
    run = dashboard(
        "scenario", "--route", "ourtoken/deepseek-v4-flash", "--requests-per-day", "100",
        "--input-tokens", "1000", "--output-tokens", "100", "--months", "1", "--json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    route = json.loads(run.stdout)["routes"][0]
    rates = route["rates_per_mtok"]
    assert Decimal(route["total_usd"]) == (
        3_000_000 * Decimal(rates["input"]) / M + 300_000 * Decimal(rates["output"]) / M
    )


@pytest.mark.slow
def test_scenario_table_and_help(acme_cwd: Path) -> None:
    run = dashboard(
        "scenario", "--route", "acme/small", "--users", "50", "--requests-per-user", "2",
        "--input-tokens", "100", "--output-tokens", "10", "--months", "3", "--sensitivity", cwd=acme_cwd,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "acme/small *" in run.stdout and "cheapest: acme/small" in run.stdout
    assert "requests_per_day" in run.stdout
    help_text = dashboard("scenario", "--help").stdout
    assert f"A month is {DAYS_PER_MONTH} days" in help_text and "(1 + growth/100)^k" in help_text


@pytest.mark.slow
def test_scenario_errors_are_one_line(acme_cwd: Path) -> None:
    run = dashboard(
        "scenario", "--route", "acme/nope", "--requests-per-day", "1", "--input-tokens", "1",
        "--output-tokens", "1", cwd=acme_cwd,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith("error: no price for model 'nope'") and "Traceback" not in run.stderr
    run = dashboard(
        "scenario", "--route", "acme/small", "--input-tokens", "1", "--output-tokens", "1", cwd=acme_cwd
    )
    assert run.returncode == 1 and "--requests-per-day" in run.stderr


@pytest.mark.slow
def test_simulate_cache_json_small_trace(acme_cwd: Path) -> None:
    trace = acme_cwd / "trace.jsonl"
    rows = [
        {"timestamp": 0, "input_length": 1024, "output_length": 10, "hash_ids": [1, 2]},
        {"timestamp": 1000, "input_length": 1500, "output_length": 20, "hash_ids": [1, 2, 3]},
        {"timestamp": 60_000, "input_length": 600, "output_length": 30, "hash_ids": [1, 4]},
    ]
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = dashboard("simulate-cache", str(trace), "--route", "acme/small", "--json", cwd=acme_cwd)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"requests", "input_tokens", "cache_read_tokens", "hit_rate", "cost_usd"} <= out.keys()
    assert (out["requests"], out["input_tokens"], out["cache_read_tokens"]) == (3, 3124, 1536)
    assert Decimal(out["hit_rate"]) == Decimal(1536) / Decimal(3124)
    assert Decimal(out["cost_usd"]) == (
        (3124 - 1536) * Decimal("0.5") / M + 1536 * Decimal("0.05") / M + 60 * Decimal(2) / M
    )
    # With a 30-second TTL block 1 has expired by the third request.
    out = json.loads(dashboard("simulate-cache", str(trace), "--route", "acme/small", "--ttl-seconds", "30",
                               "--json", cwd=acme_cwd).stdout)  # fmt: skip
    assert out["cache_read_tokens"] == 1024
    # One block of room keeps only the shared first block, a hit for each later request.
    capped = dashboard(
        "simulate-cache", str(trace), "--route", "acme/small", "--capacity-blocks", "1", "--json",
        cwd=acme_cwd,
    )  # fmt: skip
    assert json.loads(capped.stdout)["cache_read_tokens"] == 2 * 512


@pytest.mark.slow
@needs_mooncake
def test_simulate_cache_on_mooncake() -> None:
    run = dashboard("simulate-cache", str(MOONCAKE), "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["route"] == "ourtoken/deepseek-v4-flash" and out["requests"] == 12_031
    assert abs(Decimal(out["hit_rate"]) - Decimal("0.374")) <= Decimal("0.001")
    human = dashboard("simulate-cache", str(MOONCAKE), "--capacity-blocks", "5000")
    assert human.returncode == 0 and "hit rate" in human.stdout


def _warehouse_with_daily_spend(path: Path, days: int) -> None:
    from dashboard.warehouse import Warehouse

    wh = Warehouse.open(path)
    start = datetime(2026, 9, 1, 12, tzinfo=UTC)
    weekly = [10, 12, 11, 13, 14, 6, 5]
    rows = [
        {
            "source": "test", "request_id": f"r{d}", "ts": start + timedelta(days=d),
            "provider": "ourtoken", "model": "deepseek-v4-flash",
            "input_tokens": (weekly[d % 7] + d // 7) * M, "output_tokens": 100_000,
        }
        for d in range(days)
    ]  # fmt: skip
    try:
        wh.insert_requests(rows)
    finally:
        wh.close()


@pytest.mark.slow
def test_forecast_json_from_a_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "usage.duckdb"
    _warehouse_with_daily_spend(db, 45)
    run = dashboard("forecast", "--db", str(db), "--days", "10", "--budget", "20", "--today", "2026-10-16", "--json",
                    cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["history_days"] == 45 and out["model"] == "ETS(A,A,A) weekly"
    assert len(out["points"]) == 10 and out["points"][0]["date"] == "2026-10-16"
    for p in out["points"]:
        assert set(p) == {"date", "mean_usd", "lo80_usd", "hi80_usd", "lo95_usd", "hi95_usd"}
        assert (
            Decimal(p["lo95_usd"])
            <= Decimal(p["lo80_usd"])
            <= Decimal(p["mean_usd"])
            <= Decimal(p["hi80_usd"])
        )
    assert out["month_end"]["month"] == "2026-10"
    assert {"mape", "coverage80"} <= out["backtest"].keys()
    assert "runs_out_on" in out["budget"]
    human = dashboard("forecast", "--db", str(db), "--days", "3", cwd=tmp_path)
    assert human.returncode == 0 and "backtest on the last 14 days" in human.stdout


@pytest.mark.slow
def test_forecast_help_states_the_horizon() -> None:
    assert f"1-{MAX_HORIZON}" in dashboard("forecast", "--help").stdout


@pytest.mark.slow
def test_forecast_without_a_warehouse_is_an_error(tmp_path: Path) -> None:
    run = dashboard("forecast", "--db", str(tmp_path / "missing.duckdb"), cwd=tmp_path)
    assert run.returncode == 1 and "no warehouse at" in run.stderr


@pytest.mark.slow
def test_forecast_projects_the_month_of_today_with_its_spend_from_the_data(tmp_path: Path) -> None:
    # History to 15 October; "today" is 6 December: the projection is December's, with nothing spent
    # so far, where it projected October, the month after the history.
    db = tmp_path / "usage.duckdb"
    _warehouse_with_daily_spend(db, 45)
    run = dashboard("forecast", "--db", str(db), "--days", "3", "--today", "2026-12-06", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    me = json.loads(run.stdout)["month_end"]
    assert me["month"] == "2026-12" and Decimal(me["actual_to_date_usd"]) == 0
    bad = dashboard("forecast", "--db", str(db), "--today", "2026-13-01", cwd=tmp_path)
    assert bad.returncode == 2 and "not a day in the form YYYY-MM-DD" in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("days", ["-5", "0", "91", "ten"])
def test_a_bad_horizon_is_a_usage_error(tmp_path: Path, days: str) -> None:
    run = dashboard("forecast", "--db", str(tmp_path / "missing.duckdb"), "--days", days, cwd=tmp_path)
    assert run.returncode == 2 and f"not a number of days from 1 to {MAX_HORIZON}" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("forecast", "--budget", "NaN"), "argument --budget: 'NaN' is not a finite number"),
        pytest.param(("forecast", "--budget", "lots"), "argument --budget: 'lots' is not a number",
                     marks=pytest.mark.slow),
        pytest.param(("scenario", "--route", "acme/small", "--requests-per-day", "1", "--input-tokens", "1",
                      "--output-tokens", "1", "--cache-hit", "Infinity"),
                     "argument --cache-hit: 'Infinity' is not a finite number", marks=pytest.mark.slow),
    ],
    ids=["budget-nan", "budget-text", "share-infinite"],
)
def test_a_number_that_is_not_finite_is_a_usage_error(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    run = dashboard(*args, cwd=tmp_path)
    assert run.returncode == 2 and needle in run.stderr and len(run.stderr.strip().splitlines()) == 1
