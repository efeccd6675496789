"""The package-level dispatch: ``quote``, ``other_token`` and ``pool_holdings`` per family."""

from __future__ import annotations

import pytest

from trading.amm import (
    AmmError,
    IncompleteTickData,
    InsufficientLiquidity,
    PoolState,
    SolidlyPoolState,
    UnknownToken,
    V2PoolState,
    V3PoolState,
    other_token,
    pool_holdings,
    quote,
)

A = "0x0000000000000000000000000000000000000A01"
B = "0x0000000000000000000000000000000000000B02"


def _states() -> list[PoolState]:
    return [
        V2PoolState("0xv2", A, B, 10**21, 2 * 10**21, 30, 1),
        V3PoolState(
            "0xv3",
            A,
            B,
            3000,
            60,
            2**96,
            0,
            10**21,
            {-887220: 10**21, 887220: -(10**21)},
            *V3PoolState.full_word_range(60),
        ),
        SolidlyPoolState("0xsv", A, B, 10**21, 2 * 10**21, 18, 18, False, 30),
        SolidlyPoolState("0xss", A, B, 10**21, 10**21, 18, 18, True, 5),
    ]


@pytest.mark.parametrize("state", _states(), ids=lambda s: s.kind)
def test_quote_dispatches_to_the_family(state: PoolState) -> None:
    assert quote(state, A, 10**18) == state.amount_out(A, 10**18)
    assert quote(state, B, 10**18) > 0
    assert other_token(state, A) == B
    assert other_token(state, B.lower()) == A
    with pytest.raises(UnknownToken):
        other_token(state, "0x0000000000000000000000000000000000000C03")


def test_quote_rejects_what_is_not_a_pool_state() -> None:
    with pytest.raises(TypeError):
        quote(object(), A, 1)  # type: ignore[arg-type]


def test_every_error_is_an_amm_error() -> None:
    for error in (InsufficientLiquidity, IncompleteTickData, UnknownToken):
        assert issubclass(error, AmmError)


def test_holdings_per_family() -> None:
    a, b = "0x" + "1" * 40, "0x" + "2" * 40
    assert pool_holdings(V2PoolState("0x" + "3" * 40, a, b, 5, 7)) == (5, 7)
    solidly = SolidlyPoolState("0x" + "3" * 40, a, b, 5, 7, 18, 6, True, 5)
    assert pool_holdings(solidly) == (5, 7)
    # At price 1 the virtual reserves both equal the liquidity.
    v3 = V3PoolState("0x" + "3" * 40, a, b, 3000, 60, 2**96, 0, 10**18, (), -1, 0)
    assert pool_holdings(v3) == (10**18, 10**18)
    # Off price 1: L/sqrtP of token0 and L*sqrtP of token1, rounded down.
    sqrt_price = 3 * 2**95
    v3 = V3PoolState("0x" + "3" * 40, a, b, 3000, 60, sqrt_price, 8109, 10**18, (), -1, 0)
    assert pool_holdings(v3) == (10**18 * 2 // 3, 10**18 * 3 // 2)
    empty = V3PoolState("0x" + "3" * 40, a, b, 3000, 60, 0, 0, 10**18, (), -1, 0)
    assert pool_holdings(empty) == (0, 0)
    with pytest.raises(TypeError):
        pool_holdings("not a state")  # type: ignore[arg-type]
