"""One module per log format; each maps a format to the extracted columns (see ingest/base.py)."""

from __future__ import annotations

import importlib
from types import ModuleType

# Detection asks every format; the highest score wins (ties: the earlier in this list).
FORMAT_MODULES = [
    "openai",
    "anthropic",
    "openrouter",
    "litellm",
    "langfuse",
    "helicone",
    "azure_trace",
    "mooncake",
    "generic",
]


def all_formats() -> list[ModuleType]:
    return [importlib.import_module(f"dashboard.ingest.formats.{name}") for name in FORMAT_MODULES]


def by_name(name: str) -> ModuleType:
    for fmt in all_formats():
        if name == fmt.NAME:
            return fmt
    known = ", ".join(f.NAME for f in all_formats())
    raise KeyError(f"unknown format {name!r}; known formats: {known}")
