"""Decisions over the whole file: cached-token semantics (before an import, or by the rows as the
import reads them), the default route, charge columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import REPO

from dashboard.ingest import Options, import_file, plan_file
from dashboard.ingest.formats.generic import guess_mapping
from dashboard.ingest.survey import decide, survey_file
from dashboard.warehouse import Warehouse, settings


def disjoint_csv(path: Path, looks_included: int = 400, over: int = 100) -> Path:
    """A gateway export whose buckets are disjoint: the first rows would pass for 'included'
    (fewer cached than prompt tokens), later rows cannot (more cached than prompt)."""
    rows = [f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,deepseek-v4-flash,{6000 + i},{2000 + i},90,r{i}"
            for i in range(looks_included)]
    rows += [f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:30:00Z,deepseek-v4-flash,{500 + i},{9000 + i},90,s{i}"
             for i in range(over)]
    path.write_text("timestamp,model,prompt_tokens,cached_tokens,completion_tokens,request_id\n" + "\n".join(rows))
    return path


def test_whole_file_detect_reads_disjoint_buckets_and_keeps_every_row(warehouse, tmp_path):
    path = disjoint_csv(tmp_path / "gw.csv")
    survey = survey_file(warehouse, path, None, Options())
    assert (survey.records, survey.cached_over_prompt, survey.provider_rows) == (500, 100, 0)
    decision = decide(warehouse, path, None, Options())
    assert decision.options.cached_included is False
    result = import_file(warehouse, path, None, decision.options)
    assert (result.added, result.rejected) == (500, 0)
    reads, inputs = warehouse.query("SELECT sum(cache_read_tokens), sum(input_tokens) FROM requests").fetchone()
    assert reads == sum(2000 + i for i in range(400)) + sum(9000 + i for i in range(100))
    assert inputs == sum(6000 + i for i in range(400)) + sum(500 + i for i in range(100))


@pytest.mark.slow
def test_the_first_rows_alone_would_have_rejected_good_rows(warehouse, tmp_path):
    """What reading the prompt tokens as including the cached ones does to that file."""
    result = import_file(warehouse, disjoint_csv(tmp_path / "gw.csv"), None, Options(cached_included=True))
    assert result.rejected == 100


def test_detect_keeps_included_when_no_row_says_otherwise(warehouse, tmp_path):
    path = disjoint_csv(tmp_path / "gw.csv", over=0)
    assert decide(warehouse, path, None, Options()).options.cached_included is True


def test_a_choice_made_is_not_second_guessed(warehouse, tmp_path):
    path = disjoint_csv(tmp_path / "gw.csv")
    decision = decide(warehouse, path, None, Options(cached_included=True))
    assert decision.options == Options(cached_included=True) and decision.survey is None


@pytest.mark.parametrize(("routes", "rows", "route"), [
    pytest.param({"deepseek": "ourtoken"}, [("deepseek-v4-flash", None)], "ourtoken", id="vendor-routed"),
    pytest.param({"deepseek": "ourtoken"}, [("deepseek-v4-flash", "deepseek")], None, id="file-names-provider"),
    pytest.param({"deepseek": "ourtoken"}, [("deepseek-v4-flash", None), ("gpt-4o-mini", None)], None,
                 id="a-model-of-another-vendor"),
    pytest.param({}, [("deepseek-v4-flash", None)], None, id="no-default-route"),
])
def test_default_route(warehouse, tmp_path, routes, rows, route):
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps({
        "id": f"d{i}", "created": 1790000000 + i, "model": model, **({"route": provider} if provider else {}),
        "usage": {"prompt_tokens": 100, "completion_tokens": 10}}) + "\n" for i, (model, provider) in enumerate(rows)))
    decision = decide(warehouse, path, None, Options(), routes, warehouse.catalog)
    assert decision.route == route and decision.options.provider == route
    # --provider (or the page's Provider) always wins
    chosen = decide(warehouse, path, None, Options(provider="deepseek"), routes, warehouse.catalog)
    assert chosen.options.provider == "deepseek" and chosen.route is None


@pytest.mark.parametrize("header", ["Spend (USD)", "cost", "Amount", "BILLED", "charge", "Cost ($)", "amount (usd)"])
def test_a_charge_named_column_is_the_billed_cost(header):
    assert guess_mapping(["timestamp", "model", "input_tokens", "output_tokens", header])["billed_cost"] == header


@pytest.mark.parametrize("header", ["Cost (EUR)", "Latency (s)"])
def test_a_column_in_another_unit_is_not_taken_for_dollars(header):
    assert header not in guess_mapping(["timestamp", "model", "input_tokens", header]).values()


@pytest.mark.slow
def test_a_charge_column_lands_as_billed_cost(warehouse, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Date,Model,Prompt Tokens,Completion Tokens,Spend (USD)\n"
                    "2026-10-01T10:00:00Z,deepseek-v4-flash,1000,100,0.000123456\n")
    assert import_file(warehouse, path).added == 1
    assert str(warehouse.query("SELECT billed_cost FROM requests").fetchone()[0]).rstrip("0") == "0.000123456"


@pytest.mark.slow
def test_the_command_line_honours_the_default_route(tmp_path):
    db = tmp_path / "usage.duckdb"
    with Warehouse.open(db) as wh:
        settings.set_default_route(wh, "deepseek", "ourtoken")
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps({"id": "c1", "created": 1790000000, "model": "deepseek-v4-flash",
                                "usage": {"prompt_tokens": 100, "completion_tokens": 10}}) + "\n")
    other = tmp_path / "other.jsonl"
    other.write_text(path.read_text().replace('"c1"', '"c2"'))

    def cli(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "dashboard", "import", *args, "--db", str(db), "--json"],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert cli(str(path))["default_route"] == "ourtoken"
    assert "default_route" not in cli(str(other), "--provider", "deepseek")
    with Warehouse.open(db) as wh:
        assert wh.query("SELECT request_id, provider FROM requests ORDER BY 1").fetchall() == [
            ("c1", "ourtoken"), ("c2", "deepseek")]


@pytest.mark.slow
def test_the_command_line_detects_cached_semantics_over_the_whole_file(tmp_path):
    """The same file through `python -m dashboard import` without --cached-included-in-input: every row kept."""
    path = disjoint_csv(tmp_path / "gw.csv")
    db = tmp_path / "usage.duckdb"
    done = subprocess.run([sys.executable, "-m", "dashboard", "import", str(path), "--db", str(db), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["added"], record["rejected"], record["cached_included"]) == (500, 0, False)
    with Warehouse.open(db) as wh:
        reads = wh.query("SELECT sum(cache_read_tokens) FROM requests").fetchone()[0]
    assert reads == sum(2000 + i for i in range(400)) + sum(9000 + i for i in range(100))


DISJOINT_READS = sum(2000 + i for i in range(400)) + sum(9000 + i for i in range(100))
DISJOINT_INPUTS = sum(6000 + i for i in range(400)) + sum(500 + i for i in range(100))


def totals(wh):
    return wh.query("SELECT count(*), sum(cache_read_tokens), sum(input_tokens) FROM requests").fetchone()


@pytest.mark.slow
def test_left_open_the_rows_decide_as_the_import_reads_them(warehouse, tmp_path):
    # No survey first: the file is read as including the cached tokens until row 401 shows it
    # cannot; that read rolls back and the file is read as separate buckets.
    path = disjoint_csv(tmp_path / "gw.csv")
    the_plan = plan_file(warehouse, path)
    assert the_plan.otherwise is not None and the_plan.otherwise.params["cached_included"] is False
    assert "unless a row has more cached than prompt tokens" in the_plan.explain()
    result = import_file(warehouse, path)
    assert (result.added, result.rejected, result.cached_included) == (500, 0, False)
    assert totals(warehouse) == (500, DISJOINT_READS, DISJOINT_INPUTS)
    assert warehouse.query("SELECT count(*), count(*) FILTER (WHERE status = 'complete') FROM imports").fetchone() \
        == (1, 1)  # the read that gave way left no trace
    assert import_file(warehouse, path).added == 0  # and a second import adds nothing


@pytest.mark.slow
def test_left_open_a_file_no_row_contradicts_is_read_as_included(warehouse, tmp_path):
    result = import_file(warehouse, disjoint_csv(tmp_path / "gw.csv", over=0))
    assert (result.added, result.rejected, result.cached_included) == (400, 0, True)
    assert totals(warehouse) == (400, sum(2000 + i for i in range(400)), sum(4000 for _ in range(400)))


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["torn-csv", "jsonl"])
def test_the_rows_decide_on_the_staged_and_the_json_reads_too(warehouse, tmp_path, shape):
    path = disjoint_csv(tmp_path / "gw.csv")
    if shape == "torn-csv":  # a line with too few fields sends the file to the staged read
        path.write_text(path.read_text() + "\n2026-10-05T00:00:00Z,deepseek-v4-flash\n")
    else:
        header, *lines = path.read_text().splitlines()
        path = tmp_path / "gw.jsonl"
        path.write_text("".join(json.dumps(dict(zip(header.split(","), line.split(","), strict=True))) + "\n" for line in lines))
    result = import_file(warehouse, path)
    assert (result.added, result.rejected, result.cached_included) == (500, shape == "torn-csv", False)
    assert totals(warehouse) == (500, DISJOINT_READS, DISJOINT_INPUTS)


@pytest.mark.slow
def test_a_choice_made_leaves_nothing_to_the_rows(warehouse, tmp_path):
    path = disjoint_csv(tmp_path / "gw.csv")
    assert plan_file(warehouse, path, None, Options(cached_included=True)).otherwise is None
    result = import_file(warehouse, path, None, Options(cached_included=True))
    assert (result.added, result.rejected, result.cached_included) == (400, 100, True)


def test_a_file_without_a_cached_column_is_not_read_twice(warehouse, tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("timestamp,model,prompt_tokens,completion_tokens,request_id\n2026-10-01T00:00:00Z,gpt-4o,10,2,a\n")
    decision = decide(warehouse, path, None, Options())
    assert decision.survey is None and decision.options == Options()
