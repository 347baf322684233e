"""The import plan: given a format and a file's sample (and the person's options), which reads, in which order, into which table.

plan() reads no file: these tests hand it samples, as detection would, and formats declared here
or shipped, and check the plan it makes.
"""

from dataclasses import replace

import pytest

from dashboard.ingest import Format, Options, ReadKind, Sample, Table, plan, readers
from dashboard.ingest.fields import DOC, first, j, sql
from dashboard.ingest.formats import by_name
from dashboard.ingest.planner import KNOWN_TEXTS
from dashboard.ingest.render import narrowed, shadowed_keys
from dashboard.ingest.sql import KNOWN_FIELDS

EPOCH, TYPED, CSV, TEXT = ReadKind.EPOCH_LINES, ReadKind.TYPED_LINES, ReadKind.TYPED_CSV, ReadKind.TEXT


def lines_format(**fields) -> Format:
    """A JSON-lines format with an id of its own and the given fields."""
    return Format(name="t", source="t", shapes=("lines",), sniff=lambda s: 0,
                  fields={"request_id": j("$.id"), **fields})


def lines(*records) -> Sample:
    return Sample("t.jsonl", "lines", records=tuple(records))


def csv(*columns, rows=()) -> Sample:
    return Sample("t.csv", "csv", columns=tuple(columns), rows=tuple(rows))


def kinds(fmt: Format, sample: Sample, options: Options | None = None) -> list[ReadKind]:
    """The kinds of the plan's clean reads of every key the format reads (not those without the keys the sample lacks)."""
    return [r.kind for r in plan(fmt, sample, options or Options()).clean if not r.absent]


OPENAI = {"id": "c1", "object": "chat.completion", "created": 1790000000, "model": "gpt-4o",
          "usage": {"prompt_tokens": 10, "completion_tokens": 1}}
CHUNK = {"id": "s1", "object": "chat.completion.chunk", "created": 1790000000, "model": "gpt-4o", "usage": None}
GENERIC_HEADER = ("request_id", "timestamp", "model", "prompt_tokens", "completion_tokens", "cost")


@pytest.mark.parametrize(("name", "sample", "options", "reads", "table"), [
    # OpenAI's `created` is a number in the sample: read as one first, then as text, then staged;
    # first of all without the keys the format reads that the sample lacks (`response`, `user`, ...).
    ("openai-jsonl", lines(OPENAI), Options(), [(EPOCH, "absent"), EPOCH, TYPED], Table.IF_ROWS_FIT),
    ("openai-jsonl", lines({**OPENAI, "created": "2026-11-01T00:00:00Z"}), Options(), [(TYPED, "absent"), TYPED],
     Table.IF_ROWS_FIT),
    # a log opening with chunks keeps the last chunk with usage: a window over line numbers
    ("openai-jsonl", lines(CHUNK), Options(), [TEXT], Table.IF_ROWS_FIT),
    # Claude Code's records grow: never the lean table; a row filter and a window need lines
    ("anthropic", lines({"type": "assistant", "message": {"usage": {"input_tokens": 1}}}), Options(), [TEXT],
     Table.FULL),
    # a column the format reads but the file lacks is empty on every row: it decides nothing
    ("openrouter-csv", csv("generation_id", "created_at", "tokens_prompt", "model_permaslug"), Options(),
     [CSV, TEXT], Table.LEAN),
    ("openrouter-csv", csv("generation_id", "created_at", "tokens_prompt", "model_permaslug", "provider_name"),
     Options(), [CSV, TEXT], Table.IF_ROWS_FIT),
    ("generic", csv(*GENERIC_HEADER), Options(), [CSV, TEXT], Table.LEAN),
    # with --provider, a file's own provider becomes the upstream one, which the lean table leaves out
    ("generic", csv(*GENERIC_HEADER, "provider"), Options(provider="ourtoken"), [CSV, TEXT],
     Table.IF_ROWS_FIT),
    ("generic", csv(*GENERIC_HEADER, "provider"), Options(), [CSV, TEXT], Table.LEAN),
    # rows without ids are named from their text, which the typed CSV reader does not keep
    ("azure-trace", csv("TIMESTAMP", "ContextTokens", "GeneratedTokens"), Options(), [TEXT], Table.LEAN),
], ids=["openai-epoch", "openai-text-time", "openai-stream", "anthropic", "openrouter", "openrouter-upstream",
        "generic-csv",
        "generic-provider-given", "generic-provider-own", "azure-derived-ids"])
