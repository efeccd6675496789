"""Exact conversion between smallest units and typed token units: no float anywhere."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest

from trading.units import UINT256_MAX, amount_from_units, amount_to_units


@pytest.mark.parametrize(
    ("text", "decimals", "rounding", "expected"),
    [
        ("0.01", 18, ROUND_FLOOR, 10**16),
        ("0.01", 6, ROUND_FLOOR, 10_000),
        ("1", 0, ROUND_FLOOR, 1),
        ("0.1234567", 6, ROUND_FLOOR, 123_456),  # finer than the token: an upper bound rounds down
        ("0.1234567", 6, ROUND_CEILING, 123_457),  # and a lower bound rounds up
        ("-0.5", 6, ROUND_FLOOR, -500_000),
        ("1e-18", 18, ROUND_FLOOR, 1),
        (
            "0.000000000000000000000000000000000000000000000000000000000000000000000001",
            77,
            ROUND_FLOOR,
            10**5,
        ),
        ("1e100", 18, ROUND_FLOOR, UINT256_MAX),  # clamped: no amount is larger
    ],
)
def test_amounts_typed_in_token_units_convert_exactly(text, decimals, rounding, expected):
    assert amount_from_units(Decimal(text), decimals, rounding=rounding) == expected


def test_conversion_never_goes_through_a_float():
    # 0.1 + 0.2 style errors would show here: 2**200 + 1 smallest units, 18 decimals.
    amount = 2**200 + 1
    text = amount_to_units(amount, 18)
    assert amount_from_units(text, 18) == amount
    assert amount_to_units(-(10**15), 18) == "-0.001"
    assert amount_to_units(5, 0) == "5"


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity"])
def test_conversion_refuses_non_numbers(bad):
    with pytest.raises(ValueError):
        amount_from_units(bad, 18)
