"""The key scrubbed out of everything a server sends back, before any of it is cut, shown or stored.

The loopback server echoes the key it was sent in the response id, in a header, in error
bodies longer than the 80 bytes a message quotes (the key at offsets where cutting first
would leave 8 to 20 of its characters), in a JSON error written with \\u escapes, and in a
streamed chunk. Nothing that leaves the client may hold 8 or more consecutive characters of it.
"""

from __future__ import annotations

import asyncio
import string
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fake_server import FAKE_KEY, FakeOpenAI

from dashboard.errors import LiveCallError
from dashboard.live import (
    CallFailed,
    CallResult,
    ChatRequest,
    Endpoint,
    Target,
    cache_probe,
    call_chat,
    compare,
    record_calls,
    request_row,
    sample_run,
)
from dashboard.live.client import HEAD_BYTES, ID_NOTE
from dashboard.live.redact import MIN_RUN, clip, holds_key, scrub, scrub_json
from dashboard.warehouse import Warehouse
from pricing import Catalog


def runs(key: str = FAKE_KEY) -> list[str]:
    return [key[i : i + MIN_RUN] for i in range(len(key) - MIN_RUN + 1)]


def key_runs_in(text: str, key: str = FAKE_KEY) -> list[str]:
    return [r for r in runs(key) if r in text]


def assert_clean(*things: object) -> None:
    for thing in things:
        for text in (repr(thing), str(thing)):
            assert not key_runs_in(text), (key_runs_in(text), text[:300])


# ------------------------------------------------------------------------ the scrubber itself


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Bearer {FAKE_KEY}", "Bearer ***"),
        (f"{FAKE_KEY}{FAKE_KEY}", "***"),
        (f"a {FAKE_KEY} b {FAKE_KEY} c", "a *** b *** c"),
        (f"id-{FAKE_KEY[3:14]}-9f", "id***9f"),  # "-test-SECRET-" is a run of the key, dashes too
        (f"x{FAKE_KEY[:8]}y", "x***y"),  # the shortest run that counts
        (f"x{FAKE_KEY[-8:]}", "x***"),
        (f"x{FAKE_KEY[:7]}y", f"x{FAKE_KEY[:7]}y"),  # 7 characters: kept
        (f"{FAKE_KEY[:7]} {FAKE_KEY[7:14]}", f"{FAKE_KEY[:7]} {FAKE_KEY[7:14]}"),  # two short pieces: kept
        ("nothing to see here", "nothing to see here"),
        ("", ""),
    ],
    ids=["whole", "twice-adjacent", "twice", "inner-run", "run-of-8", "tail-run", "run-of-7", "split-pieces",
         "clean", "empty"],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(FAKE_KEY, text) == expected
    assert holds_key(FAKE_KEY, text) == (expected != text)


@pytest.mark.parametrize(("key", "text", "expected"), [(None, "abc", "abc"), ("", "abc", "abc"),
                                                       ("k3y", "a k3y and k3yk3y", "a *** and ***")],
                         ids=["no-key", "empty-key", "short-key-whole"])
def test_scrub_without_a_long_key(key: str | None, text: str, expected: str) -> None:
    assert scrub(key, text) == expected


def test_every_run_of_the_key_at_every_place_is_scrubbed() -> None:
    for size in range(MIN_RUN, len(FAKE_KEY) + 1):
        for start in range(len(FAKE_KEY) - size + 1):
            piece = FAKE_KEY[start : start + size]
            assert scrub(FAKE_KEY, f"<{piece}>") == "<***>", piece


KEYS = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=60)


@pytest.mark.slow
@given(key=KEYS, before=st.text(max_size=40), after=st.text(max_size=40), data=st.data())
def test_no_run_of_eight_survives(key: str, before: str, after: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(key) - 1))
    piece = key[start : data.draw(st.integers(start + 1, len(key)))]
    out = scrub(key, before + piece + after)
    assert not key_runs_in(out, key)
    if len(key) < MIN_RUN:
        assert key not in out
    if not key_runs_in(before + piece + after, key) and len(key) >= MIN_RUN:
        assert out == before + piece + after  # nothing of the key: nothing changes


@pytest.mark.parametrize("left", range(MIN_RUN, 21), ids=lambda n: f"{n}-chars-past-the-cut")
def test_clip_scrubs_before_it_cuts(left: int) -> None:
    """Cutting at 80 bytes before scrubbing the whole key would leave `left` characters of it."""
    text = "." * (HEAD_BYTES - left) + FAKE_KEY + " trailing text"
    assert len(key_runs_in(text[:HEAD_BYTES])) >= 1  # what the old order let through
    shown = clip(FAKE_KEY, text, HEAD_BYTES)
    assert not key_runs_in(shown) and "***" in shown
    assert clip(FAKE_KEY, text.encode(), HEAD_BYTES) == shown


def test_scrub_json_scrubs_keys_and_values() -> None:
    doc = {"a": [FAKE_KEY, {FAKE_KEY: 1}], "n": 2, "t": (f"x{FAKE_KEY}",)}
    assert scrub_json(FAKE_KEY, doc) == {"a": ["***", {"***": 1}], "n": 2, "t": ["x***"]}


# ------------------------------------------------------------------------ over real HTTP

