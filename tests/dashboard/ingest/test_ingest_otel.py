"""OpenTelemetry GenAI spans exported as OTLP JSON lines (the Collector's file exporter, OpenLLMetry).

Each line is an ExportTraceServiceRequest; the spans with token counts are requests, the
others (a workflow, a tool call) are skipped. Expected buckets are the convention's:
`gen_ai.usage.input_tokens` includes the cached tokens.
"""

import json
from datetime import UTC, datetime

import pytest

from dashboard.ingest import Options, ReadKind, detect, import_file, plan_file, sample_file

TRACE = "5b8efff798038103d269b633813fc60c"
START_NS = 1_790_000_000_000_000_000  # 2026-09-21T14:13:20Z


def attr(key: str, value) -> dict:
    """An OTLP JSON attribute: 64-bit integers are written as strings."""
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def span(span_id: str, attributes: dict, start_ns: int = START_NS, length_ms: int = 1250) -> dict:
    return {"traceId": TRACE, "spanId": span_id, "parentSpanId": "f00dfeedf00dfeed", "name": "chat", "kind": 3,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + length_ms * 1_000_000),
            "attributes": [attr(k, v) for k, v in attributes.items()], "status": {"code": 1}}


def export(*spans: dict, scope: str = "opentelemetry.instrumentation.openai") -> str:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "support-bot")]},
        "scopeSpans": [{"scope": {"name": scope, "version": "0.40.0"}, "spans": list(spans)}],
    }]})


OPENAI_CHAT = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
               "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 1200,
               "gen_ai.usage.output_tokens": 80, "gen_ai.usage.cache_read_input_tokens": 1024}
# the current conventions' names: gen_ai.provider.name and gen_ai.usage.cache_read.input_tokens
ANTHROPIC_CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                  "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 5000,
                  "gen_ai.usage.cache_read.input_tokens": 3000, "gen_ai.usage.cache_creation.input_tokens": 1500,
                  "gen_ai.usage.output_tokens": 300}
WORKFLOW = {"traceloop.span.kind": "workflow", "traceloop.entity.name": "answer"}


def write(tmp_path, *lines: str):
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(warehouse):
    return warehouse.query(
        "SELECT request_id, ts, provider, model, input_tokens, cache_read_tokens, cache_write_tokens, "
        "output_tokens, latency_ms FROM requests ORDER BY request_id").fetchall()


@pytest.mark.slow
def test_spans_with_token_counts_are_requests_and_the_rest_are_skipped(warehouse, tmp_path):
    f = write(tmp_path,
              export(span("00f067aa0ba902b7", OPENAI_CHAT), span("a1a2a3a4a5a6a7a8", WORKFLOW)),
              export(span("b7ad6b7169203331", ANTHROPIC_CHAT, START_NS + 60_000_000_000, 4000),
                     scope="opentelemetry.instrumentation.anthropic"))
    assert detect(sample_file(warehouse, f)).name == "otel-genai"
    res = import_file(warehouse, f)
    assert (res.format, res.added, res.rejected) == ("otel-genai", 2, 0)
    t0 = datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC)
    assert stored(warehouse) == [
        # input includes the cached tokens: 1200 - 1024 billed at the input rate
        (f"{TRACE}:00f067aa0ba902b7", t0, "openai", "gpt-4o-2024-08-06", 1200 - 1024, 1024, 0, 80, 1250.0),
        (f"{TRACE}:b7ad6b7169203331", t0.replace(minute=14), "anthropic", "claude-sonnet-4-5",
         5000 - 3000 - 1500, 3000, 1500, 300, 4000.0),
    ]
    again = import_file(warehouse, f)
    assert (again.added, again.duplicates) == (0, 2)


@pytest.mark.slow
def test_an_instrumentation_counting_cached_tokens_apart_is_imported_as_such(warehouse, tmp_path):
    f = write(tmp_path, export(span("00f067aa0ba902b7", {**OPENAI_CHAT, "gen_ai.usage.input_tokens": 176})))
    res = import_file(warehouse, f, options=Options(cached_included=False))
    assert (res.added, res.rejected) == (1, 0)
    assert stored(warehouse)[0][4:8] == (176, 1024, 0, 80)


@pytest.mark.slow
def test_bad_lines_and_spans_are_rejected_with_their_line_and_reason(warehouse, tmp_path):
    no_model = {k: v for k, v in OPENAI_CHAT.items() if "model" not in k}
    f = write(tmp_path,
              export(span("00f067aa0ba902b7", OPENAI_CHAT)),
              "{not json",
              "",
              export(span("1111111111111111", {**OPENAI_CHAT, "gen_ai.usage.output_tokens": -3}),
                     span("2222222222222222", no_model)))
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (1, 3)
    assert warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line, reason").fetchall() == [
        (2, "not a valid JSON object"),
        (4, "missing model (pass --model to attribute the file)"),
        (4, "output is negative: -3"),
    ]


