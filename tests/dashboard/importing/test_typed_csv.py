"""A clean CSV with ids lets DuckDB's CSV reader parse its times, tokens and amounts itself.

The reader parses a typed column exactly as the cast from text does, so the rows it gives
must be the rows the text read gives. It passes over a line with a value it cannot parse,
which counts as rejected when the text read rejects it too; where the text read keeps it,
the import reads the file clean again as text. These tests hold the two reads against each
other on every kind of value, and follow a file down each way.
"""

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.ingest import Options, ReadKind, import_file, plan_file
from dashboard.ingest.loader import UNNAMED, read_sample
from dashboard.ingest.sql import MACROS

HEADER = ["request_id", "timestamp", "model", "prompt_tokens", "cached_tokens", "completion_tokens",
          "reasoning_tokens", "requests", "cost", "latency_ms"]


def write_csv(path, rows, header=HEADER):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def both_reads(warehouse, path, options=None):
    """The SQL of the typed clean read, and the rows of the text read (strict) and of the typed one.

    The prompt tokens are read as including the cached ones unless `options` say otherwise, so
    that a row with more cached than prompt tokens is a rejected row both reads must agree on
    (left open, it would fail the read: see plan.ImportPlan.otherwise)."""
    plan = plan_file(warehouse, path, None, options or Options(cached_included=True))
    fast, strict = plan.clean[0].sql, plan.reread
    assert plan.clean[0].kind is ReadKind.TYPED_CSV
    params = {**plan.params, "path": str(path), "import_id": None}
    order = "SELECT * EXCLUDE (line, raw) FROM ({}) ORDER BY request_id"
    _, text = read_sample(warehouse, order.format(strict), str(path), params, macros=MACROS)
    _, typed = read_sample(warehouse, order.format(fast), str(path), params, macros=MACROS)
    return fast, text, typed


GOOD = [
    ["r1", "2026-11-01T10:00:00Z", "deepseek-v4-flash", "1200", "1024", "80", "", "", "0.000013", "812.5"],
    ["r2", "2026-11-01 10:00:01.123456+02:00", "gpt-4o", "1e3", "0", "12.0", "3", "1", "1.3e-05", ""],
    ["r3", "2026-11-01 10:00:02", "gpt-4o", " 900 ", "+10", "007", "0", "", "", "0"],
    ["r4", "2026-11-01 00:00", "gpt-4o", "12.0000001", "", "5", "", "4", "0.1234567890123", "1e2"],
    ["r5", "2026-11-01T10:00:03.5-05:00", "claude-sonnet-4-5", "100", "100", "0", "", "", "-0.25", ""],
]


def test_the_reader_parses_times_tokens_and_amounts_and_gives_the_rows_the_text_read_gives(warehouse, tmp_path):
    f = write_csv(tmp_path / "good.csv", GOOD)
    fast, text, typed = both_reads(warehouse, f)
    assert "types = {" in fast and "'timestamp': 'TIMESTAMPTZ'" in fast and "'cost': 'DECIMAL(18, 12)'" in fast
    assert len(text) == len(GOOD) and all(row[0] is None for row in text)  # no reason: every row good
    assert typed == text


@pytest.mark.slow
def test_a_time_given_as_a_date_alone_is_read_as_text_a_day_in_both_reads(warehouse, tmp_path):
    # The typed reader would read 2026-11-01 as its midnight; the text read makes it that day.
    rows = [row[:] for row in GOOD]
    rows[3][1] = "2026-11-01"
    f = write_csv(tmp_path / "dates.csv", rows)
    fast, text, typed = both_reads(warehouse, f)
    assert "types = {" in fast and "'timestamp'" not in fast and "'cost': 'DECIMAL(18, 12)'" in fast
    assert typed == text and all(row[0] is None for row in text)
    assert [row[-1] for row in text] == [None, None, None, 86_400, None]  # span_s: r4 is a day


@pytest.mark.slow
def test_the_same_import_as_before_through_the_typed_read(warehouse, tmp_path):
    res = import_file(warehouse, write_csv(tmp_path / "good.csv", GOOD))
    assert (res.added, res.duplicates, res.rejected, res.staged) == (5, 0, 0, False)
    got = warehouse.query(
        "SELECT request_id, epoch(ts), input_tokens, cache_read_tokens, output_tokens, reasoning_tokens, "
        "request_count, billed_cost, latency_ms FROM requests ORDER BY request_id").fetchall()
    assert [row[:7] for row in got] == [
        ("r1", 1793527200.0, 176, 1024, 80, 0, 1),
        ("r2", 1793520001.123456, 1000, 0, 12, 3, 1),
        ("r3", 1793527202.0, 890, 10, 7, 0, 1),
        ("r4", 1793491200.0, 12, 0, 5, 0, 4),
        ("r5", 1793545203.5, 0, 100, 0, 0, 1),
    ]
    assert [str(row[7]) for row in got] == ["0.000013000000", "0.000013000000", "None", "0.123456789012",
                                            "-0.250000000000"]
    assert [row[8] for row in got] == [812.5, None, 0.0, 100.0, None]
    again = import_file(warehouse, tmp_path / "good.csv")
    assert (again.added, again.duplicates) == (0, 5)


