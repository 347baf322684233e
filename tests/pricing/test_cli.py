"""`python -m pricing` as people and scripts call it."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pricing", *args], cwd=REPO, capture_output=True, text=True)


def test_quote_json_is_exact():
    out = run("quote", "--model", "deepseek-v4-flash", "--provider", "ourtoken", "--input", "7592",
              "--cache-read", "94464", "--output", "252", "--reasoning", "44", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert Decimal(data["total_usd"]) == (7592 * Decimal("0.112") + 94464 * Decimal("0.002")
                                          + 252 * Decimal("0.224")) / 1_000_000
    assert Decimal(data["input_usd"]) == 7592 * Decimal("0.112") / 1_000_000
    for key in ("provider", "model", "cache_read_usd", "cache_write_usd", "output_usd", "rates", "period"):
        assert key in data
    assert "E" not in data["cache_write_usd"]


def test_quote_from_a_response_body(tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": "deepseek-v4-flash", "usage": {
        "prompt_tokens": 102056, "completion_tokens": 252, "prompt_cache_hit_tokens": 94464,
        "prompt_cache_miss_tokens": 7592}}))
    out = run("quote", "--model", "deepseek-v4-flash", "--provider", "ourtoken", "--usage-json", str(body), "--json")
    assert out.returncode == 0, out.stderr
    assert Decimal(json.loads(out.stdout)["total_usd"]) == Decimal("0.00109568")


def test_unknown_model_exits_2_with_suggestions():
    out = run("quote", "--model", "gpt-4o-mni", "--input", "1", "--output", "1")
    assert out.returncode == 2
    assert "no price for model 'gpt-4o-mni'" in out.stderr
    assert "gpt-4o-mini" in out.stderr
    assert out.stdout == ""


def test_human_quote_is_a_table():
    out = run("quote", "--model", "gpt-4o", "--provider", "openai", "--input", "1000", "--output", "10")
    assert out.returncode == 0, out.stderr
    assert "input" in out.stdout and "total" in out.stdout


def test_list_json_and_check():
    out = run("list", "--provider", "ourtoken", "--json")
    rows = json.loads(out.stdout)
    assert [r["model"] for r in rows] == ["deepseek-v4-flash"]
    assert rows[0]["rates"]["input"] == "0.1120"
    check = run("check")
    assert check.returncode == 0
    assert "catalog OK" in check.stdout
    # The reseller route declares upstream x factor; differences are reported, not hidden.
    assert "ourtoken/deepseek-v4-flash" in check.stdout


def test_import_litellm_writes_loadable_overlays(tmp_path):
    fixture = REPO / "tests" / "pricing" / "fixtures" / "litellm_small.json"
    out = run("import-litellm", str(fixture), "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "out").glob("*.toml"))
    assert files
    assert run("--overlay", str(files[0]), "check").returncode == 0
