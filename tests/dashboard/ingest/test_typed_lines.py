"""Clean JSON lines take DuckDB's typed JSON reader; the result must equal the line-by-line read.

Records follow the OpenAI chat completions reference, DeepSeek's hit/miss usage fields,
OpenRouter's inline `usage.cost`, and the `{request, response}` pair shape.
"""

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import write_lines

from dashboard.errors import ImportFailed
from dashboard.ingest import Options, ReadKind, import_file, plan_file, readers
from dashboard.ingest.importer import choose, sample_file
from dashboard.ingest.loader import read_sample
from dashboard.ingest.sql import MACROS, canonical_sql

RECORDS = [
    {"id": "chatcmpl-1", "object": "chat.completion", "created": 1790000000, "model": "deepseek-v4-flash",
     "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280,
               "prompt_tokens_details": {"cached_tokens": 1024}}},
    {"id": "chatcmpl-2", "object": "chat.completion", "created": 1790000060, "model": "deepseek-chat",
     "route": "deepseek", "usage": {"prompt_tokens": 900, "prompt_cache_hit_tokens": 640,
                                    "prompt_cache_miss_tokens": 260, "completion_tokens": 40,
                                    "completion_tokens_details": {"reasoning_tokens": 12}}},
    {"id": "gen-3", "created": 1790000120, "model": "openai/gpt-4o-mini", "provider": "OpenAI",
     "usage": {"prompt_tokens": 50, "completion_tokens": 5, "cost": 0.00001275}},
    {"request": {"user": "u-7", "metadata": {"project": "search"}},
     "response": {"id": "chatcmpl-4", "created": 1790000180, "model": "gpt-4o",
                  "usage": {"prompt_tokens": 3000, "completion_tokens": 300,
                            "prompt_tokens_details": {"cached_tokens": 0}}},
     "latency_ms": 812.5, "tags": ["nightly", "eval"]},
    {"id": "chatcmpl-5", "created": "2026-09-21T14:16:00.250+02:00", "model": "gpt-4o", "project": "ünïcode",
     "usage": {"prompt_tokens": 10.0, "completion_tokens": 1}, "status": 200},
]


def _both_reads(warehouse, path):
    """Rows of the staged read and of the first typed read of every key, each ordered by request id.

    The typed read without the keys the sample lacks, where the plan has one, gives the same rows
    as the typed read of every key, or fails where a record holds one of those keys."""
    plan = plan_file(warehouse, path)
    full = [r for r in plan.clean if not r.absent]
    assert full[0].kind in (ReadKind.EPOCH_LINES, ReadKind.TYPED_LINES), "clean OpenAI lines have a typed read"
    params = {**plan.params, "path": str(path), "import_id": None}
    order = "SELECT * EXCLUDE (line, raw) FROM ({}) ORDER BY request_id"
    _, by_line = read_sample(warehouse, order.format(plan.staged.sql), str(path), params, macros=MACROS)
    _, typed = read_sample(warehouse, order.format(full[0].sql), str(path), params, macros=MACROS)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for narrow in (r for r in plan.clean if r.absent):
        absent = {k.lower() for k in narrow.absent}
        holds_absent = any(v is not None and k.lower() in absent for r in records for k, v in r.items())
        lacks_held = any(r.get(k) is None for r in records for k in narrow.held)
        try:
            rows = read_sample(warehouse, order.format(narrow.sql), str(path), params, macros=MACROS)[1]
        except ImportFailed as e:  # the guard fails only a file with a record of another shape
            assert "a record is not of the shape its sample showed" in str(e) and (holds_absent or lacks_held)
        else:
            assert narrow.kind is full[0].kind and rows == typed and not lacks_held
    return by_line, typed


def test_the_typed_read_gives_the_same_rows_as_the_line_by_line_read(warehouse, tmp_path):
    f = write_lines(tmp_path / "mixed-shapes.jsonl", [json.dumps(r) for r in RECORDS])
    by_line, typed = _both_reads(warehouse, f)
    assert len(by_line) == len(RECORDS) and all(row[0] is None for row in by_line)  # no reason: all good
    assert typed == by_line


