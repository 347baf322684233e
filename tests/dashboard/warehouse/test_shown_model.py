"""A vendor/model id and an alias show as the catalog model they resolve to on their route: one model, not two."""

from datetime import UTC, datetime
from decimal import Decimal

from dashboard.warehouse import Warehouse
from dashboard.warehouse.explore import distinct_values
from dashboard.warehouse.queries import Filters, month_report
from dashboard.warehouse.statement import statement

M = Decimal(1_000_000)


def test_vendor_prefixed_ids_and_aliases_are_one_model(new_db):
    rows = [("a", "ourtoken", "deepseek/deepseek-v4-flash"), ("b", "ourtoken", "deepseek-v4-flash"),
            ("c", "ourtoken", "DeepSeek-V4-Flash"), ("d", "acme", "mystery-1")]
    with Warehouse.open(new_db("w.duckdb")) as wh:
        wh.insert_requests([{"source": "t", "request_id": rid, "ts": datetime(2026, 11, 3, 9, tzinfo=UTC),
                             "provider": provider, "model": model, "input_tokens": 1_000_000, "output_tokens": 0}
                            for rid, provider, model in rows])
        assert distinct_values(wh, "model") == ["deepseek-v4-flash", "mystery-1"]
        lines = statement(wh, "2026-11").by_model
        assert [(line.provider, line.key, line.requests) for line in lines] == [
            ("ourtoken", "deepseek-v4-flash", 3), ("acme", "mystery-1", 1)]
        assert lines[0].computed_usd == 3 * 1_000_000 * Decimal("0.1120") / M
        report = month_report(wh, "2026-11", "model")
        assert [r["key"] for r in report.rows] == ["deepseek-v4-flash", "mystery-1"]
        # Picking the model in the sidebar picks every name it was logged under.
        picked = statement(wh, "2026-11", filters=Filters(models=("deepseek-v4-flash",))).total
        assert picked.requests == 3
        assert statement(wh, "2026-11", filters=Filters(models=("deepseek/deepseek-v4-flash",))).total.requests == 1
