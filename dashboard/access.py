"""Who may look: the rules, kept apart from Streamlit so they can be tested plainly.

- The app listens on 127.0.0.1 by default (`.streamlit/config.toml`).
- When `.streamlit/secrets.toml` has an `[auth]` section, every visitor signs in with
  Streamlit's built-in OIDC login and must be on the allow-list in `[access]`
  (`allowed = ["alice@example.com", "@example.com"]`; an entry starting with "@" allows a
  whole domain). An empty or missing allow-list lets nobody in.
- Without `[auth]`, an address other than loopback is refused: the data is a company's
  spend, and exposing it must be a decision, not an accident.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; an empty address means every interface."""
    if not address:
        return False
    host = address.strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problem(address: str | None, auth_configured: bool) -> str | None:
    """Why the app must not serve on this address, or None when it may."""
    if auth_configured or is_loopback(address):
        return None
    shown = address or "every network interface"
    return (
        f"This dashboard is set to listen on {shown}, which other machines can reach, and sign-in is not "
        "configured. Add an [auth] section (Streamlit OIDC) and an [access] allow-list to "
        ".streamlit/secrets.toml, or set server.address = \"127.0.0.1\" in .streamlit/config.toml."
    )


def allow_list(secrets: Mapping[str, Any]) -> list[str]:
    access = secrets.get("access") or {}
    entries = access.get("allowed", []) if isinstance(access, Mapping) else []
    return [str(e).strip().lower() for e in entries if str(e).strip()]


def is_allowed(email: str | None, allowed: Iterable[str]) -> bool:
    """An exact address, or a domain entry "@example.com" (sub-domains are not implied)."""
    if not email or "@" not in email:
        return False
    email = email.strip().lower()
    domain = "@" + email.rsplit("@", 1)[1]
    return any(entry == email or (entry.startswith("@") and entry == domain) for entry in allowed)
