"""Import page: upload, preview, mapping, import report and history, on a warehouse of its own."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store

CSV = (
    "timestamp,provider,model,input_tokens,output_tokens,request_id\n"
    "2026-11-01T10:00:00Z,openai,gpt-4o-mini,100,20,a1\n"
    "2026-11-01T11:00:00Z,openai,gpt-4o-mini,200,30,a2\n"
    "2026-11-01T12:00:00Z,openai,gpt-4o-mini,-5,30,a3\n"
)
ODD = "when,llm,sent,received\n2026-11-01T10:00:00Z,gpt-4o-mini,100,20\n"


@pytest.fixture
def fresh(new_db, monkeypatch: pytest.MonkeyPatch):
    db = fixture.build(new_db("import.duckdb"), n=10)
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    at.switch_page("app_pages/import_logs.py").run()
    return at


def test_upload_preview_import_and_history(fresh):
    at = fresh
    at.file_uploader[0].set_value([("calls.csv", CSV.encode(), "text/csv")]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "generic" in " ".join(c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 3  # the preview
    at.button(key="import").click().run()
    assert not at.exception
    figures = {m.label: m.value for m in at.metric}
    assert figures == {"Added": "2", "Duplicates": "0", "Rejected": "1"}
    history = at.dataframe[-1].value
    # The register names the upload as the person knows it, not the temporary copy's path.
    assert history.iloc[0]["file_name"] == "calls.csv" and history.iloc[0]["rows_added"] == 2
    wh = store.warehouse()
    assert wh.query("SELECT count(*) FROM requests WHERE request_id IN ('a1', 'a2')").fetchone()[0] == 2
    assert not list(Path(tempfile.gettempdir()).glob("usage-upload-*/calls.csv"))  # the temp copy is gone


@pytest.mark.slow
def test_unrecognised_file_gets_a_mapping_form(fresh):
    at = fresh
    at.file_uploader[0].set_value([("odd.csv", ODD.encode(), "text/csv")]).run()
    assert not at.exception
    assert "not recognised" in " ".join(c.value for c in at.caption)
    uid = next(s.key for s in at.selectbox if s.key and s.key.startswith("fmt_")).removeprefix("fmt_")
    for field, header in {"ts": "when", "model": "llm", "prompt_tokens": "sent", "output": "received"}.items():
        at.selectbox(key=f"map_{uid}_{field}").set_value(header)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="import").click().run()
    assert {m.label: m.value for m in at.metric}["Added"] == "1"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "data", "message"), [
    pytest.param("empty.csv", b"", "the file is empty", id="empty"),
    pytest.param("blob.csv", b"\x00\x01\x02" * 3000, "looks like a binary file", id="binary"),
])
def test_refused_uploads_get_a_clear_message_and_change_nothing(fresh, name, data, message):
    at = fresh
    wh = store.warehouse()
    before = wh.query("SELECT count(*) FROM requests").fetchone()[0]
    at.file_uploader[0].set_value([(name, data, "text/csv")]).run()
    assert not at.exception
    if not at.error and any(b.key == "import" for b in at.button):
        at.button(key="import").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert errors.startswith(f"{name}: ") and message in errors, errors  # named as uploaded, not a temp path
    assert wh.query("SELECT count(*) FROM requests").fetchone()[0] == before
