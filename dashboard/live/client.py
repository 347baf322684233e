"""One chat completion against an OpenAI-compatible endpoint: sent, timed, priced.

`call_chat` (httpx.Client) and `acall_chat` (httpx.AsyncClient) take their client as an
argument and share everything but the I/O loop. A call either returns a `CallResult` or
raises `CallFailed`, a `LiveCallError` whose `.result` records the failed call (status,
latency, kind) so that failures can be counted and stored like successes.

Timing is taken on the attempt that produced the answer (retry waits are not in it):
`ttft_ms` is the time to the first streamed delta carrying content, reasoning or a tool
call; `output_tokens_per_s` divides the output tokens by the time after that first delta
(streaming) or by the whole latency (non-streaming).

The API key lives in `ApiKey`, whose repr is `***`; it goes into the Authorization header
and nowhere else. A server may echo it back (in an error body, an id, a streamed chunk), so
every text a `CallResult` holds is scrubbed of it by `redact.scrub` before anything cuts it
short, and a response id that holds the key, or a run of 8 or more of its characters, is
replaced by a generated id (`request_id_note` says so).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from time import perf_counter
from typing import Any

import httpx

from dashboard import metrics
from dashboard.access import is_loopback
from dashboard.errors import LiveCallError
from dashboard.live.presets import DEFAULT_BASE_URL, DEFAULT_KEY_ENV
from dashboard.live.redact import clip, holds_key, scrub, scrub_json
from dashboard.live.sse import DONE, SSEDecoder
from pricing import Catalog, CostBreakdown, PricingError, Usage, cost, normalize_usage

__all__ = [
    "ApiKey",
    "CallFailed",
    "CallResult",
    "ChatRequest",
    "Endpoint",
    "acall_chat",
    "call_chat",
    "check_base_url",
    "resolve_api_key",
]

HEAD_BYTES = 80  # how much of an unreadable answer a message quotes
# How much of a streamed answer is kept to quote from: the quote is cut from this once it is
# scrubbed, so a key that straddles HEAD_BYTES is still found whole.
HEAD_KEEP_BYTES = 4096
REDACTED = "Bearer ***"
ID_NOTE = "the server's response id held the API key, so the call is stored under a generated id"


class ApiKey:
    """An API key that does not show itself: repr and str are `***`; `hint` is the last 4 characters."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = (value or "").strip()
        if not value:
            raise LiveCallError("the API key is empty; set the environment variable that holds it")
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def hint(self) -> str:
        return self._value[-4:]

    def scrub(self, text: str) -> str:
        return scrub(self._value, text)

    def clip(self, text: str | bytes, limit: int) -> str:
        return clip(self._value, text, limit)

    def scrub_json(self, value: Any) -> Any:
        return scrub_json(self._value, value)

    def found_in(self, text: str) -> bool:
        return holds_key(self._value, text)

    def __repr__(self) -> str:
        return "ApiKey('***')"

    __str__ = __repr__


