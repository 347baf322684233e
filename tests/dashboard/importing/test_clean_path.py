"""Good rows go straight from DuckDB's reader into `requests`; a file that needs more is staged.

Rejected rows are passed over and counted on the way, then read again for their lines;
the first occurrence of an id repeated inside the file is found by reading it again too.
A line DuckDB cannot read, a row the clean read cannot name, or very many repeated ids
send the file to the staging table instead. Both paths must give the same rows and
counts: these cases sit where they part (a bad row late in the file, an id repeated
inside it, an export overlapping an earlier one, the same file again), and check that
an abandoned clean attempt leaves no trace.
"""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dashboard.ingest import Options, import_file, plan_file
from dashboard.ingest.loader import execute
from dashboard.ingest.reasons import REASONS, UNNAMED
from dashboard.warehouse import rows as db
from dashboard.warehouse.rows import NotClean, insert_clean_requests

HEADER = "request_id,timestamp,model,prompt_tokens,cached_tokens,completion_tokens,cost\n"


# The rows' prompt tokens include the cached ones, so a row with more cached than prompt tokens is bad.
INCLUDED = Options(cached_included=True)


def csv_row(i, prompt=1000, cached=100, completion=10):
    return f"r{i},2026-11-01T00:{i % 60:02d}:00Z,deepseek-v4-flash,{prompt},{cached},{completion},0.0001\n"


def write_csv(path, rows):
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def counts(wh):
    return wh.query("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM imports), "
                    "(SELECT count(*) FROM rejected_rows)").fetchone()


@pytest.mark.slow
def test_a_bad_row_at_the_end_is_kept_with_its_line_and_the_rest_land_once(warehouse, tmp_path):
    f = write_csv(tmp_path / "late.csv", [csv_row(i) for i in range(1, 200)] + [csv_row(200, prompt=5)])
    res = import_file(warehouse, f, options=INCLUDED)
    assert (res.added, res.duplicates, res.rejected, res.staged) == (199, 0, 1, False)
    assert counts(warehouse) == (199, 1, 1)
    assert warehouse.query("SELECT line, raw, reason FROM rejected_rows").fetchall() == [
        (201, csv_row(200, prompt=5).strip(), "cached tokens (100) exceed prompt tokens (5)")]


@pytest.mark.slow
def test_bad_json_lines_are_kept_with_their_lines_and_texts_by_the_clean_read(warehouse, tmp_path):
    def line(i, **usage):
        return json.dumps({"id": f"j{i}", "created": 1790000000 + i, "model": "gpt-4o",
                           "usage": {"prompt_tokens": 100, "completion_tokens": 5, **usage}})
    lines = [line(1), "", line(2, completion_tokens=-5), line(3), "   ", line(4, prompt_tokens="lots"), line(5)]
    f = tmp_path / "late.jsonl"
    f.write_text("\n".join(lines) + "\n")
    res = import_file(warehouse, f)
    assert (res.added, res.duplicates, res.rejected, res.staged) == (3, 0, 2, False)
    assert warehouse.query("SELECT line, raw, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (3, lines[2], "output is negative: -5"), (6, lines[5], "prompt_tokens is not a whole number: lots")]
    assert counts(warehouse) == (3, 1, 2)
    # the same file again: every good row a duplicate, each bad one kept again for this import
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates, again.rejected) == (0, 3, 2)


