"""A small OpenAI-compatible chat server on loopback, for tests over real HTTP.

Behaviour is chosen per request by a mode: the first path segment before `/v1`
(`http://127.0.0.1:PORT/<mode>/v1`, so a CLI can reach it with just a base URL) or an
`X-Fake-Mode` header. A mode is `+`-separated parts, each `name` or `name=value`:

    status=401      always answer this status (with an OpenAI-style error body)
    echokey         answer 401 with the Authorization header echoed in the message
    ratelimit=N     answer 429 to the first N requests (Retry-After from `after`, default 0.1)
    after=S         the Retry-After value to send, as given
    fail500=N       answer 500 to the first N requests
    delay=S         wait S seconds before the first byte of the answer
    badsse          stream an event that is not JSON
    badjson         answer 200 with a body that is not JSON
    nousage         report no usage
    deepseek        report DeepSeek's prompt_cache_hit/miss fields instead of cached_tokens
    orcost=X        add OpenRouter's usage.cost = X (a JSON number)
    streamerror     stream one delta, then an `error` event

Modes that echo the caller's key (the Authorization header's token) back, as a hostile or
careless server might:

    echoid=whole|part   the response id holds the key, or 11 characters of it
    echoheader          every answer carries the key in an `X-Echo-Key` header
    echobody=N          answer 400 with a text body longer than 80 bytes, the key at offset N
    echomsg=N           answer 400 with a JSON error message, the key at offset N of it
    echojson=N          answer 400 with JSON whose error has no message, the key (written as
                        JSON \\u escapes) at offset N of a field
    echobad=N           answer 200 with a body that is not JSON, the key at offset N
    echochunk           the streamed (or JSON) reply holds the key, and so does the model id
    echobadsse=N        stream an event that is not JSON, the key at offset N of it

Prompts are counted as whitespace-separated words. `cached_tokens` is the longest common
prefix with any earlier prompt, in whole blocks of 64 tokens, like a prefix cache.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from support.loopback import ChatHandler, LoopbackServer

FAKE_KEY = "sk-test-SECRET-1234567890"  # distinctive, so a leak is easy to find
REPLY = ["Hello", "from", "the", "loopback", "server."]
BLOCK = 64


@dataclass
class Hit:
    mode: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


def parse_mode(mode: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for part in filter(None, mode.split("+")):
        name, _, value = part.partition("=")
        parts[name] = value
    return parts


def common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class FakeOpenAI(LoopbackServer):
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.prompts: list[list[str]] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0  # the most requests in flight at once
        super().__init__(_handler(self))

    def base_url(self, mode: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{mode + '/' if mode else ''}v1"

    def count(self, mode: str = "") -> int:
        with self.lock:
            return sum(1 for h in self.hits if h.mode == mode)

    # ------------------------------------------------------------ the answer

    def record(self, mode: str, path: str, headers: dict[str, str], body: dict[str, Any] | None) -> int:
        """Store the request; returns how many requests this mode has seen, this one included."""
        with self.lock:
            self.hits.append(Hit(mode, path, headers, body))
            return sum(1 for h in self.hits if h.mode == mode)

    def usage(self, body: dict[str, Any], completion: int, opts: dict[str, str]) -> dict[str, Any]:
        words = " ".join(str(m.get("content") or "") for m in body.get("messages", [])).split()
        with self.lock:
            best = max((common_prefix(words, p) for p in self.prompts), default=0)
            self.prompts.append(words)
        cached = best // BLOCK * BLOCK
        usage: dict[str, Any] = {
            "prompt_tokens": len(words),
            "completion_tokens": completion,
            "total_tokens": len(words) + completion,
        }
        if "deepseek" in opts:
            usage["prompt_cache_hit_tokens"] = cached
            usage["prompt_cache_miss_tokens"] = len(words) - cached
        else:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        if "orcost" in opts:
            usage["cost"] = json.loads(opts["orcost"])
        return usage


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(ChatHandler):
        def more_headers(self) -> None:
            if "echoheader" in parse_mode(self.mode):
                self.send_header("X-Echo-Key", self.key)

        def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            self.send_json(status, {"error": {"message": message, "type": "fake", "code": status}}, headers)

        def do_POST(self) -> None:
            with server.lock:
                server.active += 1
                server.max_active = max(server.max_active, server.active)
            try:
                self.answer()
            finally:
                with server.lock:
                    server.active -= 1

        def answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            head, _, rest = self.path.partition("/v1/")
            mode = self.headers.get("X-Fake-Mode") or head.strip("/")
            self.mode = mode
            self.key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            seen = server.record(mode, self.path, dict(self.headers.items()), body)
            opts = parse_mode(mode)
            if rest != "chat/completions" or not isinstance(body, dict):
                return self.error(404, f"no route {self.path!r}")
            if "delay" in opts:
                time.sleep(float(opts["delay"]))
            if "status" in opts:
                return self.error(int(opts["status"]), f"fake status {opts['status']}")
            if "echokey" in opts:
                return self.error(401, f"Incorrect API key provided: {self.headers.get('Authorization')}")
            if "echobody" in opts:
                text = "." * int(opts["echobody"]) + self.key + " and then some more text after it" * 3
                return self.send_json(400, text.encode(), content_type="text/plain")
            if "echomsg" in opts:
                return self.error(400, "." * int(opts["echomsg"]) + self.key + " is not valid here" * 20)
            if "echojson" in opts:
                hidden = "".join(f"\\u{ord(c):04x}" for c in self.key)
                raw = '{"error": {"detail": "' + "." * int(opts["echojson"]) + hidden + ' ends here"}}'
                return self.send_json(400, raw.encode())
            if "echobad" in opts:
                text = "<html>" + "." * int(opts["echobad"]) + self.key + " not json at all</html>" * 3
                return self.send_json(200, text.encode())
            if seen <= int(opts.get("ratelimit") or 0):
                return self.error(429, "slow down", {"Retry-After": opts.get("after", "0.1")})
            if seen <= int(opts.get("fail500") or 0):
                return self.error(500, "upstream exploded")
            if body.get("model") == "missing-model":
                return self.error(404, f"The model `{body['model']}` does not exist")
            if "badjson" in opts:
                return self.send_json(200, b"<html>502 Bad Gateway from a proxy that is not JSON</html>")
            max_tokens = body.get("max_tokens") or len(REPLY)
            words = REPLY[:max_tokens]
            finish = "stop" if len(words) == len(REPLY) else "length"
            usage = None if "nousage" in opts else server.usage(body, len(words), opts)
            rid, model = f"chatcmpl-{uuid.uuid4().hex}", body.get("model")
            if opts.get("echoid") == "whole":
                rid = f"chatcmpl-{self.key}"
            elif opts.get("echoid") == "part":
                rid = f"chatcmpl-{self.key[3:14]}-{uuid.uuid4().hex[:8]}"
            if "echochunk" in opts:
                words = [*words[:-1], f"(your key is {self.key})", words[-1]]
                model = f"{model}-{self.key}"
            if not body.get("stream"):
                answer: dict[str, Any] = {
                    "id": rid,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": " ".join(words)},
                            "finish_reason": finish,
                        }
                    ],
                }
                if usage is not None:
                    answer["usage"] = usage
                return self.send_json(200, answer)
            self.start_events()

            def event(delta: dict[str, Any], finish_reason: str | None = None) -> str:
                return json.dumps(
                    {
                        "id": rid,
                        "object": "chat.completion.chunk",
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                    }
                )

            self.chunk(event({"role": "assistant", "content": ""}))
            if "badsse" in opts:
                self.chunk('{"id": "broken", "choices": [{"delta": {"content": "Hel')
            if "echobadsse" in opts:
                self.chunk("{" + "." * int(opts["echobadsse"]) + self.key + " is not JSON" * 5)
            for i, word in enumerate(words):
                self.chunk(event({"content": word if i == 0 else " " + word}))
                if "streamerror" in opts:
                    self.chunk(json.dumps({"error": {"message": "overloaded mid-stream"}}))
                    break
            self.chunk(event({}, finish))
            include = (body.get("stream_options") or {}).get("include_usage")
            if include and usage is not None:
                self.chunk(json.dumps({"id": rid, "model": model, "choices": [], "usage": usage}))
            self.chunk("[DONE]")
            self.end_events()

    return Handler