def test_a_shipped_format_and_a_sample_give_this_plan(name, sample, options, reads, table):
    made = plan(by_name(name), sample, options)
    assert [(r.kind, "absent") if r.absent else r.kind for r in made.clean] == reads
    assert made.table is table
    assert made.staged.kind is ReadKind.STAGED
    assert made.format == name and made.shape == sample.shape
    names = [f"{r[0].value} (sample's keys)" if isinstance(r, tuple) else r.value for r in reads]
    assert made.explain().splitlines()[1] == "reads, in turn: " + " -> ".join([*names, "staged"])


def test_a_zone_given_keeps_the_time_from_the_typed_csv_reader():
    sample = csv(*GENERIC_HEADER)
    assert "'timestamp': 'TIMESTAMPTZ'" in plan(by_name("generic"), sample, Options()).clean[0].sql
    zoned = plan(by_name("generic"), sample, Options(tz="Europe/Berlin"))
    assert zoned.clean[0].kind is CSV and "'timestamp'" not in zoned.clean[0].sql
    assert zoned.params["tz"] == "Europe/Berlin"


def test_a_date_only_time_is_kept_as_text_by_the_typed_csv_reader():
    sample = csv(*GENERIC_HEADER, rows=[dict.fromkeys(GENERIC_HEADER, "1") | {"timestamp": "2026-08-24"}])
    made = plan(by_name("generic"), sample, Options())
    assert made.clean[0].kind is CSV and "'timestamp'" not in made.clean[0].sql


def test_what_the_person_typed_is_bound_never_spliced():
    # (nor what the file holds: its texts the plan names as known are bound too)
    held = "gpt'); DROP TABLE imports; --"
    made = plan(by_name("generic"), csv(*GENERIC_HEADER, rows=[{"model": held}]),
                Options(provider="x'); DROP TABLE requests; --", model="m'", source="s'"))
    assert made.params == {"source": "s'", "provider": "x'); DROP TABLE requests; --", "model": "m'",
                           "cached_included": None, "known": {**{f: [] for f in KNOWN_FIELDS}, "model": [held]}}
    assert all("DROP TABLE" not in r.sql for r in (*made.clean, made.staged))


def test_the_known_texts_are_the_samples_long_plainly_keyless_values_most_frequent_first():
    models = ["gpt-4o-mini", "claude-sonnet-4-5", "claude-sonnet-4-5", "sk-proj-abcdefgh1234", "o3", "x" * 32,
              "model=abcdefghijk", "deepseek-v4-flash"]
    fmt = lines_format(model=first(j("$.response.model"), j("$.model")), user=j("$.user"))
    sample = lines(*({"id": f"c{i}", "model": m, "user": "u" * 11} for i, m in enumerate(models)))
    known = plan(fmt, sample, Options(model="gpt-4.1-nano-2025")).params["known"]
    assert known["model"] == ["claude-sonnet-4-5", "gpt-4o-mini", "deepseek-v4-flash", "gpt-4.1-nano-2025"]
    assert known["user"] == ["u" * 11] and known["project"] == []
    many = lines(*({"id": f"c{i}", "model": f"model-number-{i}"} for i in range(20)))
    assert len(plan(fmt, many, Options()).params["known"]["model"]) == KNOWN_TEXTS


def test_a_format_for_another_shape_is_refused_with_what_it_reads():
    with pytest.raises(ValueError, match="format openrouter-csv reads csv files, but this file is lines"):
        plan(by_name("openrouter-csv"), lines(OPENAI), Options())