@pytest.mark.slow
def test_a_line_without_an_id_sends_clean_json_lines_to_the_staged_read_that_names_it(warehouse, tmp_path):
    # The typed read keeps no text to derive an id from: such a row is not bad, so the file
    # is read whole again, and the row is named by its text beside the bad row kept.
    good = json.dumps({"id": "k1", "created": 1790000000, "model": "gpt-4o",
                       "usage": {"prompt_tokens": 10, "completion_tokens": 1}})
    no_id = json.dumps({"created": 1790000001, "model": "gpt-4o", "usage": {"prompt_tokens": 20, "completion_tokens": 2}})
    bad = json.dumps({"id": "k3", "created": 1790000002, "model": "gpt-4o", "usage": {"prompt_tokens": -1}})
    f = tmp_path / "unnamed.jsonl"
    f.write_text("\n".join([good, bad, no_id]) + "\n")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (2, 1, True)
    assert warehouse.query("SELECT line, reason FROM rejected_rows").fetchall() == [
        (2, "prompt_tokens is negative: -1")]
    assert {r[0][:1] for r in warehouse.query("SELECT request_id FROM requests").fetchall()} == {"k", "h"}


@pytest.mark.parametrize("sorted_ids_max", [db.SORTED_IDS_MAX, 0], ids=["sorted", "distinct"])
def test_an_id_repeated_inside_a_file_keeps_its_first_occurrence(warehouse, tmp_path, monkeypatch, sorted_ids_max):
    # Either count of repeated ids finds them: the sort a file of up to SORTED_IDS_MAX rows
    # gets, and the distinct count a larger one gets.
    monkeypatch.setattr(db, "SORTED_IDS_MAX", sorted_ids_max)
    rows = [csv_row(1), csv_row(2, completion=20), csv_row(2, completion=99), csv_row(1, completion=7), csv_row(2)]
    res = import_file(warehouse, write_csv(tmp_path / "repeat.csv", rows))
    assert (res.added, res.duplicates, res.rejected, res.staged) == (2, 3, 0, False)
    got = warehouse.query("SELECT request_id, output_tokens FROM requests ORDER BY 1").fetchall()
    assert got == [("r1", 10), ("r2", 20)]
    priced = warehouse.query(f"SELECT request_id, output_tokens FROM ({warehouse.priced_sql()}) ORDER BY 1")
    assert priced.fetchall() == got


@pytest.mark.slow
@pytest.mark.parametrize("unreadable", [False, True], ids=["clean", "staged"])
def test_identical_requests_without_an_id_are_each_a_request(warehouse, tmp_path, unreadable):
    """A blank id is derived from the record's text, so identical records share it: they are
    identical requests (two calls answered alike in the same second), numbered rather than
    dropped, as in a file with no id column at all. A real id repeated keeps its first
    occurrence. A line DuckDB cannot read sends the file the staged way: the same rows."""
    blank = ",2026-11-01T00:07:00Z,deepseek-v4-flash,500,0,5,0.0001\n"
    rows = [csv_row(1), blank, csv_row(2), blank, csv_row(1, completion=99), blank]
    if unreadable:
        rows.append("r9,2026-11-01T00:09:00Z,deepseek-v4-flash,1,0,1\n")  # a column short
    f = write_csv(tmp_path / "blank-ids.csv", rows)
    res = import_file(warehouse, f)
    assert (res.added, res.duplicates, res.rejected, res.staged) == (5, 1, int(unreadable), unreadable)
    got = warehouse.query("SELECT request_id, output_tokens FROM requests ORDER BY 1").fetchall()
    derived = [r[0] for r in got if not r[0].startswith("r")]
    assert len(derived) == 3 and derived[1:] == [derived[0] + "-2", derived[0] + "-3"]
    assert [r for r in got if r[0].startswith("r")] == [("r1", 10), ("r2", 10)]
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates) == (0, 6)


@pytest.mark.slow
def test_identical_json_lines_without_an_id_are_each_a_request(warehouse, tmp_path):
    line = json.dumps({"object": "chat.completion", "created": 1793491200, "model": "deepseek-v4-flash",
                       "usage": {"prompt_tokens": 100, "completion_tokens": 5}})
    f = tmp_path / "no-ids.jsonl"
    f.write_text(f"{line}\n{line}\n", encoding="utf-8")
    assert (import_file(warehouse, f).added, import_file(warehouse, f).duplicates) == (2, 2)


