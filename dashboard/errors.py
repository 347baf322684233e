"""Errors meant to be shown to a person, with a title-worthy message and a hint."""

from __future__ import annotations

import re

# API keys in free text: the text a rejected row keeps (its record as the file had it) and
# messages that quote a file. Each is shown as its hint, as a stored key is: what comes
# before it, "…" and its last 4 characters. Three shapes, each after a character that ends
# a word (or a JSON escape such as the `n` of `\n`):
# 1. a well-known prefix: `sk-` / `sk_` (OpenAI, Anthropic, OpenRouter, DeepSeek, most
#    gateways), `gsk_` (Groq), `xai-`, `pplx-`, `hf_`, Google's `AIza`, or a bearer token
#    (`Bearer `, `bearer%20`, any case);
# 2. a run of 32 or more hex digits (a hashed or hex key, such as LiteLLM's), except right
#    after a slash: a folder named by a hash is a path, not a key;
# 3. the string value of a JSON member named like a secret (`api_key`, `x-api-key`,
#    `access_token`, `secret`, `password`, `authorization`), whatever its shape.
# The pattern reads the same in Python and in DuckDB (RE2), which applies it in SQL
# (ingest.sql's ing_masked); a group that took no part in the match is replaced by nothing.
_WORD_END = r"(?:^|[^A-Za-z0-9]|\\[a-z])"
SECRET_TEXT = (
    rf"({_WORD_END}(?:sk-|sk_|gsk_|xai-|pplx-|hf_|AIza|(?i:bearer)(?:\s+|%20|\+)))"
    r"[A-Za-z0-9_.~+/\\-]{4,}([A-Za-z0-9_-]{4})"
    r"|((?:^|[^A-Za-z0-9/\\]|\\[a-z]))[0-9A-Fa-f]{28,}([0-9A-Fa-f]{4})($|[^0-9A-Za-z])"
    r'|("(?i:[a-z_-]*(?:api[_-]?key|secret|token|password|authorization))"\s*:\s*")[^"]*([^"\\]{4})(")'
)
SECRET_HINT = r"\1\3\6…\2\4\7\5\8"

# A record DuckDB cannot read has no columns to find the key by: any long run of letters,
# digits, `-` and `_` with a digit and a letter in it (a custom gateway's key, but also ids)
# keeps its hint only there.
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}([A-Za-z0-9_-]{4})(?![A-Za-z0-9_-])")


def mask_secrets(text: str | None) -> str | None:
    """`text` with every API key of a well-known shape cut to its hint (see SECRET_TEXT)."""
    return None if text is None else re.sub(SECRET_TEXT, SECRET_HINT, text)


def mask_unreadable(text: str | None) -> str | None:
    """A record DuckDB cannot read, masked as mask_secrets does and every long token too (_LONG_TOKEN)."""
    def hint(m: re.Match[str]) -> str:
        token = m.group(0)
        mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        return "…" + m.group(1) if mixed else token
    masked = mask_secrets(text)
    return None if masked is None else _LONG_TOKEN.sub(hint, masked)


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
