"""Default routes and import profiles kept in the warehouse, across closing and opening it."""

from __future__ import annotations

import pytest

from dashboard.warehouse import Warehouse, settings
from dashboard.warehouse.settings import Profile


@pytest.mark.slow
def test_default_routes_and_profiles_survive_a_reopen(new_db):
    db = new_db()
    with Warehouse.open(db) as wh:
        settings.set_default_route(wh, " DeepSeek ", "OurToken")
        settings.set_default_route(wh, "openai", "azure")
        settings.delete_default_route(wh, "openai")
        settings.save_profile(wh, Profile("acme-gw", "generic", "ourtoken", None, "Europe/Berlin", False,
                                          {"Spend (USD)": "billed_cost", 'We"ird, =col': "model"}))
        settings.save_profile(wh, Profile("acme-gw", "generic", None))  # the same source and format: replaced
        settings.save_profile(wh, Profile("other", "openai-jsonl", "ourtoken", tz="UTC", cached_included=True))
    with Warehouse.open(db) as wh:
        assert settings.default_routes(wh) == {"deepseek": "ourtoken"}
        assert settings.profile(wh, "acme-gw", "generic").provider is None
        assert [(p.source, p.format) for p in settings.profiles(wh)] == [("other", "openai-jsonl"),
                                                                         ("acme-gw", "generic")]
        settings.delete_profile(wh, "other", "openai-jsonl")
        assert settings.profile(wh, "other", "openai-jsonl") is None


def test_a_mapping_with_any_header_reads_back_as_saved(new_db):
    mapping = {'We"ird, =col': "model", "'; DROP TABLE requests; --": "ts", "Spend (USD)": "billed_cost"}
    with Warehouse.open(new_db("usage.duckdb")) as wh:
        settings.save_profile(wh, Profile("s", "generic", mapping=mapping))
        assert settings.profile(wh, "s", "generic").mapping == mapping
        assert wh.query("SELECT count(*) FROM requests").fetchone()[0] == 0


@pytest.mark.parametrize(("vendor", "route"), [("", "ourtoken"), ("deepseek", "  ")])
def test_a_default_route_needs_both_names(new_db, vendor, route):
    with Warehouse.open(new_db("usage.duckdb")) as wh, pytest.raises(ValueError, match="vendor and a route"):
        settings.set_default_route(wh, vendor, route)
