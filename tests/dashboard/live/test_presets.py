"""Every preset's default model is a current catalog model of its route, not a retired alias."""

import pytest

from dashboard.live import PRESETS
from pricing import default_catalog

CATALOG = default_catalog()


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.default_model], ids=lambda p: p.name)
def test_default_model_is_a_catalog_model_id(preset):
    entry = CATALOG.find(preset.default_model, preset.provider)
    assert entry is not None, f"{preset.provider}/{preset.default_model} has no price"
    assert entry.id == preset.default_model  # the model itself, not an alias such as deepseek-chat
    entry.period_at(__import__("datetime").datetime.now(__import__("datetime").UTC))  # priced today
