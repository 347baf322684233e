"""Every CSV the app hands out keeps formula text inert: Explore, rejected rows, statement and FOCUS.

Cells that start with `=`, `+`, `-`, `@`, a tab, a carriage return or a full-width `＝ ＋ － ＠`
get a leading `'`; numbers (negative ones too) stay numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from support import app_fixture as fixture

from dashboard.appdata import reads, store
from dashboard.warehouse import Warehouse
from dashboard.warehouse.queries import Filters

STARTS = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]
HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1",
           "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)"]
MOMENT = datetime(2026, 11, 3, 12, tzinfo=UTC)


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _no_live_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(tuple(STARTS)), (cell, row)


class _KeptStorage(app_test_module.MemoryMediaFileStorage):
    """Streamlit's own in-memory file storage, kept reachable after the run to read a download's bytes."""

    made: ClassVar[list[_KeptStorage]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _KeptStorage.made.append(self)


def _download(at: AppTest, key: str) -> bytes:
    button = at.download_button(key=key).proto
    # a click that reran the page could replace the file before the browser fetched it
    assert button.ignore_rerun, f"the download button {key!r} reruns the page"
    url = button.url
    for storage in reversed(_KeptStorage.made):
        try:
            return storage.get_file(url.rsplit("/", 1)[-1]).content
        except MediaFileStorageError:  # a file of another run's storage
            continue
    raise AssertionError(f"no stored file for the download button {key!r} ({url})")


@pytest.fixture
def hostile_db(new_db, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse whose models and projects are formula text, beside ordinary priced rows."""
    db = fixture.build(new_db("hostile.duckdb"), n=20)
    rows = []
    for i, text in enumerate(HOSTILE):
        row = fixture.rows(1, now=MOMENT)[0]
        row.update(source="hostile", request_id=f"h{i}", ts=MOMENT, provider="acme", model=text, project=text,
                   billed_cost=None)
        rows.append(row)
    good = fixture.rows(1, now=MOMENT)[0]
    good.update(source="hostile", request_id="good", ts=MOMENT, provider="openai", model="gpt-4o-mini",
                project="alpha")
    rows.append(good)
    with Warehouse.open(db) as wh:
        wh.insert_requests(rows)
    monkeypatch.setenv("USAGE_DB", str(db))
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", _KeptStorage)
    _KeptStorage.made.clear()
    store.clear()
    return db


def _page(page: str) -> AppTest:
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.slow
def test_explore_csv_download_neutralises_formula_cells(hostile_db):
    at = _page("app_pages/explore.py")
    header, *rows = _rows(_download(at, "explore_csv"))
    _no_live_formula([header, *rows])
    models = {row[header.index("model")]: row for row in rows}
    for text in HOSTILE:
        assert "'" + text in models, (text, sorted(models))
    # Numbers stay numbers: the request counts and the exact cost are plain digits.
    good = models["gpt-4o-mini"]
    assert good[header.index("requests")].isdigit()
    assert Decimal(good[header.index("cost_usd")]) > 0
    assert sum(int(row[header.index("requests")]) for row in rows) == len(HOSTILE) + 1 + 20


@pytest.mark.slow
def test_rejected_rows_download_neutralises_formula_cells(hostile_db):
    at = _page("app_pages/import_logs.py")
    lines = ["timestamp,provider,model,input_tokens,output_tokens,request_id"]
    # A time that does not parse rejects the line; its text, kept as the reason and the raw line, starts
    # with the formula character. (A carriage return cannot start a line of a file: see test_exports.)
    starts = [s for s in STARTS if s != "\r"]
    lines += [f"{s}1+1,openai,gpt-4o-mini,1,1,r{i}" for i, s in enumerate(starts)]
    lines.append("2026-11-01T10:00:00Z,openai,gpt-4o-mini,1,1,ok")
    at.file_uploader[0].set_value([("hostile.csv", ("\n".join(lines) + "\n").encode(), "text/csv")]).run()
    at.button(key="import").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Rejected"] == str(len(starts))
    key = next(b.key for b in at.download_button if b.key and b.key.startswith("rejected_"))
    header, *rows = _rows(_download(at, key))
    assert header == ["line", "reason", "raw"]
    _no_live_formula(rows)
    raws = [row[2] for row in rows]
    for i, s in enumerate(starts):
        assert f"'{s}1+1,openai,gpt-4o-mini,1,1,r{i}" in raws
    assert [row[0] for row in rows] == [str(n) for n in range(2, 2 + len(starts))]  # line numbers stay numbers


@pytest.mark.parametrize("label", ["CSV (by model)", "FOCUS CSV"])
def test_statement_csv_downloads_neutralise_formula_cells(hostile_db, label):
    # The callables the Statement page's download buttons run when clicked.
    downloads = reads.statement_downloads("2026-11", "UTC", Filters())
    name, build, mime = downloads[label]
    assert mime == "text/csv" and name.endswith("2026-11.csv")
    header, *rows = _rows(build())
    _no_live_formula([header, *rows])
    column = "model" if label == "CSV (by model)" else "x_Model"
    models = {row[header.index(column)] for row in rows}
    assert {"'" + text for text in HOSTILE} <= models
    cost = "computed_usd" if label == "CSV (by model)" else "EffectiveCost"
    assert any(row[header.index(cost)] and Decimal(row[header.index(cost)]) > 0 for row in rows)
