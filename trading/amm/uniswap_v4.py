"""Uniswap V4 pools: V3's concentrated-liquidity maths with V4's fee and swap rules.

A V4 pool lives inside the PoolManager singleton and is named by its pool id
(``keccak256(abi.encode(currency0, currency1, fee, tickSpacing, hooks))``),
not by an address. Its tick data is V3's, so :class:`V4PoolState` extends
:class:`~trading.amm.uniswap_v3.V3PoolState` (``address`` holds the pool id,
``fee`` the ``lpFee`` from slot0) and only the swap differs:

- the fee of a swap is ``lpFee`` plus the direction's protocol fee
  (``ProtocolFeeLibrary.calculateSwapFee``), up to 100%;
- ``SwapMath.computeSwapStep`` charges an exact input's remainder as the fee
  whenever the step stops short of its target (V3 recomputes the input there),
  and amounts must fit ``int128`` (the PoolManager's balance deltas).

Also pure helpers for pool keys: :func:`pool_id` and the hook permission
bits that decide whether a pool with hooks quotes like a hookless one.

Public API (stable): ``V4PoolState``, ``swap``, ``quote_exact_input``,
``pool_id``, ``swap_fee``, ``DYNAMIC_FEE_FLAG``, ``hook_flags``,
``hook_refusal``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

from trading.amm import v3_math as m
from trading.amm.errors import ContractRevert, InsufficientInputAmount, InsufficientLiquidity
from trading.amm.uniswap_v3 import V3PoolState, V3SwapResult

MAX_SWAP_FEE = 1_000_000
# A key's fee with this bit set means "dynamic": the hook sets slot0's lpFee.
DYNAMIC_FEE_FLAG = 0x800000
INT128_MAX = 2**127 - 1

# Hooks.sol: the low 14 bits of a hook's address are its permissions.
BEFORE_INITIALIZE = 1 << 13
AFTER_INITIALIZE = 1 << 12
BEFORE_ADD_LIQUIDITY = 1 << 11
AFTER_ADD_LIQUIDITY = 1 << 10
BEFORE_REMOVE_LIQUIDITY = 1 << 9
AFTER_REMOVE_LIQUIDITY = 1 << 8
BEFORE_SWAP = 1 << 7
AFTER_SWAP = 1 << 6
BEFORE_DONATE = 1 << 5
AFTER_DONATE = 1 << 4
BEFORE_SWAP_RETURNS_DELTA = 1 << 3
AFTER_SWAP_RETURNS_DELTA = 1 << 2
AFTER_ADD_LIQUIDITY_RETURNS_DELTA = 1 << 1
AFTER_REMOVE_LIQUIDITY_RETURNS_DELTA = 1 << 0
ALL_HOOK_MASK = (1 << 14) - 1

# Hooks that can change what a swap pays or takes, so the maths here would be wrong.
_SWAP_ALTERING = {
    BEFORE_SWAP: "beforeSwap",
    AFTER_SWAP: "afterSwap",
    BEFORE_SWAP_RETURNS_DELTA: "beforeSwapReturnDelta",
    AFTER_SWAP_RETURNS_DELTA: "afterSwapReturnDelta",
    AFTER_ADD_LIQUIDITY_RETURNS_DELTA: "afterAddLiquidityReturnDelta",
    AFTER_REMOVE_LIQUIDITY_RETURNS_DELTA: "afterRemoveLiquidityReturnDelta",
}


def hook_flags(hooks: str) -> int:
    """The permission bits encoded in a hook contract's address."""
    return int(hooks, 16) & ALL_HOOK_MASK


def hook_refusal(hooks: str) -> str | None:
    """Why a pool with these hooks cannot be quoted exactly, or None when it can.

    Hookless pools and hooks without swap or delta-returning permissions swap
    exactly like a hookless pool; the others may change any swap's amounts.
    """
    flags = hook_flags(hooks)
    names = [name for bit, name in _SWAP_ALTERING.items() if flags & bit]
    if not names:
        return None
    return "hooks " + hooks + " may alter swaps (" + ", ".join(names) + ")"


def pool_id(currency0: str, currency1: str, fee: int, tick_spacing: int, hooks: str) -> str:
    """``PoolIdLibrary.toId``: keccak of the ABI-encoded key, as 0x + 64 hex digits."""
    words = (
        int(currency0, 16).to_bytes(32, "big")
        + int(currency1, 16).to_bytes(32, "big")
        + fee.to_bytes(32, "big")
        + (tick_spacing % 2**256).to_bytes(32, "big")
        + int(hooks, 16).to_bytes(32, "big")
    )
    return "0x" + keccak(words).hex()


