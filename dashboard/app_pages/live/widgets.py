"""The Live calls page's shared widgets: the endpoint and request forms, key choice, recording.

Widget values live under `live_*` keys in the session. Nothing on the page names an
environment variable or a secret: the key is one of those whoever runs the server
configured (dashboard/live/keys.py; each goes only to its own base URL), or one pasted into
a password field, kept in that field's session value only and wrapped in `ApiKey` the
moment it is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import access, gate
from dashboard.app_pages.live.forms import NO_KEY, TYPED_KEY, KeyChoice, build_endpoint, build_request, preset_by_name
from dashboard.appdata import store, writes
from dashboard.errors import LiveCallError
from dashboard.live import PRESETS, CallResult, ChatRequest, Endpoint
from dashboard.live.keys import SECRETS_TABLE, NamedKey, named_keys


def _secrets_table(name: str) -> Mapping[str, Any]:
    """A table of the app's secrets; empty when there is no such table or no secrets file."""
    value = gate.secrets().get(name)
    return dict(value) if isinstance(value, Mapping) else {}


def configured_keys() -> tuple[dict[str, NamedKey], list[str]]:
    return named_keys(_secrets_table(SECRETS_TABLE))


def shared_mode() -> bool:
    """Whether others may reach the app: it listens beyond loopback, or sign-in is configured."""
    return not access.is_loopback(st.get_option("server.address")) or bool(_secrets_table("auth"))


def _apply_preset() -> None:
    p = preset_by_name(st.session_state["live_preset"])
    keys, _ = configured_keys()
    st.session_state.update(
        live_base_url=p.base_url,
        live_provider=p.provider or "",
        live_model=p.default_model or "",
        live_key=KeyChoice("named", p.name).option if p.name in keys else NO_KEY,
    )


def _apply_key() -> None:
    """Picking a configured key moves the base URL to the key's own when it is elsewhere."""
    choice = KeyChoice.of(st.session_state.get("live_key"))
    named = configured_keys()[0].get(choice.name or "") if choice.source == "named" else None
    if named and named.refusal(st.session_state.get("live_base_url", ""), shared_mode()):
        st.session_state["live_base_url"] = named.base_url
        if named.provider:
            st.session_state["live_provider"] = named.provider


@dataclass(frozen=True)
class Settings:
    base_url: str
    provider: str
    model: str
    key_choice: KeyChoice

    def endpoint(self) -> Endpoint:
        """Raises LiveCallError when the key is missing, may not go to this URL, or the URL is refused."""
        keys, _ = configured_keys()
        return build_endpoint(self.base_url, self.provider, self.key_choice, keys, os.environ,
                              typed=st.session_state.get("live_typed_key"), shared=shared_mode())


def endpoint_form() -> Settings:
    keys, problems = configured_keys()
    for problem in problems:
        st.warning(f"A configured key was left out: {problem}")
    if "live_base_url" not in st.session_state:
        st.session_state.setdefault("live_preset", PRESETS[0].name)
        _apply_preset()
    left, mid, right = st.columns([1, 2, 1])
    left.selectbox("Preset", [p.name for p in PRESETS], key="live_preset", on_change=_apply_preset)
    base_url = mid.text_input("Base URL", key="live_base_url", help="https://, or http:// to this machine only.")
    provider = right.text_input("Catalog provider", key="live_provider", help="The price route the calls cost on.")
    model = left.text_input("Model", key="live_model")
    options = [*(KeyChoice("named", name).option for name in keys), TYPED_KEY, NO_KEY]
    if st.session_state.get("live_key") not in options:
        st.session_state["live_key"] = NO_KEY

    def label(option: str) -> str:
        choice = KeyChoice.of(option)
        if choice.source == TYPED_KEY:
            return "Paste a key (this session only)"
        if choice.source == NO_KEY:
            return "No key"
        named = keys[choice.name or ""]
        return f"{named.name}: sent only to {named.base_url} ({'set' if named.is_set(os.environ) else 'not set'})"

    option = mid.selectbox("API key", options, key="live_key", format_func=label, on_change=_apply_key,
                           help="Keys configured on the server go only to their own base URL.")
    if option == TYPED_KEY:
        right.text_input("API key", type="password", key="live_typed_key", help="Kept in this browser session only.")
    return Settings(base_url, provider, model, KeyChoice.of(option))


def request_form(model: str) -> ChatRequest | None:
    """The request from the form; None (with the reason shown) when it cannot be built."""
    use_json = st.toggle("Messages as JSON", key="live_use_json")
    if use_json:
        text = st.text_area("Messages (JSON list)", key="live_messages",
                            value='[{"role": "user", "content": "Say hello in five words."}]')
        prompt = None
    else:
        prompt = st.text_area("Prompt", key="live_prompt", value="Say hello in five words.")
        text = None
    a, b, c = st.columns(3)
    max_tokens = a.number_input("max_tokens", min_value=1, value=256, step=1, key="live_max_tokens")
    temperature = b.number_input("temperature (empty: server default)", min_value=0.0, max_value=2.0, value=None,
                                 step=0.1, key="live_temperature")
    stream = c.toggle("Stream (measures TTFT)", value=True, key="live_stream")
    try:
        return build_request(model, prompt, text, int(max_tokens) if max_tokens else None, temperature, stream)
    except LiveCallError as e:
        st.error(str(e))
        return None


def record(results: Sequence[CallResult]) -> None:
    """Store the calls (source `live`) unless the person opted out; then refresh every cached chart."""
    if not results or not st.session_state.get("live_record", True):
        return
    if store.warehouse().read_only:
        st.info("The warehouse is open read-only: these calls were not recorded.")
        return
    added, duplicates = writes.record_live_calls(results)
    again = f" ({duplicates} already there)" if duplicates else ""
    failed = sum(not r.ok for r in results)
    left = f"; {failed} failed call(s) not recorded" if failed else ""
    st.toast(f"Recorded {added} call(s) in the warehouse as source `live`{again}{left}")
