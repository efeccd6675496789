"""Turn exact integer amounts into text for people: exact, never via floats."""

from __future__ import annotations


def format_amount(
    amount: int | None, decimals: int, symbol: str = "", max_fraction_digits: int = 6
) -> str:
    """Format ``amount`` (smallest units) with ``decimals`` as a decimal string.

    The fraction is truncated toward zero to ``max_fraction_digits`` digits, and
    trailing zeros are dropped; digits are grouped by thousands.
    """
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**decimals)
    text = f"{whole:,}"
    if decimals and max_fraction_digits:
        digits = f"{fraction:0{decimals}d}"[:max_fraction_digits].rstrip("0")
        if digits:
            text = f"{text}.{digits}"
        elif fraction:
            # Non-zero but below the shown precision: say so instead of "0".
            text = f"<{'0.' + '0' * (max_fraction_digits - 1) + '1'}" if whole == 0 else text
    text = f"{sign}{text}"
    return f"{text} {symbol}".strip()


def printable(text: str, limit: int | None = None) -> str:
    """``text`` without NUL and other control characters (newlines and tabs kept), cut to
    ``limit`` characters.

    Node error messages can carry raw revert bytes; PostgreSQL refuses NUL in
    text columns, and no operator wants control characters on a page.
    """
    cleaned = "".join(c for c in text if c in "\n\t" or c.isprintable())
    return cleaned if limit is None else cleaned[:limit]
