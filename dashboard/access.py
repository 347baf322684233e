"""Who may look: the rules, kept apart from Streamlit so they can be tested plainly.

- The app listens on 127.0.0.1 by default (`.streamlit/config.toml`), and answers only to
  requests whose `Host` names this machine (localhost, 127.0.0.1, [::1], any port) or a public
  name listed in `[access] hosts`. A page on another site cannot reach the data by pointing its
  own name at 127.0.0.1 (DNS rebinding): its requests carry its own name.
- Without `[auth]`, only the owner at this machine sees the data: a loopback bind address, a
  loopback `Host`, and no sign of a proxy or tunnel in between (Forwarded, X-Forwarded-*,
  X-Real-IP). A proxy forwarding to 127.0.0.1 makes every visitor look local, so those headers
  alone mark a visitor as remote.
- With an `[auth]` section every visitor signs in with Streamlit's OIDC login. The cookie
  secret must be strong, since whoever knows it can sign a cookie as anyone. The provider must
  vouch for the address (`email_verified`), the address must be a plain one on the allow-list
  in `[access]` (`allowed = ["alice@example.com", "@example.com"]`; an entry starting with "@"
  allows one whole domain, no sub-domains), and the identity token must not have expired. An
  empty or missing allow-list lets nobody in.
- Proxy headers are read only when `[access] trust_proxy_headers = true`: then the host names
  they carry must be on the list too, and no visitor counts as local.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

MIN_COOKIE_SECRET_BYTES = 32
MAKE_COOKIE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
# The README's example value: long enough to pass the length rule, and refused by name.
COOKIE_SECRET_PLACEHOLDER = "replace me with the output of the command below"
# Values published in documentation (ours before, Streamlit's own examples): anyone can sign with them.
KNOWN_COOKIE_SECRETS = {COOKIE_SECRET_PLACEHOLDER, "a long random string", "xxx", "your-secret-here"}

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
                 "x-real-ip")
SECRETS_FILE = ".streamlit/secrets.toml"

# atext of RFC 5322 (plus non-ASCII letters, RFC 6531), in dot-atom form: no quoted local parts,
# comments, spaces, angle brackets or a second "@".
_LOCAL_PART = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = re.compile(r"[^\W_]+(-+[^\W_]+)*")
# A host name shown back on a refusal page: only characters a host name has.
_SHOWABLE_HOST = re.compile(r"[a-z0-9.:\[\]-]{1,100}")


def is_loopback(address: str | None) -> bool:
    """True for an address or host name that stays on this machine: 127.0.0.0/8, ::1 (also as
    ::ffff:127.x.x.x) and the names in LOOPBACK_NAMES; an empty address means every interface.

    Other names under .localhost are not loopback here: RFC 6761 asks resolvers to keep them on
    this machine, but a system resolver may pass them to DNS, which can answer with any address.
    Binding to such a name, or sending a key over plain http:// to it, must not depend on that.
    """
    if not address:
        return False
    host = address.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def exposure_problem(address: str | None, auth_configured: bool) -> str | None:
    """Why the app must not serve on this address, or None when it may."""
    if auth_configured or is_loopback(address):
        return None
    shown = address or "every network interface"
    return (
        f"This dashboard is set to listen on {shown}, which other machines can reach, and sign-in is not "
        f"configured. Add an [auth] section (Streamlit OIDC) and an [access] allow-list to {SECRETS_FILE}, "
        "or set server.address = \"127.0.0.1\" in .streamlit/config.toml."
    )


def cookie_secret_problem(auth: Mapping[str, Any]) -> str | None:
    """Why the `[auth]` cookie secret cannot protect sign-in, or None when it can.

    Streamlit signs the identity cookie with this secret and believes any cookie it signed, so a
    secret that is missing, short or printed in documentation lets anyone be anyone.
    """
    secret = auth.get("cookie_secret")
    fix = f"Make one with `{MAKE_COOKIE_SECRET}` and set it as cookie_secret under [auth] in {SECRETS_FILE}."
    if not isinstance(secret, str) or not secret.strip():
        return f"Sign-in is configured without a cookie_secret, so this dashboard shows nothing. {fix}"
    if secret.strip() in KNOWN_COOKIE_SECRETS:
        return f"The [auth] cookie_secret is an example value anyone can read, so this dashboard shows nothing. {fix}"
    if len(secret.encode("utf-8")) < MIN_COOKIE_SECRET_BYTES:
        return (f"The [auth] cookie_secret is {len(secret.encode('utf-8'))} bytes; it needs at least "
                f"{MIN_COOKIE_SECRET_BYTES}, so this dashboard shows nothing. {fix}")
    return None


def _access_section(secrets: Mapping[str, Any]) -> Mapping[str, Any]:
    section = secrets.get("access") or {}
    return section if isinstance(section, Mapping) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        return []
    return [str(e).strip().lower() for e in value if str(e).strip()]


def allow_list(secrets: Mapping[str, Any]) -> list[str]:
    return _strings(_access_section(secrets).get("allowed", []))


def public_hosts(secrets: Mapping[str, Any]) -> list[str]:
    """The host names besides loopback that the app answers to (`[access] hosts`), without ports."""
    return [h.rstrip(".") for h in _strings(_access_section(secrets).get("hosts", []))]


def trusts_proxy_headers(secrets: Mapping[str, Any]) -> bool:
    return _access_section(secrets).get("trust_proxy_headers") is True


def split_address(email: str | None) -> tuple[str, str] | None:
    """(local part, domain) of a plain addr-spec, lower-cased, or None for anything else.

    `mallory@evil.com@example.org`, quoted or commented forms, display names and spaces are not
    plain: a rule about one domain must not be met by an address that routes to another.
    """
    if not isinstance(email, str):
        return None
    email = email.lower()
    if email.count("@") != 1 or len(email) > 254:
        return None
    local, domain = email.split("@")
    if not _LOCAL_PART.fullmatch(local):
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return local, domain


def is_allowed(email: str | None, allowed: Iterable[str]) -> bool:
    """An exact address, or a domain entry "@example.com" (sub-domains are not implied); the
    address must be a plain one."""
    parts = split_address(email)
    if parts is None:
        return False
    local, domain = parts
    address = f"{local}@{domain}"
    return any(entry == address or entry == "@" + domain for entry in allowed)


def _is_verified(value: Any) -> bool:
    # Some providers (AWS Cognito) send the boolean claim as the string "true".
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def identity_problem(user: Mapping[str, Any], allowed: Iterable[str], now: float) -> str | None:
    """Why this signed-in identity may not see the data, or None when it may.

    `user` is what Streamlit kept of the provider's identity token (st.user): its claims,
    among them email, email_verified and exp (seconds since the epoch). The token's expiry is
    the provider's word on how long the sign-in holds; Streamlit's cookie outlives it (30 days),
    so past it the visitor signs in again.
    """
    exp = user.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return "This sign-in carries no expiry (exp) from the identity provider. Sign out and sign in again."
    if exp <= now:
        return "Your sign-in has expired. Sign in again."
    email = user.get("email")
    if not isinstance(email, str) or not email.strip():
        return ("The identity provider sent no email address for this account, so the allow-list cannot be "
                "checked. Ask whoever runs this dashboard to request the `email` scope from the provider.")
    if "email_verified" not in user:
        return ("The identity provider did not say whether this email address is verified (no email_verified "
                "claim), so it is refused. Ask whoever runs this dashboard to use a provider that verifies "
                "addresses.")
    if not _is_verified(user.get("email_verified")):
        return ("The identity provider says this email address is not verified (email_verified is false). "
                "Verify it with the provider, then sign in again.")
    if split_address(email) is None:
        return "This account's email address is not a plain address (name@domain), so it is refused."
    if not is_allowed(email, allowed):
        return (f"This account is not on this dashboard's allow-list ([access] allowed in {SECRETS_FILE}). "
                "Ask whoever runs it to add you.")
    return None


def host_name(value: str | None) -> str | None:
    """The host name of a Host header value ("name", "name:port", "[v6]:port"), lower-cased,
    or None when it is not one."""
    if not value or value != value.strip() or any(c in value for c in "/\\?#@ \t"):
        return None
    try:
        parts = urlsplit(f"//{value}")
        _ = parts.port  # a port that is no number or out of range raises here
    except ValueError:
        return None
    name = parts.hostname
    if not name:
        return None
    return name.rstrip(".")


def _show(name: str | None) -> str:
    return f"'{name}'" if name and _SHOWABLE_HOST.fullmatch(name) else "an unusual host name"


def _forwarded_hosts(pairs: list[tuple[str, str]]) -> list[str | None]:
    """Every host named by X-Forwarded-Host and by the host= of Forwarded (RFC 7239)."""
    hosts: list[str | None] = []
    for key, value in pairs:
        if key == "x-forwarded-host":
            hosts += [host_name(v.strip()) for v in value.split(",")]
        elif key == "forwarded":
            for element in value.split(","):
                for param in element.split(";"):
                    name, _, val = param.strip().partition("=")
                    if name.strip().lower() == "host":
                        hosts.append(host_name(val.strip().strip('"')))
    return hosts


@dataclass(frozen=True)
class Visit:
    """What the door makes of one request."""

    refusal: str | None = None  # why it gets nothing at all
    local: bool = False  # the owner at this machine: may see the data without sign-in
    via_proxy: str | None = None  # the proxy header it came with, where none is trusted


def judge_visit(headers: Iterable[tuple[str, str]], secrets: Mapping[str, Any]) -> Visit:
    """Judge a request by its headers (the websocket handshake that opened the session).

    No headers at all means no HTTP request stands behind this script run (Streamlit's AppTest,
    or the script run bare); it is the owner's own process and counts as local. A real request
    always has a Host.
    """
    pairs = [(k.strip().lower(), v) for k, v in headers]
    if not pairs:
        return Visit(local=True)
    hosts = [v for k, v in pairs if k == "host"]
    if len(hosts) != 1:
        return Visit(refusal="This request has no single Host header, so this dashboard shows nothing.")
    named = [host_name(hosts[0])]
    trusted = trusts_proxy_headers(secrets)
    if trusted:
        named += _forwarded_hosts(pairs)
    known = set(public_hosts(secrets))
    for name in named:
        if name is None or not (is_loopback(name) or name in known):
            return Visit(refusal=(
                f"This dashboard does not answer to {_show(name)}, so it shows nothing (a site that points its "
                "own name at this machine must not read it). If this is the dashboard's public name, add it to "
                f"[access] hosts in {SECRETS_FILE} and configure sign-in; on this machine, use localhost "
                "and the same port instead."))
    proxy = next((k for k, _ in pairs if k in PROXY_HEADERS), None)
    if trusted:
        return Visit()
    return Visit(local=is_loopback(named[0]) and proxy is None, via_proxy=proxy)


def remote_problem(visit: Visit) -> str:
    """Why a visitor who is not the owner at this machine sees nothing when sign-in is not configured."""
    if visit.via_proxy:
        return (f"This request came through a proxy or tunnel (it carries a {visit.via_proxy} header), and "
                f"sign-in is not configured, so this dashboard shows nothing. To share it, add an [auth] section "
                f"and an [access] allow-list to {SECRETS_FILE}; if the proxy is yours, also set "
                "trust_proxy_headers = true and its public name in hosts under [access].")
    return ("This request names a public host, and sign-in is not configured, so this dashboard shows nothing. "
            f"To share it, add an [auth] section and an [access] allow-list to {SECRETS_FILE}.")
