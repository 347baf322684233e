"""The sidebar's filter values, read in one pass, are the values each filter's own DISTINCT gives:
blank ('' or NULL, no tags, a NULL or empty tag) once and first, the rest sorted as DuckDB sorts,
models as the pages show them, odd characters and all."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.errors import DashboardError
from dashboard.warehouse.explore import distinct_values, filter_values
from dashboard.warehouse.queries import BLANK

# Each filter's values as its own query reads them: the reference the one-pass read must equal.
ONE_BY_ONE = {
    "provider": "SELECT DISTINCT provider AS v FROM requests",
    "model": ("SELECT DISTINCT coalesce(m.price_model, r.model) AS v FROM (SELECT DISTINCT provider, model "
              "FROM requests) AS r LEFT JOIN model_map AS m ON m.provider = coalesce(r.provider, '') "
              "AND m.model = r.model"),
    "project": "SELECT DISTINCT project AS v FROM requests",
    "api_key": "SELECT DISTINCT api_key AS v FROM requests",
    "tag": ("SELECT DISTINCT unnest(CASE WHEN len(coalesce(tags, [])) = 0 THEN [NULL] ELSE tags END) AS v "
            "FROM requests"),
}


def _one_by_one(wh, name):
    rows = wh.query(f"SELECT DISTINCT nullif(v, '') AS v FROM ({ONE_BY_ONE[name]}) ORDER BY v NULLS FIRST")
    return [BLANK if v is None else v for (v,) in rows.fetchall()]


text = st.one_of(st.none(), st.just(""), st.sampled_from(["a", "B", "é", "Z z", "a\x00b", "=cmd()"]),
                 st.text(max_size=4))
rows = st.lists(st.fixed_dictionaries({
    "provider": text, "project": text, "api_key": text,
    "model": st.sampled_from(["gpt-4o-mini", "openai/gpt-4o-mini", "GPT-4O-MINI", "mystery-1", "deepseek-v4-flash"]),
    "tags": st.one_of(st.none(), st.lists(text, max_size=3)),
}), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows)
def test_one_pass_gives_each_filters_own_values(wh, drawn):
    wh.query("DELETE FROM request_rows")
    wh.insert_requests([{**r, "request_id": str(i), "ts": datetime(2026, 11, 3, 9, tzinfo=UTC), "input_tokens": 10}
                        for i, r in enumerate(drawn)], source="t")
    got = filter_values(wh)
    assert got == {name: _one_by_one(wh, name) for name in ONE_BY_ONE}
    assert all(distinct_values(wh, name) == got[name] for name in got)


def test_an_unknown_filter_is_named_with_the_choices(wh):
    with pytest.raises(DashboardError, match=r"no filter named 'secret'; choose one of provider, model, project, api_key, tag"):
        distinct_values(wh, "secret")
