from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from dashboard.errors import DashboardError
from dashboard.forecasts.scenario import (
    ScenarioInputs,
    inputs_from_history,
    monte_carlo,
    month_usage,
    run_scenario,
    sensitivity,
)
from pricing import Catalog

M = 1_000_000
D = Decimal


def small_cost(inp: int, cr: int, cw: int, out: int, reasoning: int = 0) -> Decimal:
    """acme/small base rates, written out."""
    return (
        inp * D("0.5") / M
        + cr * D("0.05") / M
        + cw * D("0.625") / M
        + (out - reasoning) * D("2") / M
        + reasoning * D("3") / M
    )


def test_flat_month_against_hand_arithmetic(acme: Catalog) -> None:
    inputs = ScenarioInputs(
        routes=("acme/small",),
        requests_per_day=D(1000),
        input_tokens=D(2000),
        output_tokens=D(500),
        months=2,
        cache_hit_rate=D("0.4"),
        cache_write_share=D("0.1"),
    )
    route = run_scenario(inputs, catalog=acme).routes[0]
    # 1000/day * 30 days = 30,000 requests; prompt 60M = 24M read + 6M written + 30M input.
    month = route.months[0]
    assert month.requests == 30_000
    assert (month.usage.input_tokens, month.usage.cache_read_tokens, month.usage.cache_write_tokens) == (
        30_000_000,
        24_000_000,
        6_000_000,
    )
    assert month.input_usd == 30_000_000 * D("0.5") / M
    assert month.cache_read_usd == 24_000_000 * D("0.05") / M
    assert month.cache_write_usd == 6_000_000 * D("0.625") / M
    assert month.output_usd == 15_000_000 * D("2") / M
    assert month.total_usd == small_cost(30_000_000, 24_000_000, 6_000_000, 15_000_000)
    assert route.total_usd == 2 * small_cost(30_000_000, 24_000_000, 6_000_000, 15_000_000)




@pytest.mark.parametrize(("prompt", "off_input", "off_output"), [(2000, "0.1", "0.4"), (150_000, "0.2", "0.8")])
def test_a_peak_window_is_weighted_by_the_hours_of_the_week_it_covers(acme, prompt, off_input, off_output):
    inputs = ScenarioInputs(routes=("acme/peaky",), requests_per_day=D(100), input_tokens=D(prompt),
                            output_tokens=D(500), cache_hit_rate=D("0.25"), months=1)
    month = run_scenario(inputs, catalog=acme).routes[0].months[0]
    # 5 weekdays x 6 peak hours = 30 of the week's 168 hours; the other 138 at the tier (or base)
    # rates, which a window replaces whatever the prompt's size. Each mean is kept to the catalog's
    # precision, six decimals per 1M tokens, as a row covering a span is priced.
    def mean(peak: str, off: str) -> D:
        return ((30 * D(peak) + 138 * D(off)) / 168).quantize(D("0.000001"), rounding=ROUND_HALF_UP)
    requests = 3000
    read, uncached = requests * prompt // 4, requests * prompt * 3 // 4
    expected = (uncached * mean("0.5", off_input) + read * mean("0.05", str(D(off_input) / 10))
                + requests * 500 * mean("1.0", off_output)) / M
    assert month.total_usd == expected


def test_deepseek_is_priced_with_its_peak_hours_beside_the_flat_ourtoken_route() -> None:
    # The shipped catalog on 2026-12-07: DeepSeek V4.1-Flash 0.15 / 0.60 off-peak, 0.30 / 1.20 in the
    # peak hours 01-04 and 06-10 UTC on weekdays (35 of 168 hours); OurToken 0.112 / 0.224 at any hour.
    inputs = ScenarioInputs(routes=("ourtoken/deepseek-v4-flash", "deepseek/deepseek-v4-flash"),
                            requests_per_day=D(1000), input_tokens=D(2000), output_tokens=D(500), months=1)
    ourtoken, deepseek = (r.months[0].total_usd for r in run_scenario(inputs, at="2026-12-07T00:00:00Z").routes)
    assert ourtoken == 30 * (2_000_000 * D("0.112") + 500_000 * D("0.224")) / M == D("10.08")
    week = 30 * (2_000_000 * (133 * D("0.15") + 35 * D("0.30")) / 168
                 + 500_000 * (133 * D("0.60") + 35 * D("1.20")) / 168) / M
    assert deepseek == week == D("21.75")  # at the off-peak list alone it would be $18.00


def test_growth_compounds_per_month(acme: Catalog) -> None:
    inputs = ScenarioInputs(
        routes=("acme/small",),
        requests_per_day=D(1000),
        input_tokens=D(100),
        output_tokens=D(10),
        growth_pct=D(10),
        months=3,
    )
    months = run_scenario(inputs, catalog=acme).routes[0].months
    # month k has 1000 * 1.1^k requests per day, 30 days each
    assert [m.requests for m in months] == [30_000, 33_000, 36_300]
    assert months[2].total_usd == small_cost(36_300 * 100, 0, 0, 36_300 * 10)


