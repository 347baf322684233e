"""The one scrubber for API keys in text that came back from a server or is about to be shown.

A server may echo the key whole, or a piece of it (a truncated error body, an id built
from it). So besides the whole key, any run of `MIN_RUN` or more consecutive characters of
the key is replaced, wherever it appears. Text is always scrubbed whole, then cut: cutting
first can leave a piece of the key shorter than the key but long enough to matter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "MIN_RUN", "clip", "holds_key", "scrub", "scrub_json"]

MASK = "***"
MIN_RUN = 8  # a piece of the key this long or longer is treated as the key


def _covered(key: str, text: str) -> list[bool]:
    """Which characters of `text` lie in a run of MIN_RUN or more characters of `key` (or in the key)."""
    covered = [False] * len(text)
    width = min(MIN_RUN, len(key))
    # Every piece of the key at least MIN_RUN long is made of overlapping MIN_RUN-long pieces,
    # so finding each of those (overlaps included, hence the lookahead) finds every such piece.
    runs = sorted({key[i : i + width] for i in range(len(key) - width + 1)})
    pattern = re.compile("(?=(?:" + "|".join(map(re.escape, runs)) + "))")
    for match in pattern.finditer(text):
        covered[match.start() : match.start() + width] = [True] * width
    return covered


def scrub(key: str | None, text: str) -> str:
    """`text` with the key, and every run of 8 or more of its consecutive characters, replaced by ***."""
    if not key or not text:
        return text
    covered = _covered(key, text)
    if not any(covered):
        return text
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def holds_key(key: str | None, text: str) -> bool:
    """True when `text` holds the key or a run of 8 or more of its consecutive characters."""
    return bool(key) and bool(text) and scrub(key, text) != text


def clip(key: str | None, text: str | bytes, limit: int) -> str:
    """The first `limit` characters of `text`, scrubbed before the cut (bytes are read as UTF-8)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return scrub(key, text)[:limit]


def scrub_json(key: str | None, value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string, keys included, scrubbed."""
    if not key:
        return value
    if isinstance(value, str):
        return scrub(key, value)
    if isinstance(value, Mapping):
        return {scrub_json(key, k): scrub_json(key, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(key, v) for v in value]
    return value
