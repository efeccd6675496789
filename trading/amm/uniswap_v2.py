"""Uniswap V2 constant-product maths, exact to the wei.

Public API (stable):

- ``get_amount_out(amount_in, reserve_in, reserve_out, fee_bps=30) -> int``
- ``get_amount_in(amount_out, reserve_in, reserve_out, fee_bps=30) -> int``
- ``V2PoolState`` (frozen): ``address, token0, token1, reserve0, reserve1,
  fee_bps, block_number``, with ``amount_out(token_in, amount_in)``,
  ``amount_in_for(token_out, amount_out)``, ``with_reserves(...)`` and
  ``after_swap(token_in, amount_in)``.

The formulas are UniswapV2Library's, with the fee generalised from 3/1000 to
``fee_bps`` basis points::

    amountInWithFee = amountIn * (10000 - fee_bps)
    amountOut = amountInWithFee * reserveOut // (reserveIn * 10000 + amountInWithFee)

With ``fee_bps=30`` this is the same rational number as the library's
``997 / 1000`` form, so the floor is identical and the result passes the real
pair's ``K`` check. Amounts are integers in the token's smallest unit.

``V2PoolState.amount_out`` is answered by the native module (``_native.c``,
built by ``make setup``) where it is built: the same formula in fixed-width
integers for reserves and inputs within uint112, and this module's Python
method (``python_amount_out``) for every other case. ``NATIVE_QUOTE`` says
which is in use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from trading.amm.base import UINT112_MAX, checked_uint256, token_index
from trading.amm.errors import (
    ContractRevert,
    InsufficientInputAmount,
    InsufficientLiquidity,
)

BPS = 10_000
DEFAULT_FEE_BPS = 30


def _check_fee(fee_bps: int) -> None:
    if not 0 <= fee_bps < BPS:
        raise ValueError(f"fee_bps must be in [0, {BPS}), got {fee_bps}")


def get_amount_out(
    amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = DEFAULT_FEE_BPS
) -> int:
    """Output of an exact-input swap, as ``UniswapV2Library.getAmountOut``.

    Raises :class:`InsufficientInputAmount` for ``amount_in <= 0`` and
    :class:`InsufficientLiquidity` for an empty reserve, like the library's
    ``require``s, and :class:`ContractRevert` where its SafeMath would overflow.
    """
    _check_fee(fee_bps)
    if amount_in <= 0:
        raise InsufficientInputAmount("UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT")
    if reserve_in <= 0 or reserve_out <= 0:
        raise InsufficientLiquidity("UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    amount_in_with_fee = checked_uint256(amount_in * (BPS - fee_bps), "amountInWithFee")
    numerator = checked_uint256(amount_in_with_fee * reserve_out, "numerator")
    denominator = checked_uint256(reserve_in * BPS + amount_in_with_fee, "denominator")
    return numerator // denominator


def get_amount_in(
    amount_out: int, reserve_in: int, reserve_out: int, fee_bps: int = DEFAULT_FEE_BPS
) -> int:
    """Smallest input that buys ``amount_out``, as ``UniswapV2Library.getAmountIn``.

    The library rounds up by adding 1 after the floor division, so the result
    can be one more than the true minimum; it always passes the pair's check.
    """
    _check_fee(fee_bps)
    if amount_out <= 0:
        raise InsufficientInputAmount("UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT")
    if reserve_in <= 0 or reserve_out <= 0:
        raise InsufficientLiquidity("UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    if amount_out >= reserve_out:
        # The library's SafeMath sub would revert; no input can buy the whole reserve.
        raise InsufficientLiquidity("output is not smaller than the reserve")
    numerator = checked_uint256(reserve_in * amount_out * BPS, "numerator")
    denominator = (reserve_out - amount_out) * (BPS - fee_bps)
    return numerator // denominator + 1


@dataclass(frozen=True, slots=True)
class V2PoolState:
    """A Uniswap V2 style pair at one block.

    ``fee_bps`` is the pool's swap fee in basis points (30 for Uniswap V2).
    """

    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    fee_bps: int = DEFAULT_FEE_BPS
    block_number: int = 0

    kind = "uniswap_v2"

    def reserves_for(self, token_in: str) -> tuple[int, int]:
        """``(reserve_in, reserve_out)`` for a swap selling ``token_in``."""
        if token_index(self.token0, self.token1, token_in) == 0:
            return self.reserve0, self.reserve1
        return self.reserve1, self.reserve0

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact output of selling ``amount_in`` of ``token_in`` into this pair.

        Also applies the pair's own limit: reserves are uint112, so a swap that
        would push the input reserve past 2**112 - 1 reverts ('OVERFLOW').
        """
        # The hot path of every sizing: the common case inline, anything unusual (an
        # error to raise, another spelling of the token) through the checked functions.
        if token_in == self.token0:
            reserve_in, reserve_out = self.reserve0, self.reserve1
        elif token_in == self.token1:
            reserve_in, reserve_out = self.reserve1, self.reserve0
        else:
            reserve_in, reserve_out = self.reserves_for(token_in)
        fee = self.fee_bps
        # Both reserves and the new input reserve within uint112 (as the pair holds them):
        # then no product below can pass 2**256, so the library's SafeMath never reverts.
        if (
            amount_in > 0
            and reserve_in > 0
            and reserve_in + amount_in <= UINT112_MAX
            and 0 < reserve_out <= UINT112_MAX
            and 0 <= fee < 10_000
        ):
            with_fee = amount_in * (10_000 - fee)
            return with_fee * reserve_out // (reserve_in * 10_000 + with_fee)
        out = get_amount_out(amount_in, reserve_in, reserve_out, fee)
        if reserve_in + amount_in > UINT112_MAX:
            raise ContractRevert("UniswapV2: OVERFLOW")
        # A quote of 0 is honest: the pair itself would refuse a swap with no output.
        return out

    def amount_in_for(self, token_out: str, amount_out: int) -> int:
        """Input of the other token needed to receive ``amount_out`` of ``token_out``."""
        idx = token_index(self.token0, self.token1, token_out)
        token_in = self.token1 if idx == 0 else self.token0
        reserve_in, reserve_out = self.reserves_for(token_in)
        return get_amount_in(amount_out, reserve_in, reserve_out, self.fee_bps)

    def with_reserves(
        self, reserve0: int, reserve1: int, block_number: int | None = None
    ) -> V2PoolState:
        """A copy with new reserves (and optionally a new block number)."""
        return replace(
            self,
            reserve0=reserve0,
            reserve1=reserve1,
            block_number=self.block_number if block_number is None else block_number,
        )

    def after_swap(self, token_in: str, amount_in: int) -> V2PoolState:
        """The state after selling ``amount_in`` of ``token_in`` (the whole input stays)."""
        out = self.amount_out(token_in, amount_in)
        if token_index(self.token0, self.token1, token_in) == 0:
            return self.with_reserves(self.reserve0 + amount_in, self.reserve1 - out)
        return self.with_reserves(self.reserve0 - out, self.reserve1 + amount_in)


#: The Python method, kept whichever answers ``V2PoolState.amount_out``: the reference
#: the native quote is tested against, and the path of every case off its fast path.
python_amount_out = V2PoolState.amount_out

try:
    from trading.amm import _native
except ImportError:  # not built (``make setup`` builds it): the Python method answers
    NATIVE_QUOTE = False
else:
    # The same quote in fixed-width integers, read straight from the slots: about a
    # seventh of the Python method's time (benchmarks/analysis.py compares them).
    NATIVE_QUOTE = True
    setattr(  # noqa: B010 (mypy refuses an assignment to a method)
        V2PoolState, "amount_out", _native.bind_v2_amount_out(V2PoolState, python_amount_out)
    )