# Values the reader parses: good ones, and ones the checks reject (12.5, -3, a time out of range).
TOKENS = ["0", "1", "12", "1000", "1e3", "12.0", "12.5", " 12 ", "-3", "007", "+5", "", "1_000", "12.0000001",
          "12.0000009", "99999999999"]
TIMES = ["2026-11-01T10:00:00Z", "2026-11-01 10:00:00", "2026-11-01 10:00:00+05:30", "2026-11-01", "infinity",
         "epoch", "1999-12-31 23:59:59Z", "2026-11-01 10:00:00 CST", "", "2026-11-01T10:00:00.123456789Z",
         " 2026-11-01 10:00:00 "]
MONEY = ["0", "0.5", "1.3e-05", "-0.25", "", "999999.999999999999", "0.1234567890125", " 0.5 ", "1e-20"]
# Values it cannot parse, by the pool of the column they spoil.
UNPARSED = {id(TOKENS): ["NaN", "nan", "inf", "lots", "0x10", "1e15", "9223372036854775807", "1,5", " ",
                         "99999999999999"],
            id(TIMES): ["1793527200", "1793527200000", "2026-11-01 10:00:00 +0000 UTC", "11/01/2026", "soon"],
            id(MONEY): ["1000000", "$1", "nan"]}
# timestamp, prompt, cached, completion, reasoning, requests, cost, latency
COLUMNS = [TIMES, TOKENS, TOKENS, TOKENS, TOKENS, TOKENS, MONEY, MONEY]
ROWS = st.lists(st.tuples(*(st.sampled_from(pool) for pool in COLUMNS)), min_size=1, max_size=6)
# Now and then one value the reader cannot parse: (row, column, which).
SPOIL = st.none() | st.tuples(st.integers(0, 5), st.integers(0, len(COLUMNS) - 1), st.integers(0, 9))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS, spoil=SPOIL)
def test_a_typed_read_gives_the_text_reads_rows_but_those_it_cannot_parse(warehouse, tmp_path, rows, spoil):
    # Every row the typed read gives, it passes or rejects as the text read does, with the
    # same values; it gives every row but one with a value it cannot parse. So the clean
    # import's good rows are the text read's, and where the text read rejects the lines
    # passed over too, so is its count of rejected rows (read again as text for their
    # lines and reasons); where not, the import reads the file as text.
    values = [list(row) for row in rows]
    if spoil:
        row, column, which = spoil
        unparsed = UNPARSED[id(COLUMNS[column])]
        values[row % len(values)][column] = unparsed[which % len(unparsed)]
    f = write_csv(tmp_path / "mixed.csv", [[f"r{i}", v[0], "gpt-4o", *v[1:]] for i, v in enumerate(values)])
    _, text, typed = both_reads(warehouse, f)
    by_id = {row[2]: row for row in text}  # (reason, source, request_id, ...)
    passed_over = set(by_id) - {row[2] for row in typed}
    assert passed_over == ({f"r{spoil[0] % len(values)}"} if spoil else set())
    assert len(typed) == len(text) - len(passed_over)
    for row in typed:
        assert (row[0] is None) == (by_id[row[2]][0] is None), (row, by_id[row[2]])
        if row[0] is None:
            assert row == by_id[row[2]]


def _late(value, column=3):
    rows = [[f"r{i}", "2026-11-01T10:00:00Z", "gpt-4o", "100", "0", "5", "", "", "0.01", ""] for i in range(1, 300)]
    rows.append(["r300", "2026-11-01T10:00:00Z", "gpt-4o", "100", "0", "5", "", "", "0.01", ""])
    rows[-1][column] = value
    return rows


@pytest.mark.slow
def test_a_value_the_reader_cannot_parse_is_a_rejected_row_with_its_line_and_reason(warehouse, tmp_path):
    f = write_csv(tmp_path / "late.csv", _late("lots"))
    assert len(both_reads(warehouse, f)[2]) == 299  # the typed read passes over 'lots'
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (299, 1, False)
    assert warehouse.query("SELECT line, raw, reason FROM rejected_rows").fetchall() == [
        (301, "r300,2026-11-01T10:00:00Z,gpt-4o,lots,0,5,,,0.01,", "prompt_tokens is not a whole number: lots")]
    assert warehouse.query("SELECT count(*) FROM imports WHERE rows_added = 299 AND rows_rejected = 1"
                           ).fetchone()[0] == 1


