"""Rows of an import that fills none of the rarely filled columns are stored without them.

Migration 5 keeps such rows in `request_rows_lean`, which has eleven columns fewer to
write; `requests` shows them with what an import gives a row without those fields. So a
file must read back the same whichever table holds it, a file with any of those fields
must land whole in the full table, and the lean insert must refuse a row that does not
fit rather than drop a value.
"""

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from dashboard.ingest import Options, Table, import_file, plan_file
from dashboard.ingest.loader import execute
from dashboard.ingest.reasons import REASONS
from dashboard.warehouse import Warehouse
from dashboard.warehouse.rows import (
    LEAN_DEFAULTS,
    NotClean,
    NotLean,
    insert_clean_requests,
    prepare_clean_insert,
    refusal,
)

ROWS = [  # request_id, timestamp, model, provider, key, prompt, cached, completion, cost
    ("a1", "2026-11-01T00:00:00Z", "deepseek-v4-flash", "ourtoken", "sk-test-aaaa1111", 1000, 100, 10, "0.0001"),
    ("a2", "2026-11-01T01:00:00+02:00", "gpt-4o-mini", "openai", "", 2000, 0, 20, ""),  # no billed cost
    ("a3", "2026-11-02T00:00:00Z", "deepseek-v4-flash", "OurToken", "sk-test-bbbb2222", 3000, 3000, 0, "0"),
]
HEADER = "request_id,timestamp,model,provider,api_key,prompt_tokens,cached_tokens,completion_tokens,cost"


