"""The Import page in a real browser gives the command line's money for the same tokens.

`streamlit run` on loopback, headless Chromium: an OpenAI-style JSON-lines log of OurToken
traffic (no provider in the file) is uploaded, `Provider` is set to ourtoken by its label, the
file is imported, and the Statement's "Computed" figure and the Overview's "Spend" for the month
are what `python -m dashboard report --month ... --json` prints for the same warehouse file,
rounded as the pages round it: into an empty warehouse, and into one whose priced cache is
current (the import's batch pending until the app prices it in behind the page).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from streamlit_app import BROWSER_TEST, CHROMIUM, CHROMIUM_ARGS, SHOTS, settle
from support.paths import REPO

MONTH = "2026-10"

pytestmark = BROWSER_TEST


def ourtoken_log(n: int = 60) -> bytes:
    """Responses as an OpenAI-compatible gateway returns them; naive times and times with an offset."""
    lines = []
    for i in range(n):
        day, hour = 1 + i % 28, i % 24
        ts = f"2026-10-{day:02d}T{hour:02d}:15:00" + ("+02:00" if i % 3 == 0 else "")
        prompt, cached = 20_000 + 997 * i, (15_000 + 311 * i) if i % 4 else 0
        lines.append(json.dumps({
            "id": f"chatcmpl-ot-{i}", "object": "chat.completion", "timestamp": ts, "model": "deepseek-v4-flash",
            "usage": {"prompt_tokens": prompt, "completion_tokens": 150 + 7 * i, "total_tokens": prompt + 150 + 7 * i,
                      "prompt_tokens_details": {"cached_tokens": cached}},
        }))
    return ("\n".join(lines) + "\n").encode()


def _copy(db: Path, folder: Path) -> Path:
    """The server holds the file's lock: the command line reads a copy (with its write-ahead log)."""
    copy = folder / "copy.duckdb"
    shutil.copyfile(db, copy)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    return copy


def _report(db: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "dashboard", "report", "--month", MONTH, "--json", "--db", str(db),
                           *extra], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def _choose(page, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label` on the page (the sidebar has its own filters)."""
    page.get_by_test_id("stMain").get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.fixture
def empty_server(tmp_path: Path, request: pytest.FixtureRequest):
    """The app on a warehouse that holds no demo data (declined before the first start)."""
    from dashboard.warehouse import Warehouse
    from dashboard.warehouse.explore import decline_demo

    with Warehouse.open(tmp_path / "e2e.duckdb") as wh:  # the file the `server` fixture starts the app on
        decline_demo(wh)
    return request.getfixturevalue("server")


@pytest.fixture
def current_cache_server(tmp_path: Path, request: pytest.FixtureRequest):
    """The app on a warehouse that holds the month before's traffic, its priced cache current: an
    import then leaves its batch pending, priced live beside the cache until the app takes it in."""
    from dashboard.ingest import import_file
    from dashboard.warehouse import Warehouse
    from dashboard.warehouse.explore import decline_demo
    from dashboard.warehouse.prices import cache_fresh

    before = tmp_path / "ourtoken-2026-09.jsonl"
    before.write_bytes(ourtoken_log().replace(b"2026-10-", b"2026-09-").replace(b"chatcmpl-ot-", b"chatcmpl-sep-"))
    with Warehouse.open(tmp_path / "e2e.duckdb") as wh:
        decline_demo(wh)
        assert import_file(wh, before).added == 60
        wh.refresh_priced_cache()
        assert cache_fresh(wh.cursor())
    return request.getfixturevalue("server")


@pytest.mark.parametrize("warehouse", ["empty_server", "current_cache_server"], ids=["empty", "current-cache"])
def test_browser_import_with_provider_gives_the_reports_total(warehouse, request, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    url, db = request.getfixturevalue(warehouse)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
        page.goto(f"{url}/import_logs")
        settle(page)
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "ourtoken-2026-10.jsonl", "mimeType": "application/json", "buffer": ourtoken_log()}])
        page.get_by_test_id("stMain").get_by_label("Provider", exact=True).wait_for(timeout=60_000)
        settle(page)
        _choose(page, "Provider", "ourtoken")
        settle(page)
        preview = page.locator('[data-testid="stDataFrame"]').first
        preview.wait_for(timeout=60_000)
        page.get_by_role("button", name="Import 1 file(s)").click()
        page.get_by_text("Added", exact=True).wait_for(timeout=60_000)
        settle(page)
        added = page.locator('[data-testid="stMetric"]').filter(has_text="Added")
        assert added.locator('[data-testid="stMetricValue"]').inner_text().strip() == "60"
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(SHOTS / "import-ourtoken.png"), full_page=True)

        page.goto(f"{url}/statement?start={MONTH}-01&end={MONTH}-31")
        settle(page)
        computed = page.locator('[data-testid="stMetric"]').filter(has_text="Computed")
        shown = computed.locator('[data-testid="stMetricValue"]').inner_text().strip()
        assert page.locator('[data-testid="stException"]').count() == 0

        # The Overview's spend, summed per price before pricing, is the same money for the same range.
        page.goto(f"{url}/?range=custom&start={MONTH}-01&end={MONTH}-31")
        settle(page)
        spend = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Spend", exact=True))
        overview = spend.locator('[data-testid="stMetricValue"]').inner_text().strip()
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()

    copy = _copy(db, tmp_path)
    report = _report(copy)
    total = Decimal(report["total_usd"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert shown == f"${total:,.2f}"
    assert overview == shown
    assert report["unpriced_requests"] == 0 and total > 0
    by_provider = _report(copy, "--by", "provider")
    assert [r["key"] for r in by_provider["rows"]] == ["ourtoken"], by_provider["rows"]
