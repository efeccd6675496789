"""The amount typed in units (ETH, gwei) and stored exactly in wei."""

import pytest
from django.core.exceptions import ValidationError

from trading.forms import UnitAmountFormField
from trading.units import amount_to_units


@pytest.fixture
def eth():
    return UnitAmountFormField(decimals=18, unit="ETH")


@pytest.mark.parametrize(
    ("typed", "wei"),
    [
        ("50", 50 * 10**18),
        ("0.05", 5 * 10**16),
        ("1_000.5", 1000 * 10**18 + 5 * 10**17),
        ("0.000000000000000001", 1),
        (amount_to_units(2**256 - 1, 18), 2**256 - 1),
    ],
)
def test_it_converts_units_to_wei_exactly(eth, typed, wei):
    assert eth.clean(typed) == wei


def test_it_shows_wei_as_units(eth):
    assert eth.prepare_value(50 * 10**18) == "50"
    assert eth.prepare_value(10**16 + 1) == "0.010000000000000001"
    gwei = UnitAmountFormField(decimals=9, unit="gwei")
    assert gwei.prepare_value(100 * 10**9) == "100" and gwei.clean("0.5") == 5 * 10**8


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0.0000000000000000001", "at most 18 decimal places"),
        ("-1", "cannot be negative"),
        ("ten", "Enter an amount in ETH"),
        ("nan", "Enter an amount in ETH"),
        (str(2**256), r"larger than 2\*\*256-1 wei"),
    ],
)
def test_it_refuses_what_it_cannot_store_exactly(eth, typed, message):
    with pytest.raises(ValidationError, match=message):
        eth.clean(typed)
