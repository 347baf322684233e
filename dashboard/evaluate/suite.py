"""Evaluation suites in promptfoo's YAML format: read, checked whole, expanded into cases.

A suite has `prompts` (strings with `{{var}}`, or chat message lists), `tests` (each with
`description`, `vars`, `assert` and `options`) and `defaultTest` (vars, asserts and options
every test starts from). Each test runs once per prompt: one *case*.

Everything is checked before any call is made: an assertion type outside `ASSERTION_TYPES`,
an unknown key, a `{{var}}` no test defines, a regex that does not compile, a schema that is
not a JSON Schema, or `is-valid-openai-tools-call` without declared tools is refused with a
`SuiteError` naming the test and what to change. Nothing from a suite is executed: YAML is
read with `yaml.safe_load` rules (and without anchors or aliases, whose expansion a hostile
file can make enormous), templates only replace `{{name}}` by a value, and a regex is refused
when it repeats a group that itself repeats or branches, the shape that can take exponential
time on a long answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
import yaml

from dashboard.errors import UsageError

__all__ = [
    "ASSERTION_TYPES",
    "MAX_SUITE_BYTES",
    "Assertion",
    "Case",
    "Suite",
    "SuiteError",
    "load_suite",
]

MAX_SUITE_BYTES = 1_000_000
MAX_CASES = 5_000
TEXT_TYPES = ("equals", "contains", "icontains", "not-contains", "starts-with", "regex")
ASSERTION_TYPES = (*TEXT_TYPES, "is-json", "contains-json", "is-valid-openai-tools-call", "latency", "cost")
SUITE_KEYS = {"description", "prompts", "providers", "tests", "defaultTest"}
TEST_KEYS = {"description", "vars", "assert", "options", "metadata"}
DEFAULT_KEYS = {"vars", "assert", "options", "metadata"}
ASSERT_KEYS = {"type", "value", "threshold", "metric"}
OPTION_KEYS = {"tools", "tool_choice"}
TOOL_CHOICES = ("auto", "none", "required")
TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)
VAR_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


class SuiteError(UsageError):
    """A suite that cannot be run as written; the message says where and how to fix it."""


@dataclass(frozen=True)
class Assertion:
    type: str
    value: Any = None  # text, a JSON value, or a JSON Schema (is-json, contains-json)
    threshold: Decimal | None = None  # latency in ms, cost in USD

    def expected(self) -> str:
        """What the assertion wants, in words, for a failure report."""
        if self.type == "latency":
            return f"latency <= {self.threshold} ms"
        if self.type == "cost":
            return f"cost <= ${self.threshold}"
        if self.type == "is-valid-openai-tools-call":
            return "tool calls to declared functions with arguments that fit their schema"
        if self.type in ("is-json", "contains-json"):
            what = "JSON" if self.type == "is-json" else "a JSON value inside the answer"
            return what + (" matching the schema" if self.value is not None else "")
        value = self.value if isinstance(self.value, str) else json.dumps(self.value)
        return f"{self.type} {value!r}"


@dataclass(frozen=True)
class Case:
    """One test with one prompt: the messages to send and what the answer must satisfy."""

    test_index: int  # 0-based, in the suite's order
    test: str | int  # the description, or the test's 1-based number when it has none
    prompt_index: int
    messages: tuple[Mapping[str, Any], ...]
    asserts: tuple[Assertion, ...]
    tools: tuple[Mapping[str, Any], ...] | None = None
    tool_choice: str | Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.test if isinstance(self.test, str) else f"test {self.test}"


@dataclass(frozen=True)
class Suite:
    name: str
    sha256: str  # of the file's bytes: runs of the same suite compare test by test
    description: str
    tests: int
    prompts: int
    cases: tuple[Case, ...] = field(repr=False)


# ------------------------------------------------------------------ reading YAML


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load's rules, refusing anchors and aliases (a few lines of them can stand for billions of nodes)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not read; repeat the value, or put shared vars, "
                "asserts and options in defaultTest", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors (&name) are not read; repeat the value, or put shared vars, asserts and "
                "options in defaultTest", event.start_mark)
        return super().compose_node(parent, index)


def _parse_yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader: no Python objects
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = e.problem or e.context or "unreadable"
        raise SuiteError(f"suite {name!r} is not valid YAML{where}: {problem}; fix that line") from None
    except yaml.YAMLError as e:
        raise SuiteError(f"suite {name!r} is not valid YAML: {e}") from None


# ------------------------------------------------------------------ checking


def _where(name: str, test: int | None, label: Any = None) -> str:
    if test is None:
        return f"suite {name!r}, defaultTest"
    about = f" ({label})" if isinstance(label, str) and label else ""
    return f"suite {name!r}, test {test + 1}{about}"


def _keys(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


def _text(value: Any) -> str:
    """A var or assertion value as text: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _check_vars(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SuiteError(f"{where}: vars must be a mapping of names to values, like `vars: {{city: Paris}}`")
    out = {}
    for k, v in raw.items():
        if isinstance(v, list):
            raise SuiteError(f"{where}: var {k!r} holds a list, which promptfoo expands into several tests; "
                             "write those tests one by one")
        out[str(k)] = _text(v)
    return out


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    def one(m: re.Match[str]) -> str:
        ref = VAR_NAME.fullmatch(m.group(1))
        if not ref:
            raise SuiteError(f"{where}: {m.group(0)!r} is not a plain {{{{name}}}}; filters and expressions are "
                             "not run, only variables are replaced")
        if ref.group(1) not in values:
            known = ", ".join(sorted(values)) or "none"
            raise SuiteError(f"{where}: {{{{{ref.group(1)}}}}} is used but the test defines no var "
                             f"{ref.group(1)!r} (vars: {known}); add it under vars or defaultTest.vars")
        return values[ref.group(1)]

    return TEMPLATE.sub(one, template)


def _nested_repeat(pattern: str) -> bool:
    r"""True when a repeat (of more than one) holds an unbounded repeat or a branch that may backtrack:
    (a+)+, (a|ab)*, (\S+\s*){1,6}. Inside an atomic group or a possessive repeat nothing backtracks."""
    from re import _parser  # the stdlib's own parse tree of a pattern

    repeats = {_parser.MAX_REPEAT, _parser.MIN_REPEAT}

    def risky(items: Any, inside: bool) -> bool:
        for op, av in items:
            if op in repeats:
                unbounded = av[1] == _parser.MAXREPEAT
                found = (unbounded and inside) or risky(av[2], inside or av[1] > 1)
            elif op == _parser.BRANCH:
                found = inside or any(risky(b, inside) for b in av[1])
            elif op in (_parser.SUBPATTERN, _parser.ASSERT, _parser.ASSERT_NOT):
                found = risky(av[-1], inside)  # a group's or a lookaround's own pattern is its last field
            else:
                found = False  # a literal, a class, an anchor, an atomic group or a possessive repeat
            if found:
                return True
        return False

    try:
        return risky(_parser.parse(pattern), False)
    except Exception:  # the pattern compiled, so this is only the stdlib's parser changing shape
        return False


def _check_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, Mapping):
        raise SuiteError(f"{where}: the value must be a JSON Schema object, like {{type: object, required: [name]}}")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as e:
        raise SuiteError(f"{where}: the JSON Schema is not valid: {e.message}") from None


