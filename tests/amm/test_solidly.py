"""Aerodrome-style pools: pinned to Aerodrome's own test values, then properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.amm import ContractRevert, InsufficientInputAmount, InsufficientLiquidity
from trading.amm.solidly import (
    SolidlyPoolState,
    curve_amount_out,
    fee_amount,
    get_amount_out,
    k,
)

USDC = "0x0000000000000000000000000000000000000A01"  # 6 decimals
FRAX = "0x0000000000000000000000000000000000000B02"  # 18 decimals
USDC_1 = 10**6
TOKEN_1 = 10**18


def stable_usdc_frax(n: int, usdc_is_token0: bool = True) -> SolidlyPoolState:
    """The FRAX/USDC stable pool of Aerodrome's tests holding ``n`` of each, fee 1 bps."""
    if usdc_is_token0:
        return SolidlyPoolState("0xpool", USDC, FRAX, n * USDC_1, n * TOKEN_1, 6, 18, True, 1)
    return SolidlyPoolState("0xpool", FRAX, USDC, n * TOKEN_1, n * USDC_1, 18, 6, True, 1)


# Aerodrome test/Pool.t.sol and test/Imbalance.t.sol: pool.getAmountOut(USDC_1, USDC)
# after 2, 3 and 4 deposits of (TOKEN_1 FRAX, USDC_1 USDC) with factory fee 1 bps.
AERODROME_CASES = [
    (2, 945128557522723966),
    (3, 982117769725505988),
    (4, 992220948146798746),
]


@pytest.mark.parametrize(("deposits", "expected"), AERODROME_CASES)
@pytest.mark.parametrize("usdc_is_token0", [True, False])
def test_it_matches_aerodromes_stable_pool_tests(
    deposits: int, expected: int, usdc_is_token0: bool
) -> None:
    pool = stable_usdc_frax(deposits, usdc_is_token0)
    assert pool.amount_out(USDC, USDC_1) == expected


def test_the_volatile_curve_is_x_times_y_after_the_fee() -> None:
    pool = SolidlyPoolState("0xpool", USDC, FRAX, 10**12, 10**24, 6, 18, False, 30)
    amount = 12_345_678
    after_fee = amount - amount * 30 // 10_000
    assert pool.amount_out(USDC, amount) == after_fee * 10**24 // (10**12 + after_fee)
    assert pool.kind == "solidly_volatile"
    assert stable_usdc_frax(2).kind == "solidly_stable"


def _k_check_passes(pool: SolidlyPoolState, token_in: str, amount_in: int, out: int) -> bool:
    """The swap's own check: k of the balances (fee sent away) >= k of the reserves."""
    kept = amount_in - fee_amount(amount_in, pool.fee_bps)
    if token_in == pool.token0:
        balance0, balance1 = pool.reserve0 + kept, pool.reserve1 - out
    else:
        balance0, balance1 = pool.reserve0 - out, pool.reserve1 + kept
    if balance0 <= 0 or balance1 <= 0:
        return False
    before = k(pool.reserve0, pool.reserve1, pool.decimals0, pool.decimals1, pool.stable)
    after = k(balance0, balance1, pool.decimals0, pool.decimals1, pool.stable)
    return after >= before


@st.composite
def pools(draw: st.DrawFn, stable: bool | None = None) -> SolidlyPoolState:
    decimals0 = draw(st.sampled_from([6, 18]))
    decimals1 = draw(st.sampled_from([6, 18]))
    is_stable = draw(st.booleans()) if stable is None else stable
    # A stable pool holds roughly balanced value; a volatile one anything.
    units = draw(st.integers(10, 10**9))
    skew = draw(st.integers(1, 100)) if is_stable else draw(st.integers(1, 10**6))
    reserve0 = units * 10**decimals0
    reserve1 = units * skew * 10**decimals1 // (10 if is_stable else 1000)
    reserve1 = max(reserve1, 10**decimals1)
    fee = draw(st.sampled_from([1, 4, 5, 30, 100]))
    return SolidlyPoolState(
        "0xpool", USDC, FRAX, reserve0, reserve1, decimals0, decimals1, is_stable, fee
    )