def test_rounding_is_half_even_on_month_totals() -> None:
    inputs = ScenarioInputs(
        routes=("acme/small",),
        requests_per_day=D("0.15"),
        input_tokens=D("2.5"),
        output_tokens=D("0.75"),
        cache_hit_rate=D("0.25"),
        cache_write_share=D("0.15"),
        reasoning_share=D("0.5"),
    )
    requests, usage = month_usage(inputs, 0)
    assert requests == 4  # 0.15 * 30 = 4.5 -> 4
    # prompt 4 * 2.5 = 10: read 2.5 -> 2, written 1.5 -> 2, input the rest; output 3, reasoning 1.5 -> 2
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (6, 2, 2)
    assert (usage.output_tokens, usage.reasoning_tokens) == (3, 2)


def test_cache_shares_never_exceed_the_prompt() -> None:
    inputs = ScenarioInputs(
        routes=("acme/small",),
        requests_per_day=D("0.1"),
        input_tokens=D(1),
        output_tokens=D(0),
        cache_hit_rate=D("0.5"),
        cache_write_share=D("0.5"),
    )
    _, usage = month_usage(inputs, 0)  # 3 prompt tokens: 1.5 -> 2 read, 1.5 -> 2 written would be 4
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (0, 2, 1)


def test_reasoning_at_its_own_rate_and_tier_by_request_size(acme: Catalog) -> None:
    inputs = ScenarioInputs(
        routes=("acme/small",),
        requests_per_day=D(10),
        input_tokens=D(150_000),
        output_tokens=D(1000),
        reasoning_share=D("0.25"),
        months=1,
    )
    month = run_scenario(inputs, catalog=acme).routes[0].months[0]
    # 300 requests of 150k prompt tokens: each above the 100k tier, so tier rates apply to all.
    assert month.total_usd == (300 * 150_000 * D(1) / M + 300 * 750 * D(4) / M + 300 * 250 * D(6) / M)


def test_cheapest_route_is_marked(acme: Catalog) -> None:
    inputs = ScenarioInputs(
        routes=("acme/big", "acme/small"),
        requests_per_day=D(100),
        input_tokens=D(1000),
        output_tokens=D(100),
        months=1,
    )
    result = run_scenario(inputs, catalog=acme)
    assert [(r.route, r.cheapest) for r in result.routes] == [("acme/big", False), ("acme/small", True)]
    assert result.routes[0].total_usd == 3000 * 1000 * D(3) / M + 3000 * 100 * D(15) / M
    assert result.cheapest.route == "acme/small"


def test_users_times_requests_per_user() -> None:
    inputs = ScenarioInputs.for_users(250, "4.2", routes=("acme/small",), input_tokens=1, output_tokens=1)
    assert inputs.requests_per_day == D(1050)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cache_hit_rate": D("0.7"), "cache_write_share": D("0.4")}, "exceed 1"),
        ({"cache_hit_rate": D("1.5")}, "between 0 and 1"),
        ({"months": 0}, "1 to 120"),
        ({"growth_pct": D(-100)}, "above -100%"),
        ({"requests_per_day": D(-1)}, ">= 0"),
        ({"routes": ()}, "at least one route"),
    ],
    ids=["shares-over-1", "share-over-1", "no-months", "growth-minus-100", "negative-traffic", "no-route"],
)
def test_invalid_inputs_say_what_is_wrong(kwargs: dict, message: str) -> None:
    base = {"routes": ("acme/small",), "requests_per_day": D(1), "input_tokens": D(1), "output_tokens": D(1)}
    with pytest.raises(DashboardError, match=message):
        ScenarioInputs(**{**base, **kwargs})


def test_route_must_name_provider_and_model(acme: Catalog) -> None:
    inputs = ScenarioInputs(routes=("small",), requests_per_day=D(1), input_tokens=D(1), output_tokens=D(1))
    with pytest.raises(DashboardError, match="PROVIDER/MODEL"):
        run_scenario(inputs, catalog=acme)


def test_sensitivity_moves_each_input_by_20_percent(acme: Catalog) -> None:
    inputs = ScenarioInputs(
        routes=("acme/small",),
        requests_per_day=D(1000),
        input_tokens=D(2000),
        output_tokens=D(500),
        months=1,
        cache_hit_rate=D("0.9"),
        cache_write_share=D("0.1"),
    )
    rows = {r.input: r for r in sensitivity(inputs, catalog=acme)}
    base = small_cost(0, 54_000_000, 6_000_000, 15_000_000)
    assert rows["requests_per_day"].base_usd == base
    assert rows["requests_per_day"].high_usd == base * D("1.2")
    assert rows["requests_per_day"].low_usd == base * D("0.8")
    assert rows["output_tokens"].high_usd == base + 3_000_000 * D(2) / M
    # 0.9 * 1.2 would leave no room for the 10% written: capped at 0.9.
    assert rows["cache_hit_rate"].high_value == D("0.9")
    assert rows["growth_pct"].low_usd == rows["growth_pct"].high_usd == base  # one month: growth irrelevant
    swings = [r.swing_usd for r in sensitivity(inputs, catalog=acme)]
    assert swings == sorted(swings, reverse=True)