ECHOES = [
    ("echoid=whole", False),
    ("echoid=whole", True),
    ("echoid=part", True),
    ("echoheader", False),
    ("echoheader", True),
    ("echobody=60", False),  # a naive 80-byte cut would leave 20 characters of the key
    ("echobody=66", False),
    ("echobody=72", False),  # ... or 8
    ("echomsg=180", False),  # the JSON message is cut at 200
    ("echomsg=190", False),
    ("echojson=30", False),  # quoted from the decoded JSON, where the escapes are the key again
    ("echobad=60", False),  # after "<html>": 14 characters past the cut
    ("echobad=66", False),
    ("echochunk", True),
    ("echochunk", False),
    ("echobadsse=50", True),
    ("echobadsse=66", True),
    ("echokey", False),
]


def one_call(fake: FakeOpenAI, catalog: Catalog, mode: str, stream: bool) -> CallResult:
    ep = Endpoint(fake.base_url(mode), api_key=FAKE_KEY, provider="loopback", max_attempts=1)
    with httpx.Client() as client:
        try:
            return call_chat(client, ep, ChatRequest.from_prompt("fake-model", "a b c", stream=stream),
                             catalog=catalog)
        except CallFailed as e:
            assert_clean(e, e.args)
            return e.result


@pytest.mark.parametrize(("mode", "stream"), ECHOES, ids=[f"{m}-{'stream' if s else 'json'}" for m, s in ECHOES])
def test_an_echoed_key_leaves_the_client_nowhere(fake: FakeOpenAI, catalog: Catalog, mode: str, stream: bool) -> None:
    result = one_call(fake, catalog, mode, stream)
    assert fake.hits[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"  # the server did have the key to echo
    assert_clean(result, result.error, result.content, result.request_id, result.tool_calls,
                 result.redacted_request, result.response_model, result.usage)
    if mode.startswith(("echobody", "echomsg", "echobad", "echobadsse")):
        assert not result.ok and "***" in (result.error or "")  # the echo was there, and was scrubbed
    if mode.startswith("echobody"):
        assert result.error_kind == "client_error" and "HTTP 400" in (result.error or "")
    if mode.startswith("echojson"):
        assert not result.ok and "***" in (result.error or "")  # the \u escapes decoded, then scrubbed


@pytest.mark.slow
@pytest.mark.parametrize("form", ["whole", "part"])
def test_a_response_id_holding_the_key_is_replaced_and_said(fake: FakeOpenAI, catalog: Catalog, form: str,
                                                             tmp_path: Path) -> None:
    result = one_call(fake, catalog, f"echoid={form}", True)
    assert result.ok and result.request_id_note == ID_NOTE
    assert not result.request_id.startswith("chatcmpl-")  # a generated id, not the server's
    row = request_row(result)
    assert row["request_id"] == result.request_id
    path = tmp_path / "usage.duckdb"
    with Warehouse.open(path, catalog=catalog) as wh:
        assert record_calls(wh, [result]) == (1, 0)
        [(rid,)] = wh.query("SELECT request_id FROM requests WHERE source = 'live'").fetchall()
        wh.query("CHECKPOINT")
    assert rid == result.request_id
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert not [r for r in runs() if r.encode() in stored]


def test_an_ordinary_response_id_is_kept(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = one_call(fake, catalog, "", True)
    assert result.request_id.startswith("chatcmpl-") and result.request_id_note is None


def test_a_streamed_chunk_holding_the_key_is_scrubbed(fake: FakeOpenAI, catalog: Catalog) -> None:
    result = one_call(fake, catalog, "echochunk", True)
    assert result.ok and "(your key is ***)" in result.content
    assert result.response_model == "fake-model-***"


def test_experiments_hold_no_key(fake: FakeOpenAI, catalog: Catalog) -> None:
    def ep(mode: str) -> Endpoint:
        return Endpoint(fake.base_url(mode), api_key=FAKE_KEY, provider="loopback", max_attempts=1)

    request = ChatRequest.from_prompt("fake-model", "a b c", stream=True)

    async def go() -> tuple[Any, Any]:
        async with httpx.AsyncClient() as client:
            report = await sample_run(client, ep("echoid=part+echochunk"), request, n=3, concurrency=2,
                                      catalog=catalog)
            targets = [Target("echo", ep("echobody=66"), "fake-model"), Target("chunk", ep("echochunk"), "fake-model")]
            return report, await compare(client, targets, request, n=2, catalog=catalog)

    report, comparison = asyncio.run(go())
    assert len({r.request_id for r in report.results}) == 3 and all(r.request_id_note for r in report.results)
    with httpx.Client() as client:
        probe = cache_probe(client, ep("echomsg=190"), request, "prefix ", n=2, catalog=catalog)
    assert probe.results[0].error_kind == "client_error" and len(probe.results) == 1  # fatal: the probe stops
    assert_clean(report, comparison, [c.row() for c in comparison], probe.rows())


@pytest.mark.slow
def test_failed_calls_are_not_stored(fake: FakeOpenAI, catalog: Catalog, tmp_path: Path) -> None:
    ok, failed = one_call(fake, catalog, "", False), one_call(fake, catalog, "status=401", False)
    with pytest.raises(LiveCallError, match=r"a failed call \(401\) is not a request to store"):
        request_row(failed)
    with Warehouse.open(tmp_path / "usage.duckdb", catalog=catalog) as wh:
        assert record_calls(wh, [ok, failed]) == (1, 0)
        assert wh.query("SELECT status, input_tokens FROM requests").fetchall() == [("200", 3)]
