"""Checking an answer against a case's assertions; every check is deterministic, nothing is run.

`check(assertion, answer)` returns None when the assertion holds, else a `Failure`: what was
expected and what came back, both shortened to `SHOWN` characters. The answer's texts are the
client's, already scrubbed of the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema

from dashboard.charts import format as fmt
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


def calls_text(calls: Sequence[Mapping[str, Any]]) -> str:
    """Tool calls as one line: `name(arguments); ...`."""
    return "; ".join(f"{c.get('name')}({c.get('arguments') or ''})" for c in calls)


def failures_text(failures: Sequence[Mapping[str, str]]) -> str:
    """Failed assertions (as `Failure.as_dict` keeps them) as one line: `type: expected X, got Y; ...`."""
    return "; ".join(f"{f['type']}: expected {f['expected']}, got {f['got']}" for f in failures)


def _got(answer: Answer) -> str:
    if answer.content or not answer.tool_calls:
        return shorten(answer.content)
    return shorten("tool calls: " + calls_text(answer.tool_calls))


# A check gives None when the answer passes, else what came back: a text, or DEFAULT_GOT for the
# answer itself (its content, or its tool calls when it has no content).
DEFAULT_GOT = ""
Check = Callable[[Assertion, Answer, str], str | None]


def _equals(a: Assertion, answer: Answer, text: str) -> str | None:
    if isinstance(a.value, str):
        return None if text == a.value else DEFAULT_GOT
    try:
        same = json.loads(text) == a.value
    except (ValueError, RecursionError):
        same = text == json.dumps(a.value)
    return None if same else DEFAULT_GOT


def _is_json(a: Assertion, answer: Answer, text: str) -> str | None:
    try:
        value = json.loads(text)
    except RecursionError:
        return "JSON nested too deeply to read"
    except ValueError as e:
        return f"not JSON ({e.msg} at character {e.pos}): {text}"
    problem = _schema_problem(value, a.value)
    return f"JSON, but {problem}" if problem else None


def _contains_json(a: Assertion, answer: Answer, text: str) -> str | None:
    values = _json_values(text)
    if not values:
        return f"no JSON in: {text}"
    problems = [_schema_problem(v, a.value) for v in values]
    return None if None in problems else f"JSON, but {problems[0]}"


def _tools_call(a: Assertion, answer: Answer, text: str) -> str | None:
    if not answer.tool_calls:
        return f"no tool call: {text}"
    problems = [p for p in (_tool_problem(c, answer.tools or ()) for c in answer.tool_calls) if p]
    return "; ".join(problems) if problems else None


def _latency(a: Assertion, answer: Answer, text: str) -> str | None:
    if answer.latency_ms is None:
        return "latency unknown"
    return None if Decimal(str(answer.latency_ms)) <= a.threshold else f"{answer.latency_ms:.0f} ms"


def _cost(a: Assertion, answer: Answer, text: str) -> str | None:
    if answer.cost_usd is None:
        return f"cost unknown: {answer.cost_note or 'not priced'}"
    return None if answer.cost_usd <= a.threshold else fmt.usd(answer.cost_usd, exact=True)


def _holds(test: Callable[[Assertion, str], bool]) -> Check:
    return lambda a, answer, text: None if test(a, text) else DEFAULT_GOT


CHECKS: dict[str, Check] = {
    "equals": _equals,
    "contains": _holds(lambda a, text: a.value in text),
    "icontains": _holds(lambda a, text: a.value.lower() in text.lower()),
    "not-contains": _holds(lambda a, text: a.value not in text),
    "starts-with": _holds(lambda a, text: text.startswith(a.value)),
    "regex": _holds(lambda a, text: re.search(a.value, text) is not None),
    "is-json": _is_json,
    "contains-json": _contains_json,
    "is-valid-openai-tools-call": _tools_call,
    "latency": _latency,
    "cost": _cost,
}


def check(a: Assertion, answer: Answer) -> Failure | None:
    """None when `answer` satisfies `a`, else what was expected and what came back."""
    got = CHECKS[a.type](a, answer, answer.content[:MAX_SCAN])  # load_suite admits only these types
    if got is None:
        return None
    return Failure(a.type, shorten(a.expected()), shorten(got) if got != DEFAULT_GOT else _got(answer))
