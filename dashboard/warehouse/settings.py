"""Workspace settings the Import page and `python -m dashboard import` share, kept in the warehouse.

Default routes: "traffic to vendor V goes through route R" (`deepseek` -> `ourtoken`), one
`settings` row per vendor (key `default_route:V`). How an import applies them is decided in
`ingest.survey.resolve_options`.

Import profiles: the choices made for a source and format (route, model, time zone of naive
times, cached-token semantics, column map), one row per (source, format) in `import_profiles`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dashboard.errors import mask_value
from dashboard.warehouse.connection import Warehouse

_ROUTE_KEY = "default_route:"


def default_routes(wh: Warehouse) -> dict[str, str]:
    """upstream vendor -> the route its traffic is billed through, by vendor."""
    rows = wh.query("SELECT key, value FROM settings WHERE starts_with(key, ?) ORDER BY key", [_ROUTE_KEY]).fetchall()
    return {key.removeprefix(_ROUTE_KEY): value for key, value in rows}


def set_default_route(wh: Warehouse, vendor: str, route: str) -> None:
    vendor, route = vendor.strip().lower(), route.strip().lower()
    if not vendor or not route:
        raise ValueError("a default route needs both a vendor and a route")
    wh.query("INSERT OR REPLACE INTO settings VALUES (?, ?)", [_ROUTE_KEY + vendor, route])


def delete_default_route(wh: Warehouse, vendor: str) -> None:
    wh.query("DELETE FROM settings WHERE key = ?", [_ROUTE_KEY + vendor])


@dataclass(frozen=True)
class Profile:
    """What was chosen for files of one source and format; None: as in the file."""

    source: str
    format: str
    provider: str | None = None
    model: str | None = None
    tz: str | None = None
    cached_included: bool | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # header -> canonical field
    saved_at: datetime | None = None


_COLUMNS = "source, format, provider, model, tz, cached_included, mapping, saved_at"


def _profile(row: tuple) -> Profile:
    try:
        mapping = json.loads(row[6] or "{}")
    except ValueError:
        mapping = {}
    if not isinstance(mapping, dict):
        mapping = {}
    return Profile(row[0], row[1], row[2], row[3], row[4], row[5],
                   {str(k): str(v) for k, v in mapping.items()}, row[7])


def save_profile(wh: Warehouse, profile: Profile) -> None:
    """Store `profile`, with a key typed into any of its names, or heading a file's column, cut to its hint."""
    mapping = {mask_value(k): mask_value(v) for k, v in profile.mapping.items()}
    wh.query(
        f"INSERT OR REPLACE INTO import_profiles ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [mask_value(profile.source), profile.format, mask_value(profile.provider), mask_value(profile.model),
         mask_value(profile.tz), profile.cached_included, json.dumps(mapping, sort_keys=True),
         profile.saved_at or datetime.now(UTC)],
    )


def profiles(wh: Warehouse) -> list[Profile]:
    """Every saved profile, the most recently saved first."""
    rows = wh.query(f"SELECT {_COLUMNS} FROM import_profiles ORDER BY saved_at DESC, source, format").fetchall()
    return [_profile(r) for r in rows]


def profile(wh: Warehouse, source: str, fmt: str) -> Profile | None:
    row = wh.query(f"SELECT {_COLUMNS} FROM import_profiles WHERE source = ? AND format = ?", [source, fmt]).fetchone()
    return _profile(row) if row else None


def delete_profile(wh: Warehouse, source: str, fmt: str) -> None:
    wh.query("DELETE FROM import_profiles WHERE source = ? AND format = ?", [source, fmt])