def test_monte_carlo_with_identical_requests_is_exact(acme: Catalog) -> None:
    n = 50
    samples = {
        "input_tokens": np.full(n, 700),
        "cache_read_tokens": np.full(n, 300),
        "output_tokens": np.full(n, 200),
    }
    result = monte_carlo(samples, [40, 40, 40], "acme/small", months=1, simulations=50, seed=1, catalog=acme)
    expected = small_cost(1200 * 700, 1200 * 300, 0, 1200 * 200)  # 30 days x 40 = 1200 requests
    assert (result[0].p10_usd, result[0].p50_usd, result[0].p90_usd) == (expected, expected, expected)


def test_monte_carlo_prices_each_tier_apart(acme: Catalog) -> None:
    samples = {
        "input_tokens": np.array([1000, 200_000]),
        "cache_read_tokens": np.array([0, 0]),
        "output_tokens": np.array([10, 10]),
    }
    costs = monte_carlo(samples, [1], "acme/small", simulations=200, seed=3, catalog=acme)[0]
    # 30 requests, each either small (base rates) or large (tier rates): the cost is one of these.
    possible = {
        k * (1000 * D("0.5") / M + 10 * D(2) / M) + (30 - k) * (200_000 * D(1) / M + 10 * D(4) / M)
        for k in range(31)
    }
    assert {costs.p10_usd, costs.p50_usd, costs.p90_usd} <= possible
    assert costs.p10_usd < costs.p50_usd < costs.p90_usd


def test_monte_carlo_is_seeded_and_ordered(acme: Catalog) -> None:
    rng = np.random.default_rng(7)
    samples = pd.DataFrame(
        {
            "input_tokens": rng.integers(100, 3000, 400),
            "cache_read_tokens": rng.integers(0, 2000, 400),
            "output_tokens": rng.integers(10, 800, 400),
        }
    )
    days = rng.integers(800, 1200, 45)
    a = monte_carlo(
        samples, days, "acme/small", months=2, growth_pct=10, simulations=200, seed=5, catalog=acme
    )
    b = monte_carlo(
        samples, days, "acme/small", months=2, growth_pct=10, simulations=200, seed=5, catalog=acme
    )
    assert a == b
    for m in a:
        assert m.p10_usd < m.p50_usd < m.p90_usd
    assert a[1].p50_usd > a[0].p50_usd * D("1.05")  # 10% more traffic in month 2


def test_monte_carlo_rejects_fractional_tokens(acme: Catalog) -> None:
    samples = {
        "input_tokens": np.array([1.5]),
        "cache_read_tokens": np.array([0]),
        "output_tokens": np.array([1]),
    }
    with pytest.raises(DashboardError, match="whole token counts"):
        monte_carlo(samples, [1], "acme/small", catalog=acme)


def test_inputs_from_history() -> None:
    days = pd.date_range("2026-01-01", periods=90, freq="D")
    # traffic growing exactly 10% per 30 days
    requests = [round(1000 * 1.1 ** (d / 30)) for d in range(90)]
    history = pd.DataFrame(
        {
            "day": days.date,
            "requests": requests,
            "input_tokens": [r * 600 for r in requests],
            "cache_read_tokens": [r * 300 for r in requests],
            "cache_write_tokens": [r * 100 for r in requests],
            "output_tokens": [r * 250 for r in requests],
            "reasoning_tokens": [r * 50 for r in requests],
        }
    )
    inputs = inputs_from_history(history, ["acme/small"], months=6)
    assert inputs.requests_per_day == (D(sum(requests[-30:])) / 30).quantize(D("0.01"))
    assert inputs.input_tokens == D(1000)
    assert inputs.output_tokens == D(250)
    assert inputs.cache_hit_rate == D(300) / D(1000)  # token-weighted: read / (input + read + write)
    assert inputs.cache_write_share == D("0.1")
    assert inputs.reasoning_share == D("0.2")
    assert abs(inputs.growth_pct - D(10)) <= D("0.2")
    assert inputs.months == 6


def test_inputs_from_history_dict_with_gaps_and_no_growth_fit() -> None:
    history = {
        "day": ["2026-01-01", "2026-01-03"],
        "requests": [10, 20],
        "input_tokens": [100, 200],
        "cache_read_tokens": [0, 0],
        "cache_write_tokens": [0, 0],
        "output_tokens": [30, 60],
    }
    inputs = inputs_from_history(history, ["acme/small"])
    assert inputs.requests_per_day == D(10)  # 30 requests over 3 calendar days, one without traffic
    assert inputs.growth_pct == 0  # under 28 days: no fit
    with pytest.raises(DashboardError, match="missing requests"):
        inputs_from_history({"day": ["2026-01-01"]}, ["acme/small"])