def test_the_plan_reads_the_spans_of_each_line_with_their_line_numbers(warehouse, tmp_path):
    plan = plan_file(warehouse, write(tmp_path, export(span("00f067aa0ba902b7", OPENAI_CHAT))))
    assert plan.format == "otel-genai"
    assert [r.kind for r in plan.clean] == [ReadKind.TEXT]
    assert "several records per line" in plan.notes[0]


@pytest.mark.slow
@pytest.mark.parametrize("line", [
    json.dumps({"resourceSpans": []}),
    json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span("1", WORKFLOW)]}]}]}),
], ids=["no-spans", "no-genai-span"])
def test_an_export_without_genai_spans_imports_nothing(warehouse, tmp_path, line):
    res = import_file(warehouse, write(tmp_path, line), "otel-genai")
    assert (res.added, res.rejected) == (0, 0)


# One ExportTraceServiceRequest pretty-printed over many lines (a request body saved to a file),
# or several one after another (`jq . traces.jsonl`): the same spans, read as JSON documents.

NO_MODEL = {k: v for k, v in OPENAI_CHAT.items() if "model" not in k}


def pretty(*lines: str) -> str:
    return "\n".join(json.dumps(json.loads(line), indent=2) for line in lines) + "\n"


def two_exports() -> tuple[str, str]:
    return (export(span("00f067aa0ba902b7", OPENAI_CHAT), span("a1a2a3a4a5a6a7a8", WORKFLOW)),
            export(span("b7ad6b7169203331", ANTHROPIC_CHAT, START_NS + 60_000_000_000, 4000),
                   scope="opentelemetry.instrumentation.anthropic"))


def priced(wh) -> list[tuple]:
    return wh.query(f"SELECT request_id, cost, unpriced FROM ({wh.priced_sql()}) ORDER BY request_id").fetchall()


@pytest.mark.slow
@pytest.mark.parametrize("documents", [1, 2], ids=["one-document", "documents-one-after-another"])
def test_a_pretty_printed_export_imports_the_same_rows_and_money_as_json_lines(warehouse, tmp_path, documents):
    from dashboard.warehouse import Warehouse

    exports = two_exports()
    lines_file = write(tmp_path, *exports)
    text = pretty(*exports) if documents == 2 else json.dumps(
        {"resourceSpans": [rs for e in exports for rs in json.loads(e)["resourceSpans"]]}, indent=2)
    doc_file = tmp_path / "traces.json"
    doc_file.write_text(text, encoding="utf-8")
    sample = sample_file(warehouse, doc_file)
    assert (sample.shape, detect(sample).name) == ("documents", "otel-genai")
    res = import_file(warehouse, doc_file)
    assert (res.format, res.added, res.rejected) == ("otel-genai", 2, 0)
    with Warehouse.open(tmp_path / "from-lines.duckdb") as other:
        assert import_file(other, lines_file).added == 2
        assert stored(warehouse) == stored(other)
        assert priced(warehouse) == priced(other)
    assert all(cost > 0 and not unpriced for _, cost, unpriced in priced(warehouse))
    again = import_file(warehouse, doc_file)
    assert (again.added, again.duplicates, again.rejected) == (0, 2, 0)
    assert warehouse.query("SELECT count(*) FROM requests").fetchone() == (2,)


@pytest.mark.slow
def test_a_gzipped_pretty_printed_export_imports_as_the_plain_one(warehouse, tmp_path):
    import gzip

    text = pretty(*two_exports())
    plain, packed = tmp_path / "traces.json", tmp_path / "traces.json.gz"
    plain.write_text(text, encoding="utf-8")
    packed.write_bytes(gzip.compress(text.encode()))
    res = import_file(warehouse, packed)
    assert (res.format, res.added, res.rejected) == ("otel-genai", 2, 0)
    rows = stored(warehouse)
    assert (import_file(warehouse, plain).added, stored(warehouse)) == (0, rows)


@pytest.mark.slow
def test_rejected_spans_of_a_pretty_printed_export_keep_the_line_where_they_start(warehouse, tmp_path):
    text = pretty(export(span("00f067aa0ba902b7", OPENAI_CHAT), span("a1a2a3a4a5a6a7a8", WORKFLOW),
                         span("1111111111111111", {**OPENAI_CHAT, "gen_ai.usage.output_tokens": -3}),
                         span("2222222222222222", NO_MODEL)))
    f = tmp_path / "traces.json"
    f.write_text(text, encoding="utf-8")
    lines = text.splitlines()

    def opening(span_id: str) -> int:  # the line of the `{` that opens the span holding this id
        n = next(i for i, line in enumerate(lines) if f'"spanId": "{span_id}"' in line)
        while lines[n].strip() != "{":
            n -= 1
        return n + 1

    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (1, 2)
    assert warehouse.query("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (opening("1111111111111111"), "output is negative: -3"),
        (opening("2222222222222222"), "missing model (pass --model to attribute the file)"),
    ]
    again = import_file(warehouse, f)  # read the staged way, keeping the same lines
    assert (again.added, again.duplicates, again.rejected) == (0, 1, 2)
    assert warehouse.query("SELECT DISTINCT line FROM rejected_rows ORDER BY line").fetchall() == [
        (opening("1111111111111111"),), (opening("2222222222222222"),)]


