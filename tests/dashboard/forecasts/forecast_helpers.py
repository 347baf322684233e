"""Where the real traces live, and a small test catalog with round rates."""

from __future__ import annotations

import pytest
from support.paths import FIXTURES

MOONCAKE = FIXTURES / "traces" / "mooncake_conversation_trace.jsonl"

# Rates per 1M tokens. "small" has a long-context tier and its own reasoning rate; "peaky" a
# long-context tier and a peak window (weekdays 08-14 UTC).
ACME_TOML = """
[route]
provider = "acme"
currency = "USD"

[[models]]
id = "small"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 0.5
output = 2
cache_read = 0.05
cache_write = 0.625
reasoning = 3

  [[models.periods.tiers]]
  above_prompt_tokens = 100000
  input = 1
  output = 4
  cache_read = 0.1
  cache_write = 1.25
  reasoning = 6

[[models]]
id = "big"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 3
output = 15
cache_read = 0.3
cache_write = 3.75

[[models]]
id = "peaky"

[[models.periods]]
source = "test"
checked = 2026-01-01
input = 0.1
output = 0.4
cache_read = 0.01
cache_write = 0

  [[models.periods.tiers]]
  above_prompt_tokens = 100000
  input = 0.2
  output = 0.8
  cache_read = 0.02
  cache_write = 0

  [[models.periods.windows]]
  name = "peak"
  weekdays = ["mon", "tue", "wed", "thu", "fri"]
  hours = [[8, 14]]
  input = 0.5
  output = 1.0
  cache_read = 0.05
  cache_write = 0
"""


needs_mooncake = pytest.mark.skipif(
    not MOONCAKE.exists(),
    reason=f"real traces not found at {FIXTURES} (the shared fixtures folder beside the project)",
)
