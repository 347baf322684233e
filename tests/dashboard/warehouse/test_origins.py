"""Migration 4: rows name their origin (source, import, batch), stored once per insert; `requests` is a view."""

from datetime import UTC, datetime

import duckdb
import pytest

from dashboard.warehouse import REQUEST_COLUMNS, Warehouse
from dashboard.warehouse.migrations import MIGRATIONS


def make_v3(path):
    """A version-3 file holding rows of two sources, two imports, two batches and rows from before batches."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
    for version, step in enumerate(MIGRATIONS[:3], start=1):
        step(con)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    rows = [  # source, request_id, import_id, batch_id, input, billed
        ("openai-log", "a", 1, 1, 10, "0.000123456789"),
        ("openai-log", "b", 1, 1, 20, None),
        ("openai-log", "c", 2, 2, 30, None),
        ("live", "a", None, 2, 40, None),  # another source in the same batch
        ("old", "z", None, None, 50, "1.5"),  # imported before batches were recorded
    ]
    for source, rid, imp, batch, tokens, billed in rows:
        con.execute(
            "INSERT INTO requests (source, request_id, ts, provider, model, api_key, tags, input_tokens, "
            "cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, "
            "latency_ms, billed_cost, currency, import_id, request_count, batch_id) VALUES "
            "(?, ?, TIMESTAMPTZ '2026-10-01 00:00:00+00', 'ourtoken', 'deepseek-v4-flash', '…1234', ['x'], ?, "
            "3, 2, 1, 7, 4, 12.5, ?, 'USD', ?, 2, ?)",
            [source, rid, tokens, billed, imp, batch],
        )
    before = con.execute("SELECT * FROM requests ORDER BY source, request_id").fetchall()
    con.close()
    return before


@pytest.mark.slow
def test_a_version_3_file_keeps_every_row_and_column_behind_the_view(tmp_path):
    path = tmp_path / "v3.duckdb"
    before = make_v3(path)
    with Warehouse.open(path) as wh:
        columns = [d[0] for d in wh.query("SELECT * FROM requests LIMIT 0").description]
        assert columns == [*REQUEST_COLUMNS, "batch_id"]
        # (a column added since, span_s, is NULL on every row a version 3 file had: each is one moment)
        assert wh.query("SELECT * EXCLUDE (span_s) FROM requests ORDER BY source, request_id").fetchall() == before
        assert wh.query("SELECT count(span_s) FROM requests").fetchone()[0] == 0
        # One origin per (batch, source, import) the rows had: 4, not 5 rows' worth.
        assert wh.query("SELECT count(*) FROM origins").fetchone()[0] == 4
        kinds = dict(wh.query("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        assert kinds["requests"] == "VIEW" and kinds["request_rows"] == "BASE TABLE"


def test_rows_of_several_sources_in_one_insert_keep_each_its_own_source(new_db):
    ts = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [{"source": s, "request_id": "1", "ts": ts, "model": "gpt-4o", "input_tokens": n}
            for s, n in (("a", 1), ("b", 2), ("a", 3))]  # a repeat of (a, 1) keeps its first occurrence
    with Warehouse.open(new_db("w.duckdb")) as wh:
        assert wh.insert_requests(rows) == (2, 1)
        got = wh.query("SELECT source, request_id, input_tokens FROM requests ORDER BY 1").fetchall()
        assert got == [("a", "1", 1), ("b", "1", 2)]
        batches = wh.query("SELECT DISTINCT batch_id FROM requests").fetchall()
        assert len(batches) == 1  # one insert, one batch, however many origins
        assert wh.insert_requests(rows) == (0, 3)  # both sources' ids are known now
        assert wh.query("SELECT count(*) FROM origins").fetchone()[0] >= 2
