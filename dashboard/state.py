"""The shared sidebar: date range, filters, time zone and granularity, mirrored in the URL.

Widget values live in `st.session_state` (so they survive page switches) and are written
to `st.query_params` on every run (so a view can be shared); a new session starts from the
URL. The date arithmetic is in plain functions so it can be tested without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import available_timezones

import streamlit as st

from dashboard.appdata import reads
from dashboard.warehouse.contract import FIRST_DAY, LAST_DAY
from dashboard.warehouse.queries import BLANK, BLANK_LABEL, GRAINS, Filters
from dashboard.warehouse.zones import zone

PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "Month to date",
    "last_month": "Last month",
    "all": "All time",
    "custom": "Custom",
}
# filter name -> (label, URL parameter, Filters field)
FILTERS = {
    "provider": ("Provider", "provider", "providers"),
    "model": ("Model", "model", "models"),
    "project": ("Project", "project", "projects"),
    "api_key": ("API key", "key", "api_keys"),
    "tag": ("Tag", "tag", "tags"),
}
DEFAULTS = {"range": "30d", "tz": "UTC", "grain": "day"}
ZONES = ["UTC", *sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))]
VIEW_KEY = "_view"
NOTICE_KEY = "_url_dates_notice"


@dataclass(frozen=True)
class View:
    filters: Filters
    grain: str
    label: str  # the range as text, for captions


def date_bounds(preset: str, today: date, custom: tuple[date, date] | None = None) -> tuple[date | None, date | None]:
    """First and last day (inclusive) of a preset range; (None, None) for all time."""
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "30d":
        return today - timedelta(days=29), today
    if preset == "90d":
        return today - timedelta(days=89), today
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "custom" and custom:
        return min(custom), max(custom)
    return None, None


def make_filters(first: date | None, last: date | None, tz: str, **selected: tuple[str, ...]) -> Filters:
    """Filters whose day boundaries are midnights in `tz`; `last` is inclusive."""
    z = zone(tz)
    start = datetime.combine(first, time(), z) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), z) if last else None
    return Filters(start=start, end=end, tz=tz, **selected)


def url_dates(start: str | None, end: str | None) -> tuple[tuple[date, date] | None, str | None]:
    """The custom range a URL asks for, made safe: (first, last) or None, and a notice when changed.

    A malformed date drops the range (the sidebar's default applies); a date outside
    FIRST_DAY..LAST_DAY is moved to the nearest end; a start after the end is swapped.
    """
    parsed: list[date] = []
    for name, text in (("start", start), ("end", end)):
        try:
            parsed.append(date.fromisoformat(text or ""))
        except ValueError:
            # The value itself is not echoed: it comes from whoever wrote the link, and would be markdown.
            return None, (f"The link's {name} date is missing or not a date like 2026-11-01 (year-month-day); "
                          "showing the default range instead. Pick the dates in the sidebar.")
    first, last = parsed
    notes = []
    if first > last:
        first, last = last, first
        notes.append("its start was after its end, so the two are swapped")
    clamped = (min(max(first, FIRST_DAY), LAST_DAY), min(max(last, FIRST_DAY), LAST_DAY))
    if clamped != (first, last):
        notes.append(f"requests can only fall between {FIRST_DAY} and {LAST_DAY}, so the range is cut to "
                     f"{clamped[0]} – {clamped[1]}")
    notice = f"The link's date range was changed: {'; '.join(notes)}." if notes else None
    return clamped, notice


def _seed_from_url() -> None:
    """Once per session, take the widget values from the URL (unknown values fall back to defaults)."""
    if st.session_state.get("_seeded"):
        return
    st.session_state["_seeded"] = True
    q = st.query_params
    choices = {"range": PRESETS, "tz": ZONES, "grain": GRAINS}
    for key, default in DEFAULTS.items():
        value = q.get(key, default)
        st.session_state.setdefault(key, value if value in choices[key] else default)
    if "start" in q or "end" in q:
        dates, notice = url_dates(q.get("start"), q.get("end"))
        if dates is not None:
            st.session_state.setdefault("dates", dates)
        if notice:
            st.session_state[NOTICE_KEY] = (notice, dates)
    for name, (_, param, _) in FILTERS.items():
        values = q.get_all(param)
        if values:  # an empty value is BLANK: the requests with no value in that field
            st.session_state.setdefault(f"f_{name}", list(values))


def _write_url(first: date | None, last: date | None, selected: dict[str, list[str]]) -> None:
    wanted: dict[str, str | list[str]] = {k: st.session_state[k] for k in DEFAULTS}
    if st.session_state["range"] == "custom" and first and last:
        wanted.update(start=first.isoformat(), end=last.isoformat())
    for name, values in selected.items():
        if values:
            wanted[FILTERS[name][1]] = values
    for key in list(st.query_params):
        if key not in wanted:
            del st.query_params[key]
    for key, value in wanted.items():
        if (st.query_params.get_all(key) if isinstance(value, list) else st.query_params.get(key)) != value:
            st.query_params[key] = value


def sidebar() -> View:
    """Draw the sidebar; returns the view and keeps it for the page (see `current`)."""
    _seed_from_url()
    with st.sidebar:
        preset = st.selectbox("Date range", list(PRESETS), format_func=PRESETS.__getitem__, key="range")
        tz = st.selectbox("Time zone", ZONES, key="tz", help="Day and month boundaries follow this zone.")
        today = datetime.now(zone(tz)).date()
        custom = None
        if preset == "custom":
            if "dates" not in st.session_state:
                st.session_state["dates"] = (today - timedelta(days=29), today)
            picked = st.date_input("From – to (inclusive)", key="dates", min_value=FIRST_DAY, max_value=LAST_DAY)
            notice = st.session_state.get(NOTICE_KEY)
            if notice and notice[1] in (None, st.session_state.get("dates")):  # until other dates are picked
                st.warning(notice[0])
            if isinstance(picked, (tuple, list)) and len(picked) == 2:
                custom = (picked[0], picked[1])
            else:
                st.caption("Pick the last day too.")
        first, last = date_bounds(preset, today, custom)
        selected: dict[str, list[str]] = {}
        for name, (label, _, _) in FILTERS.items():
            options = reads.distinct_values(name)
            key = f"f_{name}"
            if key in st.session_state:  # a value from the URL or another file that is not here any more
                st.session_state[key] = [v for v in st.session_state[key] if v in options]
            selected[name] = st.multiselect(label, options, key=key, placeholder="All",
                                            format_func=lambda v: BLANK_LABEL if v == BLANK else v)
        grain = st.selectbox("Granularity", GRAINS, key="grain")
    _write_url(first, last, selected)
    fields = {FILTERS[n][2]: tuple(v) for n, v in selected.items()}
    filters = make_filters(first, last, tz, **fields)
    label = f"{first} – {last}" if first else "all time"
    view = View(filters, grain, f"{label} ({tz})")
    st.session_state[VIEW_KEY] = view
    return view


def current() -> View:
    """The view the sidebar built in this run (the pages run after the sidebar)."""
    return st.session_state[VIEW_KEY]
