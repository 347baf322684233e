"""Checking an answer against a case's assertions; every check is deterministic, nothing is run.

`check(assertion, answer)` returns None when the assertion holds, else a `Failure`: what was
expected and what came back, both shortened to `SHOWN` characters. The answer's texts are the
client's, already scrubbed of the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema

from dashboard.evaluate.suite import Assertion

__all__ = ["SHOWN", "Answer", "Failure", "check", "shorten"]

SHOWN = 120  # characters of an expected value or an answer a failure report keeps
MAX_SCAN = 100_000  # characters of an answer the text checks look at
MAX_JSON_STARTS = 200  # places contains-json tries to read JSON from (each try may read to the end)


def shorten(text: str, limit: int = SHOWN) -> str:
    text = " ".join(text.split()) if len(text) > limit else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Answer:
    """What a call gave back, as the assertions see it."""

    content: str
    tool_calls: Sequence[Mapping[str, Any]] = ()
    latency_ms: float | None = None
    cost_usd: Decimal | None = None
    cost_note: str | None = None  # why the cost is unknown
    tools: Sequence[Mapping[str, Any]] | None = None  # the functions the case declared


@dataclass(frozen=True)
class Failure:
    type: str
    expected: str
    got: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "expected": self.expected, "got": self.got}


def _json_values(text: str) -> list[Any]:
    """Every JSON object or array that starts somewhere in `text` and parses (a fenced block, inline JSON)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    for _ in range(MAX_JSON_STARTS):
        starts = [j for j in (text.find("{", i), text.find("[", i)) if j >= 0]
        if not starts:
            break
        i = min(starts)
        try:
            value, end = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            i += 1
            continue
        found.append(value)
        i = end
    return found


def _schema_problem(value: Any, schema: Mapping[str, Any] | None) -> str | None:
    if schema is None:
        return None
    error = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(value))
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" at {path}" if path else "")


def _tool_problem(call: Mapping[str, Any], tools: Sequence[Mapping[str, Any]]) -> str | None:
    declared = {t["function"]["name"]: t["function"] for t in tools}
    name = call.get("name")
    if name not in declared:
        return f"a call to {name!r}, which is not declared (declared: {', '.join(sorted(declared))})"
    try:
        args = json.loads(call.get("arguments") or "")
    except ValueError:
        return f"{name}({shorten(str(call.get('arguments')), 60)}): the arguments are not JSON"
    problem = _schema_problem(args, declared[name].get("parameters"))
    return f"{name}: {problem}" if problem else None


def _calls_text(calls: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{c.get('name')}({c.get('arguments') or ''})" for c in calls)


def _got(answer: Answer) -> str:
    if answer.content or not answer.tool_calls:
        return shorten(answer.content)
    return shorten("tool calls: " + _calls_text(answer.tool_calls))


def check(a: Assertion, answer: Answer) -> Failure | None:
    """None when `answer` satisfies `a`, else what was expected and what came back."""
    text = answer.content[:MAX_SCAN]
    expected = shorten(a.expected())

    def fail(got: str | None = None) -> Failure:
        return Failure(a.type, expected, shorten(got) if got is not None else _got(answer))

    if a.type == "equals":
        if isinstance(a.value, str):
            return None if text == a.value else fail()
        try:
            same = json.loads(text) == a.value
        except (ValueError, RecursionError):
            same = text == json.dumps(a.value)
        return None if same else fail()
    if a.type == "contains":
        return None if a.value in text else fail()
    if a.type == "icontains":
        return None if a.value.lower() in text.lower() else fail()
    if a.type == "not-contains":
        return None if a.value not in text else fail()
    if a.type == "starts-with":
        return None if text.startswith(a.value) else fail()
    if a.type == "regex":
        return None if re.search(a.value, text) else fail()
    if a.type == "is-json":
        try:
            value = json.loads(text)
        except RecursionError:
            return fail("JSON nested too deeply to read")
        except ValueError as e:
            return fail(f"not JSON ({e.msg} at character {e.pos}): {text}")
        problem = _schema_problem(value, a.value)
        return fail(f"JSON, but {problem}") if problem else None
    if a.type == "contains-json":
        values = _json_values(text)
        if not values:
            return fail(f"no JSON in: {text}")
        problems = [_schema_problem(v, a.value) for v in values]
        if None in problems:
            return None
        return fail(f"JSON, but {problems[0]}")
    if a.type == "is-valid-openai-tools-call":
        if not answer.tool_calls:
            return fail(f"no tool call: {text}")
        problems = [p for p in (_tool_problem(c, answer.tools or ()) for c in answer.tool_calls) if p]
        return fail("; ".join(problems)) if problems else None
    if a.type == "latency":
        if answer.latency_ms is None:
            return fail("latency unknown")
        return None if Decimal(str(answer.latency_ms)) <= a.threshold else fail(f"{answer.latency_ms:.0f} ms")
    if a.type == "cost":
        if answer.cost_usd is None:
            return fail(f"cost unknown: {answer.cost_note or 'not priced'}")
        return None if answer.cost_usd <= a.threshold else fail(f"${answer.cost_usd}")
    raise AssertionError(f"unchecked assertion type {a.type!r}")  # load_suite admits only ASSERTION_TYPES
