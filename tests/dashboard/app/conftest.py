from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store


@pytest.fixture(scope="session")
def db(tmp_path_factory: pytest.TempPathFactory, new_warehouse_file: Path) -> Path:
    path = tmp_path_factory.mktemp("wh") / "usage.duckdb"
    shutil.copyfile(new_warehouse_file, path)
    return fixture.build(path)


@pytest.fixture
def app(db: Path, monkeypatch: pytest.MonkeyPatch):
    """An AppTest of the whole app over the fixture warehouse, all time, UTC."""
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()

    def run(page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(fixture.APP, default_timeout=60)
        at.query_params.update({"range": "all", **params})
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return run


@pytest.fixture
def wh(db: Path):
    """The fixture warehouse as the app sees it (the process's one connection)."""
    import os

    os.environ["USAGE_DB"] = str(db)
    try:
        yield store.warehouse()
    finally:
        del os.environ["USAGE_DB"]
