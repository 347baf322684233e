"""The Evaluate page in a real browser: the example suite run from the page against the loopback
evaluation server gives the same numbers as `python -m dashboard eval --json` for the same targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from streamlit_app import BROWSER_TEST, CHROMIUM, CHROMIUM_ARGS, SHOTS, running_app
from support.eval_server import SUITE, EvalServer, prices_toml
from support.paths import REPO

# Every figure but the timings, which differ from one run to the next.
SAME = ("target", "base_url", "tests", "runs", "passed", "pass_rate", "pass_rate_lo95", "pass_rate_hi95", "errors",
        "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "cost_usd", "cost_per_pass_usd")

pytestmark = BROWSER_TEST


def settle(page) -> None:
    """Wait until the script run is over (the status widget disappears)."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(500)


def test_the_page_and_the_cli_give_the_same_numbers(tmp_path):
    from playwright.sync_api import sync_playwright

    prices = tmp_path / "data" / "prices.local.toml"
    prices.parent.mkdir()
    prices.write_text(prices_toml(), encoding="utf-8")
    server = EvalServer().start()
    targets = [f"loopback/oracle={server.base_url}", f"loopback/sometimes={server.base_url}"]
    env = {k: v for k, v in os.environ.items() if k not in ("OURTOKEN_API_KEY", "USAGE_DB")}
    try:
        app_env = {**env, "USAGE_DB": str(tmp_path / "app.duckdb"), "PRICES_LOCAL": str(prices)}
        with running_app(tmp_path / "streamlit.log", app_env) as port, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
            page.goto(f"http://127.0.0.1:{port}/evaluate")
            page.get_by_text("12 test(s) x 1 prompt(s)").wait_for(timeout=60_000)
            box = page.get_by_role("textbox", name="Targets, one a line")
            box.fill("\n".join(targets))
            box.press("Control+Enter")
            settle(page)
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("significant at 95%").first.wait_for(timeout=120_000)
            settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "evaluate.png"), full_page=True)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download results (JSON)").click()
            from_page = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
            browser.close()
        cli = subprocess.run(
            [sys.executable, "-m", "dashboard", "eval", str(SUITE), *(a for t in targets for a in ("--target", t)),
             "--db", str(tmp_path / "cli.duckdb"), "--json"],
            cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=180,
        )
    finally:
        server.stop()
    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads(cli.stdout)
    assert [{k: t[k] for k in SAME} for t in from_page["targets"]] == [{k: t[k] for k in SAME}
                                                                       for t in from_cli["targets"]]
    assert [t["passed"] for t in from_cli["targets"]] == [12, 5]
    def verdicts(doc):
        return [(r["target"], r["test"], r["passed"], r["failed_asserts"]) for r in doc["results"]]

    assert verdicts(from_page) == verdicts(from_cli)
    assert from_page["differences"] == from_cli["differences"]
