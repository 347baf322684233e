"""Where a live call's API key may come from, and where it may go.

A person using the app never names an environment variable or a secret. A key is either
pasted into a password field for one browser session, or one of the keys that whoever runs
the server names:

- each preset with a key variable (OurToken's OURTOKEN_API_KEY, DEEPSEEK_API_KEY, ...),
  bound to the preset's base URL; the key is there when that variable is set on the server;
- each `[live_keys.NAME]` table of .streamlit/secrets.toml:

      [live_keys.team-openai]
      base_url = "https://api.openai.com/v1"
      env = "TEAM_OPENAI_KEY"      # read on the server; or key = "sk-..." instead
      provider = "openai"          # optional: the catalog route its calls are priced on

  A table named like a preset takes the preset's place.

A named key is sent only to its own base URL: same scheme, host and port, and a path that
is the key's path or under it. When the app is shared (not on loopback, or sign-in is
configured) the path must be the key's own exactly, so the URL is never one a visitor chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dashboard.errors import LiveCallError
from dashboard.live.client import ApiKey, check_base_url
from dashboard.live.presets import PRESETS, Preset, url_parts

__all__ = ["SECRETS_TABLE", "NamedKey", "named_keys"]

SECRETS_TABLE = "live_keys"
FIELDS = {"base_url", "env", "key", "provider"}


@dataclass(frozen=True)
class NamedKey:
    """A key named by whoever runs the server, bound to one base URL."""

    name: str
    base_url: str
    env: str | None = None  # the server's environment variable holding it
    value: str | None = field(default=None, repr=False)  # or the key itself, from secrets.toml
    provider: str | None = None
    origin: str = "preset"  # "preset" or "secrets"

    def is_set(self, environ: Mapping[str, str]) -> bool:
        return bool((self.value or environ.get(self.env or "", "")).strip())

    def where(self) -> str:
        """Where the key is configured, in words (names a variable or a table, never a value)."""
        if self.origin == "secrets":
            return f"[{SECRETS_TABLE}.{self.name}] in .streamlit/secrets.toml"
        return f"the server's environment variable {self.env}"

    def refusal(self, base_url: str, shared: bool) -> str | None:
        """Why this key may not be sent to `base_url`, or None when it may."""
        try:
            want, mine = url_parts(base_url), url_parts(self.base_url)
            extra = httpx.URL(base_url.strip())
        except (httpx.InvalidURL, TypeError):
            return f"{base_url!r} is not a URL"
        if extra.userinfo or extra.query or extra.fragment:
            return (f"a base URL that carries a key named {self.name!r} is a plain URL, without a user name, "
                    f"'?' or '#'; e.g. {self.base_url}")
        same_server = want[:3] == mine[:3]
        path, own = want[3], mine[3]
        if shared:
            fits = same_server and path == own
        else:
            fits = same_server and path[: len(own)] == own and not {".", ".."} & set(path)
        if fits:
            return None
        where = "exactly" if shared else "or a path under it"
        return (f"the key {self.name!r} is sent only to {self.base_url} ({where}), not to {base_url}; "
                f"set the base URL to {self.base_url}, paste a key of your own, or pick another key")

    def api_key(self, environ: Mapping[str, str], base_url: str, shared: bool) -> ApiKey:
        """The key, for a call to `base_url`; raises LiveCallError when it may not go there or is not set."""
        refused = self.refusal(base_url, shared)
        if refused:
            raise LiveCallError(refused)
        value = self.value if self.value is not None else environ.get(self.env or "", "")
        if not value.strip():
            raise LiveCallError(f"the key {self.name!r} is not set: whoever runs the server sets it in "
                                f"{self.where()}; or paste a key of your own")
        return ApiKey(value)


def _from_preset(p: Preset) -> NamedKey | None:
    return NamedKey(p.name, p.base_url, env=p.key_env, provider=p.provider) if p.key_env else None


def _from_table(name: str, table: Any) -> NamedKey:
    where = f"[{SECRETS_TABLE}.{name}] in .streamlit/secrets.toml"
    if not isinstance(table, Mapping):
        raise LiveCallError(f"{where} is not a table; write base_url and env (or key) under it")
    unknown = sorted(set(table) - FIELDS)
    if unknown:
        raise LiveCallError(f"{where} has unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    base_url, env, value = table.get("base_url"), table.get("env"), table.get("key")
    if not isinstance(base_url, str) or not base_url.strip():
        raise LiveCallError(f"{where} has no base_url; add the URL this key may be sent to")
    try:
        check_base_url(base_url)
    except LiveCallError as e:
        raise LiveCallError(f"{where}: {e}") from None
    if (env is None) == (value is None):
        raise LiveCallError(f"{where} needs exactly one of env (a variable on the server) or key")
    if not isinstance(env if value is None else value, str):
        raise LiveCallError(f"{where}: env and key are text")
    provider = table.get("provider")
    return NamedKey(name, base_url.strip(), env=env, value=value,
                    provider=provider if isinstance(provider, str) and provider else None, origin="secrets")


def named_keys(secrets_table: Mapping[str, Any] | None) -> tuple[dict[str, NamedKey], list[str]]:
    """The keys of the presets and of the `[live_keys]` table (which wins on a shared name), and the
    problems found in that table, one line each (an entry with a problem is left out)."""
    keys = {k.name: k for k in map(_from_preset, PRESETS) if k is not None}
    problems = []
    for name, table in (secrets_table or {}).items():
        try:
            keys[str(name)] = _from_table(str(name), table)
        except LiveCallError as e:
            problems.append(str(e))
    return keys, problems
