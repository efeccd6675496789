"""Uniswap V3 pool state and the exact swap loop of ``UniswapV3Pool.swap``.

Public API (stable):

- ``V3PoolState`` (frozen, hashable): ``address, token0, token1, fee (pips),
  tick_spacing, sqrt_price_x96, tick, liquidity, ticks, min_word, max_word,
  block_number``. ``ticks`` holds every initialized tick in the known words
  as sorted ``(tick, liquidity_net)`` pairs (a mapping is accepted and
  converted). ``min_word``/``max_word`` bound the tick-bitmap words that were
  read from chain: a quote that would read another word raises
  :class:`~trading.amm.errors.IncompleteTickData` instead of guessing.
  Methods: ``amount_out(token_in, amount_in)``, ``quote(token_in, amount_in)``,
  ``after_swap(token_in, amount_in)``, ``liquidity_net(tick)``,
  ``bitmap_word(word)``; class method ``word_range_for_ticks(lo, hi, spacing)``.
- ``swap(state, zero_for_one, amount_specified, sqrt_price_limit_x96=None)
  -> V3SwapResult``: the contract's loop, exact input (positive amount) or exact
  output (negative amount).
- ``quote_exact_input(state, zero_for_one, amount_in, sqrt_price_limit_x96=None)
  -> V3SwapResult(amount_in_used, amount_out, sqrt_price_x96_after, tick_after,
  liquidity_after, ticks_crossed)``.
- ``quote_exact_output(state, zero_for_one, amount_out, ...) -> V3SwapResult``.

Fees are in pips (millionths): 500, 3000, 10000. Every initialized tick must
be present in ``ticks``, including ticks whose ``liquidity_net`` is 0 (a
position boundary that nets out still splits the swap into steps, and the
rounding of each step shows in the last wei).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from trading.amm import v3_math as m
from trading.amm.base import INT256_MAX, INT256_MIN, token_index
from trading.amm.errors import (
    ContractRevert,
    IncompleteTickData,
    InsufficientInputAmount,
    InsufficientLiquidity,
)


@dataclass(frozen=True, slots=True)
class V3SwapResult:
    """What one ``swap`` did.

    For exact input ``amount_in_used`` is the input actually taken (less than
    requested only when the price limit stopped the swap) and ``amount_out``
    what the pool pays. ``ticks_crossed`` counts initialized ticks crossed
    (each costs gas on chain).
    """

    amount_in_used: int
    amount_out: int
    sqrt_price_x96_after: int
    tick_after: int
    liquidity_after: int
    ticks_crossed: int


def _normalise_ticks(
    ticks: Mapping[int, int] | Iterable[tuple[int, int]],
) -> tuple[tuple[int, int], ...]:
    items = ticks.items() if isinstance(ticks, Mapping) else ticks
    return tuple(sorted((int(t), int(net)) for t, net in items))


@dataclass(frozen=True, slots=True)
class V3PoolState:
    """A Uniswap V3 pool at one block, with the tick data read for it.

    ``tick`` is ``slot0.tick`` as read: after a swap that ended exactly on a
    tick boundary going down it is one below the tick of the price, and the
    contract relies on that, so it is not recomputed here. ``min_word`` and
    ``max_word`` have no defaults on purpose: claiming complete tick data by
    accident is how a quoter returns a confident wrong number. Use
    :meth:`full_word_range` when every word really was read.
    """

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks: tuple[tuple[int, int], ...]
    min_word: int
    max_word: int
    block_number: int = 0
    _net: dict[int, int] = field(init=False, repr=False, compare=False, hash=False)
    _words: dict[int, int] = field(init=False, repr=False, compare=False, hash=False)

    kind = "uniswap_v3"

    def __post_init__(self) -> None:
        ticks = _normalise_ticks(self.ticks)
        object.__setattr__(self, "ticks", ticks)
        if self.tick_spacing <= 0:
            raise ValueError("tick_spacing must be positive")
        if not 0 <= self.fee < m.FEE_DENOMINATOR:
            raise ValueError(f"fee must be in pips, in [0, 1e6), got {self.fee}")
        if self.min_word > self.max_word:
            raise ValueError("min_word must not exceed max_word")
        net: dict[int, int] = {}
        words: dict[int, int] = {}
        for tick, liquidity_net in ticks:
            if tick % self.tick_spacing:
                raise ValueError(f"tick {tick} is not a multiple of {self.tick_spacing}")
            if tick in net:
                raise ValueError(f"tick {tick} appears twice")
            net[tick] = liquidity_net
            word, bit = m.position(tick // self.tick_spacing)
            words[word] = words.get(word, 0) | (1 << bit)
        object.__setattr__(self, "_net", net)
        object.__setattr__(self, "_words", words)

    @staticmethod
    def word_range_for_ticks(
        tick_lower: int, tick_upper: int, tick_spacing: int
    ) -> tuple[int, int]:
        """The bitmap words ``(min_word, max_word)`` that cover ticks in [lower, upper]."""
        return (tick_lower // tick_spacing) >> 8, (tick_upper // tick_spacing) >> 8

    @staticmethod
    def full_word_range(tick_spacing: int) -> tuple[int, int]:
        """Every bitmap word a pool with this spacing can use."""
        return V3PoolState.word_range_for_ticks(m.MIN_TICK, m.MAX_TICK, tick_spacing)

    def bitmap_word(self, word: int) -> int:
        """The pool's ``tickBitmap(word)``, or :class:`IncompleteTickData` if unknown."""
        if word < self.min_word or word > self.max_word:
            raise IncompleteTickData(word, self.min_word, self.max_word)
        return self._words.get(word, 0)

    def liquidity_net(self, tick: int) -> int:
        """``ticks(tick).liquidityNet`` (0 for an uninitialized tick)."""
        return self._net.get(tick, 0)

    def zero_for_one(self, token_in: str) -> bool:
        """True when selling ``token_in`` moves the price down (token0 in)."""
        return token_index(self.token0, self.token1, token_in) == 0

    def quote(self, token_in: str, amount_in: int) -> V3SwapResult:
        """Full result of selling ``amount_in`` of ``token_in`` with no price limit."""
        return quote_exact_input(self, self.zero_for_one(token_in), amount_in)

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact output of selling ``amount_in`` of ``token_in``.

        Raises :class:`InsufficientLiquidity` when the pool runs out of price
        range before taking the whole input: the real pool would then take
        less than ``amount_in``, which a fixed-size trade cannot use.
        """
        result = self.quote(token_in, amount_in)
        if result.amount_in_used != amount_in:
            raise InsufficientLiquidity(
                f"V3 pool {self.address} takes only {result.amount_in_used} of {amount_in}"
            )
        return result.amount_out

    def after_swap(self, token_in: str, amount_in: int) -> V3PoolState:
        """The state after selling ``amount_in`` of ``token_in`` (ticks are unchanged)."""
        result = self.quote(token_in, amount_in)
        return replace(
            self,
            sqrt_price_x96=result.sqrt_price_x96_after,
            tick=result.tick_after,
            liquidity=result.liquidity_after,
        )


def swap(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None = None,
) -> V3SwapResult:
    """Run ``UniswapV3Pool.swap``'s loop on ``state`` without changing it.

    ``amount_specified`` > 0 is an exact input, < 0 an exact output, as in the
    contract. Without a price limit the swap may go to the edge of the price
    range (``MIN_SQRT_RATIO + 1`` / ``MAX_SQRT_RATIO - 1``, the usual quoter
    limits). For exact output, ``amount_in_used`` is the input the pool asks
    for (fee included) and ``amount_out`` the output delivered.
    """
    if amount_specified == 0:
        raise ContractRevert("AS")
    if not INT256_MIN <= amount_specified <= INT256_MAX:
        raise ContractRevert("amountSpecified does not fit int256")
    if sqrt_price_limit_x96 is None:
        sqrt_price_limit_x96 = m.MIN_SQRT_RATIO + 1 if zero_for_one else m.MAX_SQRT_RATIO - 1
    start_price = state.sqrt_price_x96
    if zero_for_one:
        if not (m.MIN_SQRT_RATIO < sqrt_price_limit_x96 < start_price):
            raise ContractRevert("SPL")
    elif not (start_price < sqrt_price_limit_x96 < m.MAX_SQRT_RATIO):
        raise ContractRevert("SPL")

    exact_input = amount_specified > 0
    remaining = amount_specified
    calculated = 0
    sqrt_price = start_price
    tick = state.tick
    liquidity = state.liquidity
    fee = state.fee
    spacing = state.tick_spacing
    word_at = state.bitmap_word
    crossed = 0

    while remaining != 0 and sqrt_price != sqrt_price_limit_x96:
        step_start_price = sqrt_price
        tick_next, initialized = m.next_initialized_tick_within_one_word(
            word_at, tick, spacing, zero_for_one
        )
        # the tick bitmap is not aware of the min/max tick bounds
        if tick_next < m.MIN_TICK:
            tick_next = m.MIN_TICK
        elif tick_next > m.MAX_TICK:
            tick_next = m.MAX_TICK
        step_next_price = m.get_sqrt_ratio_at_tick(tick_next)

        if zero_for_one:
            target = (
                sqrt_price_limit_x96 if step_next_price < sqrt_price_limit_x96 else step_next_price
            )
        else:
            target = (
                sqrt_price_limit_x96 if step_next_price > sqrt_price_limit_x96 else step_next_price
            )
        sqrt_price, step_in, step_out, step_fee = m.compute_swap_step(
            sqrt_price, target, liquidity, remaining, fee
        )

        if exact_input:
            remaining -= m.to_int256(step_in + step_fee)
            calculated -= m.to_int256(step_out)
        else:
            remaining += m.to_int256(step_out)
            calculated += m.to_int256(step_in + step_fee)
        if not INT256_MIN <= calculated <= INT256_MAX:
            raise ContractRevert("LowGasSafeMath: amountCalculated overflows int256")

        if sqrt_price == step_next_price:
            if initialized:
                liquidity_net = state.liquidity_net(tick_next)
                # moving leftward, liquidityNet is interpreted with the opposite sign
                if zero_for_one:
                    liquidity_net = -liquidity_net
                liquidity = m.add_delta(liquidity, liquidity_net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != step_start_price:
            # recompute unless on a lower tick boundary (already transitioned) and unmoved
            tick = m.get_tick_at_sqrt_ratio(sqrt_price)

    if exact_input:
        amount_in_used = amount_specified - remaining
        amount_out = -calculated
    else:
        amount_in_used = calculated
        amount_out = -(amount_specified - remaining)
    return V3SwapResult(
        amount_in_used=amount_in_used,
        amount_out=amount_out,
        sqrt_price_x96_after=sqrt_price,
        tick_after=tick,
        liquidity_after=liquidity,
        ticks_crossed=crossed,
    )


def quote_exact_input(
    state: V3PoolState,
    zero_for_one: bool,
    amount_in: int,
    sqrt_price_limit_x96: int | None = None,
) -> V3SwapResult:
    """Exact-input swap of ``amount_in`` (token0 if ``zero_for_one`` else token1)."""
    if amount_in <= 0:
        raise InsufficientInputAmount("amount_in must be positive")
    return swap(state, zero_for_one, amount_in, sqrt_price_limit_x96)


def quote_exact_output(
    state: V3PoolState,
    zero_for_one: bool,
    amount_out: int,
    sqrt_price_limit_x96: int | None = None,
) -> V3SwapResult:
    """Exact-output swap buying ``amount_out`` (token1 if ``zero_for_one`` else token0)."""
    if amount_out <= 0:
        raise InsufficientInputAmount("amount_out must be positive")
    return swap(state, zero_for_one, -amount_out, sqrt_price_limit_x96)
