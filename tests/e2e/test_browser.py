"""One real browser pass: `streamlit run` on loopback, headless Chromium over every page.

Needs Debian's /usr/bin/chromium (no browser download). Screenshots go to
artifacts/screenshots/ (git-ignored). With REFRESH_DOCS_SCREENSHOT=1 the Overview one is also
copied to docs/overview.png, the README's picture; a plain test run never changes a tracked file.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from streamlit_app import BROWSER_TEST, CHROMIUM, CHROMIUM_ARGS, SHOTS, settle
from support.paths import REPO

PAGES = {"overview": "", "explore": "explore", "cache": "caching", "forecast": "forecast", "statement": "statement",
         "prices": "prices", "live-calls": "live_calls", "import": "import_logs", "evaluate": "evaluate"}
UPLOAD = (
    "timestamp,provider,model,input_tokens,output_tokens,request_id\n"
    "2026-01-05T10:00:00Z,openai,gpt-4o-mini,100,20,e2e-1\n"
    "2026-01-05T11:00:00Z,openai,gpt-4o-mini,200,30,e2e-2\n"
)

pytestmark = BROWSER_TEST


def _month_total(db: Path, month: str) -> Decimal:
    from dashboard.warehouse import Warehouse

    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    with Warehouse.open(db) as wh:
        return wh.query(f"SELECT sum(cost) FROM ({wh.priced_sql()}) WHERE ts >= ? AND ts < ?", [start, end]
                        ).fetchone()[0]


def test_every_page_in_a_real_browser(server):
    from playwright.sync_api import sync_playwright

    url, _ = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1500}, accept_downloads=True)
        page = context.new_page()
        for name, path in PAGES.items():
            page.goto(f"{url}/{path}")
            settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0, name
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
            if name == "overview":
                assert page.locator('[data-testid="stMetric"]').filter(has_text="Spend").count() >= 1
                assert page.get_by_text("demo data").count() >= 1
                if os.environ.get("REFRESH_DOCS_SCREENSHOT") == "1":
                    shutil.copyfile(SHOTS / "overview.png", REPO / "docs" / "overview.png")

        # The statement CSV adds up to the warehouse's computed total of the month shown.
        page.goto(f"{url}/statement")
        settle(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="CSV (by model)").click()
        month = download.value.suggested_filename.removeprefix("statement-").removesuffix(".csv")
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        *lines, total_row = rows  # the file ends with the statement's total line
        assert total_row["provider"] == "Total"
        total = sum((Decimal(r["computed_usd"]) for r in lines if r["computed_usd"]), Decimal(0))
        assert Decimal(total_row["computed_usd"]) == total

        # An upload on the Import page reports what it added.
        page.goto(f"{url}/import_logs")
        settle(page)
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "e2e.csv", "mimeType": "text/csv", "buffer": UPLOAD.encode()}]
        )
        page.get_by_role("button", name="Import 1 file(s)").click()
        page.get_by_text("Added", exact=True).wait_for(timeout=60_000)
        settle(page)
        added = page.locator('[data-testid="stMetric"]').filter(has_text="Added")
        assert added.locator('[data-testid="stMetricValue"]').inner_text().strip() == "2"
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(SHOTS / "import-done.png"), full_page=True)
        browser.close()
    assert total == _month_total_from_copy(server[1], month)


def _month_total_from_copy(db: Path, month: str) -> Decimal:
    """The month's computed total from the file itself (the upload is dated outside that month).

    The server still holds the file's lock, so read a copy.
    """
    copy = db.with_name("copy.duckdb")
    shutil.copyfile(db, copy)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    return _month_total(copy, month)


def test_two_sessions_keep_answering_while_a_large_upload_imports(server):
    """Three real browser sessions: one imports a 400,000-row file, two others keep moving
    between pages meanwhile. No session sees an error; the import lands exactly its rows."""
    from playwright.sync_api import sync_playwright

    url, _ = server
    rows = 400_000
    big = "timestamp,provider,model,input_tokens,output_tokens,request_id\n" + "".join(
        f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,openai,gpt-4o-mini,{100 + i % 900},{i % 60},load-{i}\n"
        for i in range(rows)
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        importer, *readers = [browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
                              for _ in range(3)]
        for page in readers:
            page.goto(f"{url}/")
            settle(page)
        importer.goto(f"{url}/import_logs")
        settle(importer)
        importer.locator('input[type="file"]').set_input_files(
            files=[{"name": "load.csv", "mimeType": "text/csv", "buffer": big.encode()}])
        importer.get_by_role("button", name="Import 1 file(s)").wait_for(timeout=120_000)
        importer.get_by_role("button", name="Import 1 file(s)").click()
        answered, slowest = 0, 0.0
        started = time.monotonic()
        done = importer.get_by_text("Added", exact=True)
        while True:  # at least one round of page loads while the import script runs
            for page, path in zip(readers, ("explore", "statement"), strict=True):
                t0 = time.monotonic()
                page.goto(f"{url}/{path}")
                settle(page)
                slowest = max(slowest, time.monotonic() - t0)
                assert page.locator('[data-testid="stException"]').count() == 0, path
                assert page.locator('[data-testid="stAlert"]').filter(has_text="Traceback").count() == 0
                answered += 1
            if done.count() or time.monotonic() - started > 300:
                break
        done.wait_for(timeout=300_000)
        settle(importer)
        added = importer.locator('[data-testid="stMetric"]').filter(has_text="Added")
        assert added.locator('[data-testid="stMetricValue"]').inner_text().strip().replace(",", "") == str(rows)
        assert importer.locator('[data-testid="stException"]').count() == 0
        browser.close()
    print(f"page loads by the other sessions during the import: {answered}, slowest {slowest:.1f} s")
    assert answered >= 2
