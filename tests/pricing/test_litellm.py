"""LiteLLM's price map -> catalog files that load and price exactly."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing import Usage, cost, load_catalog
from pricing.catalog import MAX_RATE_DECIMALS
from pricing.litellm import convert_litellm, convert_litellm_report

FIXTURE = Path(__file__).parent / "fixtures" / "litellm_small.json"
SOURCE = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
CHECKED = date(2026, 11, 28)


def _data() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture
def converted(tmp_path: Path):
    files = convert_litellm(_data(), checked=CHECKED, source=SOURCE)
    paths = []
    for provider, text in files.items():
        path = tmp_path / f"{provider}.toml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return load_catalog(paths=paths)


def test_round_trip_loads_every_priced_chat_model(converted) -> None:
    assert sorted(converted.routes) == ["anthropic", "databricks", "gemini", "openai"]
    assert sorted(m.route for m in converted.models) == [
        "anthropic/claude-sonnet-4-5",
        "databricks/databricks-claude-sonnet-4",
        "gemini/gemini-2.5-pro",
        "openai/gpt-4o",
        "openai/gpt-4o-2024-05-13",
        "openai/o3-pro",
    ]
    period = converted.resolve("gpt-4o", "openai").periods[0]
    assert (period.source, period.checked, period.effective_from) == (f"{SOURCE} (gpt-4o)", CHECKED, None)


@pytest.mark.parametrize(
    ("model", "provider", "rates"),
    [
        pytest.param("gpt-4o", "openai", ("2.5", "10", "1.25", "2.5", None), id="scientific-notation"),
        pytest.param("o3-pro", "openai", ("20", "80", "20", "20", None), id="responses-mode-no-cache-price"),
        pytest.param("claude-sonnet-4-5", "anthropic", ("3", "15", "0.3", "3.75", "6"), id="cache-1h"),
        pytest.param("gemini-2.5-pro", "gemini", ("1.25", "10", "0.125", "1.25", None), id="prefixed-key"),
        pytest.param(
            "databricks-claude-sonnet-4",
            "databricks",
            ("2.99999", "15.00002", "2.99999", "2.99999", None),
            id="float-noise-rounded",
        ),
    ],
)
def test_rates_are_exact_per_million(converted, model: str, provider: str, rates: tuple) -> None:
    got = converted.resolve(model, provider).periods[0].rates
    i, o, cr, cw, cw1h = rates
    assert (got.input, got.output, got.cache_read, got.cache_write) == (
        Decimal(i),
        Decimal(o),
        Decimal(cr),
        Decimal(cw),
    )
    assert got.cache_write_1h == (None if cw1h is None else Decimal(cw1h))


def test_context_tier_round_trip_prices_the_whole_request(converted) -> None:
    entry = converted.resolve("claude-sonnet-4-5", "anthropic")
    tier = entry.periods[0].tiers[0]
    assert tier.above_prompt_tokens == 200_000
    assert (tier.rates.input, tier.rates.output, tier.rates.cache_read) == (
        Decimal(6),
        Decimal("22.5"),
        Decimal("0.6"),
    )
    assert (tier.rates.cache_write, tier.rates.cache_write_1h) == (Decimal("7.5"), Decimal(12))
    usage = Usage(input_tokens=150_001, cache_write_1h_tokens=50_000, output_tokens=2000)
    got = cost(usage, "claude-sonnet-4-5", "anthropic", at="2026-11-28T00:00:00Z", catalog=converted)
    assert got.total_usd == (150_001 * Decimal(6) + 50_000 * Decimal(12) + 2000 * Decimal("22.5")) / 1_000_000


def test_gemini_tier_ignores_priority_rates_and_keeps_reasoning_on_base(converted) -> None:
    period = converted.resolve("gemini-2.5-pro", "gemini").periods[0]
    assert period.rates.reasoning == Decimal(10)
    tier = period.tiers[0]
    # the `_priority` variant (4.5) is not the standard tier rate (2.5)
    assert (tier.rates.input, tier.rates.output, tier.rates.cache_read) == (
        Decimal("2.5"),
        Decimal(15),
        Decimal("0.25"),
    )
    # LiteLLM gives no cache-write price, so writes bill as the tier's input
    assert tier.rates.cache_write == Decimal("2.5")


def test_provider_prefixed_duplicate_becomes_alias(converted) -> None:
    entry = converted.resolve("gpt-4o", "openai")
    assert entry.aliases == ("openai/gpt-4o",)
    assert converted.resolve("openai/gpt-4o", "openai") is entry


def test_skipped_entries_have_reasons() -> None:
    report = convert_litellm_report(_data(), checked=CHECKED, source=SOURCE)
    reasons = {s.key: s.reason for s in report.skipped}
    assert set(reasons) == {
        "sample_spec",
        "text-embedding-3-small",
        "dall-e-3",
        "deepseek/deepseek-unpriced",
        "openai/gpt-4o-2024-05-13",
    }
    assert "schema example" in reasons["sample_spec"]
    assert "'embedding'" in reasons["text-embedding-3-small"]
    assert "'image_generation'" in reasons["dall-e-3"]
    assert "output_cost_per_token" in reasons["deepseek/deepseek-unpriced"]
    assert "priced differently by 'gpt-4o-2024-05-13'" in reasons["openai/gpt-4o-2024-05-13"]
    # the first entry wins: the dated snapshot keeps its own (higher) price
    assert "input = 5\n" in report.files["openai"]


def test_rounding_is_recorded_in_report_and_file() -> None:
    report = convert_litellm_report(_data(), checked=CHECKED, source=SOURCE)
    assert report.rounded == [
        "databricks/databricks-claude-sonnet-4: input_cost_per_token 2.9999900000000002e-06 is "
        "2.9999900000000002 per 1M tokens, rounded to 2.99999",
        "databricks/databricks-claude-sonnet-4: output_cost_per_token 1.5000020000000002e-05 is "
        "15.000020000000002 per 1M tokens, rounded to 15.00002",
    ]
    assert (
        "# rounded: databricks/databricks-claude-sonnet-4: input_cost_per_token" in report.files["databricks"]
    )


@pytest.mark.parametrize(
    ("per_token", "per_million"),
    [
        pytest.param(2.5e-06, "2.5", id="2.5e-06"),
        pytest.param(1e-05, "10", id="1e-05"),
        pytest.param(7.5e-08, "0.075", id="7.5e-08"),
        pytest.param(3.625e-09, "0.003625", id="3.625e-09"),
        pytest.param(0.00012, "120", id="0.00012"),
        pytest.param(0, "0", id="int-zero"),
        pytest.param("1.1e-06", "1.1", id="string"),
    ],
)
def test_per_token_to_per_million(per_token, per_million: str) -> None:
    data = {
        "m": {
            "litellm_provider": "x",
            "mode": "chat",
            "input_cost_per_token": per_token,
            "output_cost_per_token": per_token,
        }
    }
    report = convert_litellm_report(data, checked=CHECKED, source=SOURCE)
    assert f"input = {per_million}\n" in report.files["x"]
    assert report.rounded == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(-1e-06, "finite number >= 0", id="negative"),
        pytest.param(True, "must be a number", id="bool"),
        pytest.param("cheap", "not a number", id="text"),
        pytest.param(float("nan"), "finite number >= 0", id="nan"),
    ],
)
def test_bad_rates_are_skipped_not_guessed(value, reason: str) -> None:
    data = {
        "m": {
            "litellm_provider": "x",
            "mode": "chat",
            "input_cost_per_token": value,
            "output_cost_per_token": 1e-06,
        }
    }
    report = convert_litellm_report(data, checked=CHECKED, source=SOURCE)
    assert report.files == {}
    assert len(report.skipped) == 1
    assert reason in report.skipped[0].reason


@given(
    st.decimals(
        min_value=0, max_value=10_000, places=MAX_RATE_DECIMALS, allow_nan=False, allow_infinity=False
    )
)
def test_a_catalog_rate_survives_litellm_float_encoding(rate: Decimal) -> None:
    # LiteLLM stores rate / 1e6 as a float; the conversion must give the rate back exactly
    per_token = float(rate) / 1_000_000
    data = {
        "m": {
            "litellm_provider": "x",
            "mode": "chat",
            "input_cost_per_token": per_token,
            "output_cost_per_token": per_token,
        }
    }
    text = convert_litellm(data, checked=CHECKED, source=SOURCE)["x"]
    line = next(ln for ln in text.splitlines() if ln.startswith("input = "))
    assert Decimal(line.removeprefix("input = ")) == rate


def test_a_rounded_rate_of_a_model_named_with_a_newline_stays_a_comment(tmp_path: Path) -> None:
    """The rounding note names the LiteLLM key; a newline in it must not start a line of TOML."""
    key = 'odd\n[route]\nprovider = "evil"'
    data = {key: {"litellm_provider": "x", "mode": "chat", "input_cost_per_token": 2.9999900000000002e-06,
                  "output_cost_per_token": 1e-06}}
    text = convert_litellm(data, checked=CHECKED, source=SOURCE)["x"]
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    entry = load_catalog(paths=[path]).resolve(key, "x")
    assert (entry.provider, entry.periods[0].rates.input) == ("x", Decimal("2.99999"))
    assert "# rounded: odd\\n[route]" in text
