"""The Live calls page's form values as a call: the key's source, the endpoint and the request.

The key is one the server names (dashboard/live/keys.py: a preset's variable or a
`[live_keys.NAME]` secret, each sent only to its own base URL) or one pasted for this browser
session; it is wrapped in `ApiKey` and handed to an `Endpoint`, and nothing here returns or
formats its text. No value from the page names an environment variable or a secret.
No Streamlit here: the widgets are in widgets.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.errors import LiveCallError
from dashboard.live.client import ApiKey, ChatRequest, Endpoint, check_base_url
from dashboard.live.experiments import Target
from dashboard.live.keys import NamedKey
from dashboard.live.presets import PRESETS, Preset

TYPED_KEY, NO_KEY = "typed", "none"  # the key choices that are not a named key


def probe_prefix(facts: int = 120) -> str:
    """A long, fixed text to share across probe calls: well past the 1,024 tokens most caches need."""
    words = ("amber", "cobalt", "linen", "quartz")
    lines = [f"Fact {i}: the code word for shelf {i} is {words[i % 4]}-{i * 7 % 97}." for i in range(1, facts + 1)]
    return "You are a careful archivist. Read these facts once; questions follow.\n" + "\n".join(lines)


def preset_by_name(name: str) -> Preset:
    return next((p for p in PRESETS if p.name == name), PRESETS[0])


@dataclass(frozen=True)
class KeyChoice:
    """Which key a call carries: a named key (`name`), the one pasted in this session, or none.

    As a widget value it is `option`: "key:NAME", "typed" or "none".
    """

    source: str  # "named", TYPED_KEY or NO_KEY
    name: str | None = None

    @classmethod
    def of(cls, option: str | None) -> KeyChoice:
        option = option or NO_KEY
        if option.startswith("key:"):
            return cls("named", option[4:])
        return cls(option if option in (TYPED_KEY, NO_KEY) else NO_KEY)

    @property
    def option(self) -> str:
        return f"key:{self.name}" if self.source == "named" else self.source

    def resolve(
        self, keys: Mapping[str, NamedKey], environ: Mapping[str, str], typed: str | None, base_url: str,
        shared: bool,
    ) -> ApiKey | None:
        """The key for a call to `base_url`, or None for "No key"; raises LiveCallError saying why not."""
        if self.source == NO_KEY:
            return None
        if self.source == TYPED_KEY:
            if not (typed or "").strip():
                raise LiveCallError("no API key was pasted; paste one in the key field, or pick another key")
            return ApiKey(typed or "")
        named = keys.get(self.name or "")
        if named is None:
            known = ", ".join(sorted(keys)) or "none"
            raise LiveCallError(f"no key named {self.name!r} is configured (known: {known}); pick one of "
                                "those, paste a key, or ask whoever runs the server to add it to "
                                "[live_keys] in .streamlit/secrets.toml")
        return named.api_key(environ, base_url, shared)

    def describe(self) -> str | None:
        if self.source == "named":
            return f"the configured key {self.name!r}"
        return "the pasted key" if self.source == TYPED_KEY else None


NO_KEY_FIX = "pick a configured key for this base URL, or paste a key of your own"


def build_endpoint(
    base_url: str,
    provider: str,
    choice: KeyChoice,
    keys: Mapping[str, NamedKey],
    environ: Mapping[str, str],
    typed: str | None = None,
    shared: bool = True,
) -> Endpoint:
    """An Endpoint from form values; raises LiveCallError for a refused URL or a key that may not go there."""
    check_base_url(base_url)
    key = choice.resolve(keys, environ, typed, base_url.strip(), shared)
    return Endpoint(base_url=base_url.strip(), api_key=key, provider=provider.strip() or None,
                    key_source=choice.describe() if key else None, key_fix=NO_KEY_FIX)


def parse_messages(text: str) -> list[dict[str, Any]]:
    """A JSON list of chat messages (or {"messages": [...]}), checked, with a fix in the error."""
    example = '[{"role": "user", "content": "Hi"}]'
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise LiveCallError(f"the messages are not JSON ({e}); write a list like {example}") from None
    messages = doc.get("messages") if isinstance(doc, dict) else doc
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
    ):
        raise LiveCallError(f"the messages must be a non-empty list of objects with a role, like {example}")
    return messages


def build_request(
    model: str,
    prompt: str | None,
    messages_json: str | None,
    max_tokens: int | None,
    temperature: float | None,
    stream: bool,
) -> ChatRequest:
    if not model.strip():
        raise LiveCallError("no model: enter the model id the endpoint serves, e.g. deepseek-v4-flash")
    if messages_json is not None:
        messages = parse_messages(messages_json)
    elif prompt and prompt.strip():
        messages = [{"role": "user", "content": prompt}]
    else:
        raise LiveCallError("the prompt is empty; write one")
    return ChatRequest(
        model=model.strip(), messages=messages, max_tokens=max_tokens, temperature=temperature, stream=stream
    )


def other_targets(
    rows: Sequence[Mapping[str, Any]],
    keys: Mapping[str, NamedKey],
    environ: Mapping[str, str],
    shared: bool = True,
) -> list[Target]:
    """Comparison targets from table rows (label, base_url, provider, model, key).

    `key` names a configured key (blank: no key); a blank base URL or provider is the key's own.
    """
    targets = []

    def text(row: Mapping[str, Any], name: str) -> str:
        value = row.get(name)  # an empty table cell may be None or NaN
        return value.strip() if isinstance(value, str) else ""

    for i, row in enumerate(rows, 1):
        label = text(row, "label") or f"target {i}"
        model = text(row, "model")
        if not model:
            raise LiveCallError(f"comparison row {label!r} has no model; enter the model id")
        if text(row, "key_env"):
            raise LiveCallError(f"comparison row {label!r}: keys are not read from environment variables named "
                                "on the page; name a configured key in the `key` column")
        name = text(row, "key")
        named = keys.get(name)
        try:
            endpoint = build_endpoint(
                text(row, "base_url") or (named.base_url if named else ""),
                text(row, "provider") or (named.provider or "" if named else ""),
                KeyChoice("named", name) if name else KeyChoice(NO_KEY),
                keys,
                environ,
                shared=shared,
            )
        except LiveCallError as e:
            raise LiveCallError(f"comparison row {label!r}: {e}") from None
        targets.append(Target(label, endpoint, model))
    return targets

