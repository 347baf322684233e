"""Server-sent events, decoded incrementally from raw bytes.

Bytes arrive in arbitrary pieces (a network read can end inside a line or inside a UTF-8
character), so the decoder keeps the unfinished tail. Per the SSE spec an event is the
`data:` lines up to a blank line, joined with newlines; `event:`, `id:`, `retry:` and
`:` comment lines carry nothing an OpenAI-compatible stream needs.
"""

from __future__ import annotations

import codecs

__all__ = ["DONE", "SSEDecoder"]

DONE = "[DONE]"


class SSEDecoder:
    """Feed bytes, get back the data payloads of the events completed so far."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._tail += self._text.decode(chunk)
        # A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
        cut = len(self._tail) - 1 if self._tail.endswith("\r") else len(self._tail)
        lines = self._tail[:cut].replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._tail = lines.pop() + self._tail[cut:]
        return self._lines(lines)

    def close(self) -> list[str]:
        """The events left when the stream ends, including one not closed by a blank line."""
        rest = (self._tail + self._text.decode(b"", final=True)).replace("\r\n", "\n").replace("\r", "\n")
        self._tail = ""
        events = self._lines(rest.split("\n") if rest else [])
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _lines(self, lines: list[str]) -> list[str]:
        events = []
        for line in lines:
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
            elif line.startswith("data:"):
                value = line[5:]
                self._data.append(value.removeprefix(" "))
        return events
