"""An OpenAI-compatible chat server on loopback whose answers depend on the prompt and the model.

The prompt is recognised by a marker in its last user message (the tasks of
examples/suites/representative.yaml, see ANSWERS); the model decides how well it answers:

    oracle      always the right answer (a valid tool call for the weather task)
    sometimes   right on the tasks marked so in ANSWERS, a plausible wrong answer on the others
    toolbot     answers every task with a call to get_weather
    flaky       fails: 429 (Retry-After: 0) on a prompt's first attempt, 500 on the next
    leaky       echoes the caller's API key in its answer, its response id and its model id

Usage: prompt tokens are the words of every message; cached tokens are (words // 8) * 4;
completion tokens are the words of the answer (of a tool call's name and arguments).
Streaming answers carry usage in a last chunk when stream_options.include_usage is set.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any

from support.loopback import ChatHandler, LoopbackServer, route_toml
from support.paths import REPO

SUITE = REPO / "examples" / "suites" / "representative.yaml"
# Rates per 1M tokens of the loopback route's models: (input, cache_read, output).
RATES = {
    "oracle": (Decimal("1.0"), Decimal("0.1"), Decimal("4.0")),
    "sometimes": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
    "toolbot": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
    "flaky": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
    "leaky": (Decimal("0.2"), Decimal("0.02"), Decimal("0.8")),
}


def prices_toml() -> str:
    return route_toml("Loopback evaluation server", RATES)


EVAL_KEY = "sk-eval-DISTINCTIVE-0987654321zyx"  # a leak of any 8 characters of it is easy to find
WEATHER_OK = {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"})}
WEATHER_BAD = {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "kelvin"})}


@dataclass(frozen=True)
class Task:
    marker: str  # found in the prompt
    right: str | dict[str, str]  # text, or a tool call
    wrong: str | dict[str, str]
    sometimes_right: bool


ANSWERS = (
    Task("named add", "def add(a, b):\n    return a + b", "def plus(x, y):\n    return x + y", True),
    Task("sorted([3, 1, 2]", "[3, 2, 1]", "[1, 2, 3]", False),
    Task("table orders", "SELECT COUNT(*) FROM orders;", "SELECT * FROM orders;", True),
    Task("14:10", "155", "About 2 hours 35 minutes", False),
    Task("bloops", "Yes", "No", True),
    Task("17 multiplied", "391", "391.", False),
    Task("Solar panels", "Solar panels supplied 41% of the depot's power last year and batteries now cover the "
         "evening peak.", "The depot roof made more electricity and batteries now cover the evening peak.", False),
    Task("title of at most six words", "Office Moves to Harbour Street",
         "Important news: our office is moving to Harbour Street on 3 March", True),
    Task("Maria Lopez", '{"name": "Maria Lopez", "age": 34}', '{"name": "Maria Lopez", "age": "34"}', False),
    Task("the flag is red", 'The colours are: ["red", "green", "blue"]', '["red", "green"]', True),
    Task("Invoice 2291", '{"invoice": 2291, "total": 42.5}', '{"invoice": 2291, "total": 42.5, "currency": "EUR"}',
         False),
    Task("weather in Paris", WEATHER_OK, WEATHER_BAD, False),
)
MODELS = ("oracle", "sometimes", "toolbot", "flaky", "leaky")


def words(body: dict[str, Any]) -> int:
    return len(" ".join(str(m.get("content") or "") for m in body.get("messages", [])).split())


def answer_for(model: str, prompt: str, key: str) -> str | dict[str, str]:
    """The answer `model` gives to `prompt`: a text or a tool call."""
    if model == "toolbot":
        return WEATHER_OK
    task = next((t for t in ANSWERS if t.marker in prompt), None)
    if model == "leaky":
        return f"Here is your key back: {key}. " + (task.right if task and isinstance(task.right, str) else "")
    if task is None:
        return "I do not know."
    if model == "oracle" or (model == "sometimes" and task.sometimes_right):
        return task.right
    return task.wrong


def completion_tokens(answer: str | dict[str, str]) -> int:
    text = answer if isinstance(answer, str) else answer["name"] + " " + answer["arguments"]
    return len(text.split())


def usage_of(body: dict[str, Any], answer: str | dict[str, str]) -> dict[str, Any]:
    prompt, completion = words(body), completion_tokens(answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": prompt // 8 * 4},
    }


class EvalServer(LoopbackServer):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.limited: set[str] = set()  # flaky: prompts whose last attempt was answered 429
        self.bodies: list[dict[str, Any]] = []
        super().__init__(_handler(self))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def flaky_status(self, prompt: str) -> int:
        with self.lock:
            if prompt in self.limited:
                self.limited.discard(prompt)
                return 500
            self.limited.add(prompt)
            return 429


def _handler(server: EvalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(ChatHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not self.path.endswith("/chat/completions") or not isinstance(body, dict):
                return self.send_json(404, {"error": {"message": f"no route {self.path!r}"}})
            with server.lock:
                server.bodies.append(body)
            model = body.get("model")
            prompt = str((body.get("messages") or [{}])[-1].get("content") or "")
            if model not in MODELS:
                return self.send_json(404, {"error": {"message": f"The model `{model}` does not exist"}})
            if model == "flaky":
                status = server.flaky_status(prompt)
                if status == 429:
                    return self.send_json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
                return self.send_json(500, {"error": {"message": "upstream exploded"}})
            answer = answer_for(model, prompt, key)
            usage = usage_of(body, answer)
            rid = f"chatcmpl-{key}" if model == "leaky" else f"chatcmpl-{uuid.uuid4().hex}"
            name = f"{model}-{key}" if model == "leaky" else model
            call = None if isinstance(answer, str) else {
                "id": "call_1", "type": "function", "function": dict(answer)}
            if not body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": answer if isinstance(answer, str) else None}
                if call:
                    message["tool_calls"] = [call]
                return self.send_json(200, {
                    "id": rid, "object": "chat.completion", "created": int(time.time()), "model": name,
                    "choices": [{"index": 0, "message": message,
                                 "finish_reason": "tool_calls" if call else "stop"}],
                    "usage": usage,
                })
            self.start_events()
            head = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": name}
            if call:
                delta = {"tool_calls": [{"index": 0, **call}]}
                self.chunk({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            else:
                for i, part in enumerate(answer.split(" ")):
                    text = part if i == 0 else " " + part
                    self.chunk({**head, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
            self.chunk({**head, "choices": [{"index": 0, "delta": {},
                                             "finish_reason": "tool_calls" if call else "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                self.chunk({**head, "choices": [], "usage": usage})
            self.chunk("[DONE]")
            self.end_events()

    return Handler