def test_more_repeated_ids_than_the_clean_read_takes_go_the_staged_way_with_the_same_result(warehouse, tmp_path):
    from dashboard.warehouse.rows import MAX_REPEATED_IDS

    n = MAX_REPEATED_IDS + 1
    rows = [csv_row(i, completion=1) for i in range(n)] + [csv_row(i, completion=2) for i in range(n)]
    res = import_file(warehouse, write_csv(tmp_path / "many.csv", rows))
    assert (res.added, res.duplicates, res.rejected, res.staged) == (n, n, 0, True)
    assert warehouse.query("SELECT DISTINCT output_tokens FROM requests").fetchall() == [(1,)]


@pytest.mark.slow
@pytest.mark.parametrize("known_ids_in_memory", [db.KNOWN_IDS_IN_MEMORY, 0], ids=["left-out", "deleted"])
def test_an_overlapping_export_adds_only_its_new_rows_and_keeps_the_earlier_ones(warehouse, tmp_path, monkeypatch,
                                                                                known_ids_in_memory):
    # The earlier rows are left out as the later file is read or, past the threshold, deleted
    # from it afterwards: both give the same rows and counts.
    monkeypatch.setattr(db, "KNOWN_IDS_IN_MEMORY", known_ids_in_memory)
    first = import_file(warehouse, write_csv(tmp_path / "oct.csv", [csv_row(i) for i in range(1, 6)]))
    later = write_csv(tmp_path / "nov.csv", [csv_row(i, completion=77) for i in range(4, 9)])
    res = import_file(warehouse, later)
    assert (first.staged, res.added, res.duplicates, res.rejected, res.staged) == (False, 3, 2, 0, False)
    got = warehouse.query("SELECT request_id, output_tokens, import_id FROM requests ORDER BY 1").fetchall()
    assert [(r[0], r[1]) for r in got] == [
        ("r1", 10), ("r2", 10), ("r3", 10), ("r4", 10), ("r5", 10), ("r6", 77), ("r7", 77), ("r8", 77)]
    assert {r[2] for r in got[:5]} == {first.import_id}
    register = warehouse.query("SELECT rows_added, rows_duplicate FROM imports ORDER BY import_id").fetchall()
    assert register == [(5, 0), (3, 2)]
    # the priced cache holds each kept row once
    priced = warehouse.query(f"SELECT count(*), count(DISTINCT request_id) FROM ({warehouse.priced_sql()})")
    assert priced.fetchone() == (8, 8)


@pytest.mark.slow
@pytest.mark.parametrize("known_ids_in_memory", [db.KNOWN_IDS_IN_MEMORY, 0], ids=["left-out", "deleted"])
def test_an_overlap_with_bad_rows_and_an_id_repeated_inside_the_file(warehouse, tmp_path, monkeypatch,
                                                                    known_ids_in_memory):
    # r3 is known, and repeated inside the later file: both its rows are duplicates; a bad
    # row with a known id is rejected, not counted as a duplicate.
    monkeypatch.setattr(db, "KNOWN_IDS_IN_MEMORY", known_ids_in_memory)
    import_file(warehouse, write_csv(tmp_path / "a.csv", [csv_row(i) for i in range(1, 4)]))
    rows = [csv_row(3, completion=8), csv_row(2, prompt=5), csv_row(4), csv_row(3, completion=9), csv_row(5)]
    res = import_file(warehouse, write_csv(tmp_path / "b.csv", rows), options=INCLUDED)
    assert (res.added, res.duplicates, res.rejected) == (2, 2, 1)
    got = warehouse.query("SELECT request_id, output_tokens FROM requests ORDER BY 1").fetchall()
    assert got == [("r1", 10), ("r2", 10), ("r3", 10), ("r4", 10), ("r5", 10)]
    assert warehouse.query("SELECT line FROM rejected_rows").fetchall() == [(3,)]


