"""The SSE decoder, fed in every possible split, and the endpoint presets."""

from __future__ import annotations

import pytest

from dashboard.live import PRESETS, preset_for_base_url
from dashboard.live.sse import SSEDecoder

STREAM = (
    ': keep-alive comment\r\n'
    'data: {"a": 1}\r\n\r\n'
    'event: message\n'
    'data:{"b": "é"}\n\n'
    'data: line one\n'
    'data: line two\n\n'
    'id: 7\n'
    'data: [DONE]\n\n'
).encode()
EVENTS = ['{"a": 1}', '{"b": "é"}', "line one\nline two", "[DONE]"]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)], ids=lambda n: f"{n}-byte-pieces")
def test_events_survive_any_split(size: int) -> None:
    decoder = SSEDecoder()
    events: list[str] = []
    for i in range(0, len(STREAM), size):
        events += decoder.feed(STREAM[i : i + size])
    events += decoder.close()
    assert events == EVENTS


def test_last_event_without_blank_line_is_kept() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"x": 1}') == []
    assert decoder.close() == ['{"x": 1}']


def test_lines_without_a_field_carry_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"<html>not an event stream</html>\n\n") + decoder.close() == []


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://api.ourtoken.ai/v1", "OurToken"),
        ("https://api.ourtoken.ai/v1/", "OurToken"),
        ("https://api.deepseek.com", "DeepSeek"),
        ("https://api.deepseek.com/v1", "DeepSeek"),
        ("https://api.openai.com/v1", "OpenAI"),
        ("https://openrouter.ai/api/v1", "OpenRouter"),
        ("http://127.0.0.1:8000/v1", "Local server"),
        ("http://127.0.0.1:9999/v1", None),
        ("https://example.com/v1", None),
        ("not a url at all", None),
    ],
    ids=[
        "ourtoken", "trailing-slash", "deepseek", "deepseek-v1", "openai", "openrouter", "local",
        "other-port", "unknown", "garbage",
    ],
)
def test_preset_for_base_url(url: str, name: str | None) -> None:
    preset = preset_for_base_url(url)
    assert (preset.name if preset else None) == name


def test_presets_name_their_key_and_route() -> None:
    table = {p.name: (p.key_env, p.provider) for p in PRESETS}
    assert table["OurToken"] == ("OURTOKEN_API_KEY", "ourtoken")
    assert table["DeepSeek"] == ("DEEPSEEK_API_KEY", "deepseek")
    assert table["Local server"][0] is None
