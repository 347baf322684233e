"""The data layer's loaders: one cached result per loader, database file and inputs, kept until a write
forgets it, and the writes apart from the reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import app_fixture as fixture

from dashboard.appdata import reads, store
from dashboard.warehouse import Warehouse


def requests_in(wh: Warehouse, model: str) -> int:
    return wh.query("SELECT count(*) FROM requests WHERE model = ?", [model]).fetchone()[0]


def models_in(wh: Warehouse, model: str) -> int:
    return wh.query("SELECT count(DISTINCT model) FROM requests WHERE model <> ?", [model]).fetchone()[0]


@pytest.fixture
def two_files(new_db, monkeypatch: pytest.MonkeyPatch):
    small = fixture.build(new_db("small.duckdb"), n=20)
    large = fixture.build(new_db("large.duckdb"), n=200)

    def use(path: Path) -> Warehouse:
        monkeypatch.setenv("USAGE_DB", str(path))
        return store.warehouse()

    store.clear()
    yield small, large, use
    store.clear()


@pytest.mark.slow
def test_loaders_with_the_same_inputs_keep_their_own_results(two_files):
    small, _, use = two_files
    wh = use(small)
    count, distinct = store.loader(requests_in), store.loader(models_in)
    assert count("gpt-4o-mini") == requests_in(wh, "gpt-4o-mini") > 0
    assert distinct("gpt-4o-mini") == models_in(wh, "gpt-4o-mini") != count("gpt-4o-mini")


@pytest.mark.slow
def test_a_result_is_kept_per_database_file(two_files):
    small, large, use = two_files
    count = store.loader(requests_in)
    use(small)
    in_small = count("gpt-4o-mini")
    wh_large = use(large)
    assert count("gpt-4o-mini") == requests_in(wh_large, "gpt-4o-mini") > in_small
    use(small)
    assert count("gpt-4o-mini") == in_small


def test_a_result_is_kept_until_clear(two_files):
    small, _, use = two_files
    wh = use(small)
    before = reads.distinct_values("project")
    wh.insert_requests([{**fixture.rows(1)[0], "request_id": "new-1", "project": "delta"}])
    assert reads.distinct_values("project") == before  # cached
    store.clear()
    assert reads.distinct_values("project") == sorted([*before, "delta"])


def test_pages_read_through_reads_and_write_through_writes():
    """Every write the pages make goes through appdata.writes: no page calls a warehouse write itself."""
    pages = Path(fixture.APP).parent / "app_pages"
    writes = ("insert_requests", "reload_catalog", "record_calls", "set_default_route(wh", "save_override(",
              "save_run(")
    for path in pages.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not [w for w in writes if w in text], path