def test_a_format_that_reads_the_record_whole_keeps_the_line_reader():
    tokens = {"prompt_tokens": j("$.usage.input_tokens")}
    assert kinds(lines_format(**tokens), lines()) == [TYPED]
    whole = sql("CASE WHEN json_exists({d}, '$.usage') THEN NULL END", d=DOC)
    assert kinds(lines_format(**tokens, problem=whole), lines()) == [TEXT]
    # a field read whole and through: no single STRUCT type holds both
    assert kinds(lines_format(**tokens, output=j("$.usage")), lines()) == [TEXT]


def test_keys_that_differ_only_in_case_are_read_from_the_object_whole():
    # STRUCT field names ignore case: top-level `usage` and `Usage` clash, and have no typed read
    assert kinds(lines_format(prompt_tokens=j("$.usage.x"), output=j("$.Usage.x")), lines()) == [TEXT]
    inner = plan(lines_format(prompt_tokens=j("$.usage.input_tokens"), output=j("$.usage.Input_tokens")),
                 lines(), Options())
    assert inner.clean[0].kind is TYPED
    # the object's fields in one extraction, where it is there at all
    assert """CASE WHEN "usage" IS NOT NULL THEN json_extract_string("usage", ['$.input_tokens', '$.Input_tokens'])""" \
        in inner.clean[0].sql


def test_keys_that_need_quoting_are_quoted_in_the_struct():
    from dashboard.ingest.fields import Json
    made = plan(lines_format(model=Json(("odd key", "it's"))), lines({"odd key": {}}), Options())
    assert made.clean[0].kind is TYPED
    assert 'src."odd key"."it\'s" AS "model"' in made.clean[0].sql
    assert "'odd key': 'STRUCT(\"id\" VARCHAR)'" not in made.clean[0].sql
    assert "'odd key': 'STRUCT(\"it''s\" VARCHAR)'" in made.clean[0].sql


def test_an_object_no_sample_record_has_is_read_as_one_json_value():
    fmt = lines_format(prompt_tokens=j("$.usage.input_tokens"), output=j("$.response.usage.input_tokens"))
    read = next(r.sql for r in plan(fmt, lines({"usage": {"input_tokens": 3}}), Options()).clean if not r.absent)
    assert "'response': 'JSON'" in read and "'usage': 'STRUCT(" in read
    assert """CASE WHEN "response" IS NOT NULL THEN json_extract_string("response", ['$.usage.input_tokens'])""" in read
    assert "'response': 'STRUCT(" in plan(fmt, lines({"response": {}}), Options()).clean[0].sql


def test_a_time_is_read_as_a_number_only_where_the_sample_holds_it_so_and_nothing_else_reads_it():
    fmt = lines_format(ts=first(j("$.created"), j("$.t")), model=j("$.model"))
    assert kinds(fmt, lines({"created": 1790000000})) == [EPOCH, TYPED]
    for records in ([{"created": "1790000000"}], [{"created": True}], [{"created": 17}, {"created": "x"}], [{}]):
        assert kinds(fmt, lines(*records)) == [TYPED]
    again = lines_format(ts=first(j("$.created"), j("$.t")), model=j("$.created"))
    assert kinds(again, lines({"created": 1790000000})) == [TYPED]


def test_a_row_filter_or_derived_ids_take_line_numbers_and_no_typed_json_read():
    tokens = {"prompt_tokens": j("$.usage.input_tokens")}
    filtered = replace(lines_format(**tokens), keep=sql("{t} = 'message'", t=j("$.type")))
    assert kinds(filtered, lines()) == [TEXT]
    assert "row_number() OVER ()" in plan(filtered, lines(), Options()).staged.sql
    no_ids = Format(name="t", source="t", shapes=("lines",), sniff=lambda s: 0, fields=tokens)
    assert kinds(no_ids, lines()) == [TEXT]


def test_a_declared_field_that_is_no_extracted_column_is_refused():
    with pytest.raises(ValueError, match=r"not an extracted column: \['tokens'\]"):
        plan(lines_format(tokens=j("$.usage.input_tokens")), lines(), Options())