@pytest.mark.slow
def test_spans_of_a_document_not_indented_by_depth_keep_their_number(warehouse, tmp_path):
    """Where the lines do not show where each span starts, a rejected span's line is its number in the file."""
    spans = [span("00f067aa0ba902b7", OPENAI_CHAT), span("a1a2a3a4a5a6a7a8", WORKFLOW), span("2222222222222222", NO_MODEL)]
    f = tmp_path / "traces.json"
    f.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [\n'
                 + ",\n".join(json.dumps(s) for s in spans) + "]}]}]}\n", encoding="utf-8")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (1, 1)
    assert warehouse.query("SELECT line, reason FROM rejected_rows").fetchall() == [
        (3, "missing model (pass --model to attribute the file)")]


@pytest.mark.slow
def test_a_document_larger_than_the_sample_is_recognised_from_its_start(warehouse, tmp_path):
    from dashboard.ingest.importer import SAMPLE_DOCUMENT_CHARS

    spans = [span(f"{i:016x}", {**OPENAI_CHAT, "gen_ai.usage.output_tokens": i + 1}, START_NS + i * 1_000_000_000)
             for i in range(1500)]
    f = tmp_path / "traces.json"
    f.write_text(pretty(export(*spans)), encoding="utf-8")
    assert f.stat().st_size > SAMPLE_DOCUMENT_CHARS
    sample = sample_file(warehouse, f)
    assert sample.shape == "documents" and detect(sample).name == "otel-genai"
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (1500, 0)
    assert warehouse.query("SELECT sum(output_tokens) FROM requests").fetchone() == (1500 * 1501 // 2,)


def test_a_key_in_an_attribute_of_a_pretty_printed_span_is_never_stored_whole(warehouse, tmp_path):
    secret = "sk-proj-AbCdEfGh0123456789XyZwVuTs9876"
    keyed = {**NO_MODEL, "llm.api_key": secret}
    f = tmp_path / "traces.json"
    f.write_text(pretty(export(span("00f067aa0ba902b7", {**OPENAI_CHAT, "llm.api_key": secret}),
                               span("2222222222222222", keyed))), encoding="utf-8")
    res = import_file(warehouse, f)
    assert (res.added, res.rejected) == (1, 1)
    raw = warehouse.query("SELECT raw FROM rejected_rows").fetchone()[0]
    assert secret not in raw and secret[-4:] in raw and "2222222222222222" in raw
    everything = warehouse.query("SELECT * FROM requests").fetchall()
    assert secret not in repr(everything)


def test_a_malformed_pretty_printed_file_fails_with_one_line_and_imports_nothing(warehouse, tmp_path):
    from dashboard.errors import ImportFailed

    f = tmp_path / "traces.json"
    f.write_text(pretty(export(span("00f067aa0ba902b7", OPENAI_CHAT)))[:-40], encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        import_file(warehouse, f)
    message = str(failed.value)
    assert "\n" not in message and str(f) in message and "neither JSON lines nor JSON documents" in message
    assert warehouse.query("SELECT count(*) FROM requests").fetchone() == (0,)


@pytest.mark.slow
def test_explain_shows_a_pretty_printed_export_read_as_documents(tmp_path):
    import subprocess
    import sys

    from support.paths import REPO

    f = tmp_path / "traces.json"
    f.write_text(pretty(*two_exports()), encoding="utf-8")
    db = tmp_path / "usage.duckdb"
    out = subprocess.run([sys.executable, "-m", "dashboard", "import", "--explain", str(f), "--db", str(db)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:3] == [f"{f}:", "  format: otel-genai (source 'otel', read as documents)",
                                           "  reads, in turn: text -> staged"]
    assert "several records per document" in out.stdout
    assert not db.exists()


@pytest.mark.slow
def test_a_json_array_of_exports_imports_the_same_rows_with_spans_numbered(warehouse, tmp_path):
    from dashboard.warehouse import Warehouse

    exports = [*two_exports(), export(span("2222222222222222", NO_MODEL))]
    f = tmp_path / "traces.json"
    f.write_text(json.dumps([json.loads(e) for e in exports], indent=2), encoding="utf-8")
    sample = sample_file(warehouse, f)
    assert (sample.shape, detect(sample).name) == ("json", "otel-genai")
    res = import_file(warehouse, f)
    assert (res.format, res.added, res.rejected) == ("otel-genai", 2, 1)
    # the fourth span of the file (the workflow span is the second)
    assert warehouse.query("SELECT line, reason FROM rejected_rows").fetchall() == [
        (4, "missing model (pass --model to attribute the file)")]
    with Warehouse.open(tmp_path / "from-lines.duckdb") as other:
        assert import_file(other, write(tmp_path, *exports)).added == 2
        assert (stored(warehouse), priced(warehouse)) == (stored(other), priced(other))
