"""Profit after gas: gas units per hop kind, price conversion, upward rounding."""

from __future__ import annotations

from fractions import Fraction
from math import isqrt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.amm import SolidlyPoolState, V2PoolState, V3PoolState
from trading.analysis.cycles import Cycle, Hop
from trading.analysis.profit import (
    DEFAULT_GAS_MODEL,
    GasModel,
    convert_cost,
    evaluate,
    path_price,
    spot_price,
)
from trading.analysis.sizing import SizedCycle

E18 = 10**18
GWEI = 10**9
WETH, USDC, DAI = "WETH", "USDC", "DAI"
CYCLE = Cycle(USDC, (Hop("a", USDC, WETH), Hop("b", WETH, DAI), Hop("c", DAI, USDC)))


def _sized(kinds: tuple[str, ...], crossed: tuple[int, ...] = (), gross: int = 10**6) -> SizedCycle:
    return SizedCycle(
        cycle=CYCLE,
        amount_in=10**9,
        amount_out=10**9 + gross,
        gross_profit=gross,
        hop_amounts=(1, 2, 10**9 + gross),
        hop_kinds=kinds,
        ticks_crossed=crossed,
    )


def test_gas_units_add_the_overhead_and_every_hop() -> None:
    model = GasModel(
        overhead=50_000,
        uniswap_v2=60_000,
        uniswap_v3=100_000,
        v3_per_tick_crossed=20_000,
        solidly_volatile=70_000,
        solidly_stable=110_000,
    )
    sized = _sized(("uniswap_v2", "uniswap_v3", "solidly_stable"), (0, 3, 0))
    assert model.gas_units(sized) == 50_000 + 60_000 + 100_000 + 3 * 20_000 + 110_000
    sized = _sized(("solidly_volatile", "uniswap_v2", "uniswap_v2"))
    assert model.gas_units(sized) == 50_000 + 70_000 + 120_000
    with pytest.raises(ValueError):
        model.hop_gas("curve")
    with pytest.raises(ValueError):
        model.gas_units(_sized(("uniswap_v2",)))


def test_evaluate_prices_gas_and_the_l1_fee_in_the_start_token() -> None:
    sized = _sized(("uniswap_v2", "uniswap_v2", "uniswap_v2"), gross=5 * 10**6)  # 5 USDC
    units = DEFAULT_GAS_MODEL.gas_units(sized)
    # 3000 USDC per WETH: 3000 * 10**6 units per 10**18 wei.
    price = Fraction(3000 * 10**6, E18)
    result = evaluate(sized, gas_price_wei=GWEI // 10, l1_fee_wei=10**12, native_to_start=price)
    cost_wei = units * GWEI // 10 + 10**12
    assert result.gas_units == units
    assert result.gas_cost_wei == cost_wei
    assert result.gas_cost_start_token == -(-cost_wei * 3000 * 10**6 // E18)
    assert result.net == result.gross - result.gas_cost_start_token
    assert result.gross == 5 * 10**6
    assert result.profitable


def test_a_cost_is_rounded_up_never_down() -> None:
    assert convert_cost(1, Fraction(1, 3)) == 1
    assert convert_cost(3, Fraction(1, 3)) == 1
    assert convert_cost(4, Fraction(1, 3)) == 2
    assert convert_cost(0, Fraction(7, 3)) == 0
    assert convert_cost(10, 1) == 10
    assert convert_cost(10, lambda wei: wei * 2) == 20
    with pytest.raises(ValueError):
        convert_cost(1, Fraction(-1))


@given(
    cost=st.integers(0, 10**24),
    num=st.integers(1, 10**30),
    den=st.integers(1, 10**30),
)
def test_the_conversion_is_the_exact_ceiling(cost: int, num: int, den: int) -> None:
    converted = convert_cost(cost, Fraction(num, den))
    assert converted * den >= cost * num
    assert (converted - 1) * den < cost * num or converted == 0


def test_gas_can_eat_the_whole_profit() -> None:
    sized = _sized(("uniswap_v3", "uniswap_v3", "solidly_stable"), (10, 10, 0), gross=1)
    result = evaluate(sized, gas_price_wei=GWEI, native_to_start=Fraction(3000 * 10**6, E18))
    assert result.net < 0
    assert not result.profitable
    with pytest.raises(ValueError):
        evaluate(sized, gas_price_wei=-1)


def test_spot_prices_of_each_pool_family() -> None:
    v2 = V2PoolState("v2", WETH, USDC, 10 * E18, 30_000 * 10**6)
    assert spot_price(v2, WETH) == Fraction(3000 * 10**6, E18)
    assert spot_price(v2, USDC) == Fraction(E18, 3000 * 10**6)
    volatile = SolidlyPoolState("sv", WETH, USDC, 10 * E18, 30_000 * 10**6, 18, 6, False, 30)
    assert spot_price(volatile, WETH) == Fraction(3000 * 10**6, E18)
    sqrt_price = 2**96 * 3  # token1 per token0 = 9
    v3 = V3PoolState("v3", WETH, USDC, 500, 10, sqrt_price, 21972, 10**18, (), 0, 0)
    assert spot_price(v3, WETH) == 9
    assert spot_price(v3, USDC) == Fraction(1, 9)
    # A balanced stable pool is at 1:1 in whole tokens, whatever the decimals.
    stable = SolidlyPoolState("ss", USDC, DAI, 10**6 * 10**6, 10**6 * E18, 6, 18, True, 1)
    assert spot_price(stable, USDC) == Fraction(E18, 10**6)
    assert spot_price(stable, DAI) == Fraction(10**6, E18)


def test_path_price_multiplies_along_the_path() -> None:
    weth_usdc = V2PoolState("p1", WETH, USDC, 10 * E18, 30_000 * 10**6)
    usdc_dai = V2PoolState("p2", USDC, DAI, 10**12, 10**24)
    price = path_price([(weth_usdc, WETH), (usdc_dai, USDC)])
    assert price == Fraction(3000, 1)  # 3000 DAI wei per WETH wei: same decimals
    assert path_price([]) == 1
    sqrt_price = isqrt(3000 * 10**6 * 2**192 // E18)
    v3 = V3PoolState("v3", WETH, USDC, 500, 10, sqrt_price, 0, 10**18, (), 0, 0)
    assert abs(float(path_price([(v3, WETH)])) - 3000 * 10**6 / E18) < 1e-15
