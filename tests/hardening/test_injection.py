"""Filter values and names reach SQL only as bound parameters or through a whitelist."""

import shutil
from datetime import UTC, datetime

import pytest

from dashboard.errors import DashboardError
from dashboard.warehouse import explore
from dashboard.warehouse.queries import Filters, daily_spend, month_report

HOSTILE = [
    "' OR 1=1 --",
    "x'); DROP TABLE requests; --",
    '" OR ""="',
    "gpt-4o' UNION SELECT * FROM imports --",
    "$f_models",
    "\x00",
]
FIELDS = ["providers", "models", "projects", "api_keys", "users", "tags", "sources"]
# Every field with every value; the quick loop takes one value per field, each value at least once.
GRID = [pytest.param(field, value, marks=() if j == i % len(HOSTILE) else pytest.mark.slow)
        for i, field in enumerate(FIELDS) for j, value in enumerate(HOSTILE)]


@pytest.fixture(scope="module")
def wh(tmp_path_factory, new_warehouse_file):
    from dashboard.warehouse import Warehouse

    path = tmp_path_factory.mktemp("inj") / "usage.duckdb"
    shutil.copyfile(new_warehouse_file, path)
    warehouse = Warehouse.open(path)
    warehouse.insert_requests(
        [{"request_id": str(i), "ts": datetime(2026, 11, 1 + i, tzinfo=UTC), "provider": "openai",
          "model": "gpt-4o", "project": f"p{i}", "api_key": "sk-aaaa1111", "tags": ["prod"],
          "input_tokens": 1000, "output_tokens": 10} for i in range(3)],
        source="t",
    )
    yield warehouse
    warehouse.close()


@pytest.mark.parametrize(("field", "value"), GRID)
def test_hostile_filter_values_match_nothing_and_break_nothing(wh, field, value):
    f = Filters(**{field: (value,)})
    assert explore.totals(wh, f).requests in (0, None)
    assert daily_spend(wh, f).empty
    assert month_report(wh, "2026-11", filters=f).rows == []
    assert explore.group_by(wh, f, ("model",)).empty
    assert wh.query("SELECT count(*) FROM requests").fetchone()[0] == 3


@pytest.mark.parametrize("name", ["model; DROP TABLE requests", "q.cost) --", "1=1"])
def test_dimension_names_outside_the_whitelist_are_refused(wh, name):
    with pytest.raises((DashboardError, ValueError, KeyError)):
        explore.group_by(wh, Filters(), (name,))
    with pytest.raises(DashboardError):
        month_report(wh, "2026-11", by=name)
    assert wh.query("SELECT count(*) FROM requests").fetchone()[0] == 3


def test_hostile_text_stored_in_rows_comes_back_as_plain_text(warehouse):
    wh = warehouse
    wh.insert_requests([{"request_id": "evil", "ts": datetime(2026, 11, 5, tzinfo=UTC), "provider": "openai",
                         "model": '=HYPERLINK("http://x","y")', "project": "<script>alert(1)</script>",
                         "input_tokens": 1, "output_tokens": 1}], source="t")
    got = explore.group_by(wh, Filters(models=('=HYPERLINK("http://x","y")',)), ("project",))
    assert list(got.iloc[:, 0]) == ["<script>alert(1)</script>"]
