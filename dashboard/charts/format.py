"""Display formatting. Money stays Decimal until here; it becomes text or a float only for display."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

ROUNDING_NOTE = "Amounts in USD, rounded to cents for display (more digits below one cent); exact in exports."
CENT = Decimal("0.01")


def usd(value: Decimal | None) -> str:
    """'$1,234.57'; amounts under a cent keep three significant digits ('$0.00123'); None is '—'."""
    if value is None:
        return "—"
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value == 0 or value >= CENT:
        return f"{sign}${value.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    digits = -value.adjusted() + 2  # three significant digits
    return f"{sign}${value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)}"


def count(n: int | None) -> str:
    return "—" if n is None else f"{int(n):,}"


def tokens(n: int | None) -> str:
    """Compact token counts: '950', '12.3k', '4.56M', '1.20B'."""
    if n is None:
        return "—"
    n = int(n)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= size:
            return f"{n / size:.3g}{suffix}" if abs(n) < 100 * size else f"{n / size:,.0f}{suffix}"
    return str(n)


def pct(rate: float | None, digits: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:.{digits}f}%"


def delta(change: float | None) -> str | None:
    """A change against the previous period as st.metric's delta text ('+12.5%'), None when unknown."""
    return None if change is None else f"{change * 100:+.1f}%"


def to_float(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A copy with Decimal money columns as floats: for charts and display tables only."""
    out = frame.copy()
    for c in columns if columns is not None else [c for c in out.columns if c.endswith("_usd")]:
        if c in out.columns:
            out[c] = pd.to_numeric(out[c].map(lambda v: None if v is None else float(v)), errors="coerce")
    return out


def drop_empty(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Drop columns that hold nothing (e.g. latency when the logs have none)."""
    return frame.drop(columns=[c for c in columns if c in frame.columns and frame[c].isna().all()])
