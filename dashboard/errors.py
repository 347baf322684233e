"""Errors meant to be shown to a person, with a title-worthy message and a hint."""

from __future__ import annotations

import hashlib
import re

# API keys in free text: the text a rejected row keeps (its record as the file had it),
# messages that quote a file, and the text columns of a stored row. Each is shown as its
# hint, as a stored key is: what comes before it, "…" and its last 4 characters.
# SECRET_TEXT finds keys by their shape, each after a character that ends a word (or a
# JSON escape such as the `n` of `\n`):
# 1. a well-known prefix: `sk-` / `sk_` (OpenAI, Anthropic, OpenRouter, DeepSeek, most
#    gateways), `gsk_` (Groq), `xai-`, `pplx-`, `hf_`, Google's `AIza`, or a bearer token
#    (`Bearer `, `bearer%20`, any case);
# 2. a run of 32 or more hex digits (a hashed or hex key, such as LiteLLM's), except right
#    after a slash: a folder named by a hash is a path, not a key.
# SECRET_NAMED finds them by their name, whatever their shape (a custom gateway's key):
# 3. the string value of a JSON member named like a credential: a name ending in `key`,
#    `secret`, `token`, `password`, `authorization`, `cookie`, `credential(s)` or `sig`, any
#    case (`api_key`, `x-api-key`, `Ocp-Apim-Subscription-Key`, `access_token`, `Cookie`);
# 4. the value, 8 characters or more, after such a name and `=` or `:` outside quotes: a
#    query string (`?key=…`, `&access_token=…`), a header line (`Cookie: …`, `Authorization:
#    Basic …`); a shorter word is prose ("no API key: paste one"), not a key.
# The patterns read the same in Python and in DuckDB (RE2), which applies them in SQL
# (ingest.sql's ing_masked); a group that took no part in the match is replaced by nothing.
# RE2 numbers at most 9 groups in a replacement, hence two patterns applied in turn.
_WORD_END = r"(?:^|[^A-Za-z0-9]|\\[a-z])"
PREFIXED_KEY = (
    rf"({_WORD_END}(?:sk-|sk_|gsk_|xai-|pplx-|hf_|AIza|(?i:bearer)(?:\s+|%20|\+)))"
    r"[A-Za-z0-9_.~+/\\-]{4,}([A-Za-z0-9_-]{4})"
)
SECRET_TEXT = PREFIXED_KEY + r"|((?:^|[^A-Za-z0-9/\\]|\\[a-z]))[0-9A-Fa-f]{28,}([0-9A-Fa-f]{4})($|[^0-9A-Za-z])"
SECRET_HINT = r"\1\3…\2\4\5"
_CREDENTIAL_WORD = r"(?:key|secret|token|password|passwd|authorization|cookie|credentials?|sig)"
_CREDENTIAL = rf"(?i:[a-z0-9_-]*{_CREDENTIAL_WORD})"
SECRET_NAMED = (
    rf'("{_CREDENTIAL}"\s*:\s*")[^"]*([^"\\]{{4}})(")'
    rf"|((?:^|[^A-Za-z0-9_-]){_CREDENTIAL}\s*[:=]\s*(?:(?i:basic|bearer|token|digest)\s+)?)"
    r"""[^\s&#"',;]{4,}([^\s&#"',;\\]{4})"""
)
SECRET_NAMED_HINT = r"\1\4…\2\5\3"
# SECRET_PAIR finds a key held as a name/value pair, the name in one member and the key in
# another: an OpenTelemetry attribute (`{"key": "llm.api_key", "value": {"stringValue": …}}`)
# or a header list (`{"name": "X-Auth-Token", "value": …}`). The name may be dotted, and is
# read before SECRET_NAMED cuts a member named `key` to its hint.
SECRET_PAIR = (
    rf'("(?:key|name)"\s*:\s*"[^"]*(?i:{_CREDENTIAL_WORD})"\s*,\s*"value"\s*:\s*(?:\{{\s*"stringValue"\s*:\s*)?")'
    r'[^"]*([^"\\]{4})(")'
)
SECRET_PAIR_HINT = r"\1…\2\3"
# All three, in the order they are applied.
SECRET_PATTERNS = ((SECRET_PAIR, SECRET_PAIR_HINT), (SECRET_TEXT, SECRET_HINT), (SECRET_NAMED, SECRET_NAMED_HINT))
# No match of SECRET_PATTERNS, nor of PREFIXED_KEY, is shorter than this many characters (nor,
# so, bytes): a shorter value holds no key. (The tests derive it from the patterns.)
SECRET_MIN_CHARS = 11
# A value that may hold a key: a cheap test that spares the patterns most values (model
# names, user ids), as SQL over a value (see ingest.sql's ing_key_masked). Every match of
# SECRET_PATTERNS is at least SECRET_MIN_CHARS long and holds one of these texts or is 32 long
# (but a bearer token spelt in mixed case, `bEaReR`, in a name or id).
SECRET_MARKERS = ("sk", "xai-", "pplx-", "hf_", "AIza", "earer", "EARER", "=", ":", '"')

# A record DuckDB cannot read has no columns to find the key by: any long run of letters,
# digits, `-` and `_` with a digit and a letter in it (a custom gateway's key, but also ids)
# keeps its hint only there.
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}([A-Za-z0-9_-]{4})(?![A-Za-z0-9_-])")


def mask_secrets(text: str | None) -> str | None:
    """`text` with every API key found by shape or by name cut to its hint (see SECRET_PATTERNS)."""
    if text is None:
        return None
    for pattern, hint in SECRET_PATTERNS:
        text = re.sub(pattern, hint, text)
    return text


def plainly_keyless(value: str) -> bool:
    """Whether `value` is too short to hold a key, or shorter than 32 bytes and holds none of
    SECRET_MARKERS: the values ingest.sql's ing_key_masked passes through without its patterns
    (it counts bytes, as this does)."""
    size = len(value.encode())
    return size < SECRET_MIN_CHARS or (size < 32 and not any(m in value for m in SECRET_MARKERS))


def mask_value(value: str | None) -> str | None:
    """A stored text value (a user, model, project, tag) with any key in it cut to its hint;
    most values are plainly keyless and skip the patterns (as ingest.sql's ing_key_masked)."""
    if value is None or plainly_keyless(value):
        return value
    return mask_secrets(value)


# A request id is a row's identity: cut to a hint, two ids would become one request. An id that
# holds a key of a well-known prefix (PREFIXED_KEY) is stored as a hash of itself instead
# ('k' and its MD5, as SQL's md5 spells it): still unique, the same on every import, no key.
# (A hex id is an id, not a key.) ingest.sql's ing_id_keyless does the same in SQL. The
# markers are a cheap test before the pattern: every prefix it names holds one ("sk" stands
# for sk-, sk_ and gsk_).
ID_KEY_MARKERS = ("sk", "xai-", "pplx-", "hf_", "AIza", "earer", "EARER")


def id_without_key(value: str | None) -> str | None:
    if value is None or not any(m in value for m in ID_KEY_MARKERS) or not re.search(PREFIXED_KEY, value):
        return value
    return "k" + hashlib.md5(value.encode()).hexdigest()


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


class UsageError(DashboardError):
    """A command-line argument is wrong in a way only its command can tell (exit 2)."""
