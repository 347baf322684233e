"""The example suite against the loopback server: pass counts, intervals, cost per pass by hand,
errors by kind, the key nowhere, runs stored and compared."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from support.eval_server import ANSWERS, EVAL_KEY, RATES, SUITE, completion_tokens
from test_stats import wilson_by_hand

from dashboard.evaluate import load_suite, run_json, run_suite, summarize
from dashboard.evaluate.planning import planner_rows
from dashboard.evaluate.storage import list_runs, load_run, save_run
from dashboard.evaluate.summary import regressions
from dashboard.live.client import ApiKey, Endpoint
from dashboard.live.experiments import Target

MODELS = ("oracle", "sometimes", "toolbot", "flaky")


def targets(server, models=MODELS, key=None):
    # Two attempts: the flaky model's 429 and then its 500, with no backoff longer than Retry-After: 0.
    return [Target(f"loopback/{m}", Endpoint(base_url=server.base_url, provider="loopback", api_key=key,
                                             max_attempts=2, backoff_s=0.01), m) for m in models]


@pytest.fixture
def suite():
    return load_suite(SUITE.read_bytes(), SUITE.name)


def expected_cost(model: str, suite) -> Decimal:
    """Every case's cost from the server's token rules and the loopback rates, written out."""
    rate_in, rate_cached, rate_out = RATES[model]
    total = Decimal(0)
    for case, task in zip(suite.cases, ANSWERS, strict=True):
        prompt = len(" ".join(m["content"] for m in case.messages).split())
        cached = prompt // 8 * 4
        answer = task.right if model == "oracle" else task.right if task.sometimes_right else task.wrong
        if model == "toolbot":
            answer = ANSWERS[-1].right
        total += ((prompt - cached) * rate_in + cached * rate_cached + completion_tokens(answer) * rate_out) / 1_000_000
    return total


@pytest.mark.slow
def test_the_example_suite_on_four_models(server, suite, catalog):
    run = run_suite(suite, targets(server), repeat=1, concurrency=4, catalog=catalog)
    by = {s.target.split("/")[1]: s for s in summarize(run)}
    assert {m: (s.tests, s.runs, s.passed) for m, s in by.items()} == {
        "oracle": (12, 12, 12), "sometimes": (12, 12, 5), "toolbot": (12, 12, 1), "flaky": (12, 12, 0)}
    for s in by.values():
        lo, hi = wilson_by_hand(s.passed, s.runs)
        assert (s.pass_rate_lo95, s.pass_rate_hi95) == pytest.approx((max(lo, 0), min(hi, 1)), abs=1e-12)
    # Cost per passed task: every run's cost (passed or not) over the passes, exact to 12 places.
    for model in ("oracle", "sometimes", "toolbot"):
        cost = expected_cost(model, suite)
        assert by[model].cost_usd == cost
        passed = by[model].passed
        assert by[model].cost_per_pass_usd == (cost / passed).quantize(Decimal("1e-12"))
    assert by["flaky"].cost_usd is None and by["flaky"].cost_per_pass_usd is None
    assert by["flaky"].errors == {"server_error": 12}  # 429, retried, then 500
    assert by["oracle"].cache_read_tokens > 0 and by["oracle"].p50_latency_ms > 0 and by["oracle"].p95_ttft_ms > 0
    # Per test: what failed, expected and got.
    doc = run_json(run)
    wrong = next(r for r in doc["results"] if r["target"] == "loopback/sometimes" and r["test"] == "reasoning: trip minutes")
    assert wrong["passed"] is False
    assert wrong["failed_asserts"] == [{"type": "regex", "expected": "regex '^\\\\s*155\\\\s*$'",
                                        "got": "About 2 hours 35 minutes"}]
    tool = next(r for r in doc["results"] if r["target"] == "loopback/sometimes" and r["test"] == "tool call: the weather")
    assert tool["failed_asserts"][0]["type"] == "is-valid-openai-tools-call" and "kelvin" in tool["failed_asserts"][0]["got"]
    flaky = next(r for r in doc["results"] if r["target"] == "loopback/flaky")
    assert flaky["error_kind"] == "server_error" and "HTTP 500 after 2 attempts" in flaky["error"]
    # Tools were sent as the request body allows, only with the tool test.
    sent = [b for b in server.bodies if b["model"] == "oracle"]
    assert sum("tools" in b for b in sent) == 1 and all(b["stream"] for b in sent)


@pytest.mark.slow
def test_repeats_and_significance(server, suite, catalog):
    run = run_suite(suite, targets(server, ("oracle", "sometimes")), repeat=3, concurrency=8, catalog=catalog)
    a, b = summarize(run)
    assert (a.runs, a.passed, b.runs, b.passed) == (36, 36, 36, 15)
    assert sorted({r.repeat for r in run.results}) == [1, 2, 3]
    diff = run_json(run)["differences"][0]
    assert diff["a"] == "loopback/oracle" and diff["significant"] is True and diff["runs_needed"] > 0


@pytest.mark.slow
def test_the_key_never_appears_in_stored_results(server, suite, catalog, warehouse):
    run = run_suite(suite, targets(server, ("leaky", "oracle"), key=ApiKey(EVAL_KEY)), catalog=catalog)
    save_run(warehouse, run)
    pieces = [EVAL_KEY[i:i + 8] for i in range(len(EVAL_KEY) - 7)]
    stored = warehouse.query("SELECT * FROM eval_results").fetchall()
    stored += warehouse.query("SELECT * FROM eval_runs").fetchall()
    text = json.dumps(stored, default=str) + json.dumps(run_json(run))
    assert "Here is your key back: ***" in text  # the server did echo it
    assert not [p for p in pieces if p in text]
    assert all(b for b in server.bodies)  # and the key did travel, in the header only


@pytest.mark.slow
def test_a_stored_run_reads_back_the_same_and_the_regression_view(server, suite, catalog, warehouse):
    first = run_suite(suite, targets(server, ("oracle", "sometimes")), catalog=catalog)
    save_run(warehouse, first)
    assert load_run(warehouse, first.run_id) == first
    assert summarize(load_run(warehouse, first.run_id)) == summarize(first)
    # The second run: the "oracle" route now answers as "sometimes" does (a model behind it changed).
    second = run_suite(suite, [replace(t, model="sometimes") if t.label == "loopback/oracle" else t
                               for t in targets(server, ("oracle", "sometimes"))], catalog=catalog)
    save_run(warehouse, second)
    runs = list_runs(warehouse)
    assert [r["run_id"] for r in runs] == [second.run_id, first.run_id]
    assert runs[0]["suite_sha256"] == suite.sha256 and runs[1]["passed"] == 17 and runs[0]["runs"] == 24
    rows = regressions(load_run(warehouse, first.run_id), load_run(warehouse, second.run_id))
    fell = {t.marker for t in ANSWERS if not t.sometimes_right}
    assert {r["target"] for r in rows} == {"loopback/oracle"}
    assert len(rows) == len(fell) == 7
    trip = next(r for r in rows if r["test"] == "reasoning: trip minutes")
    assert trip["before"] == "pass" and trip["now"] == "fail" and "About 2 hours 35 minutes" in trip["why"]
    assert regressions(second, first) == []  # nothing that passed in the second fails in the first


def test_measured_tokens_price_a_month_at_scale(server, suite, catalog):
    run = run_suite(suite, targets(server, ("oracle", "sometimes")), catalog=catalog)
    rows = {r["target"]: r for r in planner_rows(run, 1000, catalog)}
    oracle = [r for r in run.results if r.target == "loopback/oracle"]
    prompt = sum(r.prompt_tokens for r in oracle)
    cached = sum(r.cache_read_tokens for r in oracle)
    output = sum(r.output_tokens for r in oracle)
    # The planner's month: 30,000 tasks; its tokens rounded half-even on the month's totals.
    month_prompt = round(Decimal(30_000) * prompt / 12)
    month_cached = round(month_prompt * (Decimal(cached) / prompt))
    month_output = round(Decimal(30_000) * output / 12)
    rate_in, rate_cached, rate_out = RATES["oracle"]
    want = ((month_prompt - month_cached) * rate_in + month_cached * rate_cached + month_output * rate_out) / 1_000_000
    assert rows["loopback/oracle"]["monthly_usd"] == want
    assert rows["loopback/oracle"]["monthly_per_passed_usd"] == want  # every task passed
    assert rows["loopback/sometimes"]["monthly_per_passed_usd"] == rows["loopback/sometimes"]["monthly_usd"] * 12 / 5


@pytest.mark.slow
def test_the_evaluate_room_loads_no_streamlit():
    import subprocess
    import sys

    from support.paths import REPO

    code = "import sys, dashboard.evaluate.storage, dashboard.evaluate.planning; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