def test_the_same_file_again_adds_nothing_and_counts_every_row_as_duplicate(warehouse, tmp_path):
    f = write_csv(tmp_path / "same.csv", [csv_row(i) for i in range(1, 51)])
    assert import_file(warehouse, f).added == 50
    again = import_file(warehouse, f)  # staged: a clean read would write every row and delete it again
    assert (again.added, again.duplicates, again.rejected, again.staged) == (0, 50, 0, True)
    assert counts(warehouse) == (50, 2, 0)


def _insert(warehouse, select_sql):
    cur = warehouse.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        return insert_clean_requests(cur, select_sql, {"source": "src", "import_id": 1}, batch_id=999, reasons=REASONS)
    finally:
        cur.execute("ROLLBACK")


ROW = ("SELECT {reason} AS reason, $source AS source, {id} AS request_id, TIMESTAMPTZ '2026-11-01 00:00:00+00' AS ts, "
       "NULL AS provider, NULL AS upstream_provider, 'm' AS model, NULL AS project, NULL AS api_key, NULL AS \"user\", "
       "NULL::VARCHAR[] AS tags, 1 AS input_tokens, 0 AS cache_read_tokens, 0 AS cache_write_tokens, "
       "0 AS cache_write_1h_tokens, 1 AS output_tokens, 0 AS reasoning_tokens, NULL AS latency_ms, NULL AS ttft_ms, "
       "NULL AS status, NULL AS billed_cost, NULL AS currency, $import_id AS import_id, 1 AS request_count, "
       "NULL::INTEGER AS span_s")


def test_clean_insert_counts_rejected_rows_keeps_one_of_a_repeat_and_refuses_what_it_cannot_name(warehouse):
    good = ROW.format(reason="NULL", id="'a'")
    blank = ROW.format(reason="''", id="'b'")
    bad = ROW.format(reason="'missing time'", id="'c'")
    unnamed = ROW.format(reason=f"'{UNNAMED}'", id="NULL")
    assert _insert(warehouse, f"{good} UNION ALL {blank}") == (1, 1, 0)
    assert _insert(warehouse, f"{good} UNION ALL {bad} UNION ALL {bad} UNION ALL {blank}") == (1, 1, 2)
    assert _insert(warehouse, f"{good} UNION ALL {good} UNION ALL {bad}") == (2, 1, 1)  # one kept of a repeat
    with pytest.raises(NotClean, match="name"):
        _insert(warehouse, f"{good} UNION ALL {unnamed}")
    assert warehouse.query("SELECT count(*) FROM requests").fetchone()[0] == 0


@pytest.mark.slow
def test_a_clean_json_file_and_a_staged_one_give_the_same_rows(warehouse, tmp_path):
    def line(i, completion=5):
        return json.dumps({"id": f"c{i}", "object": "chat.completion", "created": 1790000000 + i, "model": "gpt-4o",
                           "usage": {"prompt_tokens": 100 + i, "completion_tokens": completion,
                                     "prompt_tokens_details": {"cached_tokens": i}}})
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(line(i) for i in range(1, 30)) + "\n")
    dirty = tmp_path / "dirty.jsonl"
    dirty.write_text("\n".join([line(i) for i in range(30, 59)] + ['{"id": "broken"']) + "\n")
    assert (import_file(warehouse, clean).staged, import_file(warehouse, dirty).staged) == (False, True)
    got = warehouse.query("SELECT request_id, input_tokens, cache_read_tokens, output_tokens, epoch(ts) "
                          "FROM requests ORDER BY epoch(ts)").fetchall()
    assert got == [(f"c{i}", 100, i, 5, 1790000000 + i) for i in range(1, 59)]