def _check_tools(raw: Any, where: str) -> tuple[Mapping[str, Any], ...]:
    example = "[{type: function, function: {name: get_weather, parameters: {type: object}}}]"
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{where}: options.tools must be a non-empty list of OpenAI tools, like {example}")
    for i, tool in enumerate(raw, 1):
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(fn, Mapping) or tool.get("type") != "function" or not isinstance(fn.get("name"), str):
            raise SuiteError(f"{where}: tool {i} must be {{type: function, function: {{name: ..., parameters: "
                             f"...}}}}, like {example}")
        if "parameters" in fn:
            _check_schema(fn["parameters"], f"{where}: tool {fn['name']!r} parameters")
    return tuple(raw)


def _check_tool_choice(raw: Any, tools: Sequence[Mapping[str, Any]] | None, where: str) -> Any:
    if raw is None or raw in TOOL_CHOICES:
        return raw
    fn = raw.get("function") if isinstance(raw, Mapping) else None
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        raise SuiteError(f"{where}: tool_choice is one of {', '.join(TOOL_CHOICES)} or "
                         "{type: function, function: {name: ...}}")
    names = {t["function"]["name"] for t in tools or ()}
    if fn["name"] not in names:
        raise SuiteError(f"{where}: tool_choice names {fn['name']!r}, which options.tools does not declare")
    return raw