@pytest.mark.slow
def test_a_file_the_typed_read_cannot_keep_as_read_is_read_line_by_line(warehouse, tmp_path):
    no_id = {k: v for k, v in RECORDS[0].items() if k != "id"}
    lines = [json.dumps(RECORDS[0]), json.dumps(no_id), "", "{broken", json.dumps(RECORDS[2])]
    f = write_lines(tmp_path / "needs-lines.jsonl", lines)
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (3, 1)
    assert warehouse.query("SELECT line, reason FROM rejected_rows").fetchall() == [(4, "not a valid JSON object")]
    # The record without an id is named by its own text, as the line-by-line read names it.
    ids = {r[0] for r in warehouse.query("SELECT request_id FROM requests").fetchall()}
    assert "h" + hashlib.md5(lines[1].encode()).hexdigest() in ids
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates) == (0, 3)


@pytest.mark.slow
def test_clean_lines_import_through_the_typed_read_exactly_once(warehouse, tmp_path):
    f = write_lines(tmp_path / "clean.jsonl", [json.dumps(r) for r in RECORDS])
    first = import_file(warehouse, f)
    assert (first.added, first.rejected) == (len(RECORDS), 0)
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates) == (0, len(RECORDS))


@pytest.mark.slow
def test_a_record_without_an_id_in_an_otherwise_clean_file_is_named_by_its_text(warehouse, tmp_path):
    no_id = json.dumps({k: v for k, v in RECORDS[2].items() if k != "id"})
    f = write_lines(tmp_path / "one-unnamed.jsonl", [json.dumps(RECORDS[0]), no_id])
    assert import_file(warehouse, f).added == 2
    ids = {r[0] for r in warehouse.query("SELECT request_id FROM requests").fetchall()}
    assert ids == {"chatcmpl-1", "h" + hashlib.md5(no_id.encode()).hexdigest()}


@pytest.mark.slow
def test_objects_the_sample_lacks_are_read_whole_and_give_the_same_rows(warehouse, tmp_path):
    # The first 20 lines (all that detection sees) are plain responses; the pair shape, `metadata`
    # and `request` come only after them, so the typed read takes those objects as JSON values.
    plain = [{**RECORDS[0], "id": f"chatcmpl-p{i}"} for i in range(25)]
    late = [RECORDS[3], {**RECORDS[2], "metadata": {"project": "late", "tags": "a, b"}},
            {**RECORDS[1], "request": {"user": "u-9", "metadata": {"project": "from-request"}}}]
    f = write_lines(tmp_path / "late-shapes.jsonl", [json.dumps(r) for r in plain + late])
    cleans = plan_file(warehouse, f).clean
    assert set(cleans[0].absent) >= {"response", "request", "metadata"}  # tried first: it fails here
    fast = cleans[1].sql
    assert "'response': 'JSON'" in fast and "'usage': 'STRUCT(" in fast
    by_line, typed = _both_reads(warehouse, f)
    assert len(by_line) == 28 and all(row[0] is None for row in by_line)
    assert typed == by_line
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (28, 0, False)
    got = warehouse.query(
        "SELECT request_id, project, \"user\", tags, input_tokens, cache_read_tokens FROM requests "
        "WHERE request_id IN ('chatcmpl-4', 'gen-3', 'chatcmpl-2') ORDER BY request_id"
    ).fetchall()
    assert got == [("chatcmpl-2", "from-request", "u-9", None, 260, 640),
                   ("chatcmpl-4", "search", "u-7", ["nightly", "eval"], 3000, 0),
                   ("gen-3", "late", None, ["a", "b"], 50, 0)]