def test_a_csv_whose_first_lines_hold_no_quote_is_read_with_short_records_first():
    header = (*GENERIC_HEADER, "cached_tokens")  # the cached tokens' meaning left open: a second plan
    quoted = plan(by_name("generic"), csv(*header), Options())
    assert quoted.line_bytes == readers.MAX_LINE_BYTES and quoted.clean[0].wider is None
    assert quoted.widened() == quoted

    made = plan(by_name("generic"), replace(csv(*header), quoted=False), Options())
    assert [r.kind for r in made.clean] == [CSV, TEXT]
    assert made.line_bytes == made.clean[0].line_bytes == made.otherwise.line_bytes == readers.CLEAN_LINE_BYTES
    assert made.clean[1] == quoted.clean[1]  # the text read, and the staged one, take the longest records
    assert made.staged == quoted.staged
    assert "typed-csv reads records of up to 4 MiB" in made.explain()

    wide = made.widened()
    assert wide.clean == quoted.clean and wide.otherwise.clean == quoted.otherwise.clean
    assert wide.line_bytes == wide.otherwise.line_bytes == readers.MAX_LINE_BYTES


def test_a_key_read_only_where_a_key_every_sample_record_holds_is_missing_is_not_read_at_all():
    fmt = lines_format(ts=first(j("$.created"), j("$.when"), j("$.meta.at")), user=first(j("$.user"), j("$.who")),
                       project=j("$.meta.project"))
    sample = lines({"id": "c1", "model": "m", "created": 1790000000, "user": "u"})
    assert shadowed_keys(fmt, sample, ("when", "meta", "who")) == {"when": ("created",), "who": ("user",)}
    first_read = plan(fmt, sample, Options()).clean[0]
    assert first_read.absent == ("when", "meta", "who") and first_read.held == ("created", "user")
    # `meta` is read elsewhere on its own: still read, to fail the read where a record holds it
    assert '"meta" IS NOT NULL' in first_read.sql and '"when"' not in first_read.sql
    assert '"created" IS NULL OR "user" IS NULL' in first_read.sql
    # a sample record without `user` (or with it null) leaves `who` to be read and guarded
    some = lines({"id": "c1", "model": "m", "created": 1790000000, "user": None})
    assert shadowed_keys(fmt, some, ("when", "meta", "who")) == {"when": ("created",)}
    # a key also read where nothing comes first is read as before
    both = replace(fmt, fields={**fmt.fields, "api_key": j("$.when")})
    assert shadowed_keys(both, sample, ("when", "meta", "who")) == {"who": ("user",)}


def test_keys_no_sample_record_has_are_read_as_absent_first_and_a_record_holding_one_fails_that_read():
    fmt = lines_format(model=first(j("$.response.model"), j("$.model")), user=j("$.user"),
                       project=sql("nullif({p}, '')", p=j("$.meta.project")), output=j("$.usage.out"))
    made = plan(fmt, lines({"id": "c1", "model": "m", "usage": {"out": 1}}), Options())
    first_read, full = made.clean[0], made.clean[1]
    assert first_read.absent == ("response", "meta", "user") and not full.absent
    assert first_read.kind is full.kind is TYPED
    # each of them is read only to fail the read where a record holds it (JSON null is no value)
    assert "WHERE CASE WHEN \"response\" IS NOT NULL OR \"meta\" IS NOT NULL OR \"user\" IS NOT NULL" in first_read.sql
    assert 'src."user"' not in first_read.sql and 'src."user"' in full.sql
    # what reads nothing else is NULL; a row filter on an absent key tests NULL, as on such a file
    narrow = narrowed(replace(fmt, keep=j("$.flag")), lines({}), (*first_read.absent, "flag"))
    assert narrow.fields["user"] is None and narrow.fields["model"] == first(j("$.model"))
    assert narrow.fields["project"] == sql("nullif({p}, '')", p=None) and narrow.keep == sql("NULL")
    # a sample showing every key (in any case: DuckDB's reader ignores it) leaves none to read as absent
    every = lines({"id": "c1", "Response": {}, "user": "u", "meta": {}, "usage": {}, "model": "m"})
    assert not any(r.absent for r in plan(fmt, every, Options()).clean)
