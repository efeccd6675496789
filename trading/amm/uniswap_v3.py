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
  ``quote_no_tick(token_in, amount_in)``,
  ``after_swap(token_in, amount_in)``, ``liquidity_net(tick)``,
  ``bitmap_word(word)``; class method ``word_range_for_ticks(lo, hi, spacing)``.
  ``quote_no_tick(token_in, amount_in) -> (amount_in_used, amount_out,
  sqrt_price_x96_after, liquidity_after, ticks_crossed)`` is ``quote`` without
  the final tick, the one costly step a quote does not need.
- ``swap(state, zero_for_one, amount_specified, sqrt_price_limit_x96=None)
  -> V3SwapResult``: the contract's loop, exact input (positive amount) or exact
  output (negative amount). The state's own quotes run the same loop
  specialised to an exact input with no price limit; tests hold the two equal.
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

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from trading.amm import v3_math as m
from trading.amm.base import INT256_MAX, INT256_MIN, UINT160_MAX, UINT256_MAX, token_index
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
    _tick_list: tuple[int, ...] = field(init=False, repr=False, compare=False, hash=False)

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
        object.__setattr__(self, "_tick_list", tuple(tick for tick, _ in ticks))

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

    def _direction(self, token_in: str) -> bool:
        if token_in == self.token0:
            return True
        if token_in == self.token1:
            return False
        return self.zero_for_one(token_in)

    def quote(self, token_in: str, amount_in: int) -> V3SwapResult:
        """Full result of selling ``amount_in`` of ``token_in`` with no price limit."""
        used, out, price, tick, liquidity, crossed = _exact_input(
            self, self._direction(token_in), amount_in, True
        )
        return V3SwapResult(used, out, price, tick, liquidity, crossed)

    def quote_no_tick(self, token_in: str, amount_in: int) -> tuple[int, int, int, int, int]:
        """``(amount_in_used, amount_out, sqrt_price_x96_after, liquidity_after,
        ticks_crossed)`` of :meth:`quote`, without working out the tick after."""
        used, out, price, _, liquidity, crossed = _exact_input(
            self, self._direction(token_in), amount_in, False
        )
        return used, out, price, liquidity, crossed

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact output of selling ``amount_in`` of ``token_in``.

        Raises :class:`InsufficientLiquidity` when the pool runs out of price
        range before taking the whole input: the real pool would then take
        less than ``amount_in``, which a fixed-size trade cannot use.
        """
        if token_in == self.token0:
            zero_for_one = True
        elif token_in == self.token1:
            zero_for_one = False
        else:
            zero_for_one = self.zero_for_one(token_in)
        used, out, *_ = _exact_input(self, zero_for_one, amount_in, False)
        if used != amount_in:
            raise InsufficientLiquidity(f"V3 pool {self.address} takes only {used} of {amount_in}")
        return out

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


def _exact_input(
    state: V3PoolState, zero_for_one: bool, amount_in: int, want_tick: bool
) -> tuple[int, int, int, int, int, int]:
    """``swap(state, zero_for_one, amount_in)`` with no price limit, step for step.

    Returns ``(amount_in_used, amount_out, sqrt_price_x96_after, tick_after,
    liquidity_after, ticks_crossed)``. The same loop as :func:`swap`, with
    ``computeSwapStep``'s exact-input branch inlined, the next initialized
    tick found by bisection in the sorted ticks rather than bit by bit (the
    same tick, word boundaries included), and the tick after the swap worked
    out only when ``want_tick`` (otherwise ``tick_after`` is the last tick the
    loop knew). Its reverts are :func:`swap`'s, with the same reasons.
    """
    if amount_in <= 0:
        raise InsufficientInputAmount("amount_in must be positive")
    if amount_in > INT256_MAX:
        raise ContractRevert("amountSpecified does not fit int256")
    price = state.sqrt_price_x96
    if zero_for_one:
        limit = m.MIN_SQRT_RATIO + 1
        if not limit < price:
            raise ContractRevert("SPL")
    else:
        limit = m.MAX_SQRT_RATIO - 1
        if not price < limit:
            raise ContractRevert("SPL")

    remaining = amount_in
    out = 0
    tick = state.tick
    liquidity = state.liquidity
    fee = state.fee
    keep = m.FEE_DENOMINATOR - fee
    spacing = state.tick_spacing
    ticks = state._tick_list
    low_word, high_word = state.min_word, state.max_word
    sqrt_at = m.get_sqrt_ratio_at_tick
    crossed = 0
    tick_known = True

    while remaining != 0 and price != limit:
        # TickBitmap.nextInitializedTickWithinOneWord on the sorted ticks
        compressed = tick // spacing
        if zero_for_one:
            word = compressed >> 8
            if word < low_word or word > high_word:
                raise IncompleteTickData(word, low_word, high_word)
            edge = (compressed - (compressed & 255)) * spacing
            i = bisect_right(ticks, compressed * spacing) - 1
            if i >= 0 and ticks[i] >= edge:
                tick_next, initialized = ticks[i], True
            else:
                tick_next, initialized = edge, False
            if tick_next < m.MIN_TICK:
                tick_next = m.MIN_TICK
        else:
            compressed += 1
            word = compressed >> 8
            if word < low_word or word > high_word:
                raise IncompleteTickData(word, low_word, high_word)
            edge = (compressed + 255 - (compressed & 255)) * spacing
            i = bisect_left(ticks, compressed * spacing)
            if i < len(ticks) and ticks[i] <= edge:
                tick_next, initialized = ticks[i], True
            else:
                tick_next, initialized = edge, False
            if tick_next > m.MAX_TICK:
                tick_next = m.MAX_TICK
        step_next_price = sqrt_at(tick_next)
        if zero_for_one:
            target = limit if step_next_price < limit else step_next_price
        else:
            target = limit if step_next_price > limit else step_next_price

        if (target > price) if zero_for_one else (target < price):
            # A tick that disagrees with the price: the general loop handles it as the pool would.
            result = swap(state, zero_for_one, amount_in)
            return (
                result.amount_in_used,
                result.amount_out,
                result.sqrt_price_x96_after,
                result.tick_after,
                result.liquidity_after,
                result.ticks_crossed,
            )

        # SwapMath.computeSwapStep, exact input
        less_fee = remaining * keep // m.FEE_DENOMINATOR
        if zero_for_one:
            # getAmount0Delta(target, price, liquidity, roundUp)
            q, r = divmod((liquidity << 96) * (price - target), price)
            q += r > 0
            step_in = q // target + (q % target > 0)
        else:
            # getAmount1Delta(price, target, liquidity, roundUp)
            q, r = divmod(liquidity * (target - price), m.Q96)
            step_in = q + (r > 0)
        if less_fee >= step_in:
            next_price = target
        else:
            # SqrtPriceMath.getNextSqrtPriceFromInput, its common cases inline
            if zero_for_one:
                numerator1 = liquidity << 96
                denominator = numerator1 + less_fee * price
                if liquidity and less_fee and denominator <= UINT256_MAX:
                    q, r = divmod(numerator1 * price, denominator)
                    next_price = q + (r > 0)
                else:
                    next_price = m.get_next_sqrt_price_from_input(
                        price, liquidity, less_fee, zero_for_one
                    )
            elif liquidity and less_fee <= UINT160_MAX:
                next_price = price + (less_fee << 96) // liquidity
                if next_price > UINT160_MAX:  # the library's own revert, with its reason
                    next_price = m.get_next_sqrt_price_from_input(
                        price, liquidity, less_fee, zero_for_one
                    )
            else:
                next_price = m.get_next_sqrt_price_from_input(
                    price, liquidity, less_fee, zero_for_one
                )
        if zero_for_one:
            step_out = (liquidity * (price - next_price)) >> 96
        else:
            step_out = (liquidity << 96) * (next_price - price) // next_price // price
        if next_price != target:
            # The step stops short: the contract splits the rest of the input between the
            # pool and the fee, so the whole of it is taken and the split does not matter.
            step_in = remaining
        else:
            q, r = divmod(step_in * fee, keep)
            step_in += q + (r > 0)

        if step_in > INT256_MAX or step_out > INT256_MAX:
            raise ContractRevert("SafeCast: value does not fit int256")
        remaining -= step_in
        out += step_out
        if out > -INT256_MIN:
            raise ContractRevert("LowGasSafeMath: amountCalculated overflows int256")

        if next_price == step_next_price:
            if initialized:
                liquidity_net = state._net.get(tick_next, 0)
                # moving leftward, liquidityNet is interpreted with the opposite sign
                if zero_for_one:
                    liquidity_net = -liquidity_net
                liquidity = m.add_delta(liquidity, liquidity_net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
            price = next_price
        else:
            if next_price != price:
                # Only the last step ends between ticks: its tick matters after the loop.
                tick_known = False
            price = next_price
            if not tick_known and (want_tick or (remaining != 0 and price != limit)):
                tick = m.get_tick_at_sqrt_ratio(price)
                tick_known = True

    return amount_in - remaining, out, price, tick, liquidity, crossed


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