@pytest.mark.parametrize("created", [True, False], ids=["with-created", "without-created"])
def test_a_time_key_read_only_where_created_is_missing_is_left_unread_while_every_record_has_created(
        warehouse, tmp_path, created):
    # `timestamp` is read only where `created` is missing: the first read leaves it unread and
    # fails at a record without `created`, so a late record of either kind gets the full read's time.
    plain = [{**RECORDS[0], "id": f"chatcmpl-p{i}", "created": 1790000000 + i} for i in range(25)]
    late = {**RECORDS[0], "id": "late", "timestamp": "2026-11-01T10:00:00Z"}
    if not created:
        late.pop("created")
    f = write_lines(tmp_path / "late-timestamp.jsonl", [json.dumps(r) for r in [*plain, late]])
    first_read = plan_file(warehouse, f).clean[0]
    assert first_read.held == ("created",) and {"timestamp", "created_at"} <= set(first_read.absent)
    assert '"timestamp"' not in first_read.sql and '"created" IS NULL' in first_read.sql
    by_line, typed = _both_reads(warehouse, f)
    assert typed == by_line and all(row[0] is None for row in by_line)
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (26, 0, False)
    when = warehouse.query("SELECT epoch(ts) FROM requests WHERE request_id = 'late'").fetchone()[0]
    assert when == (RECORDS[0]["created"] if created else datetime(2026, 11, 1, 10, tzinfo=UTC).timestamp())


def test_parsed_lines_give_the_same_rows_as_the_plain_line_reader_bad_ones_too(warehouse, tmp_path):
    # The staged import reads JSON lines parsed once per line (from_json); it must keep
    # exactly what the plain reader (validate, then extract each path) keeps: every row,
    # its line, its text and its reason.
    odd = [
        "{broken", "[1, 2]", '"a string"', "42", "null", "   ", "",
        json.dumps({"id": "x1", "created": 1790000000, "model": "gpt-4o", "usage": "n/a"}),
        json.dumps({"id": "x2", "created": 1790000000, "model": {"name": "gpt-4o"},
                    "usage": {"prompt_tokens": [1], "completion_tokens": True}}),
        json.dumps({"id": "x3", "created": 1790000000, "model": "gpt-4o",
                    "usage": {"prompt_tokens": 1e3, "completion_tokens": -2}}),
        json.dumps({"id": "x4", "created": 1790000000, "model": "gpt-4o", "response": "not an object",
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1}}),
        '{"id": "x5", "id": "x6", "created": 1790000000, "model": "gpt-4o", "usage": {"prompt_tokens": 1}}',
        '{"id": "x7", "created": 1790000000, "model": "gpt-4o"} trailing',
    ]
    lines = [json.dumps(r) for r in RECORDS] + odd
    f = write_lines(tmp_path / "odd.jsonl", lines)
    sample = sample_file(warehouse, f)
    fmt = choose(sample, None, Options()).for_file(sample, Options())
    mapped, reader = readers.text_read(fmt, sample, numbered=True)
    plain = f"WITH src AS ({reader}),\n" + canonical_sql(mapped, derive_ids=False)
    parsed = readers.parsed_lines(fmt, sample, numbered=True)
    assert parsed is not None
    once = f"WITH src AS ({parsed[1]}),\n" + canonical_sql(parsed[0], derive_ids=False)
    params = {"path": str(f), "source": "t", "provider": None, "model": None, "cached_included": None,
              "import_id": None}
    order = "SELECT * FROM ({}) ORDER BY line"
    _, want = read_sample(warehouse, order.format(plain), str(f), params, macros=MACROS)
    _, got = read_sample(warehouse, order.format(once), str(f), params, macros=MACROS)
    assert len(want) == len(lines)
    reasons = {row[0]: row[2] for row in want}
    assert reasons[len(RECORDS) + 1] == "not a valid JSON object" and reasons[len(RECORDS) + 6] == ""
    assert sum(r is None for r in reasons.values()) >= len(RECORDS)
    assert got == want


