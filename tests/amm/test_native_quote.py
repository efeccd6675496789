"""The native V2 quote (``trading/amm/_native.c``) against the Python formula.

``make setup`` builds the module, so these tests import it directly: a
checkout where it was not built fails here rather than quietly measuring the
Python method. The quotes against the real pair contracts
(``test_against_contracts.py``) go through the same ``V2PoolState.amount_out``.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trading.amm import ContractRevert, InsufficientInputAmount, InsufficientLiquidity, uniswap_v2
from trading.amm import _native as native
from trading.amm.base import UINT112_MAX
from trading.amm.errors import UnknownToken
from trading.amm.uniswap_v2 import V2PoolState, python_amount_out

T0 = "0x0000000000000000000000000000000000000a01"
T1 = "0x0000000000000000000000000000000000000b02"

# Values at the edges of each 64-bit limb and of the uint112 bound, and any in between.
EDGES = [1, 2, 2**30 - 1, 2**30, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 2**96, UINT112_MAX]
uint112 = st.one_of(st.sampled_from(EDGES), st.integers(1, UINT112_MAX), st.integers(1, 2**64))
fees = st.one_of(st.sampled_from([0, 1, 5, 30, 100, 9_999]), st.integers(0, 9_999))


def formula(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    with_fee = amount_in * (10_000 - fee_bps)
    return with_fee * reserve_out // (reserve_in * 10_000 + with_fee)


def test_the_pool_class_quotes_natively() -> None:
    assert uniswap_v2.NATIVE_QUOTE
    assert V2PoolState.amount_out is not python_amount_out
    assert type(V2PoolState.amount_out).__name__ == "method_descriptor"


@given(amount_in=uint112, reserve_in=uint112, reserve_out=uint112, fee=fees)
@example(amount_in=UINT112_MAX - 1, reserve_in=1, reserve_out=UINT112_MAX, fee=0)
@example(amount_in=1, reserve_in=UINT112_MAX - 1, reserve_out=UINT112_MAX, fee=9_999)
def test_it_equals_the_formula_within_uint112(
    amount_in: int, reserve_in: int, reserve_out: int, fee: int
) -> None:
    if reserve_in + amount_in > UINT112_MAX:
        assert native.v2_quote(amount_in, reserve_in, reserve_out, fee) is None
        return
    expected = formula(amount_in, reserve_in, reserve_out, fee)
    assert native.v2_quote(amount_in, reserve_in, reserve_out, fee) == expected
    pool = V2PoolState("0xpair", T0, T1, reserve_in, reserve_out, fee)
    assert pool.amount_out(T0, amount_in) == expected
    flipped = V2PoolState("0xpair", T0, T1, reserve_out, reserve_in, fee)
    assert flipped.amount_out(T1, amount_in) == expected


@pytest.mark.parametrize(
    ("amount_in", "reserve_in", "reserve_out", "fee"),
    [
        (0, 10, 10, 30),  # no input
        (-1, 10, 10, 30),
        (5, 0, 10, 30),  # an empty reserve
        (5, 10, 0, 30),
        (5, UINT112_MAX, 10, 30),  # the input reserve would pass uint112
        (5, 10, UINT112_MAX + 1, 30),
        (5, 10, 10, 10_000),  # no fee level of 100% or more
        (5, 10, 10, -1),
        (2**300, 10, 10, 30),
        (5.0, 10, 10, 30),  # not an int
        ("5", 10, 10, 30),
    ],
)
def test_it_leaves_every_other_case_to_python(
    amount_in: object, reserve_in: int, reserve_out: int, fee: int
) -> None:
    assert native.v2_quote(amount_in, reserve_in, reserve_out, fee) is None  # type: ignore[arg-type]


@given(
    high=st.integers(0, 2**127 - 1),
    low=st.integers(0, 2**128 - 1),
    divisor=st.one_of(
        st.sampled_from([1, 3, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 2**127 - 1]),
        st.integers(1, 2**64),
        st.integers(1, 2**127 - 1),
    ),
)
@example(high=2**64 - 1, low=2**128 - 1, divisor=2**64)  # a top digit equal to the divisor's
@example(high=2**127 - 2, low=2**128 - 1, divisor=2**127 - 1)  # the largest quotient
def test_the_wide_division_is_exact(high: int, low: int, divisor: int) -> None:
    high %= divisor  # the quotient fits 128 bits
    assert native.div_wide(high, low, divisor) == ((high << 128) + low) // divisor


def test_the_wide_division_refuses_what_it_cannot_hold() -> None:
    assert native.div_wide(0, 5, 0) is None
    assert native.div_wide(0, 5, 2**127) is None
    assert native.div_wide(7, 5, 7) is None  # a quotient of 2**128 or more


@given(
    reserves=st.tuples(uint112, uint112),
    amount_in=st.one_of(uint112, st.integers(-5, 0), st.integers(2**112, 2**260)),
    fee=st.one_of(fees, st.sampled_from([10_000, -1])),
    token=st.sampled_from([T0, T1, T0.upper().replace("0X", "0x"), "0xdead"]),
)
def test_the_method_answers_as_the_python_one(
    reserves: tuple[int, int], amount_in: int, fee: int, token: str
) -> None:
    """Values and errors alike, on and off the fast path."""
    pool = V2PoolState("0xpair", T0, T1, *reserves, fee_bps=fee)

    def outcome(quote: object) -> object:
        try:
            return quote()  # type: ignore[operator]
        except Exception as error:  # the same class and message
            return type(error), str(error)

    ours = outcome(lambda: pool.amount_out(token, amount_in))
    assert ours == outcome(lambda: python_amount_out(pool, token, amount_in))


def test_errors_and_calls_off_the_fast_path() -> None:
    pool = V2PoolState("0xpair", T0, T1, 10**20, 10**20)
    with pytest.raises(InsufficientInputAmount):
        pool.amount_out(T0, 0)
    with pytest.raises(ContractRevert, match="OVERFLOW"):
        pool.amount_out(T0, UINT112_MAX)
    with pytest.raises(UnknownToken):
        pool.amount_out("0xdead", 5)
    with pytest.raises(InsufficientLiquidity):
        V2PoolState("0xpair", T0, T1, 0, 10).amount_out(T0, 5)
    # Keywords, a checksummed spelling and the unbound form give the same quote.
    quote = formula(10**18, 10**20, 10**20, 30)
    assert pool.amount_out(token_in=T0, amount_in=10**18) == quote
    assert pool.amount_out(T0.upper().replace("0X", "0x"), 10**18) == quote
    assert V2PoolState.amount_out(pool, T0, 10**18) == quote
    with pytest.raises(TypeError):
        pool.amount_out(T0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        V2PoolState.amount_out("not a pool", T0, 5)  # type: ignore[arg-type]


def test_it_binds_only_a_class_that_keeps_the_fields_in_slots() -> None:
    class Plain:
        token0 = token1 = "x"
        reserve0 = reserve1 = fee_bps = 1

    with pytest.raises(TypeError, match="not a slot"):
        native.bind_v2_amount_out(Plain, python_amount_out)  # type: ignore[arg-type]
