"""Usage normalisation against real response bodies of each provider.

Field names and semantics: OpenAI chat completions and Responses API references
(`prompt_tokens_details.cached_tokens` inside `prompt_tokens`), DeepSeek API docs
(`prompt_cache_hit_tokens` + `prompt_cache_miss_tokens` = `prompt_tokens`), Anthropic
Messages API (`input_tokens` excludes cache reads and writes; `cache_creation` split),
Gemini `usageMetadata` (`thoughtsTokenCount` outside `candidatesTokenCount`), OpenRouter
usage accounting (`usage.cost`).
"""

from decimal import Decimal

import pytest

from pricing import Usage, UsageError, normalize_usage

DEEPSEEK_BODY = {
    "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
    "object": "chat.completion",
    "created": 1764316800,
    "model": "deepseek-v4-flash",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 102056,
        "completion_tokens": 252,
        "total_tokens": 102308,
        "prompt_tokens_details": {"cached_tokens": 94464},
        "completion_tokens_details": {"reasoning_tokens": 44},
        "prompt_cache_hit_tokens": 94464,
        "prompt_cache_miss_tokens": 7592,
    },
}

CASES = [
    pytest.param(
        DEEPSEEK_BODY,
        Usage(input_tokens=7592, cache_read_tokens=94464, output_tokens=252, reasoning_tokens=44),
        id="deepseek-native",
    ),
    pytest.param(
        {"model": "deepseek-v4-flash", "usage": {"prompt_tokens": 102056, "completion_tokens": 252,
                                                 "prompt_tokens_details": {"cached_tokens": 94464},
                                                 "completion_tokens_details": {"reasoning_tokens": 44}}},
        Usage(input_tokens=102056 - 94464, cache_read_tokens=94464, output_tokens=252, reasoning_tokens=44),
        id="openai-chat-shape",
    ),
    pytest.param(
        {"object": "response", "model": "gpt-4.1", "usage": {
            "input_tokens": 5000, "input_tokens_details": {"cached_tokens": 4096},
            "output_tokens": 900, "output_tokens_details": {"reasoning_tokens": 512}, "total_tokens": 5900}},
        Usage(input_tokens=5000 - 4096, cache_read_tokens=4096, output_tokens=900, reasoning_tokens=512),
        id="openai-responses",
    ),
    pytest.param(
        {"id": "msg_01", "type": "message", "model": "claude-sonnet-4-5", "usage": {
            "input_tokens": 12, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 40000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 345}},
        Usage(input_tokens=12, cache_read_tokens=40000, cache_write_tokens=1000, cache_write_1h_tokens=2000,
              output_tokens=345),
        id="anthropic-split-writes",
    ),
    pytest.param(
        {"type": "message", "usage": {"input_tokens": 50, "cache_creation_input_tokens": 700,
                                      "cache_read_input_tokens": 0, "output_tokens": 5}},
        Usage(input_tokens=50, cache_write_tokens=700, output_tokens=5),
        id="anthropic-unsplit-writes-are-5m",
    ),
    pytest.param(
        {"type": "assistant", "requestId": "req_1", "timestamp": "2026-11-01T10:00:00Z",
         "message": {"model": "claude-haiku-4-5", "usage": {"input_tokens": 3, "cache_read_input_tokens": 9,
                                                            "output_tokens": 1}}},
        Usage(input_tokens=3, cache_read_tokens=9, output_tokens=1),
        id="claude-code-log-line",
    ),
    pytest.param(
        {"modelVersion": "gemini-2.5-flash", "usageMetadata": {
            "promptTokenCount": 1200, "cachedContentTokenCount": 1000, "candidatesTokenCount": 80,
            "thoughtsTokenCount": 300, "totalTokenCount": 1580}},
        Usage(input_tokens=200, cache_read_tokens=1000, output_tokens=380, reasoning_tokens=300),
        id="gemini-thoughts-are-output",
    ),
    pytest.param(
        {"model": "openai/gpt-4o", "provider": "OpenAI", "usage": {
            "prompt_tokens": 1000, "completion_tokens": 10, "cost": 0.00265,
            "prompt_tokens_details": {"cached_tokens": 200, "cache_write_tokens": 100}}},
        Usage(input_tokens=700, cache_read_tokens=200, cache_write_tokens=100, output_tokens=10,
              billed_cost=Decimal("0.00265")),
        id="openrouter-inline-cost",
    ),
    pytest.param(
        {"request": {"model": "x"}, "response": DEEPSEEK_BODY},
        Usage(input_tokens=7592, cache_read_tokens=94464, output_tokens=252, reasoning_tokens=44),
        id="request-response-pair",
    ),
]


def _buckets(u: Usage) -> tuple:
    return (u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.cache_write_1h_tokens,
            u.output_tokens, u.reasoning_tokens, u.billed_cost)


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_shapes_normalise_to_disjoint_buckets(body, expected):
    assert _buckets(normalize_usage(body)) == _buckets(expected)


def test_buckets_add_up_to_the_providers_prompt_count():
    u = normalize_usage(DEEPSEEK_BODY)
    assert u.prompt_tokens == DEEPSEEK_BODY["usage"]["prompt_tokens"]


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        pytest.param({"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 11}},
                     r"prompt_tokens_details.cached_tokens \(11\) .*exceed prompt_tokens \(10\)", id="cached-over"),
        pytest.param({"prompt_tokens": 10, "prompt_cache_hit_tokens": 8, "prompt_cache_miss_tokens": 3},
                     r"prompt_cache_hit_tokens \(8\) \+ prompt_cache_miss_tokens \(3\) != prompt_tokens \(10\)",
                     id="deepseek-mismatch"),
        pytest.param({"input_tokens": -1, "cache_read_input_tokens": 2}, "input_tokens is negative", id="negative"),
        pytest.param({"prompt_tokens": "many"}, "must be a whole number", id="not-a-number"),
        pytest.param({"foo": 1}, "no usage found", id="no-usage"),
    ],
)
def test_inconsistent_usage_is_an_error_naming_the_fields(usage, message):
    with pytest.raises(UsageError, match=message):
        normalize_usage({"usage": usage} if "foo" not in usage else usage)


def test_reasoning_cannot_exceed_output():
    with pytest.raises(UsageError, match="reasoning_tokens"):
        Usage(output_tokens=1, reasoning_tokens=2)
