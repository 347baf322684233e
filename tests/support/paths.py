"""Where things are: the project checkout, and the shared fixtures folder beside it (the public traces)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "fixtures"
