"""One uploaded file's choices: everything `python -m dashboard import` takes, as controls.

Provider (--provider), Model override (--model), Time zone (--tz), Source (--source), whether
the prompt tokens include the cached ones (--cached-included-in-input, where the format leaves
it open) and the column map of a generic file (--map). The controls open on the saved profile
of the file's source and format, so next month's export of the same gateway needs no clicks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard.appdata import reads, store
from dashboard.ingest import Options
from dashboard.ingest.base import check_zone
from dashboard.ingest.formats import by_name
from dashboard.ingest.formats.generic import SYNONYMS
from dashboard.warehouse.settings import Profile

AS_IN_FILE = "as in the file"
NOT_MAPPED = "—"
CACHED = {"detect (whole file)": None, "yes": True, "no": False}


@dataclass(frozen=True)
class Choices:
    options: Options
    profile: Profile  # what to save for this source and format once the file is imported


def matching_profile(name: str, fmt: str, headers: list[str], saved: list[Profile],
                     default_source: str) -> Profile | None:
    """The saved profile of a file's source and format, whose column map fits the file's headers.

    A new file's source is the format's own until someone says otherwise, so that profile
    applies; a profile whose source the file's name holds (acme-gw for acme-gw-2026-11.csv)
    comes first. The most recently saved wins a tie.
    """
    fits = [p for p in saved if p.format == fmt and set(p.mapping) <= set(headers)]
    named = [p for p in fits if p.source.lower() in name.lower()]
    own = [p for p in fits if p.source == default_source]
    return (named or own or [None])[0]


def _index(options: list[Any], value: Any) -> int:
    return options.index(value) if value in options else 0


def file_choices(up: Any, fmt: str, headers: list[str], guessed: dict[str, str]) -> Choices | None:
    """Draw the controls for one upload; None (with the reason shown) when a choice is not usable."""
    uid = up.file_id
    default_source = reads.format_sources()[fmt]
    profile = matching_profile(up.name, fmt, headers, reads.import_profiles(), default_source)
    if profile:
        st.caption(f"Choices from the saved profile of source **{profile.source}**, format **{profile.format}**.")
    routes = [AS_IN_FILE, *sorted(store.catalog().routes)]
    a, b = st.columns(2)
    provider = a.selectbox("Provider", routes, index=_index(routes, profile and profile.provider),
                           key=f"provider_{uid}_{fmt}",
                           help="The route the requests were billed through (the file's own provider is kept as "
                           "the upstream). 'as in the file': each row's own, or the default route below.")
    model = b.text_input("Model override", value=(profile and profile.model) or "", key=f"model_{uid}_{fmt}",
                         help="Attribute every row to this model (blank: the file's own).").strip()
    c, d = st.columns(2)
    tz = c.text_input("Time zone", value=(profile and profile.tz) or "", key=f"tz_{uid}_{fmt}", placeholder="UTC",
                      help="Zone of times without an offset, an IANA name such as Europe/Berlin (blank: UTC). "
                      "Times with an offset are read as they say.").strip()
    source = d.text_input("Source", value=profile.source if profile else default_source,
                          key=f"source_{uid}_{fmt}", help="The system the file's request ids belong to: "
                          "re-importing rows of the same source and id adds nothing.").strip()
    mapping: dict[str, str] = dict(profile.mapping) if profile else {}
    cached = profile.cached_included if profile else None
    if by_name(fmt).cached_included is None:  # the format's files do not say
        choice = st.radio("Do the prompt tokens include the cached tokens?", list(CACHED),
                          index=_index(list(CACHED.values()), cached), horizontal=True, key=f"cached_{uid}",
                          help="OpenAI-style logs: yes. Anthropic-style logs: no. Detect reads the whole file: "
                          "a row with more cached than prompt tokens means no.")
        cached = CACHED[choice]
        mapping = _column_map(uid, headers, guessed, mapping)
    if tz:
        try:
            check_zone(tz)
        except ValueError as e:
            st.error(f"Time zone: {e}")
            return None
    if not source:
        st.error("Source: give the name of the system the file comes from (such as the gateway's name).")
        return None
    options = Options(provider=None if provider == AS_IN_FILE else provider, model=model or None, tz=tz or None,
                      mapping=mapping, cached_included=cached, source=source)
    return Choices(options, Profile(source, fmt, options.provider, options.model, options.tz, cached, mapping))


def _column_map(uid: str, headers: list[str], guessed: dict[str, str], saved: dict[str, str]) -> dict[str, str]:
    """The generic file's header -> field map, one selectbox per field, opening on the saved map, else the guess."""
    st.markdown("**Column mapping**: which column holds each field")
    by_field = {field: header for header, field in saved.items()} or guessed
    choices = [NOT_MAPPED, *headers]
    cols = st.columns(3)
    mapping: dict[str, str] = {}
    for i, field in enumerate(SYNONYMS):
        pick = cols[i % 3].selectbox(field, choices, index=_index(choices, by_field.get(field)),
                                     key=f"map_{uid}_{field}")
        if pick != NOT_MAPPED:
            mapping[pick] = field
    return mapping
