"""One module per log format; each exports FORMAT, a base.Format declaring how it maps to the extracted columns."""

from __future__ import annotations

import importlib
import pkgutil

from dashboard.ingest.base import Format

# Detection asks every format; the highest score wins (ties: the earlier in this list). A module
# of this package not listed here is a format too, asked after these and before generic, the last resort.
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


def _module_names() -> list[str]:
    others = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in FORMAT_MODULES)
    return [*FORMAT_MODULES[:-1], *others, FORMAT_MODULES[-1]]


def all_formats() -> list[Format]:
    return [importlib.import_module(f"dashboard.ingest.formats.{name}").FORMAT for name in _module_names()]


def by_name(name: str) -> Format:
    for fmt in all_formats():
        if name == fmt.name:
            return fmt
    known = ", ".join(f.name for f in all_formats())
    raise KeyError(f"unknown format {name!r}; known formats: {known}")
