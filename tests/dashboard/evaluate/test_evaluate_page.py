"""The Evaluate page under AppTest: the example suite run against the loopback server, its table the
summary's, the run stored, the planner hand-off and the regression view."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.app_pages.forecasting.handoff import PLANNER_KEY
from dashboard.appdata import store
from dashboard.evaluate import summarize
from dashboard.evaluate.summary import side_by_side

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")
PAGE = "app_pages/evaluate.py"
pytestmark = pytest.mark.slow  # a whole app run per step


def frame(at: AppTest, column: str):
    """The page's dataframe that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture
def page(tmp_path, prices_file, monkeypatch):
    monkeypatch.setenv("USAGE_DB", str(tmp_path / "usage.duckdb"))
    monkeypatch.setenv("PRICES_LOCAL", str(prices_file))
    monkeypatch.delenv("OURTOKEN_API_KEY", raising=False)
    store.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["range"] = "all"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_run_the_example_suite_from_the_page(page, server):
    at = page
    assert at.title[0].value == "Evaluate"
    assert any("12 test(s) x 1 prompt(s)" in c.value for c in at.caption)
    at.text_area(key="eval_targets").set_value(
        f"loopback/oracle={server.base_url}\nloopback/sometimes={server.base_url}").run()
    at.button(key="eval_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run = at.session_state["eval_result"]
    table = frame(at, "")
    assert table.to_dict("records") == side_by_side(summarize(run))  # the page shows the shared summary
    assert table.set_index("").loc["Passed"].tolist() == ["12", "5"]
    assert any("significant at 95%" in s.value for s in at.success)
    # Stored, and a second run makes the regression view available.
    wh = store.warehouse()
    assert wh.query("SELECT count(*) FROM eval_results").fetchone()[0] == 24
    at.button(key="eval_run").click().run()
    assert wh.query("SELECT count(DISTINCT run_id) FROM eval_runs").fetchone()[0] == 2
    assert any("No test that passed before fails now" in s.value for s in at.success)
    # The planner hand-off: the measured tokens per task become the Forecast planner's inputs.
    planner = frame(at, "tokens in / out per task")
    assert list(planner["target"]) == ["loopback/oracle", "loopback/sometimes"]
    at.button(key="eval_to_planner").click().run()
    plan = at.session_state[PLANNER_KEY]
    assert plan["routes"] == ("loopback/oracle",) and plan["requests_per_day"] == 1000
    assert at.session_state["fc_in"] == float(plan["input_tokens"])


def test_upload_asks_for_a_file(page):
    at = page
    at.radio(key="eval_source").set_value("Upload").run()
    assert not at.exception
    assert any("Pick an example suite or upload one" in i.value for i in at.info)
    assert "eval_run" not in [b.key for b in at.button]


def test_a_target_that_cannot_be_used_is_an_error(page):
    at = page
    at.text_area(key="eval_targets").set_value("loopback/oracle=http://example.com/v1").run()
    assert any("refusing plain http" in e.value for e in at.error)
    assert "eval_run" not in [b.key for b in at.button]