def resolve_api_key(
    api_key: str | ApiKey | None = None,
    env_var: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ApiKey | None:
    """The key passed in, else the one in `env_var` (default OURTOKEN_API_KEY), else None."""
    if isinstance(api_key, ApiKey):
        return api_key
    if api_key:
        return ApiKey(api_key)
    env = os.environ if environ is None else environ
    value = env.get(env_var or DEFAULT_KEY_ENV, "").strip()
    return ApiKey(value) if value else None


def check_base_url(base_url: str) -> httpx.URL:
    """Refuse anything but https://, or http:// to a loopback host (a key must not travel in clear)."""
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError) as e:
        raise LiveCallError(f"base URL {base_url!r} is not a URL ({e}); e.g. {DEFAULT_BASE_URL}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise LiveCallError(
            f"base URL {base_url!r} must start with https:// and name a host; e.g. {DEFAULT_BASE_URL}"
        )
    if url.scheme == "http" and not is_loopback(url.host):
        raise LiveCallError(
            f"refusing plain http:// to {url.host!r}: the API key would travel unencrypted. Use https://; "
            "http:// is allowed only for loopback hosts (127.0.0.0/8, localhost, ::1)"
        )
    return url


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call: base URL, key, the catalog route for cost, timeouts and retries."""

    base_url: str = DEFAULT_BASE_URL
    api_key: ApiKey | None = None
    provider: str | None = None
    key_env: str | None = None  # only named in messages, to say where the key came from
    key_source: str | None = None  # where the key came from, in words, when not an env var
    key_fix: str | None = None  # what to do when the endpoint wants a key and none was given
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_wait_s: float = 60.0
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        check_base_url(self.base_url)
        if isinstance(self.api_key, str):
            object.__setattr__(self, "api_key", ApiKey(self.api_key))
        if self.max_attempts < 1:
            raise LiveCallError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("connect_timeout_s", "read_timeout_s"):
            if getattr(self, name) <= 0:
                raise LiveCallError(f"{name} must be above 0 seconds, got {getattr(self, name)}")

    @property
    def url(self) -> str:
        return self.base_url.strip().rstrip("/") + "/chat/completions"

    @property
    def key_hint(self) -> str | None:
        return self.api_key.hint if self.api_key else None

    def scrub(self, text: str) -> str:
        return self.api_key.scrub(text) if self.api_key else text

    def clip(self, text: str | bytes, limit: int) -> str:
        """The first `limit` characters of `text`, cut only once the key is scrubbed out of all of it."""
        if self.api_key:
            return self.api_key.clip(text, limit)
        return (text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text)[:limit]


@dataclass(frozen=True)
class ChatRequest:
    """The request body; fields left at None are not sent."""

    model: str
    messages: Sequence[Mapping[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = False
    stream_options: Mapping[str, Any] | None = None
    tools: Sequence[Mapping[str, Any]] | None = None
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: Mapping[str, Any] | None = None

    @classmethod
    def from_prompt(cls, model: str, prompt: str, **fields: Any) -> ChatRequest:
        return cls(model=model, messages=[{"role": "user", "content": prompt}], **fields)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in self.messages]}
        for name in ("max_tokens", "temperature", "top_p", "tools", "tool_choice", "response_format"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.stream:
            body["stream"] = True
            # Without include_usage an OpenAI-style stream carries no usage at all.
            body["stream_options"] = dict(self.stream_options or {"include_usage": True})
        return body


@dataclass(frozen=True)
class CallResult:
    """One call, measured. `status` is the HTTP status, or "error" when no HTTP error status explains it."""

    request_id: str  # the server's id, or a generated one (see request_id_note)
    started_at: datetime
    base_url: str
    provider: str | None
    model: str
    status: int | str
    http_status: int | None
    attempts: int
    latency_ms: float | None
    ttft_ms: float | None
    key_hint: str | None
    redacted_request: dict[str, Any]
    error: str | None = None
    error_kind: str | None = None
    usage: Usage | None = None
    usage_note: str | None = None  # "usage not reported", or why it could not be read
    cost: CostBreakdown | None = None
    cost_error: str | None = None  # why cost is unknown (never a silent 0)
    output_tokens_per_s: float | None = None
    finish_reason: str | None = None
    content: str = ""
    response_model: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    request_id_note: str | None = None  # why request_id is not the server's id

    @property
    def ok(self) -> bool:
        return self.error is None

    # The call's figures in the terms of an OpenAI usage object, each None when the server
    # reported no usage (or it could not be priced): alike on purpose, one per column shown.
    @property
    def cost_usd(self) -> Decimal | None:
        return self.cost.total_usd if self.cost else None

    @property
    def prompt_tokens(self) -> int | None:
        return self.usage.prompt_tokens if self.usage else None

    @property
    def cached_tokens(self) -> int | None:
        return self.usage.cache_read_tokens if self.usage else None

    @property
    def completion_tokens(self) -> int | None:
        return self.usage.output_tokens if self.usage else None

    @property
    def cache_hit_rate(self) -> float | None:
        rate = metrics.cache_hit_rate(self.usage.cache_read_tokens, self.usage.prompt_tokens) if self.usage else None
        return None if rate is None else float(rate)


class CallFailed(LiveCallError):
    """A call that failed after reaching for the endpoint; `result` records it."""

    def __init__(self, result: CallResult) -> None:
        super().__init__(result.error)
        self.result = result

    @property
    def kind(self) -> str | None:
        return self.result.error_kind


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return max(seconds, 0.0)


def _server_message(body: bytes, endpoint: Endpoint) -> str:
    """The error message in a server's answer, else its first bytes; scrubbed of the key, then cut."""
    try:
        obj = json.loads(body)
    except ValueError:
        return repr(endpoint.clip(body, HEAD_BYTES))
    err = obj.get("error") if isinstance(obj, dict) else None
    msg = err.get("message") if isinstance(err, dict) else err
    if isinstance(msg, str) and msg.strip():
        return endpoint.clip(msg.strip(), 200)
    # Quoted as decoded JSON, so a key written with \u escapes is scrubbed like any other.
    return repr(endpoint.clip(json.dumps(obj, ensure_ascii=False), HEAD_BYTES))


