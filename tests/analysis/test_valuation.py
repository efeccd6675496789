"""Profit after gas and its value in native currency and dollars, at stored prices (pure)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from trading.amm import V2PoolState
from trading.analysis.valuation import (
    NATIVE_UNIT,
    gas_in_start_token,
    net_after_gas,
    price_per_native_coin,
    reference_usd_price,
    to_native_wei,
    to_usd_micros,
    usd_per_native_coin,
    value_of,
)

E18, E6 = 10**18, 10**6
WETH, USDC, DAI = (f"0x{c * 40}" for c in "abc")


def v2(address: str, a: str, b: str, ra: int, rb: int) -> V2PoolState:
    if a < b:
        return V2PoolState(address, a, b, ra, rb)
    return V2PoolState(address, b, a, rb, ra)


def test_a_profitable_trade_nets_its_profit_less_its_gas() -> None:
    # 0.01 WETH earned, 0.0001 ETH of gas, the start token is the native one.
    assert net_after_gas(10**16, 10**14, NATIVE_UNIT) == 99 * 10**14


def test_a_reverted_trade_nets_the_gas_it_burned_as_a_loss() -> None:
    assert net_after_gas(None, 21 * 10**13, NATIVE_UNIT) == -21 * 10**13
    assert net_after_gas(0, 21 * 10**13, 3_000 * E6) == -630_000  # 0.63 USDC


def test_gas_in_another_token_rounds_up_because_it_is_a_cost() -> None:
    # 1 wei of gas at 3,000 USDC per ETH is 3e-9 of a USDC unit: still one unit.
    assert gas_in_start_token(1, 3_000 * E6) == 1
    assert gas_in_start_token(10**14, 3_000 * E6) == 300_000


def test_gas_without_a_price_leaves_the_net_unknown() -> None:
    assert net_after_gas(10**16, 10**14, None) is None
    assert net_after_gas(10**16, 0, None) == 10**16  # nothing to price


def test_conversions_use_the_rows_prices_exactly() -> None:
    # -0.63 USDC at 3,000 USDC per ETH and $2,999.50 per ETH (reference pool).
    value = value_of(-630_000, 3_000 * E6, 2_999_500_000)
    assert value.native_wei == -21 * 10**13
    assert value.usd_micros == -629_895  # toward zero, never a float
    assert to_native_wei(1, None) is None and to_usd_micros(10**18, None) is None


@given(st.integers(min_value=-(2**200), max_value=2**200), st.integers(1, 2**128))
def test_native_conversion_never_exceeds_the_exact_value(amount: int, price: int) -> None:
    wei = to_native_wei(amount, price)
    assert wei is not None
    exact = Fraction(amount * NATIVE_UNIT, price)
    assert abs(wei) <= abs(exact) < abs(wei) + 1


def test_prices_per_native_coin_are_integers_of_the_smallest_unit() -> None:
    assert price_per_native_coin(Fraction(3_000 * E6, E18)) == 3_000 * E6
    assert usd_per_native_coin(Fraction(3_000 * E6, E18), 6) == 3_000 * E6
    # DAI has 18 decimals: still millionths of a dollar.
    assert usd_per_native_coin(Fraction(3_000 * E18, E18), 18) == 3_000 * E6


def test_the_dollar_price_comes_from_the_deepest_pool_by_default() -> None:
    shallow = v2("p1", WETH, USDC, E18, 2_000 * E6)
    deep = v2("p2", WETH, USDC, 1_000 * E18, 3_000_000 * E6)
    assert reference_usd_price([shallow, deep], WETH, USDC, 6) == 3_000 * E6


def test_the_operators_reference_pool_wins_over_the_deepest() -> None:
    shallow = v2("p1", WETH, USDC, E18, 2_000 * E6)
    deep = v2("p2", WETH, USDC, 1_000 * E18, 3_000_000 * E6)
    assert reference_usd_price([shallow, deep], WETH, USDC, 6, pool="P1") == 2_000 * E6


def test_a_reference_pool_of_other_tokens_is_ignored() -> None:
    other = v2("p3", WETH, DAI, E18, 1_000 * E18)
    deep = v2("p2", WETH, USDC, 1_000 * E18, 3_000_000 * E6)
    assert reference_usd_price([other, deep], WETH, USDC, 6, pool="p3") == 3_000 * E6


def test_no_stablecoin_no_dollar_price() -> None:
    deep = v2("p2", WETH, USDC, 1_000 * E18, 3_000_000 * E6)
    assert reference_usd_price([deep], WETH, None, 6) is None
    assert reference_usd_price([deep], WETH, DAI, 18) is None
