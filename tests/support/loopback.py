"""A threaded HTTP server on 127.0.0.1 for tests over real HTTP, and the handler the
OpenAI-compatible test servers share: JSON answers and server-sent events in HTTP chunks."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a read-timeout test) leaves a broken pipe behind


class LoopbackServer:
    """Serves `handler` on a free loopback port from a thread, between start() and stop()."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _Server(("127.0.0.1", 0), handler)
        # A short poll keeps shutdown (once per test) quick.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> Any:  # the server itself, of its own class
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def route_toml(name: str, rates: dict[str, tuple[Any, Any, Any]]) -> str:
    """A price overlay for the `loopback` route: per model, (input, cache_read, output) per 1M tokens.

    A route of the tests' own, so exact costs do not move when shipped prices are corrected."""
    out = [f'[route]\nprovider = "loopback"\nname = "{name}"\ncurrency = "USD"\n']
    for model, (i, cr, o) in rates.items():
        out.append(f'[[models]]\nid = "{model}"\n\n[[models.periods]]\nsource = "tests"\nchecked = 2026-11-28\n'
                   f"input = {i}\noutput = {o}\ncache_read = {cr}\ncache_write = 0\n")
    return "\n".join(out)


class ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def more_headers(self) -> None:
        """Headers every answer of a server carries besides its own (none here)."""

    def send_json(
        self, status: int, obj: Any, headers: dict[str, str] | None = None, content_type: str = "application/json"
    ) -> None:
        """Answer `obj` as JSON, or bytes as they are."""
        raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.more_headers()
        self.end_headers()
        self.wfile.write(raw)

    def start_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.more_headers()
        self.end_headers()

    def chunk(self, data: Any) -> None:
        """One server-sent event in its own HTTP chunk: a string as it is, anything else as JSON."""
        raw = f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def end_events(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
