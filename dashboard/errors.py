"""Errors meant to be shown to a person, with a title-worthy message and a hint."""

from __future__ import annotations

import re

# API keys in free text, by their well-known shapes: `sk-…` (OpenAI, Anthropic, OpenRouter,
# DeepSeek and most gateways), `xai-…`, Google's `AIza…`, any bearer token, and a run of 32
# or more hex digits (a hashed or hex key, such as LiteLLM's). Text taken from a file (the
# record a rejected row keeps, a message quoting a file's first line) shows each as its
# hint, as a stored key is shown: the prefix, "…" and the last 4 characters. The pattern
# reads the same in Python and in DuckDB (RE2), which applies it in SQL (ingest.sql's
# ing_masked); a group that took no part in the match is replaced by nothing in both.
SECRET_TEXT = (r"(\bsk-|\bxai-|\bAIza|[Bb]earer\s+)[A-Za-z0-9_.~+/-]{4,}([A-Za-z0-9_-]{4})"
               r"|\b()[0-9A-Fa-f]{28,}([0-9A-Fa-f]{4})\b")
SECRET_HINT = r"\1\3…\2\4"


def mask_secrets(text: str | None) -> str | None:
    """`text` with every API key of a well-known shape cut to its hint (see SECRET_TEXT)."""
    return None if text is None else re.sub(SECRET_TEXT, SECRET_HINT, text)


class DashboardError(Exception):
    """Base of the app's own errors; pages show them with st.error, the CLI on stderr.

    A message may quote a file (its columns, a value): any key in it is cut to its hint.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_secrets(a) if isinstance(a, str) else a for a in args))


class WarehouseError(DashboardError):
    """The DuckDB warehouse cannot be opened, migrated or queried."""


class ImportFailed(DashboardError):
    """A file could not be imported at all; nothing was written."""


class LiveCallError(DashboardError):
    """A live call to an endpoint failed; the message never contains the API key."""
