"""Derived metrics, each defined once: a SQL fragment and a Python function side by side.

The SQL fragments read the columns of a priced request row (`pricing.sql.priced_requests_sql`,
under the alias `q` unless told otherwise) and aggregate over a GROUP BY; the Python
functions take the same sums. tests/dashboard/test_metrics.py holds the two against each
other on the same rows.

- **prompt tokens**: every prompt token, whichever bucket bills it: input + cache read +
  cache write (5 min) + cache write (1 h). The buckets are disjoint, so this is a plain sum.
  The pricing engine, which imports nothing from here, sums the same buckets for one
  request (`pricing.Usage.prompt_tokens`) to pick a context tier; the test holds the two equal.
- **cache hit rate**: cache-read tokens / prompt tokens, weighted by tokens over the whole
  period (a sum over a sum, never a mean of per-request ratios); unknown (None, NULL) when
  there are no prompt tokens. DuckDB divides in DOUBLE, which is fine for a share; Python
  gives the Decimal.
- **cache savings**: the cache-read tokens at the input rate of the price they were billed
  at, minus what they cost at the cache-read rate. Unpriced requests add nothing.
- **cost per 1,000 requests**: cost x 1,000 / requests (a row standing for n requests counts
  n), rounded half up to the 12 decimals of every computed cost, in SQL as in Python
  (DuckDB has no exact DECIMAL division, so the SQL divides scaled integers). Costs are
  never negative. Unknown when there are no requests.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "CACHE_HIT_RATE_HELP",
    "CACHE_SAVINGS_HELP",
    "COST_PER_1K_REQUESTS_HELP",
    "PROMPT_BUCKETS",
    "cache_hit_rate",
    "cache_hit_rate_sql",
    "cache_reads_at_input_sql",
    "cache_savings_sql",
    "cache_savings_usd",
    "cost_per_1k_requests_sql",
    "cost_per_1k_requests_usd",
    "prompt_tokens",
    "prompt_tokens_sql",
]

# The token buckets a prompt is billed in (ARCHITECTURE.md's canonical row).
PROMPT_BUCKETS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")
# Every computed cost has 12 decimals (per-token rates are DECIMAL(18, 12)).
COST_PLACES = 12
_COST_STEP = Decimal(1).scaleb(-COST_PLACES)
_ALIAS = re.compile(r"[a-z_][a-z0-9_]*")

# What each metric means, in the words a page shows next to it.
CACHE_HIT_RATE_HELP = ("Cache-read tokens / (input + cache-read + cache-write tokens, both write durations), "
                       "weighted by tokens.")
CACHE_SAVINGS_HELP = "Cache-read tokens at the input rate minus the same tokens at the cache-read rate."
COST_PER_1K_REQUESTS_HELP = "Spend × 1,000 / requests."


def _q(alias: str) -> str:
    if not _ALIAS.fullmatch(alias):
        raise ValueError(f"not a plain table alias: {alias!r}")
    return alias


# ------------------------------------------------------------------------------ prompt tokens


def prompt_tokens_sql(alias: str = "q") -> str:
    """The prompt tokens of one row of `alias`, as a parenthesised SQL sum (wrap it in sum() to aggregate)."""
    q = _q(alias)
    return "(" + " + ".join(f"{q}.{bucket}" for bucket in PROMPT_BUCKETS) + ")"


def prompt_tokens(input_tokens: int, cache_read_tokens: int, cache_write_tokens: int = 0,
                  cache_write_1h_tokens: int = 0) -> int:
    """Every prompt token, whichever bucket bills it (the buckets are disjoint).

    Where a caller holds the two cache-write durations as one sum, it passes that sum as
    `cache_write_tokens`. Works on numbers and on pandas columns alike."""
    return input_tokens + cache_read_tokens + cache_write_tokens + cache_write_1h_tokens


# ----------------------------------------------------------------------------- cache hit rate


def cache_hit_rate_sql(alias: str = "q") -> str:
    """Token-weighted cache hit rate of the rows in a group (DOUBLE; NULL without prompt tokens)."""
    q = _q(alias)
    return f"sum({q}.cache_read_tokens) / nullif(sum({prompt_tokens_sql(q)}), 0)"


def cache_hit_rate(cache_read_tokens: int, prompt_tokens: int) -> Decimal | None:
    """Cache-read tokens over prompt tokens, both summed over the same requests; None without prompt tokens."""
    if not prompt_tokens:
        return None
    return Decimal(int(cache_read_tokens)) / Decimal(int(prompt_tokens))


# ------------------------------------------------------------------------------ cache savings


def cache_reads_at_input_sql(alias: str = "q") -> str:
    """What the cache-read tokens of one row would cost at the input rate of its price (NULL unpriced)."""
    q = _q(alias)
    return f"{q}.cache_read_tokens * {q}.input_per_token"


def cache_savings_sql(alias: str = "q") -> str:
    """The money caching saved over the rows in a group (DECIMAL; 0 when nothing is priced)."""
    q = _q(alias)
    return f"coalesce(sum({cache_reads_at_input_sql(q)}), 0) - coalesce(sum({q}.cache_read_cost), 0)"


def cache_savings_usd(cache_reads_at_input_usd: Decimal, cache_read_usd: Decimal) -> Decimal:
    """The money caching saved: the cache reads at the input rate, less what they cost as cache reads."""
    return cache_reads_at_input_usd - cache_read_usd


# ------------------------------------------------------------------------ cost per 1,000 requests


def cost_per_1k_requests_sql(alias: str = "q") -> str:
    """Cost x 1,000 / requests over the rows in a group, exact DECIMAL(38, 12) rounded half up.

    The sum is scaled to whole 1e-12 dollars and divided as integers ((2a + n) div 2n rounds a
    non-negative a / n half up); NULL without requests or without a priced request."""
    q = _q(alias)
    scaled = f"CAST(sum({q}.cost) * 1{'0' * COST_PLACES} AS HUGEINT) * 1000"
    n = f"sum({q}.request_count)"
    return f"CAST((2 * {scaled} + {n}) // nullif(2 * {n}, 0) AS DECIMAL(38, 0)) * {_COST_STEP:f}"


def cost_per_1k_requests_usd(cost_usd: Decimal, requests: int) -> Decimal | None:
    """Cost x 1,000 / requests, rounded half up to 12 decimals; None without requests."""
    if not requests:
        return None
    return (Decimal(cost_usd) * 1000 / int(requests)).quantize(_COST_STEP, rounding=ROUND_HALF_UP)