def _options(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SuiteError(f"{where}: options must be a mapping (tools, tool_choice)")
    _keys(raw, OPTION_KEYS, f"{where}: options")
    return dict(raw)


def _number(raw: Any, where: str, unit: str) -> Decimal:
    try:
        if isinstance(raw, bool):
            raise InvalidOperation
        value = Decimal(str(raw))
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise SuiteError(f"{where}: threshold must be a number of {unit}, 0 or more, got {raw!r}") from None
    return value


def _threshold_assertion(kind: str, raw: Mapping[str, Any], where: str) -> Assertion:
    if raw.get("threshold") is None:
        unit = "milliseconds" if kind == "latency" else "USD"
        raise SuiteError(f"{where}: needs a threshold in {unit}, like {{type: {kind}, threshold: "
                         f"{'2000' if kind == 'latency' else '0.001'}}}")
    return Assertion(kind, None, _number(raw["threshold"], where, "ms" if kind == "latency" else "USD"))


def _text_value(kind: str, value: Any, values: Mapping[str, str], where: str) -> Any:
    """The value of a text assertion, its {{vars}} filled; a regex is checked to compile and stay linear."""
    if value is None or (kind != "equals" and isinstance(value, Mapping | list)):
        raise SuiteError(f"{where}: needs a text value, like {{type: {kind}, value: Paris}}")
    if isinstance(value, str):
        value = _fill(value, values, where)
    elif kind != "equals":
        value = _text(value)
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as e:
            raise SuiteError(f"{where}: the regex {value!r} does not compile: {e}") from None
        if _nested_repeat(value):
            raise SuiteError(f"{where}: the regex {value!r} repeats a group that itself repeats or branches "
                             "(like (a+)+, (a|ab)* or (\\S+\\s*){1,6}), which can take exponential time on a "
                             "long answer; make the inner part atomic, (?>\\S+\\s*){1,6}, or possessive, "
                             "\\S++")
    return value


def _assertion(raw: Any, values: Mapping[str, str], tools: Any, where: str) -> Assertion:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        raise SuiteError(f"{where}: an assertion is a mapping with a type, like {{type: contains, value: Paris}}")
    kind = raw["type"]
    if kind not in ASSERTION_TYPES:
        raise SuiteError(f"{where}: assertion type {kind!r} is not supported (nothing from a suite is run as "
                         f"code, and no model grades another); supported: {', '.join(ASSERTION_TYPES)}")
    _keys(raw, ASSERT_KEYS, f"{where} ({kind})")
    value = raw.get("value")
    where = f"{where} ({kind})"
    if kind in ("latency", "cost"):
        return _threshold_assertion(kind, raw, where)
    if kind in TEXT_TYPES:
        return Assertion(kind, _text_value(kind, value, values, where))
    if kind in ("is-json", "contains-json"):
        if value is not None:
            _check_schema(value, where)
        return Assertion(kind, value)
    if not tools:  # is-valid-openai-tools-call
        raise SuiteError(f"{where}: the test declares no tools to check the calls against; add options.tools "
                         "(or defaultTest.options.tools)")
    return Assertion(kind)


def _messages(prompt: Any, index: int, name: str) -> list[Mapping[str, Any]] | str:
    """A prompt as a template string or a list of chat messages, checked."""
    where = f"suite {name!r}, prompt {index + 1}"
    if isinstance(prompt, Mapping) and "raw" in prompt:
        prompt = prompt["raw"]
    if isinstance(prompt, str):
        if prompt.strip().startswith("file://"):
            raise SuiteError(f"{where} names a file ({prompt.strip()[:60]!r}); write the prompt in the suite")
        if prompt.lstrip().startswith("["):
            try:
                prompt = json.loads(prompt)
            except ValueError:
                return prompt
        else:
            return prompt
    if isinstance(prompt, list) and prompt and all(
        isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        for m in prompt
    ):
        return [dict(m) for m in prompt]
    raise SuiteError(f"{where} must be text with {{{{var}}}} or a list of messages like "
                     "[{role: user, content: 'Hi {{name}}'}]")


def _render(prompt: list[Mapping[str, Any]] | str, values: Mapping[str, str], where: str) -> tuple:
    if isinstance(prompt, str):
        return ({"role": "user", "content": _fill(prompt, values, where)},)
    return tuple({**m, "content": _fill(m["content"], values, where)} for m in prompt)


def _document(raw_bytes: bytes, name: str) -> Mapping[str, Any]:
    """The suite's YAML as a mapping of known keys, or SuiteError."""
    if len(raw_bytes) > MAX_SUITE_BYTES:
        raise SuiteError(f"suite {name!r} is {len(raw_bytes):,} bytes; a suite may be at most "
                         f"{MAX_SUITE_BYTES:,} bytes")
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SuiteError(f"suite {name!r} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    doc = _parse_yaml(text, name)
    if not isinstance(doc, Mapping):
        raise SuiteError(f"suite {name!r} must be a mapping with prompts and tests (see examples/suites/)")
    _keys(doc, SUITE_KEYS, f"suite {name!r}")
    return doc


def _templates(doc: Mapping[str, Any], name: str) -> list[list[Mapping[str, Any]] | str]:
    prompts = doc.get("prompts")
    if isinstance(prompts, str):
        prompts = [prompts]
    if not isinstance(prompts, list) or not prompts:
        raise SuiteError(f"suite {name!r} has no prompts; add `prompts: ['Answer: {{{{question}}}}']`")
    return [_messages(p, i, name) for i, p in enumerate(prompts)]


@dataclass(frozen=True)
class _Defaults:
    vars: Mapping[str, str]
    options: Mapping[str, Any]
    asserts: list[Any]


def _defaults(doc: Mapping[str, Any], name: str) -> _Defaults:
    default = doc.get("defaultTest") or {}
    if not isinstance(default, Mapping):
        raise SuiteError(f"suite {name!r}: defaultTest must be a mapping (vars, assert, options)")
    where = _where(name, None)
    _keys(default, DEFAULT_KEYS, where)
    asserts = default.get("assert") or []
    if not isinstance(asserts, list):
        raise SuiteError(f"{where}: assert must be a list")
    return _Defaults(_check_vars(default.get("vars"), where), _options(default.get("options"), where), asserts)


def _cases(test: Any, t: int, name: str, defaults: _Defaults,
           templates: list[list[Mapping[str, Any]] | str]) -> list[Case]:
    """Test `t` of the suite, once for each prompt."""
    if not isinstance(test, Mapping):
        raise SuiteError(f"{_where(name, t)} must be a mapping with description, vars and assert")
    label = test.get("description")
    where = _where(name, t, label)
    _keys(test, TEST_KEYS, where)
    values = {**defaults.vars, **_check_vars(test.get("vars"), where)}
    options = {**defaults.options, **_options(test.get("options"), where)}
    tools = _check_tools(options["tools"], where) if options.get("tools") is not None else None
    tool_choice = _check_tool_choice(options.get("tool_choice"), tools, where)
    asserts_raw = test.get("assert") or []
    if not isinstance(asserts_raw, list):
        raise SuiteError(f"{where}: assert must be a list of assertions")
    asserts = tuple(_assertion(a, values, tools, f"{where}, assertion {i}")
                    for i, a in enumerate([*defaults.asserts, *asserts_raw], 1))
    test_name = str(label) if label not in (None, "") else t + 1
    return [Case(t, test_name, p, _render(template, values, f"{where}, prompt {p + 1}"), asserts, tools, tool_choice)
            for p, template in enumerate(templates)]


def load_suite(data: bytes | str, name: str = "suite") -> Suite:
    """Read and check a suite; raises SuiteError (naming the line, test or key) when it cannot run."""
    raw_bytes = data.encode("utf-8") if isinstance(data, str) else data
    doc = _document(raw_bytes, name)
    templates = _templates(doc, name)
    tests = doc.get("tests")
    if not isinstance(tests, list) or not tests:
        raise SuiteError(f"suite {name!r} has no tests; add a `tests:` list (tests given as a file are not read)")
    if len(tests) * len(templates) > MAX_CASES:
        raise SuiteError(f"suite {name!r} has {len(tests) * len(templates):,} cases (tests x prompts); "
                         f"at most {MAX_CASES:,}")
    defaults = _defaults(doc, name)
    cases = [case for t, test in enumerate(tests) for case in _cases(test, t, name, defaults, templates)]
    description = doc.get("description")
    return Suite(name, hashlib.sha256(raw_bytes).hexdigest(), description if isinstance(description, str) else "",
                 len(tests), len(templates), tuple(cases))
