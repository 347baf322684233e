"""Known OpenAI-compatible endpoints: base URL, the env var holding the key, and the catalog route.

A preset fills defaults; any base URL works. `provider` is the catalog route the calls
are priced on (`None` would mean "find the model in the catalog"). A preset's `key_env` is
a key the person running the server names by setting it, bound to the preset's base URL:
it is sent there and nowhere else (see dashboard/live/keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from dashboard.errors import LiveCallError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_KEY_ENV",
    "PRESETS",
    "Preset",
    "preset_for_base_url",
    "preset_named",
    "url_parts",
]


@dataclass(frozen=True)
class Preset:
    name: str
    base_url: str
    key_env: str | None  # None: the server takes no key
    provider: str | None
    default_model: str | None = None


PRESETS: tuple[Preset, ...] = (
    Preset("OurToken", "https://api.ourtoken.ai/v1", "OURTOKEN_API_KEY", "ourtoken", "deepseek-v4-flash"),
    # deepseek-chat was V4-Flash's legacy name, retired 2026-07-24 (pricing/catalog/deepseek.toml).
    Preset("DeepSeek", "https://api.deepseek.com", "DEEPSEEK_API_KEY", "deepseek", "deepseek-v4-flash"),
    Preset("OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY", "openai", "gpt-4o-mini"),
    Preset("OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "openrouter", None),
    # vLLM / Ollama / llama.cpp style; priced on a `local` route, which a person adds to
    # data/prices.local.toml (zero rates, or the cost of the hardware) when they want a figure.
    Preset("Local server", "http://127.0.0.1:8000/v1", None, "local", None),
)

DEFAULT_BASE_URL = PRESETS[0].base_url
DEFAULT_KEY_ENV = "OURTOKEN_API_KEY"


def url_parts(url: str) -> tuple[str, str, int, tuple[str, ...]]:
    """A URL as (scheme, host, port, path segments), lower-cased, default port filled, empty segments
    dropped, so that two spellings of the same base URL compare equal."""
    u = httpx.URL(url.strip())
    scheme = u.scheme.lower()
    port = u.port if u.port is not None else {"https": 443, "http": 80}.get(scheme, 0)
    return scheme, u.host.lower(), port, tuple(seg for seg in u.path.split("/") if seg)


def preset_for_base_url(base_url: str) -> Preset | None:
    """The preset whose base URL matches exactly (ignoring a trailing slash), else the same host.

    The host fallback makes `https://api.deepseek.com/v1` find DeepSeek; it is not used for
    loopback hosts, where the port tells servers apart.
    """
    try:
        want = url_parts(base_url)
    except (httpx.InvalidURL, TypeError):
        return None
    for p in PRESETS:
        if url_parts(p.base_url) == want:
            return p
    for p in PRESETS:
        scheme, host, _, _ = url_parts(p.base_url)
        if scheme == "https" and host == want[1]:
            return p
    return None


def preset_named(name: str) -> Preset:
    for p in PRESETS:
        if p.name.lower() == name.strip().lower() or p.provider == name.strip().lower():
            return p
    raise LiveCallError(f"no preset {name!r}; known: {', '.join(p.name for p in PRESETS)}")
