"""Live sample calls to OpenAI-compatible endpoints: measured, priced and recorded (no Streamlit)."""

from dashboard.live.client import (
    ApiKey,
    CallFailed,
    CallResult,
    ChatRequest,
    Endpoint,
    acall_chat,
    call_chat,
    check_base_url,
    resolve_api_key,
)
from dashboard.live.experiments import (
    CacheProbe,
    Comparison,
    Percentiles,
    SampleReport,
    Target,
    cache_probe,
    compare,
    percentile,
    sample_run,
    summarize,
)
from dashboard.live.keys import NamedKey, named_keys
from dashboard.live.presets import DEFAULT_BASE_URL, DEFAULT_KEY_ENV, PRESETS, Preset, preset_for_base_url
from dashboard.live.record import record_calls, request_row
from dashboard.live.redact import scrub

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_KEY_ENV",
    "PRESETS",
    "ApiKey",
    "CacheProbe",
    "CallFailed",
    "CallResult",
    "ChatRequest",
    "Comparison",
    "Endpoint",
    "NamedKey",
    "Percentiles",
    "Preset",
    "SampleReport",
    "Target",
    "acall_chat",
    "cache_probe",
    "call_chat",
    "check_base_url",
    "compare",
    "named_keys",
    "percentile",
    "preset_for_base_url",
    "record_calls",
    "request_row",
    "resolve_api_key",
    "sample_run",
    "scrub",
    "summarize",
]