SAMPLES = sorted((Path(__file__).resolve().parents[1] / "ingest" / "samples").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_clean_sample_export_takes_the_clean_path(warehouse, sample):
    traces = Options(provider="ourtoken", model="deepseek-v4-flash")
    res = import_file(warehouse, sample, options=traces if sample.name.startswith(("azure", "mooncake")) else None)
    assert (res.rejected, res.staged) == (0, False)
    assert res.added > 0


@pytest.mark.slow
def test_row_order_is_preserved_again_after_a_clean_and_an_abandoned_clean_import(warehouse, tmp_path):
    setting = "SELECT current_setting('preserve_insertion_order')"
    assert import_file(warehouse, write_csv(tmp_path / "ok.csv", [csv_row(1)])).staged is False
    assert warehouse.query(setting).fetchone()[0] is True
    bad = write_csv(tmp_path / "bad.csv", [csv_row(2), csv_row(3, prompt=1)])
    assert import_file(warehouse, bad, options=INCLUDED).rejected == 1
    assert warehouse.query(setting).fetchone()[0] is True
    assert import_file(warehouse, write_csv(tmp_path / "torn.csv", [csv_row(4), "r5,2026-11-01\n"])).staged
    assert warehouse.query(setting).fetchone()[0] is True


@pytest.mark.slow
@pytest.mark.parametrize("torn", [False, True], ids=["clean-read", "staged"])
def test_a_large_file_keeps_first_occurrences_and_each_rejected_rows_own_line_and_text(warehouse, tmp_path, torn):
    # Several row groups, so the inserts run in parallel and in any order: the first
    # occurrence of a repeated id is still the earlier line, and each rejected row keeps
    # the line and text of its own record. A torn line (too few fields) sends the file the
    # staged way; without it the clean read does the same with no staging table.
    n = 250_000
    rows = [csv_row(i) for i in range(1, n + 1)]
    rows[200_000] = csv_row(7, completion=99)  # line 200,002 repeats r7 (line 8)
    rows[123_456] = csv_row(123_457, prompt=5)  # line 123,458: cached exceeds prompt
    rows[-1] = csv_row(n, completion=-1)  # the last line
    expected = [
        (123_458, csv_row(123_457, prompt=5).strip(), "cached tokens (100) exceed prompt tokens (5)"),
        (n + 1, csv_row(n, completion=-1).strip(), "output is negative: -1"),
    ]
    if torn:
        rows[77_776] = "r77777,2026-11-01T00:00:00Z\n"  # line 77,778
        expected.insert(0, (77_778, "r77777,2026-11-01T00:00:00Z", None))
    res = import_file(warehouse, write_csv(tmp_path / "big.csv", rows), options=INCLUDED)
    assert (res.added, res.duplicates, res.rejected, res.staged) == (n - 3 - torn, 1, 2 + torn, torn)
    assert warehouse.query("SELECT output_tokens FROM requests WHERE request_id = 'r7'").fetchall() == [(10,)]
    got = warehouse.query("SELECT line, raw, reason FROM rejected_rows ORDER BY line").fetchall()
    assert [(line, raw) for line, raw, _ in got] == [(line, raw) for line, raw, _ in expected]
    assert [reason for _, _, reason in got][-2:] == [reason for _, _, reason in expected][-2:]


@pytest.mark.slow
def test_a_second_read_that_finds_other_rejected_rows_sends_the_file_to_the_staged_path(warehouse, tmp_path):
    # The clean read passes over two rejected rows; a re-read that finds only one of them
    # cannot place them: the clean attempt rolls back and the staged read keeps both.
    f = write_csv(tmp_path / "two-bad.csv", [csv_row(1), csv_row(2, completion=-1), csv_row(3, prompt=-5)])
    plan = plan_file(warehouse, f)
    one_only = f"SELECT line, raw, CASE WHEN reason IS NULL THEN NULL ELSE 'x' END AS reason FROM ({plan.reread}) LIMIT 2"
    counts = execute(warehouse, replace(plan, reread=one_only), path=str(f), file_name=str(f), sha256=lambda: "e" * 64)
    assert (counts.added, counts.rejected, counts.staged) == (1, 2, True)
    assert warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (3, "output is negative: -1"), (4, "prompt_tokens is negative: -5")]
    assert warehouse.query("SELECT count(*) FROM imports").fetchone()[0] == 1  # the abandoned attempt left none
