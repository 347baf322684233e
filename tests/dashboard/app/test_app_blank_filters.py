"""Requests with no provider, project or tag can be picked in the sidebar: shown as (none), never None."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest
from support import app_fixture as fixture

from dashboard.appdata import store
from dashboard.warehouse import Warehouse
from dashboard.warehouse.explore import distinct_values
from dashboard.warehouse.queries import BLANK, Filters

ROWS = [
    {"request_id": "a", "provider": "openai", "project": "alpha", "tags": ["prod"]},
    {"request_id": "b", "provider": None, "project": None, "tags": []},
    {"request_id": "c", "provider": "openai", "project": "", "tags": None},
]


@pytest.fixture
def db(new_db):
    path = new_db("blank.duckdb")
    with Warehouse.open(path) as wh:
        wh.insert_requests([{**r, "source": "t", "ts": datetime(2026, 11, 3, 9, tzinfo=UTC), "model": "gpt-4o-mini",
                             "input_tokens": 1000, "output_tokens": 10} for r in ROWS])
    return path


def _ids(wh, filters: Filters) -> list[str]:
    where, params = filters.where("r")
    return [r[0] for r in wh.query(f"SELECT request_id FROM requests AS r WHERE {where} ORDER BY 1", params).fetchall()]


def test_blank_is_offered_first_and_selects_requests_without_a_value(db):
    with Warehouse.open(db) as wh:
        assert distinct_values(wh, "project") == [BLANK, "alpha"]
        assert distinct_values(wh, "provider") == [BLANK, "openai"]
        assert distinct_values(wh, "tag") == [BLANK, "prod"]
        assert _ids(wh, Filters(projects=(BLANK,))) == ["b", "c"]
        assert _ids(wh, Filters(projects=(BLANK, "alpha"))) == ["a", "b", "c"]
        assert _ids(wh, Filters(providers=(BLANK,))) == ["b"]
        assert _ids(wh, Filters(tags=(BLANK,))) == ["b", "c"]
        assert _ids(wh, Filters(projects=("alpha",))) == ["a"]


@pytest.mark.slow
def test_sidebar_shows_none_and_filters_by_it(db, monkeypatch):
    monkeypatch.setenv("USAGE_DB", str(db))
    store.clear()
    at = AppTest.from_file(fixture.APP, default_timeout=60)
    at.query_params.update({"range": "all"})
    at.run()
    project = at.multiselect(key="f_project")
    assert project.options == ["(none)", "alpha"]
    assert "None" not in at.multiselect(key="f_provider").options
    project.select(BLANK).run()
    assert not at.exception
    requests = next(m for m in at.metric if m.label == "Requests")
    assert requests.value == "2"