@pytest.mark.slow
@pytest.mark.parametrize(("value", "column", "read"), [
    ("NaN", 3, lambda row: row[0] == 0),  # a missing count: 0 tokens
    ("1793527200", 1, lambda row: row[1] == 1793527200.0),  # epoch seconds
    ("2026-11-01 10:00:00 +0000 UTC m=+0.5", 1, lambda row: row[1] == 1793527200.0),  # as Go prints a time
    ("2500000", 8, lambda row: row[2] == Decimal("2500000")),  # an amount over the typed read's million
], ids=["nan-tokens", "epoch-time", "go-time", "large-amount"])
def test_a_value_only_the_text_read_takes_is_imported_as_the_text_read_takes_it(warehouse, tmp_path, value,
                                                                               column, read):
    res = import_file(warehouse, write_csv(tmp_path / "late.csv", _late(value, column)))
    assert (res.added, res.rejected, res.staged) == (300, 0, False)
    row = warehouse.query("SELECT input_tokens, epoch(ts), billed_cost FROM requests WHERE request_id = 'r300'"
                          ).fetchone()
    assert read(row), row


@pytest.mark.slow
def test_a_line_duckdb_cannot_read_sends_the_file_to_the_staged_read(warehouse, tmp_path):
    f = tmp_path / "torn.csv"
    write_csv(f, _late("100"))
    f.write_text(f.read_text() + "r301,2026-11-01T10:00:00Z\n")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (300, 1, True)
    assert warehouse.query("SELECT line, raw FROM rejected_rows").fetchall() == [(302, "r301,2026-11-01T10:00:00Z")]


@pytest.mark.slow
def test_times_the_reader_cannot_parse_are_read_as_text_clean(warehouse, tmp_path):
    rows = [[f"e{i}", str(1793527200 + i), "gpt-4o", "100", "0", "5", "", "", "", ""] for i in range(3)]
    rows.append(["e3", "2026-11-01 10:00:03 +0000 UTC m=+0.0013", "gpt-4o", "100", "0", "5", "", "", "", ""])
    res = import_file(warehouse, write_csv(tmp_path / "epoch.csv", rows))
    assert (res.added, res.rejected, res.staged) == (4, 0, False)
    assert warehouse.query("SELECT epoch(ts) FROM requests ORDER BY request_id").fetchall() == [
        (1793527200.0,), (1793527201.0,), (1793527202.0,), (1793527203.0,)]


@pytest.mark.slow
def test_a_row_without_an_id_is_named_by_its_text_as_before(warehouse, tmp_path):
    # The typed read has no text to derive an id from, so the text read names the row.
    rows = [GOOD[0], ["", *GOOD[1][1:]]]
    f = write_csv(tmp_path / "no-id.csv", rows)
    _, text, typed = both_reads(warehouse, f)
    assert typed is not None and [row[0] for row in typed] == [None, UNNAMED]  # r1, then the row it cannot name
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (2, 0, False)
    named = warehouse.query("SELECT request_id FROM requests WHERE request_id <> 'r1'").fetchone()[0]
    assert named == next(row[2] for row in text if row[2] != "r1") and named.startswith("h")


@pytest.mark.slow
def test_with_a_zone_given_the_times_are_read_as_text_in_that_zone(warehouse, tmp_path):
    f = write_csv(tmp_path / "naive.csv", [GOOD[2]])
    options = Options(tz="Asia/Shanghai")
    fast, text, typed = both_reads(warehouse, f, options)
    assert "'timestamp'" not in fast and "'prompt_tokens': 'DECIMAL(18, 6)'" in fast
    assert typed == text
    res = import_file(warehouse, f, options=options)
    assert (res.added, res.staged) == (1, False)
    assert warehouse.query("SELECT epoch(ts) FROM requests").fetchone()[0] == 1793527202.0 - 8 * 3600


def test_a_header_whose_names_differ_only_in_case_gives_the_text_reads_rows(warehouse, tmp_path):
    # DuckDB renames the second name (timestamp_1): the typed read takes the same column.
    header = ["request_id", "Timestamp", "timestamp", "model", "prompt_tokens"]
    f = write_csv(tmp_path / "case.csv", [["r1", "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "gpt-4o", "10"]],
                  header=header)
    fast, text, typed = both_reads(warehouse, f)
    assert "'Timestamp': 'TIMESTAMPTZ'" in fast
    assert typed == text and text[0][3].day == 1
