"""One call over real HTTP to the loopback server: timing, usage, exact cost, faults, the key."""

from __future__ import annotations

import asyncio
import socket
import time
from decimal import Decimal

import httpx
import pytest
from support.fake_server import FAKE_KEY, REPLY, FakeOpenAI

from dashboard.errors import LiveCallError
from dashboard.live import ApiKey, CallFailed, CallResult, ChatRequest, Endpoint, acall_chat, call_chat
from dashboard.live.client import resolve_api_key
from pricing import Catalog

IN, OUT, CACHE = Decimal("0.5"), Decimal("2.0"), Decimal("0.05")  # the loopback route, per 1M tokens


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def endpoint(fake: FakeOpenAI, mode: str = "", **kw: object) -> Endpoint:
    kw.setdefault("provider", "loopback")
    kw.setdefault("backoff_s", 0.05)
    return Endpoint(fake.base_url(mode), api_key=FAKE_KEY, **kw)  # type: ignore[arg-type]


def call(fake: FakeOpenAI, catalog: Catalog, mode: str = "", prompt: str = "hi", **kw: object) -> CallResult:
    stream = bool(kw.pop("stream", False))
    request = ChatRequest.from_prompt(str(kw.pop("model", "fake-model")), prompt, stream=stream)
    with httpx.Client() as client:
        return call_chat(client, endpoint(fake, mode, **kw), request, catalog=catalog)


def fail(fake: FakeOpenAI, catalog: Catalog, mode: str = "", **kw: object) -> CallFailed:
    with pytest.raises(CallFailed) as info:
        call(fake, catalog, mode, **kw)
    return info.value


def assert_no_key(*things: object) -> None:
    for thing in things:
        assert FAKE_KEY not in repr(thing)
        assert FAKE_KEY not in str(thing)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_cost_is_exact_and_grows_cheaper_with_cache(fake: FakeOpenAI, catalog: Catalog, stream: bool) -> None:
    prompt = words(150)
    first = call(fake, catalog, prompt=prompt, stream=stream)
    assert (first.status, first.prompt_tokens, first.cached_tokens) == (200, 150, 0)
    assert first.completion_tokens == 5
    assert first.cost_usd == (150 * IN + 5 * OUT) / 1_000_000
    second = call(fake, catalog, prompt=prompt + " and a new ending", stream=stream)
    assert second.cached_tokens == 128  # two whole 64-token blocks of the shared 150
    assert second.usage is not None and second.usage.input_tokens == 154 - 128
    assert second.cost_usd == (26 * IN + 128 * CACHE + 5 * OUT) / 1_000_000
    assert second.cost is not None and second.cost.cache_read_usd == 128 * CACHE / 1_000_000
    assert second.content == " ".join(REPLY)
    assert second.finish_reason == "stop"
    assert second.request_id.startswith("chatcmpl-")


def test_ourtoken_route_is_priced_from_the_shipped_catalog(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = call(fake, catalog, prompt=words(7592), model="deepseek-v4-flash", provider="ourtoken")
    assert result.cost_usd == Decimal("0.112") * 7592 / 1_000_000 + Decimal("0.224") * 5 / 1_000_000


def test_deepseek_cache_fields_are_normalised(fake: FakeOpenAI, catalog: Catalog) -> None:
    call(fake, catalog, prompt=words(70))
    result = call(fake, catalog, "deepseek", prompt=words(70))
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.cache_read_tokens) == (6, 64)
    assert result.usage.shape == "deepseek"
    assert result.cost_usd == (6 * IN + 64 * CACHE + 5 * OUT) / 1_000_000


