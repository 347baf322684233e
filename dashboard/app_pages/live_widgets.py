"""The Live calls page's shared widgets: the endpoint and request forms, key lookup, recording.

Widget values live under `live_*` keys in the session. A pasted key stays in its password
field's session value only; it is wrapped in `ApiKey` the moment it is read and never drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from dashboard import cache
from dashboard.errors import LiveCallError
from dashboard.live import PRESETS, CallResult, ChatRequest, Endpoint, record_calls
from dashboard.live.ui_support import KEY_SOURCES, KeyChoice, build_endpoint, build_request, preset_by_name


def secret(name: str) -> str | None:
    """A top-level string in Streamlit secrets, or None (also when there is no secrets file)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        value = st.secrets.get(name)
    except StreamlitSecretNotFoundError:
        return None
    return value if isinstance(value, str) and value.strip() else None


def _apply_preset() -> None:
    p = preset_by_name(st.session_state["live_preset"])
    st.session_state.update(
        live_base_url=p.base_url,
        live_provider=p.provider or "",
        live_model=p.default_model or "",
        live_key_env=p.key_env or "",
        live_key_source="env" if p.key_env else "none",
    )


@dataclass(frozen=True)
class Settings:
    base_url: str
    provider: str
    model: str
    key_choice: KeyChoice

    def endpoint(self) -> Endpoint:
        """Raises LiveCallError when the key is missing or the URL is refused."""
        key = self.key_choice.resolve(os.environ, secret, st.session_state.get("live_typed_key"))
        return build_endpoint(self.base_url, self.provider, key, self.key_choice)


def endpoint_form() -> Settings:
    if "live_base_url" not in st.session_state:
        st.session_state.setdefault("live_preset", PRESETS[0].name)
        _apply_preset()
    left, mid, right = st.columns([1, 2, 1])
    left.selectbox("Preset", [p.name for p in PRESETS], key="live_preset", on_change=_apply_preset)
    base_url = mid.text_input("Base URL", key="live_base_url", help="https://, or http:// to this machine only.")
    provider = right.text_input("Catalog provider", key="live_provider", help="The price route the calls cost on.")
    model = left.text_input("Model", key="live_model")
    env_var = mid.text_input("Key variable", key="live_key_env", help="Environment variable (or secret) name.")
    env_var = env_var.strip() or None
    sources = ["env", *(["secrets"] if env_var and secret(env_var) else []), "typed", "none"]
    if st.session_state.get("live_key_source") not in sources:
        st.session_state["live_key_source"] = "typed" if not env_var else "env"
    is_set = bool(env_var and os.environ.get(env_var, "").strip())

    def label(source: str) -> str:
        if source == "env":
            return f"{env_var or 'environment variable'} ({'set' if is_set else 'not set'})"
        return f"Secret {env_var}" if source == "secrets" else KEY_SOURCES[source]

    source = right.radio("API key from", sources, key="live_key_source", format_func=label)
    if source == "typed":
        right.text_input("API key", type="password", key="live_typed_key", help="Kept in this browser session only.")
    return Settings(base_url, provider, model, KeyChoice(source, env_var))


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
    wh = cache.warehouse()
    if wh.read_only:
        st.info("The warehouse is open read-only: these calls were not recorded.")
        return
    added, duplicates = record_calls(wh, results)
    cache.clear_data()
    again = f" ({duplicates} already there)" if duplicates else ""
    st.toast(f"Recorded {added} call(s) in the warehouse as source `live`{again}")
