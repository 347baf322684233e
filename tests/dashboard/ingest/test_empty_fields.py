"""A read leaves out the parsing, checks and key tests of the fields its format leaves NULL on every
row of the file (sql.canonical_sql's `empty`): each of its rows, good or rejected, and each reason
must be what the read with every field gives."""

import json
from pathlib import Path

import pytest

from dashboard.ingest import Options
from dashboard.ingest import readers as R
from dashboard.ingest.importer import choose, sample_file
from dashboard.ingest.loader import read_sample
from dashboard.ingest.planner import params_of
from dashboard.ingest.render import is_null
from dashboard.ingest.sql import EMPTIED, MACROS, TYPED_FIELDS, canonical_sql

SAMPLES = Path(__file__).parent / "samples"

# Good rows and rows for most reasons, in a file without most of the fields.
BAD_CSV = """request_id,timestamp,model,prompt_tokens,cached_tokens,completion_tokens,cost
b1,2026-11-01T00:00:00Z,deepseek-v4-flash,100,10,5,0.001
b2,not-a-time,deepseek-v4-flash,100,10,5,0.001
b3,2026-11-01T00:00:00Z,,100,10,5,
b4,2026-11-01T00:00:00Z,gpt-4o,-5,0,5,
b5,2026-11-01T00:00:00Z,gpt-4o,100.5,0,5,abc
b6,2026-11-01T00:00:00Z,gpt-4o,10,20,5,
b7,0001-01-01 00:00:00,gpt-4o,10,2,5,
b8,2026-11-01 10:00:00+00,gpt-4o,1000.0,0,nan,
,2026-11-01T00:00:00Z,gpt-4o,1,0,1,
b9,2026-11-01,sk-proj-abcdefghijklmnopqrstuvwx,1,0,1,0.5
"""
LINES = [{"id": "c1", "object": "chat.completion", "created": 1790000000, "model": "gpt-4o-mini",
          "usage": {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 20}}},
         {"id": "c2", "created": "yesterday", "model": "gpt-4o-mini", "usage": {"prompt_tokens": "x"}},
         {"id": "c3", "created": 1790000060, "model": "gpt-4o", "usage": {"prompt_tokens": 5, "completion_tokens": -1}}]


def _reads(fmt, sample, options):
    """(name, mapped SELECT, reader, typed fields, record text) of each read the file can take."""
    reads = [("text", *R.text_read(fmt, sample, numbered=True), (), True)]
    types = {f: t for f, t in TYPED_FIELDS.items() if not (f == "ts" and options.tz)}
    if sample.shape == "csv" and (csv := R.typed_csv(fmt, sample, types)):
        reads.append(("typed-csv", csv[0], csv[1], csv[2], False))
    if sample.shape == "lines" and (typed := R.typed_lines(fmt, sample)):
        reads.append(("typed-lines", typed[0], typed[1], (), False))
    return reads


def _rows(warehouse, path, options, zone_given):
    sample = sample_file(warehouse, path)
    fmt = choose(sample, None, options).for_file(sample, options)
    empty = [f for f in EMPTIED if is_null(fmt, sample, f)]
    assert empty, "the file should leave some field empty"
    params = {**params_of(fmt, sample, options), "path": str(path), "import_id": 1}
    for name, mapped, reader, typed, record_text in _reads(fmt, sample, options):
        sqls = [f"WITH src AS ({reader}),\n" + canonical_sql(
                    mapped, zone_given=zone_given, derive_ids=False, record_text=record_text, typed=typed,
                    known=True, empty=e) for e in ((), empty)]
        whole, pruned = (read_sample(warehouse, f"SELECT * FROM ({sql}) ORDER BY ALL", str(path), params,
                                     macros=MACROS)[1] for sql in sqls)
        yield name, whole, pruned


@pytest.mark.parametrize(("columns", "options"), [
    ((), Options()),
    ((), Options(provider="OurToken", cached_included=False)),
    ((), Options(model="gpt-4o-mini", tz="Europe/Paris")),
    (("model",), Options(model="claude-sonnet-4-5-20250929")),  # the model from the option alone
    (("model", "cost"), Options(provider="gateway")),
], ids=["plain", "route", "tz", "no-model-column", "no-model-nor-cost"])
def test_a_read_without_its_empty_fields_gives_every_row_and_reason_of_the_whole_read(
        warehouse, tmp_path, columns, options):
    header, *lines = BAD_CSV.splitlines()
    keep = [i for i, c in enumerate(header.split(",")) if c not in columns]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in [header, *lines]) + "\n",
                    encoding="utf-8")
    reads = list(_rows(warehouse, path, options, zone_given=options.tz is not None))
    assert next(name for name, *_ in reads) == "text"
    for name, whole, pruned in reads:  # (the typed read passes over the lines it cannot parse)
        assert whole and pruned == whole, name
    assert len(reads[0][1]) == 10
    assert len({r[2] for r in reads[0][1]}) >= 3  # several reasons, not one


@pytest.mark.parametrize("sample", ["openai-lines", *sorted(p.name for p in SAMPLES.iterdir())])
def test_every_sample_format_reads_alike_without_its_empty_fields(warehouse, tmp_path, sample):
    if sample == "openai-lines":
        path = tmp_path / "o.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in LINES) + "\n", encoding="utf-8")
    else:
        path = SAMPLES / sample
    for name, whole, pruned in _rows(warehouse, path, Options(), zone_given=False):  # (each leaves some empty)
        assert whole and pruned == whole, name