def test_openrouter_billed_cost_is_kept(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = call(fake, catalog, "orcost=0.0012")
    assert result.usage is not None and result.usage.billed_cost == Decimal("0.0012")


@pytest.mark.slow
def test_ttft_reflects_the_servers_delay(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = call(fake, catalog, "delay=0.3", stream=True)
    assert result.ttft_ms is not None and result.latency_ms is not None
    assert 300 <= result.ttft_ms <= result.latency_ms < 3000
    assert result.output_tokens_per_s is not None and result.output_tokens_per_s > 0
    plain = call(fake, catalog, "delay=0.3")
    assert plain.ttft_ms is None and plain.latency_ms is not None and plain.latency_ms >= 300


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_missing_usage_is_unknown_cost_never_zero(fake: FakeOpenAI, catalog: Catalog, stream: bool) -> None:
    result = call(fake, catalog, "nousage", stream=stream)
    assert result.ok and result.usage is None and result.cost is None and result.cost_usd is None
    assert result.usage_note == result.cost_error == "usage not reported"
    assert result.content == " ".join(REPLY)


def test_unknown_price_keeps_the_pricing_error(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = call(fake, catalog, model="gpt-9-turbo")
    assert result.ok and result.usage is not None and result.cost is None
    assert result.cost_error is not None and "no price for model 'gpt-9-turbo'" in result.cost_error


@pytest.mark.parametrize(
    ("mode", "status"),
    [("status=401", 401), ("status=403", 403), ("echokey", 401)],
    ids=["401", "403", "server-echoes-the-key"],
)
def test_rejected_key_says_so_without_the_key(
    fake: FakeOpenAI, catalog: Catalog, mode: str, status: int
) -> None:
    e = fail(fake, catalog, mode)
    assert "the endpoint rejected the API key" in str(e)
    assert (e.kind, e.result.status, e.result.attempts) == ("auth", status, 1)
    assert_no_key(e, e.result, e.args)
    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"


def test_not_found_names_the_model_and_base_url(fake: FakeOpenAI, catalog: Catalog) -> None:
    e = fail(fake, catalog, model="missing-model")
    assert "'missing-model'" in str(e) and fake.base_url() in str(e) and "HTTP 404" in str(e)
    assert e.kind == "not_found" and e.result.status == 404


@pytest.mark.slow
def test_429_is_retried_after_retry_after(fake: FakeOpenAI, catalog: Catalog) -> None:
    t0 = time.perf_counter()
    result = call(fake, catalog, "ratelimit=2+after=0.2")
    assert time.perf_counter() - t0 >= 0.4  # two waits of Retry-After: 0.2
    assert result.ok and result.attempts == 3
    assert fake.count("ratelimit=2+after=0.2") == 3


@pytest.mark.slow
def test_429_retry_after_in_whole_seconds(fake: FakeOpenAI, catalog: Catalog) -> None:
    t0 = time.perf_counter()
    result = call(fake, catalog, "ratelimit=1+after=1")
    assert time.perf_counter() - t0 >= 1.0
    assert result.ok and fake.count("ratelimit=1+after=1") == 2


def test_429_gives_up_after_max_attempts(fake: FakeOpenAI, catalog: Catalog) -> None:
    e = fail(fake, catalog, "ratelimit=9+after=0.05", max_attempts=3)
    assert e.kind == "rate_limited" and e.result.status == 429 and "after 3 attempts" in str(e)
    assert fake.count("ratelimit=9+after=0.05") == 3


def test_429_asking_too_long_a_wait_fails_at_once(fake: FakeOpenAI, catalog: Catalog) -> None:
    e = fail(fake, catalog, "ratelimit=9+after=120", max_wait_s=5)
    assert "retry after 120 s" in str(e) and fake.count("ratelimit=9+after=120") == 1


def test_500_then_success_is_retried(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = call(fake, catalog, "fail500=1")
    assert result.ok and result.attempts == 2 and fake.count("fail500=1") == 2


def test_5xx_retries_are_bounded(fake: FakeOpenAI, catalog: Catalog) -> None:
    e = fail(fake, catalog, "status=503", max_attempts=2)
    assert e.kind == "server_error" and e.result.status == 503 and "HTTP 503 after 2 attempts" in str(e)
    assert fake.count("status=503") == 2


def test_read_timeout_is_named(fake: FakeOpenAI, catalog: Catalog) -> None:
    e = fail(fake, catalog, "delay=0.6", read_timeout_s=0.2, stream=True)
    assert e.kind == "read_timeout" and e.result.status == "error"
    assert "read timeout" in str(e) and "0.2 s" in str(e)


def test_connect_timeout_is_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    ep = Endpoint("https://api.example.test/v1", api_key=FAKE_KEY, connect_timeout_s=1.5)
    with httpx.Client(transport=httpx.MockTransport(refuse)) as client, pytest.raises(CallFailed) as info:
        call_chat(client, ep, ChatRequest.from_prompt("m", "hi"))
    assert info.value.kind == "connect_timeout" and "within 1.5 s (connect timeout)" in str(info.value)
    assert_no_key(info.value, info.value.result)


def test_connection_refused_is_named(catalog: Catalog) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ep = Endpoint(f"http://127.0.0.1:{port}/v1", api_key=FAKE_KEY)
    with httpx.Client() as client, pytest.raises(CallFailed) as info:
        call_chat(client, ep, ChatRequest.from_prompt("fake-model", "hi"), catalog=catalog)
    assert info.value.kind == "connect" and f"127.0.0.1:{port}" in str(info.value)


@pytest.mark.parametrize(
    ("mode", "stream", "needle"),
    [
        ("badsse", True, "data: {"),
        ("badjson", False, "<html>502 Bad Gateway"),
    ],
    ids=["sse", "json"],
)
def test_malformed_answers_name_status_and_first_bytes(
    fake: FakeOpenAI, catalog: Catalog, mode: str, stream: bool, needle: str
) -> None:
    e = fail(fake, catalog, mode, stream=stream)
    assert e.kind == "malformed" and "HTTP 200" in str(e) and needle in str(e)


def test_error_event_inside_a_stream(fake: FakeOpenAI, catalog: Catalog) -> None:
    e = fail(fake, catalog, "streamerror", stream=True)
    assert e.kind == "stream_error" and "overloaded mid-stream" in str(e)


def test_only_set_fields_are_sent_and_streams_ask_for_usage(fake: FakeOpenAI, catalog: Catalog) -> None:
    request = ChatRequest(
        model="fake-model",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=3,
        temperature=0.0,
        stream=True,
        response_format={"type": "text"},
    )
    with httpx.Client() as client:
        result = call_chat(client, endpoint(fake), request, catalog=catalog)
    assert fake.hits[0].body == {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 3,
        "temperature": 0.0,
        "response_format": {"type": "text"},
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert result.finish_reason == "length" and result.completion_tokens == 3


def test_the_key_is_sent_but_never_shown(fake: FakeOpenAI, catalog: Catalog) -> None:
    ep = endpoint(fake)
    with httpx.Client() as client:
        result = call_chat(client, ep, ChatRequest.from_prompt("fake-model", "hi"), catalog=catalog)
    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert result.redacted_request["headers"]["Authorization"] == "Bearer ***"
    assert result.key_hint == "7890"
    assert_no_key(result, ep, ep.api_key)


def test_no_key_sends_no_authorization(fake: FakeOpenAI, catalog: Catalog) -> None:
    with httpx.Client() as client:
        ep = Endpoint(fake.base_url(), provider="loopback")
        result = call_chat(client, ep, ChatRequest.from_prompt("fake-model", "hi"), catalog=catalog)
    assert "Authorization" not in fake.hits[0].headers and result.key_hint is None
    assert "Authorization" not in result.redacted_request["headers"]


def test_async_call(fake: FakeOpenAI, catalog: Catalog) -> None:
    async def go() -> CallResult:
        async with httpx.AsyncClient() as client:
            request = ChatRequest.from_prompt("fake-model", words(10), stream=True)
            return await acall_chat(client, endpoint(fake, "delay=0.1"), request, catalog=catalog)

    result = asyncio.run(go())
    assert result.ttft_ms is not None and result.ttft_ms >= 100
    assert result.cost_usd == (10 * IN + 5 * OUT) / 1_000_000


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/v1", "http://127.9.9.9/v1", "http://localhost:11434/v1", "http://[::1]:8000/v1",
     "https://api.ourtoken.ai/v1"],
    ids=["127.0.0.1", "127/8", "localhost", "ipv6", "https"],
)
def test_allowed_base_urls(url: str) -> None:
    assert Endpoint(url).url == url + "/chat/completions"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://api.ourtoken.ai/v1", "refusing plain http://"),
        ("http://10.0.0.5:8000/v1", "refusing plain http://"),
        # A name under .localhost may be answered by DNS with any address: the key stays off it.
        ("http://api.localhost:8000/v1", "refusing plain http://"),
        ("ftp://example.com/v1", "must start with https://"),
        ("api.ourtoken.ai/v1", "must start with https://"),
    ],
    ids=["http-public", "http-lan", "http-sub-localhost", "ftp", "no-scheme"],
)
def test_refused_base_urls(url: str, needle: str) -> None:
    with pytest.raises(LiveCallError, match=needle):
        Endpoint(url, api_key=FAKE_KEY)


def test_key_comes_from_the_named_env_var() -> None:
    env = {"OURTOKEN_API_KEY": FAKE_KEY, "OTHER": "sk-other-abcd"}
    assert resolve_api_key(environ=env) is not None
    assert resolve_api_key(environ=env).hint == "7890"  # type: ignore[union-attr]
    assert resolve_api_key(env_var="OTHER", environ=env).hint == "abcd"  # type: ignore[union-attr]
    assert resolve_api_key(env_var="UNSET", environ=env) is None
    assert resolve_api_key("sk-passed-in-wxyz", environ={}).hint == "wxyz"  # type: ignore[union-attr]
    assert repr(ApiKey(FAKE_KEY)) == "ApiKey('***')"