class _Call:
    """The state of one call across its attempts: what to send, and how to read and judge answers."""

    def __init__(self, endpoint: Endpoint, request: ChatRequest, catalog: Catalog | None) -> None:
        self.endpoint = endpoint
        self.request = request
        self.catalog = catalog
        self.payload = request.payload()
        self.started_at = datetime.now(UTC)
        self.attempts = 0
        headers = {"Content-Type": "application/json"}
        headers["Accept"] = "text/event-stream" if request.stream else "application/json"
        headers.update(dict(endpoint.headers))
        self._headers = headers

    def build(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = dict(self._headers)
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key.reveal()}"
        timeout = httpx.Timeout(self.endpoint.read_timeout_s, connect=self.endpoint.connect_timeout_s)
        return client.build_request(
            "POST", self.endpoint.url, json=self.payload, headers=headers, timeout=timeout
        )

    def redacted_request(self) -> dict[str, Any]:
        headers = dict(self._headers)
        request = {"method": "POST", "url": self.endpoint.url, "headers": headers, "json": self.payload}
        if not self.endpoint.api_key:
            return request
        headers["Authorization"] = REDACTED
        return self.endpoint.api_key.scrub_json(request)

    # ------------------------------------------------------------- outcomes

    def _result(self, **fields: Any) -> CallResult:
        """A CallResult whose every text is scrubbed of the key: the one door server text goes through."""
        key = self.endpoint.api_key
        rid = fields.get("request_id")
        if rid and key and key.found_in(rid):
            fields["request_id"], fields["request_id_note"] = None, ID_NOTE
        if not fields.get("request_id"):
            fields["request_id"] = str(uuid.uuid4())
        if key:
            for name in ("error", "usage_note", "cost_error", "content", "response_model", "finish_reason"):
                if isinstance(fields.get(name), str):
                    fields[name] = key.scrub(fields[name])
            if fields.get("tool_calls"):
                fields["tool_calls"] = tuple(key.scrub_json(tc) for tc in fields["tool_calls"])
        return CallResult(
            started_at=self.started_at,
            base_url=self.endpoint.base_url,
            provider=self.endpoint.provider,
            model=self.request.model,
            attempts=self.attempts,
            key_hint=self.endpoint.key_hint,
            redacted_request=self.redacted_request(),
            **fields,
        )

    def fail(self, kind: str, message: str, t0: float, http_status: int | None = None) -> CallFailed:
        failed_status = http_status if http_status is not None and http_status >= 300 else "error"
        return CallFailed(
            self._result(
                status=failed_status,
                http_status=http_status,
                latency_ms=(perf_counter() - t0) * 1000,
                ttft_ms=None,
                error=message,  # scrubbed in _result
                error_kind=kind,
            )
        )

    def retry_wait_s(self, response: httpx.Response, body: bytes, t0: float) -> float:
        """Seconds to wait before trying again; raises CallFailed when this answer is final."""
        status, ep = response.status_code, self.endpoint
        if (status == 429 or status >= 500) and self.attempts < ep.max_attempts:
            wait = min(ep.backoff_s * 2 ** (self.attempts - 1), ep.max_wait_s)
            asked = _retry_after_s(response.headers.get("retry-after")) if status == 429 else None
            if asked is None:
                return wait
            if asked <= ep.max_wait_s:
                return asked
            raise self.fail(
                "rate_limited",
                f"rate limited by {ep.base_url} (HTTP 429): the server asks to retry after {asked:g} s, "
                f"more than the {ep.max_wait_s:g} s limit; try again later or raise the wait limit",
                t0,
                status,
            )
        raise self.status_failure(status, body, t0)

    def status_failure(self, status: int, body: bytes, t0: float) -> CallFailed:
        ep, tries = self.endpoint, f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        where = f"POST {ep.url}"
        if status in (401, 403):
            if ep.api_key is None:
                fix = ep.key_fix or f"set {ep.key_env or DEFAULT_KEY_ENV} (or name the variable with --api-key-env)"
                return self.fail(
                    "auth", f"the endpoint wants an API key (HTTP {status}, {where}); {fix}", t0, status
                )
            held = ep.key_source or (f"the key in {ep.key_env}" if ep.key_env else "the key")
            return self.fail(
                "auth", f"the endpoint rejected the API key (HTTP {status}, {where}); check {held}",
                t0,
                status,
            )
        if status == 404:
            return self.fail(
                "not_found",
                f"model {self.request.model!r} or its route was not found at {ep.base_url} "
                f"(HTTP 404, {where}): {_server_message(body, ep)}; check the model id and the base URL",
                t0,
                status,
            )
        if status == 429:
            return self.fail(
                "rate_limited",
                f"rate limited by {ep.base_url} (HTTP 429) after {tries}; lower the concurrency or try later",
                t0,
                status,
            )
        if status >= 500:
            return self.fail(
                "server_error",
                f"{ep.base_url} failed with HTTP {status} after {tries}: {_server_message(body, ep)}",
                t0,
                status,
            )
        return self.fail(
            "client_error",
            f"{ep.base_url} refused the request (HTTP {status}): {_server_message(body, ep)}",
            t0,
            status,
        )

    def transport_failure(self, e: httpx.HTTPError, t0: float) -> CallFailed:
        ep = self.endpoint
        if isinstance(e, httpx.ConnectTimeout):
            return self.fail(
                "connect_timeout",
                f"could not connect to {ep.base_url} within {ep.connect_timeout_s:g} s (connect timeout); "
                "check the URL and the network, or raise the connect timeout",
                t0,
            )
        if isinstance(e, httpx.ReadTimeout):
            return self.fail(
                "read_timeout",
                f"{ep.base_url} sent nothing for {ep.read_timeout_s:g} s (read timeout); raise the read "
                "timeout for slow models or long prompts",
                t0,
            )
        if isinstance(e, httpx.TimeoutException):
            return self.fail("timeout", f"the call to {ep.base_url} timed out ({type(e).__name__})", t0)
        if isinstance(e, httpx.ConnectError):
            return self.fail(
                "connect",
                f"could not connect to {ep.base_url}: {e}; check the URL and that the server is running",
                t0,
            )
        return self.fail("network", f"the connection to {ep.base_url} failed ({type(e).__name__}: {e})", t0)

    def success(self, response: httpx.Response, reader: _Reader, t0: float) -> CallResult:
        t_end = perf_counter()
        body = reader.finish()
        usage, note = None, None
        if reader.usage is None:
            note = "usage not reported"
        else:
            try:
                usage = normalize_usage({"model": reader.model, "usage": reader.usage})
            except PricingError as e:
                note = f"usage could not be read: {e}"
        breakdown, cost_error = self.price(usage, reader.model) if usage else (None, note)
        gen_s = t_end - (reader.first_at if reader.first_at is not None else t0)
        tps = usage.output_tokens / gen_s if usage and usage.output_tokens and gen_s > 0 else None
        return self._result(
            request_id=reader.response_id or str(uuid.uuid4()),
            status=response.status_code,
            http_status=response.status_code,
            latency_ms=(t_end - t0) * 1000,
            ttft_ms=None if reader.first_at is None else (reader.first_at - t0) * 1000,
            usage=usage,
            usage_note=note,
            cost=breakdown,
            cost_error=cost_error,
            output_tokens_per_s=tps,
            finish_reason=reader.finish_reason,
            content="".join(reader.parts) if reader.streaming else body,
            response_model=reader.model,
            tool_calls=tuple(reader.tool_calls[i] for i in sorted(reader.tool_calls)),
        )

    def price(self, usage: Usage, response_model: str | None) -> tuple[CostBreakdown | None, str | None]:
        names = [self.request.model]
        if response_model and response_model.lower() != self.request.model.lower():
            names.append(response_model)  # servers may answer with a dated id the catalog knows
        first_error, provider = "", self.endpoint.provider
        for name in names:
            try:
                return cost(usage, name, provider, at=self.started_at, catalog=self.catalog), None
            except PricingError as e:
                first_error = first_error or str(e)
        return None, first_error


