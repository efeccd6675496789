"""Exact conversion between a token's smallest unit and the decimal numbers people type.

Pure (no Django): ``Decimal`` with enough precision for any uint256, never a float.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation, localcontext

UINT256_MAX = 2**256 - 1


def amount_from_units(
    value: Decimal | str | int, decimals: int, *, rounding: str = ROUND_FLOOR
) -> int:
    """Convert an amount in token units (``"0.01"``) into the smallest unit, exactly.

    Digits finer than the token's precision are rounded with ``rounding``: a lower
    bound of a filter rounds up (``ROUND_CEILING``) and an upper bound down
    (``ROUND_FLOOR``), so a range never admits a value outside what was typed.
    The result is clamped to ±(2**256-1), beyond which no amount exists.
    """
    with localcontext() as ctx:
        # 2**256 has 78 digits; leave room for the fraction and the scaling.
        ctx.prec = 200
        ctx.Emax = 10_000
        ctx.Emin = -10_000
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        scaled = number.scaleb(decimals).to_integral_value(rounding=rounding)
    amount = int(scaled)
    return max(-UINT256_MAX, min(UINT256_MAX, amount))


def amount_to_units(amount: int, decimals: int) -> str:
    """Exact decimal string of ``amount`` smallest units (``10**16``, 18 → ``"0.01"``).

    Unlike :func:`trading.formatting.format_amount` nothing is truncated or
    grouped: this is for machines (CSV, chart data), not for reading.
    """
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**decimals)
    if not decimals or not fraction:
        return f"{sign}{whole}"
    digits = f"{fraction:0{decimals}d}".rstrip("0")
    return f"{sign}{whole}.{digits}"
