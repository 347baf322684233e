"""Every shipped price, checked against rates written here by hand.

The expected rates below are typed from the vendors' pages (see docs/sources.md), not read
from the catalog, so a typo in a catalog file fails here. Adding a model or a period to a
catalog file without adding it to EXPECTED fails too.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing import UnknownModelError, Usage, cost, load_catalog, normalize_usage

CATALOG = load_catalog()  # the shipped files only, never a local overlay

# Rates per 1M tokens: (input, output, cache_read, cache_write, cache_write_1h or None).
Rates = tuple[str, str, str, str, str | None]
# One row per price period: a moment inside it, its base rates, an optional context tier
# (above_prompt_tokens, rates) and an optional peak window (a moment inside it, rates).
Row = tuple[str, Rates, tuple[int, Rates] | None, tuple[str, Rates] | None]

ANY_TIME = "2026-11-24T12:00:00Z"  # a Tuesday, outside every peak window

SONNET4: Rates = ("3", "15", "0.3", "3.75", "6")
SONNET4_LONG: Rates = ("6", "22.5", "0.6", "7.5", "12")
SONNET5: Rates = ("2", "10", "0.2", "2.5", "4")
OPUS45: Rates = ("5", "25", "0.5", "6.25", "10")
OPUS46_LONG: Rates = ("10", "37.5", "1", "12.5", "20")
OPUS4: Rates = ("15", "75", "1.5", "18.75", "30")
GEMINI3_PRO: Rates = ("2", "12", "0.2", "0", None)
GEMINI3_PRO_LONG: Rates = ("4", "18", "0.4", "0", None)

EXPECTED: dict[str, list[Row]] = {
    "ourtoken/deepseek-v4-flash": [(ANY_TIME, ("0.112", "0.224", "0.002", "0", None), None, None)],
    "deepseek/deepseek-v4-flash": [
        ("2026-04-25T12:00:00Z", ("0.14", "0.28", "0.028", "0", None), None, None),
        ("2026-05-05T12:00:00Z", ("0.14", "0.28", "0.0028", "0", None), None, None),
        (
            "2026-08-18T12:00:00Z",
            ("0.22", "0.66", "0.007", "0", None),
            None,
            ("2026-08-18T02:00:00Z", ("0.44", "1.32", "0.014", "0", None)),
        ),
        (
            "2026-08-25T12:00:00Z",
            ("0.22", "0.66", "0.007", "0", None),
            None,
            ("2026-08-25T07:00:00Z", ("0.44", "1.32", "0.014", "0", None)),
        ),
        (
            "2026-09-15T12:00:00Z",
            ("0.15", "0.6", "0.003", "0", None),
            None,
            ("2026-09-15T09:00:00Z", ("0.3", "1.2", "0.006", "0", None)),
        ),
    ],
    "deepseek/deepseek-v4-pro": [
        ("2026-04-25T12:00:00Z", ("0.435", "0.87", "0.03625", "0", None), None, None),
        ("2026-05-05T12:00:00Z", ("0.435", "0.87", "0.003625", "0", None), None, None),
        (
            "2026-08-18T12:00:00Z",
            ("0.66", "1.98", "0.022", "0", None),
            None,
            ("2026-08-18T03:00:00Z", ("1.32", "3.96", "0.044", "0", None)),
        ),
        (
            "2026-08-25T12:00:00Z",
            ("0.66", "1.98", "0.022", "0", None),
            None,
            ("2026-08-25T01:00:00Z", ("1.32", "3.96", "0.044", "0", None)),
        ),
    ],
    "anthropic/claude-sonnet-5-5": [
        ("2026-10-01T12:00:00Z", SONNET5, None, None),
        ("2026-10-08T12:00:00Z", ("2", "10", "0.1", "2.5", "4"), None, None),
    ],
    "anthropic/claude-sonnet-5": [(ANY_TIME, SONNET5, None, None)],
    "anthropic/claude-haiku-5-5": [
        (
            ANY_TIME,
            ("0.1", "0.5", "0.01", "0.125", "0.2"),
            (100_000, ("0.5", "2.5", "0.05", "0.625", "1")),
            None,
        ),
    ],
    # A long-context premium until 1M context became generally available on 2026-03-13.
    "anthropic/claude-sonnet-4-6": [
        ("2026-03-01T12:00:00Z", SONNET4, (200_000, SONNET4_LONG), None),
        (ANY_TIME, SONNET4, None, None),
    ],
    "anthropic/claude-sonnet-4-5": [(ANY_TIME, SONNET4, (200_000, SONNET4_LONG), None)],
    "anthropic/claude-sonnet-4": [(ANY_TIME, SONNET4, (200_000, SONNET4_LONG), None)],
    "anthropic/claude-3-7-sonnet": [(ANY_TIME, SONNET4, None, None)],
    "anthropic/claude-3-5-sonnet": [(ANY_TIME, SONNET4, None, None)],
    "anthropic/claude-opus-4-7": [(ANY_TIME, OPUS45, None, None)],
    "anthropic/claude-opus-4-6": [
        ("2026-03-01T12:00:00Z", OPUS45, (200_000, OPUS46_LONG), None),
        (ANY_TIME, OPUS45, None, None),
    ],
    "anthropic/claude-opus-4-5": [(ANY_TIME, OPUS45, None, None)],
    "anthropic/claude-opus-4-1": [(ANY_TIME, OPUS4, None, None)],
    "anthropic/claude-opus-4": [(ANY_TIME, OPUS4, None, None)],
    "anthropic/claude-haiku-4-5": [(ANY_TIME, ("1", "5", "0.1", "1.25", "2"), None, None)],
    "anthropic/claude-3-5-haiku": [(ANY_TIME, ("0.8", "4", "0.08", "1", "1.6"), None, None)],
    "anthropic/claude-3-haiku": [(ANY_TIME, ("0.25", "1.25", "0.03", "0.3", "0.5"), None, None)],
    "openai/gpt-5.5": [
        (ANY_TIME, ("5", "30", "0.5", "0", None), (272_000, ("10", "45", "1", "0", None)), None)
    ],
    "openai/gpt-5.4": [
        (ANY_TIME, ("2.5", "15", "0.25", "0", None), (272_000, ("5", "22.5", "0.5", "0", None)), None)
    ],
    "openai/gpt-5.4-mini": [(ANY_TIME, ("0.75", "4.5", "0.075", "0", None), None, None)],
    "openai/gpt-5.4-nano": [(ANY_TIME, ("0.2", "1.25", "0.02", "0", None), None, None)],
    "openai/gpt-5.2": [(ANY_TIME, ("1.75", "14", "0.175", "0", None), None, None)],
    "openai/gpt-5.1": [(ANY_TIME, ("1.25", "10", "0.125", "0", None), None, None)],
    "openai/gpt-5": [(ANY_TIME, ("1.25", "10", "0.125", "0", None), None, None)],
    "openai/gpt-5-mini": [(ANY_TIME, ("0.25", "2", "0.025", "0", None), None, None)],
    "openai/gpt-5-nano": [(ANY_TIME, ("0.05", "0.4", "0.005", "0", None), None, None)],
    "openai/gpt-4.1": [(ANY_TIME, ("2", "8", "0.5", "0", None), None, None)],
    "openai/gpt-4.1-mini": [(ANY_TIME, ("0.4", "1.6", "0.1", "0", None), None, None)],
    "openai/gpt-4.1-nano": [(ANY_TIME, ("0.1", "0.4", "0.025", "0", None), None, None)],
    "openai/gpt-4o": [(ANY_TIME, ("2.5", "10", "1.25", "0", None), None, None)],
    "openai/gpt-4o-mini": [(ANY_TIME, ("0.15", "0.6", "0.075", "0", None), None, None)],
    "openai/o3": [
        ("2025-05-01T12:00:00Z", ("10", "40", "2.5", "0", None), None, None),
        ("2025-06-10T00:00:00Z", ("2", "8", "0.5", "0", None), None, None),
    ],
    "openai/o4-mini": [(ANY_TIME, ("1.1", "4.4", "0.275", "0", None), None, None)],
    "google/gemini-3.5-flash": [(ANY_TIME, ("1.5", "9", "0.15", "0", None), None, None)],
    "google/gemini-3.1-pro-preview": [(ANY_TIME, GEMINI3_PRO, (200_000, GEMINI3_PRO_LONG), None)],
    "google/gemini-3-pro-preview": [(ANY_TIME, GEMINI3_PRO, (200_000, GEMINI3_PRO_LONG), None)],
    "google/gemini-3-flash-preview": [(ANY_TIME, ("0.5", "3", "0.05", "0", None), None, None)],
    "google/gemini-2.5-pro": [
        (ANY_TIME, ("1.25", "10", "0.125", "0", None), (200_000, ("2.5", "15", "0.25", "0", None)), None),
    ],
    "google/gemini-2.5-flash": [(ANY_TIME, ("0.3", "2.5", "0.03", "0", None), None, None)],
    "google/gemini-2.5-flash-lite": [(ANY_TIME, ("0.1", "0.4", "0.01", "0", None), None, None)],
    "google/gemini-2.0-flash": [(ANY_TIME, ("0.1", "0.4", "0.025", "0", None), None, None)],
}

# A request touching every bucket, well below every context tier.
SMALL = Usage(
    input_tokens=1000,
    cache_read_tokens=2000,
    cache_write_tokens=3000,
    cache_write_1h_tokens=4000,
    output_tokens=5000,
)


def expected_usd(usage: Usage, rates: Rates) -> Decimal:
    """Bucket x rate, summed; a route without a 1-hour write class bills it as `cache_write`."""
    i, o, cr, cw, cw1h = (Decimal(r) if r is not None else None for r in rates)
    assert i is not None and o is not None and cr is not None and cw is not None
    return (
        usage.input_tokens * i
        + usage.cache_read_tokens * cr
        + usage.cache_write_tokens * cw
        + usage.cache_write_1h_tokens * (cw if cw1h is None else cw1h)
        + usage.output_tokens * o
    ) / 1_000_000


def _split(route: str) -> tuple[str, str]:
    provider, model = route.split("/", 1)
    return provider, model


ROWS = [pytest.param(route, row, id=f"{route}@{row[0]}") for route, rows in EXPECTED.items() for row in rows]
TIERS = [
    pytest.param(route, row, id=f"{route}@{row[0]}") for route, row in (p.values for p in ROWS) if row[2]
]
PEAKS = [
    pytest.param(route, row, id=f"{route}@{row[3][0]}") for route, row in (p.values for p in ROWS) if row[3]
]


def test_every_shipped_route_has_expected_rates() -> None:
    shipped = {m.route for m in CATALOG.models}
    assert shipped == set(EXPECTED), (
        f"missing here: {sorted(shipped - set(EXPECTED))}; not shipped: {sorted(set(EXPECTED) - shipped)}"
    )


@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_period_count_matches(route: str) -> None:
    provider, model = _split(route)
    assert len(CATALOG.resolve(model, provider).periods) == len(EXPECTED[route])


@pytest.mark.parametrize(("route", "row"), ROWS)
def test_base_rates(route: str, row: Row) -> None:
    at, rates, _, _ = row
    provider, model = _split(route)
    got = cost(SMALL, model, provider, at=at, catalog=CATALOG)
    assert got.window is None and got.tier is None
    assert got.total_usd == expected_usd(SMALL, rates)
    assert got.input_usd == SMALL.input_tokens * Decimal(rates[0]) / 1_000_000
    assert got.output_usd == SMALL.output_tokens * Decimal(rates[1]) / 1_000_000


@pytest.mark.parametrize(("route", "row"), TIERS)
def test_context_tier_applies_above_threshold_only(route: str, row: Row) -> None:
    at, rates, tier, _ = row
    assert tier is not None
    above, tier_rates = tier
    provider, model = _split(route)
    # input + cache reads + cache writes exactly at the threshold: base rates
    at_limit = Usage(
        input_tokens=above - 9000,
        cache_read_tokens=2000,
        cache_write_tokens=3000,
        cache_write_1h_tokens=4000,
        output_tokens=5000,
    )
    one_more = Usage(
        input_tokens=above - 8999,
        cache_read_tokens=2000,
        cache_write_tokens=3000,
        cache_write_1h_tokens=4000,
        output_tokens=5000,
    )
    assert at_limit.prompt_tokens == above
    base = cost(at_limit, model, provider, at=at, catalog=CATALOG)
    assert base.tier is None
    assert base.total_usd == expected_usd(at_limit, rates)
    long = cost(one_more, model, provider, at=at, catalog=CATALOG)
    assert long.tier == above
    assert long.total_usd == expected_usd(one_more, tier_rates)


@pytest.mark.parametrize(("route", "row"), PEAKS)
def test_peak_window_rates(route: str, row: Row) -> None:
    _, rates, _, peak = row
    assert peak is not None
    peak_at, peak_rates = peak
    provider, model = _split(route)
    got = cost(SMALL, model, provider, at=peak_at, catalog=CATALOG)
    assert got.window == "peak"
    assert got.total_usd == expected_usd(SMALL, peak_rates)
    # off-peak is exactly half of peak
    assert expected_usd(SMALL, rates) * 2 == expected_usd(SMALL, peak_rates)


@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_aliases_resolve_to_their_model(route: str) -> None:
    provider, model = _split(route)
    entry = CATALOG.resolve(model, provider)
    for alias in entry.aliases:
        assert CATALOG.resolve(alias, provider) is entry
        assert CATALOG.resolve(alias.upper(), provider) is entry


# ---------------------------------------------------------------- a real DeepSeek response

DEEPSEEK_BODY = {
    "id": "b0f7c1e2-8d1a-4c55-9a59-6c1f3b0f2a11",
    "object": "chat.completion",
    "created": 1764322113,
    "model": "deepseek-v4-flash",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "...", "reasoning_content": "..."},
        }
    ],
    "usage": {
        "prompt_tokens": 102056,
        "completion_tokens": 252,
        "total_tokens": 102308,
        "prompt_tokens_details": {"cached_tokens": 94464},
        "completion_tokens_details": {"reasoning_tokens": 44},
        "prompt_cache_hit_tokens": 94464,
        "prompt_cache_miss_tokens": 7592,
    },
    "system_fingerprint": "fp_8802369eaa_prod0820_fp8_kvcache",
}
OPENAI_SHAPE = {
    "model": "deepseek-v4-flash",
    "usage": {
        "prompt_tokens": 102056,
        "completion_tokens": 252,
        "total_tokens": 102308,
        "prompt_tokens_details": {"cached_tokens": 94464},
        "completion_tokens_details": {"reasoning_tokens": 44},
    },
}


@pytest.mark.parametrize("body", [DEEPSEEK_BODY, OPENAI_SHAPE], ids=["deepseek-native", "openai-shape"])
def test_real_v4_flash_response_on_ourtoken(body: dict) -> None:
    usage = normalize_usage(body)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        7592,
        94464,
        252,
        44,
    )
    got = cost(usage, "deepseek-v4-flash", "ourtoken", at=ANY_TIME, catalog=CATALOG)
    assert got.total_usd == Decimal("0.001095680")
    assert (
        got.total_usd
        == (7592 * Decimal("0.112") + 94464 * Decimal("0.002") + 252 * Decimal("0.224")) / 1_000_000
    )


REAL = normalize_usage(DEEPSEEK_BODY)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(
            "2026-08-16T15:59:59Z",
            (7592 * Decimal("0.14") + 94464 * Decimal("0.0028") + 252 * Decimal("0.28")) / 1_000_000,
            id="before-peak-billing-flat",
        ),
        pytest.param(
            "2026-08-16T16:00:00Z",
            (7592 * Decimal("0.22") + 94464 * Decimal("0.007") + 252 * Decimal("0.66")) / 1_000_000,
            id="first-second-of-peak-billing-offpeak",
        ),
        pytest.param(
            "2026-08-25T02:30:00Z",
            (7592 * Decimal("0.44") + 94464 * Decimal("0.014") + 252 * Decimal("1.32")) / 1_000_000,
            id="tuesday-peak",
        ),
        pytest.param(
            "2026-08-25T04:00:00Z",
            (7592 * Decimal("0.22") + 94464 * Decimal("0.007") + 252 * Decimal("0.66")) / 1_000_000,
            id="tuesday-04utc-offpeak",
        ),
        pytest.param(
            "2026-08-22T02:00:00Z",
            (7592 * Decimal("0.44") + 94464 * Decimal("0.014") + 252 * Decimal("1.32")) / 1_000_000,
            id="saturday-before-weekend-rule-peak",
        ),
        pytest.param(
            "2026-08-29T02:00:00Z",
            (7592 * Decimal("0.22") + 94464 * Decimal("0.007") + 252 * Decimal("0.66")) / 1_000_000,
            id="saturday-after-weekend-rule-offpeak",
        ),
        pytest.param(
            "2026-09-15T09:59:59Z",
            (7592 * Decimal("0.3") + 94464 * Decimal("0.006") + 252 * Decimal("1.2")) / 1_000_000,
            id="flash-v4.1-price-peak",
        ),
        pytest.param(
            "2026-09-15T10:00:00Z",
            (7592 * Decimal("0.15") + 94464 * Decimal("0.003") + 252 * Decimal("0.6")) / 1_000_000,
            id="flash-v4.1-price-offpeak",
        ),
    ],
)
def test_deepseek_list_price_by_time(at: str, expected: Decimal) -> None:
    got = cost(REAL, "deepseek-v4-flash", "deepseek", at=at, catalog=CATALOG)
    assert got.total_usd == expected


def test_deepseek_peak_and_offpeak_differ() -> None:
    peak = cost(REAL, "deepseek-v4-flash", "deepseek", at="2026-08-25T02:30:00Z", catalog=CATALOG)
    off = cost(REAL, "deepseek-v4-flash", "deepseek", at="2026-08-25T12:00:00Z", catalog=CATALOG)
    assert (peak.window, off.window) == ("peak", None)
    assert peak.total_usd == Decimal("0.004995616")
    assert off.total_usd == Decimal("0.002497808")


def test_legacy_deepseek_names_share_the_flash_price() -> None:
    entry = CATALOG.resolve("deepseek-v4-flash", "deepseek")
    for name in ("deepseek-chat", "deepseek-reasoner", "deepseek-flash", "DeepSeek/deepseek-flash"):
        assert CATALOG.resolve(name, "deepseek") is entry
    # without a route the vendor's own list wins over the reseller
    assert CATALOG.resolve("deepseek-v4-flash").provider == "deepseek"


# ---------------------------------------------------------------- Anthropic cache writes and tiers


def test_anthropic_one_hour_write_costs_more_than_five_minute_write() -> None:
    five = cost(
        Usage(cache_write_tokens=10_000), "claude-sonnet-4-5", "anthropic", at=ANY_TIME, catalog=CATALOG
    )
    hour = cost(
        Usage(cache_write_1h_tokens=10_000), "claude-sonnet-4-5", "anthropic", at=ANY_TIME, catalog=CATALOG
    )
    assert five.total_usd == five.cache_write_usd == 10_000 * Decimal("3.75") / 1_000_000
    assert hour.total_usd == hour.cache_write_1h_usd == 10_000 * Decimal(6) / 1_000_000


def test_anthropic_response_with_split_cache_creation() -> None:
    body = {
        "type": "message",
        "model": "claude-sonnet-4-5-20250929",
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 3000,
            "cache_read_input_tokens": 45_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 800,
        },
    }
    usage = normalize_usage(body)
    got = cost(usage, "claude-sonnet-4-5-20250929", "anthropic", at=ANY_TIME, catalog=CATALOG)
    assert got.model == "claude-sonnet-4-5"
    assert (
        got.total_usd
        == (
            12 * Decimal(3)
            + 45_000 * Decimal("0.3")
            + 1000 * Decimal("3.75")
            + 2000 * Decimal(6)
            + 800 * Decimal(15)
        )
        / 1_000_000
    )


def test_sonnet_long_context_switches_the_whole_request() -> None:
    at_limit = Usage(input_tokens=150_000, cache_read_tokens=50_000, output_tokens=1000)
    above = Usage(input_tokens=150_001, cache_read_tokens=50_000, output_tokens=1000)
    base = cost(at_limit, "claude-sonnet-4-5", "anthropic", at=ANY_TIME, catalog=CATALOG)
    long = cost(above, "claude-sonnet-4-5", "anthropic", at=ANY_TIME, catalog=CATALOG)
    assert base.total_usd == (150_000 * Decimal(3) + 50_000 * Decimal("0.3") + 1000 * Decimal(15)) / 1_000_000
    assert (
        long.total_usd
        == (150_001 * Decimal(6) + 50_000 * Decimal("0.6") + 1000 * Decimal("22.5")) / 1_000_000
    )
    assert long.output_usd == 1000 * Decimal("22.5") / 1_000_000


# ---------------------------------------------------------------- unknown models


@pytest.mark.parametrize(
    ("model", "provider", "close"),
    [
        pytest.param("claude-sonet-4-5", "anthropic", "claude-sonnet-4-5", id="typo"),
        pytest.param("gpt-4.2", "openai", "gpt-4.1", id="unreleased"),
        pytest.param("gemini-2.5-prp", None, "gemini-2.5-pro", id="no-route"),
    ],
)
def test_unknown_model_lists_close_ids(model: str, provider: str | None, close: str) -> None:
    with pytest.raises(UnknownModelError) as err:
        cost(SMALL, model, provider, at=ANY_TIME, catalog=CATALOG)
    message = str(err.value)
    assert repr(model) in message
    assert close in message