@given(pool=pools(), zero_in=st.booleans(), data=st.data())
def test_every_quote_passes_the_pools_k_check(
    pool: SolidlyPoolState, zero_in: bool, data: st.DataObject
) -> None:
    token_in = pool.token0 if zero_in else pool.token1
    reserve_in = pool.reserve0 if zero_in else pool.reserve1
    amount = data.draw(st.integers(1, reserve_in * 3))
    try:
        out = pool.amount_out(token_in, amount)
    except (InsufficientLiquidity, ContractRevert):
        return
    assert _k_check_passes(pool, token_in, amount, out)


@given(pool=pools(stable=False), zero_in=st.booleans(), data=st.data())
def test_the_volatile_quote_is_the_largest_the_pool_accepts(
    pool: SolidlyPoolState, zero_in: bool, data: st.DataObject
) -> None:
    token_in = pool.token0 if zero_in else pool.token1
    reserve_in = pool.reserve0 if zero_in else pool.reserve1
    amount = data.draw(st.integers(1, reserve_in * 3))
    out = pool.amount_out(token_in, amount)
    assert not _k_check_passes(pool, token_in, amount, out + 1)


@given(pool=pools(), zero_in=st.booleans(), data=st.data())
def test_more_input_never_gives_less_output(
    pool: SolidlyPoolState, zero_in: bool, data: st.DataObject
) -> None:
    token_in = pool.token0 if zero_in else pool.token1
    reserve_in = pool.reserve0 if zero_in else pool.reserve1
    amount = data.draw(st.integers(1, reserve_in))
    bigger = amount + data.draw(st.integers(1, reserve_in))
    try:
        small, large = pool.amount_out(token_in, amount), pool.amount_out(token_in, bigger)
    except (InsufficientLiquidity, ContractRevert):
        return
    assert 0 <= small <= large


@given(units=st.integers(10**3, 10**9), fraction=st.integers(1, 1000), fee=st.sampled_from([1, 5]))
def test_a_balanced_stable_pool_trades_close_to_one_for_one(
    units: int, fraction: int, fee: int
) -> None:
    # 6- and 18-decimal tokens of equal value: small trades get almost 1:1 minus the fee.
    pool = SolidlyPoolState("0xpool", USDC, FRAX, units * USDC_1, units * TOKEN_1, 6, 18, True, fee)
    amount = units * USDC_1 * fraction // 100_000 + 1
    out = pool.amount_out(USDC, amount)
    ideal = amount * 10**12
    assert out <= ideal
    assert out * 10_000 >= ideal * (10_000 - fee - 20)
    back = pool.amount_out(FRAX, ideal)
    assert back <= amount


def test_reverse_swap_after_a_swap_never_makes_money() -> None:
    pool = stable_usdc_frax(1_000_000)
    out = pool.amount_out(USDC, 50_000 * USDC_1)
    after = pool.after_swap(USDC, 50_000 * USDC_1)
    assert after.reserve0 == pool.reserve0 + 50_000 * USDC_1 - fee_amount(50_000 * USDC_1, 1)
    assert after.reserve1 == pool.reserve1 - out
    assert after.amount_out(FRAX, out) < 50_000 * USDC_1


def test_it_refuses_bad_inputs() -> None:
    pool = stable_usdc_frax(2)
    with pytest.raises(InsufficientInputAmount):
        pool.amount_out(USDC, 0)
    with pytest.raises(InsufficientLiquidity):
        SolidlyPoolState("0xpool", USDC, FRAX, 0, 10, 6, 18, False, 30).amount_out(USDC, 5)
    with pytest.raises(ContractRevert):
        # checked arithmetic: x * 1e18 overflows uint256 for absurd reserves
        get_amount_out(10, True, 2**250, 2**250, 18, 18, True, 1)
    with pytest.raises(ValueError):
        SolidlyPoolState("0xpool", USDC, FRAX, 1, 1, 6, 18, True, 10_001)
    assert curve_amount_out(0, True, 10**18, 10**18, 18, 18, True) == 0