def swap_fee(lp_fee: int, protocol_fee: int, zero_for_one: bool) -> int:
    """The fee in pips a swap pays: ``lpFee`` plus the direction's protocol fee.

    ``protocol_fee`` is slot0's packed value: the zero-for-one fee in the low
    12 bits, the one-for-zero fee in the next 12.
    """
    fee = protocol_fee & 0xFFF if zero_for_one else (protocol_fee >> 12) & 0xFFF
    if fee == 0:
        return lp_fee
    return fee + lp_fee - fee * lp_fee // MAX_SWAP_FEE


def compute_swap_step(
    sqrt_price_current_x96: int,
    sqrt_price_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """V4's ``SwapMath.computeSwapStep``, with V3's sign (positive = exact input).

    Returns ``(sqrt_price_next_x96, amount_in, amount_out, fee_amount)``.
    """
    zero_for_one = sqrt_price_current_x96 >= sqrt_price_target_x96
    if amount_remaining > 0:
        less_fee = m.mul_div(amount_remaining, MAX_SWAP_FEE - fee_pips, MAX_SWAP_FEE)
        amount_in = (
            m.get_amount0_delta(sqrt_price_target_x96, sqrt_price_current_x96, liquidity, True)
            if zero_for_one
            else m.get_amount1_delta(sqrt_price_current_x96, sqrt_price_target_x96, liquidity, True)
        )
        if less_fee >= amount_in:
            next_price = sqrt_price_target_x96
            fee = (
                amount_in
                if fee_pips == MAX_SWAP_FEE
                else m.mul_div_rounding_up(amount_in, fee_pips, MAX_SWAP_FEE - fee_pips)
            )
        else:
            amount_in = less_fee
            next_price = m.get_next_sqrt_price_from_input(
                sqrt_price_current_x96, liquidity, less_fee, zero_for_one
            )
            fee = amount_remaining - amount_in
        amount_out = (
            m.get_amount1_delta(next_price, sqrt_price_current_x96, liquidity, False)
            if zero_for_one
            else m.get_amount0_delta(sqrt_price_current_x96, next_price, liquidity, False)
        )
        return next_price, amount_in, amount_out, fee
    wanted = -amount_remaining
    amount_out = (
        m.get_amount1_delta(sqrt_price_target_x96, sqrt_price_current_x96, liquidity, False)
        if zero_for_one
        else m.get_amount0_delta(sqrt_price_current_x96, sqrt_price_target_x96, liquidity, False)
    )
    if wanted >= amount_out:
        next_price = sqrt_price_target_x96
    else:
        amount_out = wanted
        next_price = m.get_next_sqrt_price_from_output(
            sqrt_price_current_x96, liquidity, amount_out, zero_for_one
        )
    amount_in = (
        m.get_amount0_delta(next_price, sqrt_price_current_x96, liquidity, True)
        if zero_for_one
        else m.get_amount1_delta(sqrt_price_current_x96, next_price, liquidity, True)
    )
    fee = m.mul_div_rounding_up(amount_in, fee_pips, MAX_SWAP_FEE - fee_pips)
    return next_price, amount_in, amount_out, fee


@dataclass(frozen=True, slots=True)
class V4PoolState(V3PoolState):
    """A V4 pool at one block: V3's fields (``address`` is the pool id, ``fee``
    slot0's ``lpFee``) plus slot0's packed ``protocol_fee``.

    ``manager`` is the PoolManager holding the pool.
    """

    protocol_fee: int = 0
    manager: str = ""

    kind = "uniswap_v4"

    def __post_init__(self) -> None:
        # V4 allows an lpFee of exactly 100% (V3's check stops below it).
        if self.fee == MAX_SWAP_FEE:
            raise ValueError("an lpFee of 100% leaves nothing to trade")
        V3PoolState.__post_init__(self)

    def quote(self, token_in: str, amount_in: int) -> V3SwapResult:
        """Full result of selling ``amount_in`` of ``token_in`` with no price limit."""
        return quote_exact_input(self, self.zero_for_one(token_in), amount_in)

    def quote_no_tick(self, token_in: str, amount_in: int) -> tuple[int, int, int, int, int]:
        """V4's :meth:`quote` as ``V3PoolState.quote_no_tick``'s tuple (V4's own loop)."""
        result = self.quote(token_in, amount_in)
        return (
            result.amount_in_used,
            result.amount_out,
            result.sqrt_price_x96_after,
            result.liquidity_after,
            result.ticks_crossed,
        )

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact output of selling ``amount_in`` of ``token_in`` (the whole input or an error)."""
        result = self.quote(token_in, amount_in)
        if result.amount_in_used != amount_in:
            raise InsufficientLiquidity(
                f"V4 pool {self.address} takes only {result.amount_in_used} of {amount_in}"
            )
        return result.amount_out


def swap(
    state: V4PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None = None,
) -> V3SwapResult:
    """Run ``Pool.swap``'s loop (V4) on ``state`` without changing it.

    ``amount_specified`` > 0 is an exact input, < 0 an exact output (V3's
    sign; the PoolManager's is the opposite).
    """
    if amount_specified == 0:
        raise ContractRevert("SwapAmountCannotBeZero")
    if abs(amount_specified) > INT128_MAX:
        raise ContractRevert("SafeCastOverflow: amount does not fit int128")
    fee = swap_fee(state.fee, state.protocol_fee, zero_for_one)
    if fee >= MAX_SWAP_FEE and amount_specified < 0:
        raise ContractRevert("InvalidFeeForExactOut")
    if sqrt_price_limit_x96 is None:
        sqrt_price_limit_x96 = m.MIN_SQRT_RATIO + 1 if zero_for_one else m.MAX_SQRT_RATIO - 1
    start_price = state.sqrt_price_x96
    if zero_for_one:
        if not (m.MIN_SQRT_RATIO < sqrt_price_limit_x96 < start_price):
            raise ContractRevert("PriceLimitAlreadyExceeded")
    elif not (start_price < sqrt_price_limit_x96 < m.MAX_SQRT_RATIO):
        raise ContractRevert("PriceLimitAlreadyExceeded")

    exact_input = amount_specified > 0
    remaining = amount_specified
    calculated = 0
    sqrt_price = start_price
    tick = state.tick
    liquidity = state.liquidity
    spacing = state.tick_spacing
    crossed = 0

    while remaining != 0 and sqrt_price != sqrt_price_limit_x96:
        step_start_price = sqrt_price
        tick_next, initialized = m.next_initialized_tick_within_one_word(
            state.bitmap_word, tick, spacing, zero_for_one
        )
        tick_next = min(max(tick_next, m.MIN_TICK), m.MAX_TICK)
        step_next_price = m.get_sqrt_ratio_at_tick(tick_next)
        if zero_for_one:
            target = max(step_next_price, sqrt_price_limit_x96)
        else:
            target = min(step_next_price, sqrt_price_limit_x96)
        sqrt_price, step_in, step_out, step_fee = compute_swap_step(
            sqrt_price, target, liquidity, remaining, fee
        )
        if exact_input:
            remaining -= step_in + step_fee
            calculated += step_out
        else:
            remaining += step_out
            calculated += step_in + step_fee

        if sqrt_price == step_next_price:
            if initialized:
                liquidity_net = state.liquidity_net(tick_next)
                if zero_for_one:
                    liquidity_net = -liquidity_net
                liquidity = m.add_delta(liquidity, liquidity_net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != step_start_price:
            tick = m.get_tick_at_sqrt_ratio(sqrt_price)

    if exact_input:
        amount_in_used, amount_out = amount_specified - remaining, calculated
    else:
        amount_in_used, amount_out = calculated, -amount_specified + remaining
    if amount_in_used > INT128_MAX or amount_out > INT128_MAX:
        raise ContractRevert("SafeCastOverflow: delta does not fit int128")
    return V3SwapResult(
        amount_in_used=amount_in_used,
        amount_out=amount_out,
        sqrt_price_x96_after=sqrt_price,
        tick_after=tick,
        liquidity_after=liquidity,
        ticks_crossed=crossed,
    )


def quote_exact_input(
    state: V4PoolState,
    zero_for_one: bool,
    amount_in: int,
    sqrt_price_limit_x96: int | None = None,
) -> V3SwapResult:
    """Exact-input swap of ``amount_in`` (currency0 if ``zero_for_one`` else currency1)."""
    if amount_in <= 0:
        raise InsufficientInputAmount("amount_in must be positive")
    return swap(state, zero_for_one, amount_in, sqrt_price_limit_x96)