class _Reader:
    """Reads a 200 answer from raw byte chunks: an SSE stream, or one JSON body."""

    def __init__(self, call: _Call, response: httpx.Response, t0: float) -> None:
        self.call = call
        self.status = response.status_code
        content_type = response.headers.get("content-type", "")
        # A server may ignore `stream` and answer with one JSON body; read what was sent.
        self.streaming = call.request.stream and "text/event-stream" in content_type
        self.t0 = t0
        self.head = b""
        self.body = bytearray()
        self.decoder = SSEDecoder()
        self.events = 0
        self.done = False
        self.first_at: float | None = None
        self.parts: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.usage: Mapping[str, Any] | None = None
        self.finish_reason: str | None = None
        self.response_id: str | None = None
        self.model: str | None = None

    def malformed(self, what: str) -> CallFailed:
        answer = self.head if self.streaming else bytes(self.body)
        return self.call.fail(
            "malformed",
            f"{self.call.endpoint.base_url} answered HTTP {self.status} with {what}; "
            f"first bytes: {self.call.endpoint.clip(answer, HEAD_BYTES)!r}",
            self.t0,
        )

    def feed(self, chunk: bytes, now: float) -> None:
        if not self.streaming:
            self.body += chunk
            return
        if len(self.head) < HEAD_KEEP_BYTES:
            self.head += chunk[: HEAD_KEEP_BYTES - len(self.head)]
        for data in self.decoder.feed(chunk):
            self.event(data, now)

    def event(self, data: str, now: float) -> None:
        if self.done:
            return
        if data.strip() == DONE:
            self.done = True
            return
        try:
            obj = json.loads(data)
        except ValueError:
            raise self.malformed(
                f"a stream event that is not JSON ({self.call.endpoint.clip(data, HEAD_BYTES)!r})"
            ) from None
        if not isinstance(obj, dict):
            raise self.malformed("a stream event that is not a JSON object")
        if obj.get("error"):
            raise self.call.fail(
                "stream_error",
                f"{self.call.endpoint.base_url} reported an error inside the stream: "
                f"{_server_message(json.dumps(obj).encode(), self.call.endpoint)}",
                self.t0,
            )
        self.events += 1
        self.take_meta(obj)
        for choice in obj.get("choices") or []:
            self.take_choice(choice, now)

    def take_choice(self, choice: Mapping[str, Any], now: float) -> None:
        """One streamed choice: its text, its pieces of tool calls, the first token's time, the finish reason."""
        delta = choice.get("delta") or {}
        if self.first_at is None and any(delta.get(k) for k in ("content", "reasoning_content", "tool_calls")):
            self.first_at = now
        if isinstance(delta.get("content"), str):
            self.parts.append(delta["content"])
        for tc in delta.get("tool_calls") or []:
            slot = self.tool_calls.setdefault(tc.get("index", 0), {"id": None, "name": "", "arguments": ""})
            fn = tc.get("function") or {}
            slot["id"] = tc.get("id") or slot["id"]
            slot["name"] += fn.get("name") or ""
            slot["arguments"] += fn.get("arguments") or ""
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]

    def take_meta(self, obj: Mapping[str, Any]) -> None:
        if isinstance(obj.get("id"), str) and obj["id"]:
            self.response_id = obj["id"]
        if isinstance(obj.get("model"), str) and obj["model"]:
            # Scrubbed here, not only in _result: the usage and the cost breakdown keep a copy of it.
            self.model = self.call.endpoint.scrub(obj["model"])
        if isinstance(obj.get("usage"), Mapping):
            self.usage = obj["usage"]  # the final chunk's usage, when include_usage was honoured

    def finish(self) -> str:
        """Complete the answer; returns the message content of a JSON body ("" for a stream)."""
        if self.streaming:
            for data in self.decoder.close():
                self.event(data, perf_counter())
            if not self.events:
                raise self.malformed("a stream holding no `data:` events")
            return ""
        try:
            obj = json.loads(bytes(self.body))
        except ValueError:
            raise self.malformed("a body that is not JSON") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
            raise self.malformed("JSON that is not a chat completion (no `choices` list)")
        self.take_meta(obj)
        choice = obj["choices"][0] if obj["choices"] else {}
        message = choice.get("message") or {}
        self.finish_reason = choice.get("finish_reason")
        for i, tc in enumerate(message.get("tool_calls") or []):
            fn = tc.get("function") or {}
            self.tool_calls[i] = {
                "id": tc.get("id"),
                "name": fn.get("name"),
                "arguments": fn.get("arguments"),
            }
        content = message.get("content")
        return content if isinstance(content, str) else ""


