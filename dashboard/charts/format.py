"""Display formatting. Money stays Decimal until here; it becomes text or a float only for display.

Pandas is imported only by the functions that take frames, so the command line can format
money without loading it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TYPE_CHECKING

from pricing import money_str

if TYPE_CHECKING:
    import pandas as pd

ROUNDING_NOTE = "Amounts in USD, rounded to cents for display (more digits below one cent); exact in exports."
CENT = Decimal("0.01")


def usd(value: Decimal | None, places: int | None = None, *, exact: bool = False) -> str:
    """Money as display text, never to be read back; '—' when unknown.

    - by default, cents rounded half up ('$1,234.57'), and an amount under a cent to three
      significant digits ('$0.00123');
    - `places=n`: n decimals, rounded half up ('$0.0024' at 4);
    - `exact=True`: every digit the value has, trailing zeros dropped ('$0.0000315').

    A minus sign shows only in front of digits that are not all zero. For exact text that a
    program reads (JSON, CSV), use `pricing.money_str`.
    """
    if value is None:
        return "—"
    value = Decimal(value)
    with localcontext() as ctx:
        ctx.prec = 80  # a DECIMAL(38, 12) and its rounding, with no digit lost to the default 28
        if exact:
            shown = value
        elif places is not None:
            shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        elif value == 0 or abs(value) >= CENT:
            shown = value.quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            digits = -value.adjusted() + 2  # three significant digits
            shown = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    sign = "-" if shown < 0 else ""
    if exact:
        return f"{sign}${money_str(shown.copy_abs(), trailing_zeros=False)}"
    return f"{sign}${shown.copy_abs():,}"


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


def delta(change: float | Decimal | None, places: int = 1) -> str | None:
    """A relative change as signed percent text, st.metric's delta ('+12.5%' for 0.125), rounded
    half up to `places`; None when unknown. A float counts as the decimal it prints as."""
    if change is None:
        return None
    percent = (Decimal(repr(change)) if isinstance(change, float) else Decimal(change)) * 100
    return f"{percent.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):+.{places}f}%"


def to_float(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A copy with Decimal money columns as floats: for charts and display tables only."""
    import pandas as pd

    out = frame.copy()
    for c in columns if columns is not None else [c for c in out.columns if c.endswith("_usd")]:
        if c in out.columns:
            out[c] = pd.to_numeric(out[c].map(lambda v: None if v is None else float(v)), errors="coerce")
    return out


def drop_empty(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Drop columns that hold nothing (e.g. latency when the logs have none)."""
    return frame.drop(columns=[c for c in columns if c in frame.columns and frame[c].isna().all()])
