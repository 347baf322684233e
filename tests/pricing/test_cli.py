"""`python -m pricing` as people and scripts call it."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from support.paths import REPO


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


@pytest.mark.slow
def test_list_json_and_check():
    out = run("list", "--provider", "ourtoken", "--json")
    rows = json.loads(out.stdout)
    assert [r["model"] for r in rows] == ["deepseek-v4-flash"]
    assert rows[0]["rates"]["input"] == "0.1120"
    check = run("check")
    assert check.returncode == 0
    assert "catalog OK" in check.stdout
    # OurToken's rates are compared with DeepSeek's list on the route's listing date (the launch
    # list, 0.14 / 0.28 / 0.028), not with today's: input and output agree at x 0.8 and are not
    # mentioned; the cache-read rate is OurToken's own, and the note names the period it used.
    notes = [line for line in check.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: ourtoken/deepseek-v4-flash: cache_read 0.002 per 1M differs from deepseek 0.028 x 0.8 = 0.0224 "
        "(deepseek/deepseek-v4-flash period from 2026-04-24, in force on the listing date 2026-04-24; "
        "explicit rates are used)"
    ]


def _reseller_catalog(tmp_path, listed: str, rates: str) -> Path:
    path = tmp_path / "resell.toml"
    path.write_text(
        '[route]\nprovider = "resell"\nupstream = "deepseek"\nfactor = 0.5\n' + listed
        + '\n[[models]]\nid = "deepseek-v4-flash"\n\n[[models.periods]]\nsource = "test"\nchecked = 2026-11-28\n'
        + rates
    )
    return path


@pytest.mark.slow
def test_check_is_silent_when_a_reseller_agrees_with_the_list_of_its_listing_date(tmp_path):
    # Half of DeepSeek's 2026-05-05 list (0.14 / 0.28 / 0.0028): no note. The same rates compared with
    # the list of 2026-09-15 (0.15 / 0.6 / 0.003) differ in every bucket but cache writes.
    agree = _reseller_catalog(tmp_path, "upstream_listed = 2026-05-05",
                              "input = 0.07\noutput = 0.14\ncache_read = 0.0014\ncache_write = 0\n")
    out = run("--overlay", str(agree), "check")
    assert out.returncode == 0, out.stderr
    assert "resell/" not in out.stdout
    later = _reseller_catalog(tmp_path, "upstream_listed = 2026-09-15",
                              "input = 0.07\noutput = 0.14\ncache_read = 0.0014\ncache_write = 0\n")
    out = run("--overlay", str(later), "check")
    notes = [line for line in out.stdout.splitlines() if line.startswith("note: resell/")]
    assert len(notes) == 3
    assert all("deepseek/deepseek-v4-flash period from 2026-09-09, in force on the listing date 2026-09-15" in n
               for n in notes)


@pytest.mark.slow
def test_upstream_listed_must_be_a_date(tmp_path):
    bad = _reseller_catalog(tmp_path, 'upstream_listed = "last spring"',
                            "input = 0.07\noutput = 0.14\ncache_read = 0.0014\ncache_write = 0\n")
    out = run("--overlay", str(bad), "check")
    assert out.returncode == 3
    assert "upstream_listed must be a TOML date" in out.stderr


@pytest.mark.slow
def test_text_quote_never_uses_exponent_notation():
    # 22,050,000,000 input tokens at $5 per 1M is $110,250: Decimal.normalize() alone prints 1.1025E+5.
    out = run("quote", "--model", "claude-opus-4-6", "--provider", "anthropic", "--at", "2026-11-01",
              "--input", "22050000000", "--output", "0")
    assert out.returncode == 0, out.stderr
    assert "E+" not in out.stdout and "E-" not in out.stdout
    total = out.stdout.splitlines()[-2].split()
    assert total[0] == "total" and total[-1] == "110250"
    assert Decimal(total[-1]) == 22_050_000_000 * Decimal(5) / 1_000_000


@pytest.mark.slow
def test_opus_4_6_long_context_premium_before_general_availability():
    # 250,000 input and 1,000 output tokens on 2026-03-01: billed whole at the long-context rates.
    out = run("quote", "--model", "claude-opus-4-6", "--provider", "anthropic", "--at", "2026-03-01",
              "--input", "250000", "--output", "1000", "--json")
    assert Decimal(json.loads(out.stdout)["total_usd"]) == (250_000 * Decimal("10") + 1_000 * Decimal("37.5")) / 1_000_000
    after = run("quote", "--model", "claude-opus-4-6", "--provider", "anthropic", "--at", "2026-03-13",
                "--input", "250000", "--output", "1000", "--json")
    assert Decimal(json.loads(after.stdout)["total_usd"]) == (250_000 * Decimal("5") + 1_000 * Decimal("25")) / 1_000_000


@pytest.mark.slow
def test_import_litellm_writes_loadable_overlays(tmp_path):
    fixture = REPO / "tests" / "pricing" / "fixtures" / "litellm_small.json"
    out = run("import-litellm", str(fixture), "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "out").glob("*.toml"))
    assert files
    assert run("--overlay", str(files[0]), "check").returncode == 0


def test_a_bad_local_price_is_left_out_with_a_warning_and_check_refuses_it(tmp_path):
    # A hand-written data/prices.local.toml with a rate of 1e12 per 1M tokens: quote warns once and prices
    # with the shipped rates; check, which exists to validate, fails on it and names the file and rule.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.local.toml").write_text(
        '[route]\nprovider = "openai"\n[[models]]\nid = "gpt-4o-mini"\n[[models.periods]]\nsource = "by hand"\n'
        'checked = 2026-11-28\ninput = 1e12\noutput = 1\ncache_read = 0\ncache_write = 0\n')
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}

    def here(*args):
        return subprocess.run([sys.executable, "-m", "pricing", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True)

    quote = here("quote", "--model", "gpt-4o-mini", "--provider", "openai", "--input", "1000000", "--output", "0",
                 "--at", "2026-11-01", "--json")
    assert quote.returncode == 0, quote.stderr
    assert Decimal(json.loads(quote.stdout)["total_usd"]) == Decimal("0.15")  # the shipped rate
    assert len(quote.stderr.strip().splitlines()) == 1 and "prices.local.toml" in quote.stderr
    check = here("check")
    assert check.returncode == 3
    assert "prices.local.toml" in check.stderr and "rate 'input'" in check.stderr
