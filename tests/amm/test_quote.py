"""The package-level dispatch: ``quote`` and ``other_token`` for every pool family."""

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
