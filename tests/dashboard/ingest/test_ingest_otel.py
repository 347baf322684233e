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