def _three_reads(warehouse, path, fmt_name, options):
    """Rows of the plain line reader, the parsed one and the typed one, each ordered by request id."""
    sample = sample_file(warehouse, path)
    fmt = choose(sample, fmt_name, options).for_file(sample, options)
    mapped, reader = readers.text_read(fmt, sample, numbered=True)
    parsed = readers.parsed_lines(fmt, sample, numbered=True)
    typed = readers.typed_lines(fmt, sample)
    assert parsed is not None and typed is not None, "these fields should have a parsed and a typed read"
    sqls = [f"WITH src AS ({reader}),\n" + canonical_sql(mapped, derive_ids=False),
            f"WITH src AS ({parsed[1]}),\n" + canonical_sql(parsed[0], derive_ids=False),
            f"WITH src AS ({typed[1]}),\n" + canonical_sql(typed[0], derive_ids=False, record_text=False)]
    params = {"path": str(path), "source": "t", "provider": None, "model": None, "cached_included": None,
              "import_id": None}
    order = "SELECT * EXCLUDE (line, raw) FROM ({}) ORDER BY request_id"
    return [read_sample(warehouse, order.format(sql), str(path), params, macros=MACROS)[1] for sql in sqls]


@pytest.mark.slow
def test_generic_lines_with_keys_that_need_quoting_read_alike(warehouse, tmp_path):
    # A gateway export whose keys hold spaces, a dot, an apostrophe and a double quote:
    # the JSON paths quote them, and the typed reads must find the same values.
    keys = {"req id": "request_id", "when.utc": "ts", "model's name": "model", 'tokens "in"': "prompt_tokens",
            "Tokens Out": "output", "spend ($)": "billed_cost"}
    rows = [{"req id": "a1", "when.utc": "2026-10-01T10:00:00Z", "model's name": "deepseek-v4-flash",
             'tokens "in"': 1200, "Tokens Out": 80, "spend ($)": "0.000152"},
            {"req id": "a2", "when.utc": "2026-10-01T11:00:00Z", "model's name": "gpt-4o-mini",
             'tokens "in"': 30, "Tokens Out": 4, "spend ($)": None, "when": "not this"},
            {"req id": "a3", "when.utc": "2026-10-01T12:00:00Z", "model's name": {"nested": "object"},
             'tokens "in"': "12.5", "Tokens Out": 1}]
    f = write_lines(tmp_path / "gateway.jsonl", [json.dumps(r) for r in rows])
    plain, parsed, typed = _three_reads(warehouse, f, "generic", Options(mapping=keys))
    assert [r[1] for r in plain] == ["t", "t", "t"] and plain[0][0] is None  # source; the first row is good
    assert plain[2][0] == "prompt_tokens is not a whole number: 12.5"
    assert parsed == plain and typed == plain
    res = import_file(warehouse, f, options=Options(mapping=keys))
    assert (res.added, res.rejected) == (2, 1)
    assert warehouse.query("SELECT model, input_tokens, output_tokens, billed_cost FROM requests "
                           "WHERE request_id = 'a1'").fetchone() == ("deepseek-v4-flash", 1200, 80,
                                                                     Decimal("0.000152"))


def test_helicone_properties_that_differ_only_in_case_read_alike(warehouse, tmp_path):
    # Helicone's project property is looked up as project, Project and PROJECT: a STRUCT
    # cannot hold all three, so `properties` is read whole and the keys found in it.
    base = {"request_created_at": "2026-10-01T10:00:00Z", "model": "gpt-4o-mini", "prompt_tokens": 100,
            "completion_tokens": 10, "provider": "OPENAI"}
    rows = [{**base, "request_id": "h1", "properties": {"Project": "search"}},
            {**base, "request_id": "h2", "properties": {"PROJECT": "chat", "project": "wins"}},
            {**base, "request_id": "h3", "request_properties": {"App": "mobile"}},
            {**base, "request_id": "h4", "properties": "not an object"}]
    f = write_lines(tmp_path / "helicone.jsonl", [json.dumps(r) for r in rows])
    plain, parsed, typed = _three_reads(warehouse, f, "helicone", Options())
    assert parsed == plain and typed == plain
    import_file(warehouse, f)
    projects = dict(warehouse.query("SELECT request_id, project FROM requests").fetchall())
    assert projects == {"h1": "search", "h2": "wins", "h3": "mobile", "h4": None}