def call_chat(
    client: httpx.Client, endpoint: Endpoint, request: ChatRequest, *, catalog: Catalog | None = None
) -> CallResult:
    """Send one chat completion with retries on 429 and 5xx; raises CallFailed on failure."""
    call = _Call(endpoint, request, catalog)
    while True:
        call.attempts += 1
        t0 = perf_counter()
        try:
            response = client.send(call.build(client), stream=True)
            try:
                if response.status_code >= 300:
                    wait = call.retry_wait_s(response, response.read(), t0)
                else:
                    reader = _Reader(call, response, t0)
                    for chunk in response.iter_bytes():
                        reader.feed(chunk, perf_counter())
                    return call.success(response, reader, t0)
            finally:
                response.close()
        except httpx.HTTPError as e:
            # Not chained: the httpx error holds the request, and with it the key.
            raise call.transport_failure(e, t0) from None
        time.sleep(wait)


async def acall_chat(
    client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest, *, catalog: Catalog | None = None
) -> CallResult:
    """`call_chat` for an httpx.AsyncClient."""
    call = _Call(endpoint, request, catalog)
    while True:
        call.attempts += 1
        t0 = perf_counter()
        try:
            response = await client.send(call.build(client), stream=True)
            try:
                if response.status_code >= 300:
                    wait = call.retry_wait_s(response, await response.aread(), t0)
                else:
                    reader = _Reader(call, response, t0)
                    async for chunk in response.aiter_bytes():
                        reader.feed(chunk, perf_counter())
                    return call.success(response, reader, t0)
            finally:
                await response.aclose()
        except httpx.HTTPError as e:
            raise call.transport_failure(e, t0) from None
        await asyncio.sleep(wait)