def write(path: Path, extra_header: str = "", extra_values: tuple[str, ...] = ()) -> Path:
    lines = [HEADER + extra_header]
    for i, row in enumerate(ROWS):
        extra = "," + extra_values[i] if extra_header else ""
        lines.append(",".join(str(v) for v in row) + extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tables(wh: Warehouse) -> tuple[int, int]:
    return wh.query("SELECT (SELECT count(*) FROM request_rows), (SELECT count(*) FROM request_rows_lean)").fetchone()


def into_full_table(wh: Warehouse, path: Path):
    """Import `path` as its plan says, but into the full table."""
    plan = plan_file(wh, path)
    return execute(wh, replace(plan, table=Table.FULL), path=str(path), file_name=str(path), sha256=lambda: "f" * 64)


def stored(wh: Warehouse) -> list[tuple]:
    return wh.query("SELECT * EXCLUDE (import_id, batch_id) FROM requests ORDER BY request_id").fetchall()


def priced(wh: Warehouse) -> list[tuple]:
    return wh.query(f"SELECT request_id, cost, unpriced FROM ({wh.priced_sql()}) ORDER BY request_id").fetchall()


@pytest.mark.slow
def test_a_file_with_only_lean_fields_reads_back_exactly_as_from_the_full_table(new_db, tmp_path):
    # The same rows with a blank `user` column, a field the lean table leaves out, go to the
    # full table when the plan says so.
    lean_file = write(tmp_path / "lean.csv")
    full_file = write(tmp_path / "full.csv", ",user", ("", "", ""))
    with Warehouse.open(new_db("lean.duckdb")) as lean, Warehouse.open(new_db("full.duckdb")) as full:
        assert import_file(lean, lean_file).added == 3
        assert into_full_table(full, full_file).added == 3
        assert tables(lean) == (0, 3) and tables(full) == (3, 0)
        assert stored(lean) == stored(full)
        assert priced(lean) == priced(full)
        # what the view shows for the columns left out: the values an import gives such a row
        shown = lean.query("SELECT request_id, currency, request_count, cache_write_tokens, reasoning_tokens, tags, "
                           "api_key, provider FROM requests ORDER BY request_id").fetchall()
        assert shown == [("a1", "USD", 1, 0, 0, None, "…1111", "ourtoken"),
                         ("a2", None, 1, 0, 0, None, None, "openai"),
                         ("a3", "USD", 1, 0, 0, None, "…2222", "ourtoken")]


@pytest.mark.slow
@pytest.mark.parametrize(("header", "values", "column", "expected"), [
    ("user", ("u1", "", ""), "user", "u1"),
    ("status", ("200", "", ""), "status", "200"),
    ("latency_ms", ("12.5", "", ""), "latency_ms", 12.5),
    ("ttft_ms", ("3", "", ""), "ttft_ms", 3.0),
    ("reasoning_tokens", ("4", "", ""), "reasoning_tokens", 4),
    ("cache_write_tokens", ("5", "", ""), "cache_write_tokens", 5),
    ("request_count", ("7", "", ""), "request_count", 7),
    ("currency", ("EUR", "", ""), "currency", "EUR"),
    ("tags", ("x", "", ""), "tags", ["x"]),
])
def test_a_file_with_any_field_the_lean_table_leaves_out_lands_whole_in_the_full_table(
        warehouse, tmp_path, header, values, column, expected):
    res = import_file(warehouse, write(tmp_path / "f.csv", "," + header, values))
    assert (res.added, res.rejected) == (3, 0)
    assert tables(warehouse) == (3, 0)
    assert warehouse.query(f'SELECT "{column}" FROM requests WHERE request_id = \'a1\'').fetchone()[0] == expected


def test_a_blank_column_for_a_rare_field_is_seen_blank_in_the_first_rows_and_goes_lean(warehouse, tmp_path):
    assert import_file(warehouse, write(tmp_path / "f.csv", ",user,latency_ms", (",", ",", ","))).added == 3
    assert tables(warehouse) == (0, 3)


def test_a_provider_given_for_a_file_with_its_own_keeps_that_one_as_upstream_in_the_full_table(warehouse, tmp_path):
    res = import_file(warehouse, write(tmp_path / "f.csv"), options=Options(provider="gateway"))
    assert res.added == 3 and tables(warehouse) == (3, 0)
    got = warehouse.query("SELECT DISTINCT provider, upstream_provider FROM requests ORDER BY 2").fetchall()
    assert got == [("gateway", "openai"), ("gateway", "ourtoken")]


def test_a_provider_given_for_a_file_without_one_stays_lean(warehouse, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("request_id,timestamp,model,prompt_tokens,completion_tokens\nz1,2026-11-01T00:00:00Z,m,5,1\n",
                    encoding="utf-8")
    assert import_file(warehouse, path, options=Options(provider="gateway")).added == 1
    assert tables(warehouse) == (0, 1)
    assert warehouse.query("SELECT provider, upstream_provider FROM requests").fetchone() == ("gateway", None)


@pytest.mark.slow
def test_a_lean_read_meeting_a_row_that_does_not_fit_goes_to_the_full_table_instead(warehouse, tmp_path):
    # The plan only chooses which table a read tries first; the insert itself decides what
    # fits. Planned lean, a read whose rows hold a user is refused there and taken whole.
    path = write(tmp_path / "f.csv", ",user", ("u1", "u2", ""))
    plan = plan_file(warehouse, path)
    assert plan.table is Table.IF_ROWS_FIT
    counts = execute(warehouse, replace(plan, table=Table.LEAN), path=str(path), file_name=str(path),
                     sha256=lambda: "f" * 64)
    assert (counts.added, counts.rejected, counts.staged) == (3, 0, False)
    assert tables(warehouse) == (3, 0)
    assert warehouse.query("SELECT list(\"user\" ORDER BY request_id) FROM requests").fetchone()[0] == [
        "u1", "u2", None]
    assert warehouse.query("SELECT count(*), count(*) FILTER (WHERE status = 'complete') FROM imports").fetchone() \
        == (1, 1)


@pytest.mark.parametrize("column", sorted(LEAN_DEFAULTS))
def test_the_lean_insert_refuses_a_row_with_a_value_in_any_column_it_leaves_out(warehouse, column):
    values = {"source": "'src'", "import_id": "1", "reason": "NULL", "request_id": "'r1'",
              "ts": "TIMESTAMPTZ '2026-11-01 00:00:00+00'", "provider": "'p'", "upstream_provider": "NULL",
              "model": "'m'", "project": "NULL", "api_key": "NULL", "user": "NULL", "tags": "NULL::VARCHAR[]",
              "input_tokens": "1", "cache_read_tokens": "0", "cache_write_tokens": "0", "cache_write_1h_tokens": "0",
              "output_tokens": "1", "reasoning_tokens": "0", "latency_ms": "NULL::DOUBLE", "ttft_ms": "NULL::DOUBLE",
              "status": "NULL", "billed_cost": "'0.5'", "currency": "'USD'", "request_count": "1",
              "span_s": "NULL::INTEGER"}
    odd = {"upstream_provider": "'up'", "user": "'u'", "tags": "['t']", "cache_write_tokens": "2",
           "cache_write_1h_tokens": "2", "reasoning_tokens": "1", "latency_ms": "1.5", "ttft_ms": "1.5",
           "status": "'ok'", "currency": "'EUR'", "request_count": "3", "span_s": "86400"}
    assert set(odd) == set(LEAN_DEFAULTS)

    def select(row):
        return "SELECT " + ", ".join(f'{v} AS "{k}"' for k, v in row.items())

    cur = warehouse.cursor()
    prepare_clean_insert(cur)
    cur.execute("BEGIN TRANSACTION")
    with pytest.raises(NotClean) as refused:
        insert_clean_requests(cur, select({**values, column: odd[column]}), {"source": "src", "import_id": 1},
                              batch_id=999, reasons=REASONS, lean=True)
    cur.execute("ROLLBACK")
    assert isinstance(refusal(cur, refused.value), NotLean)
    prepare_clean_insert(cur)
    cur.execute("BEGIN TRANSACTION")  # the row as a file without those fields gives it fits
    assert insert_clean_requests(cur, select(values), {"source": "src", "import_id": 1}, batch_id=999,
                                 reasons=REASONS, lean=True) == (1, 1, 0)
    cur.execute("ROLLBACK")


@pytest.mark.slow
def test_lean_rows_are_deduplicated_against_both_tables_and_a_direct_write_refreshes_the_cache(warehouse, tmp_path):
    full = import_file(warehouse, write(tmp_path / "full.csv", ",user", ("u", "", "")))
    assert full.added == 3 and tables(warehouse) == (3, 0)
    # The same rows without the user column: lean, but every id is known from the full table.
    again = import_file(warehouse, write(tmp_path / "lean.csv"))
    assert (again.added, again.duplicates) == (0, 3) and tables(warehouse) == (3, 0)
    path = tmp_path / "more.csv"
    path.write_text(HEADER + "\nb1,2026-11-03T00:00:00Z,deepseek-v4-flash,ourtoken,,10,0,1,\n"
                    + "a1,2026-11-01T00:00:00Z,deepseek-v4-flash,ourtoken,,1000,100,10,0.0001\n", encoding="utf-8")
    more = import_file(warehouse, path)
    assert (more.added, more.duplicates) == (1, 1) and tables(warehouse) == (3, 1)
    assert len(priced(warehouse)) == 4  # the priced cache is built here
    warehouse.query("DELETE FROM request_rows_lean WHERE request_id = 'b1'")  # a direct write marks it stale
    assert [r[0] for r in priced(warehouse)] == ["a1", "a2", "a3"]


@pytest.mark.slow
def test_a_version_4_file_upgrades_keeping_its_rows_and_takes_lean_rows_beside_them(tmp_path):
    import duckdb

    from dashboard.warehouse.migrations import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMPTZ)")
    for version, step in enumerate(MIGRATIONS[:4], start=1):
        step(con)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    con.execute("INSERT INTO origins VALUES (1, 1, 'old', NULL)")
    con.execute("INSERT INTO request_rows (origin_id, request_id, ts, model, \"user\", input_tokens, cache_read_tokens, "
                "cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, request_count) VALUES "
                "(1, 'o1', TIMESTAMPTZ '2026-10-01 00:00:00+00', 'gpt-4o', 'u', 10, 0, 2, 0, 1, 0, 3)")
    before = con.execute("SELECT * FROM requests").fetchall()
    con.close()
    with Warehouse.open(path) as wh:
        assert wh.query("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION >= 5
        # (span_s, added since, is NULL on the rows it had: each is one moment)
        assert wh.query("SELECT * EXCLUDE (span_s) FROM requests").fetchall() == before
        assert wh.query("SELECT count(span_s) FROM requests").fetchone()[0] == 0
        assert import_file(wh, write(tmp_path / "lean.csv")).added == 3
        assert tables(wh) == (1, 3)
        assert wh.query("SELECT count(*), sum(request_count) FROM requests").fetchone() == (4, 6)


@pytest.mark.slow
@pytest.mark.parametrize("route", [None, "Gateway"])
def test_a_lean_row_of_a_request_whose_usage_grew_moves_to_the_full_table_with_that_usage(warehouse, tmp_path, route):
    # A request first imported from another export, under the source of Claude Code sessions
    # (its reply mid-stream: 3 output tokens so far), then from the session itself, which
    # has more output tokens and cache writes the lean table has no column for. A route the
    # first import named (kept in the rows' origin) stays the row's provider.
    rid = "req_011CRKk2b8VtQ4mYx3Zp9sJd"
    first = tmp_path / "first.csv"
    first.write_text("request_id,timestamp,model,prompt_tokens,cached_tokens,completion_tokens\n"
                     f"{rid},2025-07-21T09:14:05Z,claude-sonnet-4-20250514,100,0,3\n", encoding="utf-8")
    assert import_file(warehouse, first, options=Options(source="anthropic", provider=route)).added == 1
    assert tables(warehouse) == (0, 1)
    session = Path(__file__).parents[1] / "ingest" / "samples" / "claude_code_session.jsonl"
    res = import_file(warehouse, session)
    assert (res.added, res.duplicates, res.updated) == (2, 1, 1)
    assert tables(warehouse) == (3, 0)
    got = warehouse.query("SELECT ts, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, "
                          "request_count FROM requests WHERE request_id = ?", [rid]).fetchone()
    assert got[1:] == (4, 13502, 6139, 187, 1)
    assert got[0].isoformat().startswith("2025-07-21T09:14:05")  # the row keeps what the grown record does not give
    assert warehouse.query("SELECT provider FROM requests WHERE request_id = ?", [rid]).fetchone()[0] == (
        route and route.lower())


def openai_lines(path: Path, n: int, extra: dict[int, dict] | None = None) -> Path:
    import json

    lines = []
    for i in range(n):
        record = {"id": f"c{i}", "object": "chat.completion", "created": 1790000000 + i, "model": "gpt-4o-mini",
                  "usage": {"prompt_tokens": 100 + i, "completion_tokens": 5,
                            "prompt_tokens_details": {"cached_tokens": i % 50},
                            "completion_tokens_details": {"reasoning_tokens": 0}}}
        record.update((extra or {}).get(i, {}))
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_json_lines_that_fill_no_rare_field_go_lean_and_read_back_as_from_the_full_table(new_db, tmp_path):
    # OpenAI logs may carry a user, a latency or reasoning tokens: the format alone cannot
    # tell, so the rows decide (a reasoning count of 0 is what a lean row holds).
    path = openai_lines(tmp_path / "a.jsonl", 300)
    with Warehouse.open(new_db("lean.duckdb")) as lean, Warehouse.open(new_db("full.duckdb")) as full:
        assert import_file(lean, path).added == 300
        assert into_full_table(full, path).added == 300
        assert tables(lean) == (0, 300) and tables(full) == (300, 0)
        assert stored(lean) == stored(full)
        assert priced(lean) == priced(full)


@pytest.mark.slow
def test_json_lines_whose_first_row_fills_a_rare_field_go_to_the_full_table(warehouse, tmp_path):
    path = openai_lines(tmp_path / "a.jsonl", 50, {0: {"user": "u0"}})
    assert import_file(warehouse, path).added == 50
    assert tables(warehouse) == (50, 0)
    assert warehouse.query("SELECT \"user\" FROM requests WHERE request_id = 'c0'").fetchone()[0] == "u0"


@pytest.mark.slow
@pytest.mark.parametrize("late", [{"user": "u"}, {"latency_ms": 12}, {"status": "ok"},
                                  {"usage": {"prompt_tokens": 9, "completion_tokens": 5,
                                             "completion_tokens_details": {"reasoning_tokens": 2}}}])
def test_a_rare_field_late_in_the_file_sends_the_whole_file_to_the_full_table(warehouse, tmp_path, late):
    path = openai_lines(tmp_path / "a.jsonl", 200, {150: late})
    res = import_file(warehouse, path)
    assert (res.added, res.rejected, res.staged) == (200, 0, False)
    assert tables(warehouse) == (200, 0)
    key, value = next(iter(late.items()))
    column = {"usage": "reasoning_tokens"}.get(key, key)
    got = warehouse.query(f'SELECT "{column}" FROM requests WHERE request_id = \'c150\'').fetchone()[0]
    assert got == (2 if key == "usage" else value)
    assert warehouse.query("SELECT count(*), count(*) FILTER (WHERE status = 'complete') FROM imports").fetchone() \
        == (1, 1)


def _without_provider(path: Path) -> Path:
    path.write_text("request_id,timestamp,model,prompt_tokens,cached_tokens,completion_tokens,cost\n"
                    "p1,2026-11-01T00:00:00Z,deepseek-v4-flash,1000000,100000,1000000,\n"
                    "p2,2026-11-02T00:00:00Z,deepseek-v4-flash,2000000,0,0,0.5\n"
                    "p1,2026-11-01T00:00:00Z,deepseek-v4-flash,1000000,100000,1000000,\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("table", [Table.LEAN, Table.FULL])
def test_the_provider_an_import_names_is_stored_once_in_the_rows_origin_at_the_same_money(new_db, tmp_path, table):
    # The same rows, once with the route given (--provider OurToken) and once with it in a column
    # of every row: `requests` and their money are the same; only the first stores it once.
    named = _without_provider(tmp_path / "named.csv")
    column = tmp_path / "column.csv"
    column.write_text("\n".join(line + ("provider" if i == 0 else "ourtoken") if line else line
                                for i, line in enumerate(named.read_text().replace("\n", ",\n").split("\n"))),
                      encoding="utf-8")
    options = Options(provider="OurToken", cached_included=False)
    with Warehouse.open(new_db("named.duckdb")) as once, Warehouse.open(new_db("column.duckdb")) as each:
        plan = plan_file(once, named, options=options)
        res = execute(once, replace(plan, table=table), path=str(named), file_name="named.csv",
                      sha256=lambda: "a" * 64)
        assert (res.added, res.duplicates) == (2, 1)  # a repeated id keeps its first occurrence
        assert import_file(each, column, options=Options(cached_included=False)).added == 2
        assert stored(once) == stored(each)
        assert priced(once) == priced(each)
        assert {r[0] for r in once.query("SELECT provider FROM requests").fetchall()} == {"ourtoken"}
        held = once.query("SELECT (SELECT count(provider) FROM request_rows) + (SELECT count(provider) FROM "
                          "request_rows_lean), (SELECT list(provider) FROM origins)").fetchone()
        assert held == (0, ["ourtoken"])
        # deepseek-v4-flash via OurToken, per 1M: 1M input (cache reads not in it) at $0.112, 0.1M cache
        # reads at $0.002, 1M output at $0.224
        assert priced(once)[0][1] == Decimal("0.112") + Decimal("0.0002") + Decimal("0.224")


def test_a_clean_insert_keeps_a_row_s_own_provider_beside_its_origin_s_and_refuses_a_row_without_one(warehouse):
    def select(*providers):
        return " UNION ALL ".join(
            f"SELECT 'src' AS source, 1 AS import_id, NULL AS reason, 'r{i}' AS request_id, "
            f"TIMESTAMPTZ '2026-11-01 00:00:00+00' AS ts, {p} AS provider, NULL AS upstream_provider, 'm' AS model, "
            "NULL AS project, NULL AS api_key, NULL AS \"user\", NULL::VARCHAR[] AS tags, 1 AS input_tokens, "
            "0 AS cache_read_tokens, 0 AS cache_write_tokens, 0 AS cache_write_1h_tokens, 1 AS output_tokens, "
            "0 AS reasoning_tokens, NULL::DOUBLE AS latency_ms, NULL::DOUBLE AS ttft_ms, NULL AS status, "
            "NULL AS billed_cost, NULL AS currency, 1 AS request_count, NULL::INTEGER AS span_s"
            for i, p in enumerate(providers))

    cur = warehouse.cursor()
    for lean in (True, False):
        prepare_clean_insert(cur)
        cur.execute("BEGIN TRANSACTION")
        assert insert_clean_requests(cur, select("'p'", "'q'"), {"source": "src", "import_id": 1}, batch_id=999,
                                     reasons=REASONS, lean=lean, provider="p") == (2, 2, 0)
        assert cur.execute("SELECT list(provider ORDER BY request_id) FROM requests").fetchone()[0] == ["p", "q"]
        table = "request_rows_lean" if lean else "request_rows"
        assert cur.execute(f"SELECT list(provider ORDER BY request_id) FROM {table}").fetchone()[0] == [None, "q"]
        cur.execute("ROLLBACK")
        prepare_clean_insert(cur)
        cur.execute("BEGIN TRANSACTION")
        with pytest.raises(NotClean, match="without the provider its origin names"):
            insert_clean_requests(cur, select("'p'", "NULL"), {"source": "src", "import_id": 1}, batch_id=999,
                                  reasons=REASONS, lean=lean, provider="p")
        cur.execute("ROLLBACK")