# Times as OpenAI's `created` holds them (epoch seconds), and as other logs write them.
EPOCH = [
    {"id": "e1", "created": 1790000000, "model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 1}},
    {"id": "e2", "created": 1790000000123, "model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 1}},
    {"id": "e3", "created": 1790000000.25, "model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 1}},
    {"id": "e4", "created": None, "timestamp": "2026-11-01T10:00:00+02:00", "model": "gpt-4o",
     "usage": {"prompt_tokens": 10, "completion_tokens": 1}},
    {"id": "e5", "created_at": "2026-11-01 10:00:00", "model": "gpt-4o",
     "usage": {"prompt_tokens": 10, "completion_tokens": 1}},
    {"id": "e6", "created": 1790000000, "timestamp": "2001-01-01T00:00:00Z", "model": "gpt-4o",
     "usage": {"prompt_tokens": 10, "completion_tokens": 1}},
]


@pytest.mark.slow
def test_a_time_the_sample_holds_as_a_number_is_read_as_one_with_the_text_reads_rows(warehouse, tmp_path):
    f = write_lines(tmp_path / "epoch.jsonl", [json.dumps(r) for r in EPOCH])
    cleans = [r for r in plan_file(warehouse, f).clean if not r.absent]
    assert "'created': 'DOUBLE'" in cleans[0].sql and '"ts_epoch"' in cleans[0].sql
    assert "'created': 'VARCHAR'" in cleans[1].sql  # the read to make when a time is no number after all
    by_line, typed = _both_reads(warehouse, f)
    assert len(by_line) == len(EPOCH) and all(row[0] is None for row in by_line)
    assert typed == by_line
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (6, 0, False)
    times = dict(warehouse.query("SELECT request_id, epoch_ms(ts) FROM requests").fetchall())
    assert times == {"e1": 1790000000000, "e2": 1790000000123, "e3": 1790000000250, "e4": 1793520000000,
                     "e5": 1793527200000, "e6": 1790000000000}


# JSON values DuckDB's JSON reader takes as a number, good times and bad ones among them.
NUMBERS = st.sampled_from([
    1790000000, 1790000000123, 1790000000.5, 0, -5, 99999999, 100000000, 9999999999, 10000000000,
    99999999999999, 100000000000000, 1e300, 1.5e-7, 946684799, 4102444800, 4102444799.999, True, False, None,
    "1790000000", "1.79e9", "12", 17900000001234567,
])


@pytest.mark.slow
@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(times=st.lists(NUMBERS, min_size=1, max_size=6))
def test_a_time_read_as_a_number_passes_or_rejects_each_row_as_the_text_read_does(warehouse, tmp_path, times):
    # The clean import takes the good rows as they are and counts the rejected ones, whose
    # lines and reasons it reads again as text: so what must agree is which rows are good,
    # and every value of a good row.
    # (after ten lines with plain epoch times: the sample the reader's types are chosen from)
    usage = {"prompt_tokens": 3, "completion_tokens": 1}
    rows = [{"id": f"n{i}", "created": 1790000000 + i if i < 10 else times[i - 10], "model": "gpt-4o", "usage": usage}
            for i in range(10 + len(times))]
    f = write_lines(tmp_path / "numbers.jsonl", [json.dumps(r) for r in rows])
    assert '"ts_epoch"' in plan_file(warehouse, f).clean[0].sql
    by_line, typed = _both_reads(warehouse, f)
    assert [row[2] for row in typed] == [row[2] for row in by_line]  # request ids, in order
    for mine, theirs in zip(typed, by_line, strict=True):
        assert (mine[0] is None) == (theirs[0] is None), (mine, theirs)
        if mine[0] is None:
            assert mine == theirs


@pytest.mark.slow
def test_a_time_that_is_no_number_after_the_sample_is_read_as_text_without_staging(warehouse, tmp_path):
    plain = [{**EPOCH[0], "id": f"p{i}"} for i in range(30)]
    late = {**EPOCH[0], "id": "late", "created": "2026-11-01T10:00:00Z"}
    f = write_lines(tmp_path / "late-text-time.jsonl", [json.dumps(r) for r in [*plain, late]])
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (31, 0, False)
    assert warehouse.query("SELECT epoch_ms(ts) FROM requests WHERE request_id = 'late'").fetchall() == [
        (1793527200000,)]
    # a malformed line fails both typed reads alike: the file goes straight to the staged read
    broken = write_lines(tmp_path / "broken.jsonl", [json.dumps(r) for r in plain] + ["{broken"])
    res = import_file(warehouse, broken)
    assert (res.added, res.duplicates, res.rejected, res.staged) == (0, 30, 1, True)


@pytest.mark.slow
def test_with_a_zone_given_a_time_read_as_a_number_is_the_same_instant(warehouse, tmp_path):
    f = write_lines(tmp_path / "epoch-tz.jsonl", [json.dumps(r) for r in EPOCH])
    res = import_file(warehouse, f, options=Options(tz="Asia/Shanghai"))
    assert (res.added, res.staged) == (6, False)
    times = dict(warehouse.query("SELECT request_id, epoch_ms(ts) FROM requests").fetchall())
    # epoch times are instants; only the naive text (e5) is read in the zone given
    assert times["e1"] == 1790000000000 and times["e2"] == 1790000000123
    assert times["e5"] == 1793527200000 - 8 * 3600 * 1000


@pytest.mark.slow
def test_a_row_whose_number_is_no_time_is_rejected_with_its_line_and_the_text_reads_reason(warehouse, tmp_path):
    # (after the sample: a True there would keep the time from being read as a number)
    lines = [json.dumps({**EPOCH[0], "id": f"p{i}"}) for i in range(12)]
    lines.insert(10, json.dumps({**EPOCH[0], "id": "bad", "created": 5}))
    lines.insert(11, json.dumps({**EPOCH[0], "id": "flag", "created": True}))
    f = write_lines(tmp_path / "no-time.jsonl", lines)
    assert '"ts_epoch"' in plan_file(warehouse, f).clean[0].sql
    res = import_file(warehouse, f)
    assert (res.added, res.rejected, res.staged) == (12, 2, False)
    assert warehouse.query("SELECT line, raw, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (11, lines[10], "unparsable time: 5"), (12, lines[11], "unparsable time: true")]


@pytest.mark.slow
def test_a_token_count_after_the_sample_that_is_no_whole_number_rejects_its_row_in_the_typed_read(
        warehouse, tmp_path):
    # DuckDB's JSON reader turns true into 1 and 1.5 into 2 when it reads a count as a number,
    # so the typed read takes counts as text: a boolean or a fraction there is a rejected row,
    # not 1 token; a whole number, as a string or as 100.0, is that count.
    def record(i, **usage):
        return {"id": f"c{i}", "object": "chat.completion", "created": 1790000000 + i, "model": "deepseek-v4-flash",
                "usage": {"prompt_tokens": 100, "completion_tokens": 10,
                          "prompt_tokens_details": {"cached_tokens": 40}, **usage}}
    late = [record(20, prompt_tokens=True), record(21, completion_tokens=False), record(22, prompt_tokens=1.5),
            record(23, prompt_tokens_details={"cached_tokens": True}), record(24, prompt_tokens="120"),
            record(25, completion_tokens=100.0)]
    lines = [json.dumps(r) for r in [*(record(i) for i in range(20)), *late]]
    f = write_lines(tmp_path / "late-counts.jsonl", lines)
    assert plan_file(warehouse, f).clean[0].kind is ReadKind.EPOCH_LINES
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (22, 4)
    assert warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (21, "prompt_tokens is not a whole number: true"), (22, "output is not a whole number: false"),
        (23, "prompt_tokens is not a whole number: 1.5"), (24, "cache_read is not a whole number: true")]
    counts = dict(warehouse.query("SELECT request_id, input_tokens + cache_read_tokens + output_tokens "
                                  "FROM requests WHERE request_id IN ('c24', 'c25')").fetchall())
    assert counts == {"c24": 130, "c25": 200}
