"""OpenTelemetry GenAI spans exported as OTLP JSON: one export request per line, or pretty-printed.

The OpenTelemetry Collector's file exporter writes one `ExportTraceServiceRequest` per line:
`{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [...]}]}]}`,
the body OpenLLMetry and other OTLP/HTTP exporters send (Langfuse's OTel endpoint takes it).
The same request saved pretty-printed over many lines (a request body, `otel-cli`, or
`jq . traces.jsonl`, one request after another) is read as JSON documents: the same spans,
a rejected one on the line where it starts. A JSON array of requests is read too (a rejected
span then has its position among the file's spans).
Each span's `attributes` is a list of `{"key": ..., "value": {"stringValue" | "intValue" |
"doubleValue": ...}}`, `intValue` written as a string (OTLP JSON's 64-bit integers).

Attributes from the GenAI semantic conventions (gen-ai-spans): `gen_ai.usage.input_tokens`,
`gen_ai.usage.output_tokens`, `gen_ai.request.model`, `gen_ai.response.model` (the model that
answered, preferred), `gen_ai.provider.name` (earlier `gen_ai.system`), `gen_ai.response.id`,
and the cache counts `gen_ai.usage.cache_read.input_tokens` /
`gen_ai.usage.cache_creation.input_tokens` (OpenLLMetry: `gen_ai.usage.cache_read_input_tokens`
/ `cache_creation_input_tokens`). The conventions count cached tokens inside
`gen_ai.usage.input_tokens`, so `cached_included` is true; pass
--cached-included-in-input no for an instrumentation that counts them apart. OpenLLMetry's
older `gen_ai.usage.prompt_tokens` / `completion_tokens` are read where the others are missing.

A span with token counts is a request; the others (a workflow, a tool call) are skipped. Its
id is the trace and span id, its time the span's start (`startTimeUnixNano`), its latency
the span's length.
"""

from __future__ import annotations

from dashboard.ingest.base import Format, Sample
from dashboard.ingest.fields import DOC, Expr, Node, first, j, literal, non_blank, sql

_RECORDS = "$.resourceSpans[*].scopeSpans[*].spans[*]"


def _objects(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _spans(sample: Sample) -> list[dict]:
    return [span for r in sample.records for rs in _objects(r.get("resourceSpans"))
            for ss in _objects(rs.get("scopeSpans")) for span in _objects(ss.get("spans"))]


def sniff(sample: Sample) -> int:
    if sample.shape not in FORMAT.shapes:
        return 0
    keys = {a.get("key") for span in _spans(sample) for a in _objects(span.get("attributes"))}
    if any(isinstance(k, str) and k.startswith("gen_ai.") for k in keys):
        return 95
    return 60 if any("resourceSpans" in r for r in sample.records) else 0


def attribute(name: str) -> Expr:
    """The value of the span attribute `name`, as text (NULL when the span has none)."""
    entry = (f"list_filter(json_extract({{doc}}, '$.attributes[*]'), "
             f"lambda a: json_extract_string(a, '$.key') = {literal(name)})[1]")
    values = "['$.value.stringValue', '$.value.intValue', '$.value.doubleValue', '$.value.boolValue']"
    return sql(f"list_filter(json_extract_string({entry}, {values}), lambda v: v IS NOT NULL)[1]", doc=DOC)


def _since_epoch(nanos: Node) -> Expr:
    """Nanoseconds since the epoch as an ISO time with microseconds; other text as it is (to be rejected)."""
    return sql("CASE WHEN TRY_CAST({n} AS HUGEINT) BETWEEN 0 AND 9223372036854775807 "
               "THEN strftime(make_timestamp(CAST(TRY_CAST({n} AS HUGEINT) // 1000 AS BIGINT)), "
               "'%Y-%m-%dT%H:%M:%S.%fZ') ELSE {n} END", n=nanos)


_START, _END = j("$.startTimeUnixNano"), j("$.endTimeUnixNano")
_INPUT = first(attribute("gen_ai.usage.input_tokens"), attribute("gen_ai.usage.prompt_tokens"))
_OUTPUT = first(attribute("gen_ai.usage.output_tokens"), attribute("gen_ai.usage.completion_tokens"))

FORMAT = Format(
    name="otel-genai",
    source="otel",
    shapes=("lines", "documents", "json"),
    sniff=sniff,
    records=_RECORDS,
    fields={
        "request_id": sql("nullif(concat_ws(':', {trace}, {span}), '')", trace=j("$.traceId"), span=j("$.spanId")),
        "ts": _since_epoch(_START),
        "provider": first(non_blank(attribute("gen_ai.provider.name")), attribute("gen_ai.system")),
        "model": first(non_blank(attribute("gen_ai.response.model")), attribute("gen_ai.request.model")),
        "prompt_tokens": _INPUT,
        "cache_read": first(attribute("gen_ai.usage.cache_read.input_tokens"),
                            attribute("gen_ai.usage.cache_read_input_tokens")),
        "cache_write": first(attribute("gen_ai.usage.cache_creation.input_tokens"),
                             attribute("gen_ai.usage.cache_creation_input_tokens")),
        "output": _OUTPUT,
        "latency_ms": sql("CAST((TRY_CAST({end} AS HUGEINT) - TRY_CAST({start} AS HUGEINT)) / 1000000 AS VARCHAR)",
                          start=_START, end=_END),
        "status": j("$.status.code"),
    },
    cached_included=True,
    keep=sql("({i} IS NOT NULL OR {o} IS NOT NULL)", i=_INPUT, o=_OUTPUT),
)
