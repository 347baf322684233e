"""Reading suites: the example, and every way a suite is refused before any call is made."""

from __future__ import annotations

import pytest
from support.eval_server import SUITE

from dashboard.errors import UsageError
from dashboard.evaluate.suite import ASSERTION_TYPES, SuiteError, load_suite

BASE = """
prompts:
  - "Answer: {{q}}"
tests:
  - description: one
    vars: {q: two}
    assert:
%s
"""


def suite_with(assertion: str, name: str = "s.yaml"):
    return load_suite(BASE % "\n".join("      " + line for line in assertion.strip().splitlines()), name)


def test_the_example_suite_has_twelve_tests_and_uses_every_assertion_type():
    suite = load_suite(SUITE.read_bytes(), SUITE.name)
    assert (suite.tests, suite.prompts, len(suite.cases)) == (12, 1, 12)
    assert {a.type for c in suite.cases for a in c.asserts} == set(ASSERTION_TYPES)
    kinds = {c.test.split(":")[0] for c in suite.cases}
    assert kinds == {"coding", "reasoning", "summarising", "JSON", "tool call"}
    first = suite.cases[0]
    assert first.messages[0]["role"] == "system" and "def add" not in first.messages[1]["content"]
    assert "named add" in first.messages[1]["content"]  # {{task}} filled in
    assert [a.type for a in first.asserts[:2]] == ["latency", "cost"]  # defaultTest's come first
    tool = suite.cases[-1]
    assert tool.tools[0]["function"]["name"] == "get_weather" and tool.tool_choice == "auto"


@pytest.mark.parametrize("kind", ["javascript", "llm-rubric", "python", "similar"])
def test_an_unsupported_assertion_type_is_refused_by_name(kind):
    with pytest.raises(SuiteError) as e:
        suite_with(f"- type: {kind}\n  value: 'output.length > 3'")
    assert f"assertion type {kind!r} is not supported" in str(e.value)
    assert "test 1 (one)" in str(e.value) and "supported: equals" in str(e.value)
    assert isinstance(e.value, UsageError)  # the CLI exits 2


def test_a_yaml_syntax_error_names_its_line():
    text = "prompts:\n  - 'Answer: {{q}}'\ntests:\n  - vars: {q: [unclosed\n    assert: []\n"
    with pytest.raises(SuiteError, match=r"suite 'bad.yaml' is not valid YAML at line \d+") as e:
        load_suite(text, "bad.yaml")
    line = int(str(e.value).split("at line ")[1].split(",")[0])
    assert line in (4, 5, 6)


def test_a_yaml_error_on_a_known_line():
    text = "prompts: ['x']\ntests:\n  - description: ok\n\tassert: []\n"  # a tab on line 4
    with pytest.raises(SuiteError, match="at line 4"):
        load_suite(text, "tab.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prompts: ['{{missing}}']\ntests: [{vars: {q: 1}}]", r"\{\{missing\}\} is used but the test defines no var"),
        ("prompts: ['{{ q | upper }}']\ntests: [{vars: {q: 1}}]", "is not a plain"),
        ("prompts: ['file://prompt.txt']\ntests: [{vars: {}}]", "names a file"),
        ("prompts: ['x']\ntests: tests.csv", "has no tests"),
        ("prompts: ['x']\ntests: [{vars: {q: [1, 2]}}]", "holds a list"),
        ("prompts: ['x']\ntests: [{vars: {}, transform: 'output.upper()'}]", r"unknown key\(s\) transform"),
        ("prompts: ['x']\ntests: [{options: {transform: 'x'}}]", r"options: unknown key\(s\) transform"),
        ("prompts: ['x']\nenv: {A: b}\ntests: [{}]", r"unknown key\(s\) env"),
        ("base: &b {q: 1}\nprompts: ['x']\ntests: [{vars: *b}]", "anchors"),
        ("prompts: ['x']\ntests: [{assert: [{type: regex, value: '(a+)+$'}]}]", "exponential time"),
        ("prompts: ['x']\ntests: [{assert: [{type: regex, value: '(unclosed'}]}]", "does not compile"),
        ("prompts: ['x']\ntests: [{assert: [{type: is-json, value: {type: 12}}]}]", "JSON Schema is not valid"),
        ("prompts: ['x']\ntests: [{assert: [{type: is-valid-openai-tools-call}]}]", "declares no tools"),
        ("prompts: ['x']\ntests: [{assert: [{type: latency}]}]", "needs a threshold in milliseconds"),
        ("prompts: ['x']\ntests: [{assert: [{type: cost, threshold: -1}]}]", "threshold must be a number"),
        ("prompts: ['x']\ntests: [{assert: [{type: contains}]}]", "needs a text value"),
        ("prompts: ['x']\ntests: [{options: {tools: [{type: function}]}}]", "tool 1 must be"),
        ("prompts: ['x']\ntests: [{options: {tools: [{type: function, function: {name: f}}], "
         "tool_choice: {type: function, function: {name: g}}}}]", "tool_choice names 'g'"),
        ("- just a list", "must be a mapping"),
        ("prompts: []\ntests: [{}]", "has no prompts"),
    ],
    ids=["unknown-var", "filter", "file-prompt", "tests-file", "list-var", "unknown-test-key", "option-key",
         "top-key", "alias", "redos", "bad-regex", "bad-schema", "no-tools", "no-threshold", "negative-cost",
         "no-value", "bad-tool", "tool-choice", "not-mapping", "no-prompts"],
)
def test_a_suite_that_cannot_run_is_refused_with_the_reason(text, message):
    with pytest.raises(SuiteError, match=message):
        load_suite(text, "s.yaml")


def test_default_test_and_chat_prompts_combine():
    text = """
prompts:
  - [{role: system, content: 'Be brief.'}, {role: user, content: '{{q}} in {{lang}}'}]
  - 'Plain: {{q}}'
defaultTest:
  vars: {lang: French}
  assert: [{type: latency, threshold: 500}]
tests:
  - vars: {q: Hello}
    assert: [{type: icontains, value: '{{q}}'}]
"""
    suite = load_suite(text, "chat.yaml")
    assert len(suite.cases) == 2 and suite.cases[0].test == 1
    assert suite.cases[0].messages[1]["content"] == "Hello in French"
    assert suite.cases[1].messages == ({"role": "user", "content": "Plain: Hello"},)
    assert [(a.type, a.value) for a in suite.cases[0].asserts] == [("latency", None), ("icontains", "Hello")]


def test_a_large_or_binary_suite_is_refused():
    with pytest.raises(SuiteError, match="at most 1,000,000 bytes"):
        load_suite(b"#" * 1_000_001, "big.yaml")
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(b"prompts: ['\xff']", "bin.yaml")
