"""Every assertion type, passing and failing, on answers written out here."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from dashboard.evaluate.assertions import Answer, check
from dashboard.evaluate.suite import load_suite

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "required": ["city"], "additionalProperties": False,
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}}]
PERSON = {"type": "object", "required": ["name", "age"], "properties": {"age": {"type": "integer"}}}


def assertion(spec: dict):
    """The assertion as load_suite reads it (so the checks see what a suite would give them)."""
    doc = {"prompts": ["x"], "tests": [{"assert": [spec], "options": {"tools": TOOLS}}]}
    return load_suite(json.dumps(doc), "t.yaml").cases[0].asserts[0]


def call(name: str, args: str) -> dict:
    return {"id": "c1", "name": name, "arguments": args}


CASES = [
    # (id, assertion, answer, passes)
    ("equals", {"type": "equals", "value": "391"}, Answer("391"), True),
    ("equals-not", {"type": "equals", "value": "391"}, Answer("391."), False),
    ("equals-json", {"type": "equals", "value": {"total": 42.5}}, Answer('{"total": 42.50}'), True),
    ("equals-json-not", {"type": "equals", "value": {"total": 42.5}}, Answer('{"total": 42.5, "x": 1}'), False),
    ("contains", {"type": "contains", "value": "def add("}, Answer("def add(a, b): ..."), True),
    ("contains-not", {"type": "contains", "value": "def add("}, Answer("def plus(a, b)"), False),
    ("icontains", {"type": "icontains", "value": "COUNT(*)"}, Answer("select count(*) from t"), True),
    ("icontains-not", {"type": "icontains", "value": "COUNT(*)"}, Answer("select * from t"), False),
    ("not-contains", {"type": "not-contains", "value": "no"}, Answer("Yes"), True),
    ("not-contains-not", {"type": "not-contains", "value": "no"}, Answer("no"), False),
    ("starts-with", {"type": "starts-with", "value": "Office"}, Answer("Office moves"), True),
    ("starts-with-not", {"type": "starts-with", "value": "Office"}, Answer("The office"), False),
    ("regex", {"type": "regex", "value": r"^\s*155\s*$"}, Answer(" 155\n"), True),
    ("regex-not", {"type": "regex", "value": r"^\s*155\s*$"}, Answer("155 minutes"), False),
    ("is-json", {"type": "is-json"}, Answer("[1, 2]"), True),
    ("is-json-not", {"type": "is-json"}, Answer("```json\n[1, 2]\n```"), False),
    ("is-json-schema", {"type": "is-json", "value": PERSON}, Answer('{"name": "M", "age": 34}'), True),
    ("is-json-schema-not", {"type": "is-json", "value": PERSON}, Answer('{"name": "M", "age": "34"}'), False),
    ("contains-json", {"type": "contains-json"}, Answer('Here: {"a": 1} done'), True),
    ("contains-json-not", {"type": "contains-json"}, Answer("no json {here"), False),
    ("contains-json-schema", {"type": "contains-json", "value": {"type": "array", "minItems": 3}},
     Answer('first [1] then ["r", "g", "b"]'), True),
    ("contains-json-schema-not", {"type": "contains-json", "value": {"type": "array", "minItems": 3}},
     Answer('only ["r", "g"]'), False),
    ("tools-call", {"type": "is-valid-openai-tools-call"},
     Answer("", (call("get_weather", '{"city": "Paris", "unit": "celsius"}'),), tools=TOOLS), True),
    ("tools-call-undeclared", {"type": "is-valid-openai-tools-call"},
     Answer("", (call("get_time", '{"city": "Paris"}'),), tools=TOOLS), False),
    ("tools-call-bad-args", {"type": "is-valid-openai-tools-call"},
     Answer("", (call("get_weather", '{"city": "Paris", "unit": "kelvin"}'),), tools=TOOLS), False),
    ("tools-call-not-json", {"type": "is-valid-openai-tools-call"},
     Answer("", (call("get_weather", "city=Paris"),), tools=TOOLS), False),
    ("tools-call-none", {"type": "is-valid-openai-tools-call"}, Answer("It is sunny.", tools=TOOLS), False),
    ("latency", {"type": "latency", "threshold": 500}, Answer("x", latency_ms=499.9), True),
    ("latency-not", {"type": "latency", "threshold": 500}, Answer("x", latency_ms=500.1), False),
    ("cost", {"type": "cost", "threshold": 0.001}, Answer("x", cost_usd=Decimal("0.001")), True),
    ("cost-not", {"type": "cost", "threshold": 0.001}, Answer("x", cost_usd=Decimal("0.0010001")), False),
    ("cost-unknown", {"type": "cost", "threshold": 1}, Answer("x", cost_note="usage not reported"), False),
]


@pytest.mark.parametrize(("spec", "answer", "passes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_assertion_type(spec, answer, passes):
    failure = check(assertion(spec), answer)
    assert (failure is None) == passes
    if failure:
        assert failure.type == spec["type"] and failure.expected and failure.got


def test_a_failure_says_what_was_expected_and_what_came_back_shortened():
    failure = check(assertion({"type": "contains", "value": "Paris"}), Answer("Lyon " * 100))
    assert failure.expected == "contains 'Paris'"
    assert failure.got.startswith("Lyon Lyon") and len(failure.got) == 120 and failure.got.endswith("…")
    bad = check(assertion({"type": "is-valid-openai-tools-call"}),
                Answer("", (call("get_weather", '{"city": "Paris", "unit": "kelvin"}'),), tools=TOOLS))
    assert "'kelvin' is not one of" in bad.got and "unit" in bad.got
    cost = check(assertion({"type": "cost", "threshold": 1}), Answer("x", cost_note="usage not reported"))
    assert cost.got == "cost unknown: usage not reported"


def test_every_admitted_assertion_type_has_a_check():
    from dashboard.evaluate.assertions import CHECKS
    from dashboard.evaluate.suite import ASSERTION_TYPES

    assert set(CHECKS) == set(ASSERTION_TYPES)
