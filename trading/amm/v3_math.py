"""A faithful port of Uniswap V3 core's math libraries to Python integers.

Each function mirrors the Solidity function of the same name in v3-core
(``FullMath``, ``UnsafeMath``, ``TickMath``, ``SqrtPriceMath``, ``SwapMath``,
``LiquidityMath``, ``BitMath``, ``TickBitmap``). Python integers do not
overflow, so every place where the contract would revert (a ``require``, a
checked add, a ``SafeCast``) raises :class:`~trading.amm.errors.ContractRevert`
with the contract's reason string where it has one, and every place where the
contract relies on wrapping arithmetic is reproduced with explicit masks.

Inputs are assumed to be in their Solidity types' ranges (uint160 prices,
uint128 liquidity, int24 ticks, uint24 fees); functions that receive values
from outside (ticks, prices) check them like the contract does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from trading.amm.base import (
    INT256_MAX,
    UINT128_MAX,
    UINT160_MAX,
    UINT256_MAX,
)
from trading.amm.errors import ContractRevert

Q96 = 1 << 96
Q128 = 1 << 128
RESOLUTION = 96

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

FEE_DENOMINATOR = 1_000_000  # V3 fees are in pips: hundredths of a basis point


# --------------------------------------------------------------------------- FullMath


def mul_div(a: int, b: int, denominator: int) -> int:
    """``FullMath.mulDiv``: floor(a*b/denominator) with a 512-bit intermediate.

    Reverts when ``denominator`` is 0 or the result does not fit uint256.
    """
    if denominator == 0:
        raise ContractRevert("FullMath: denominator is zero")
    result = a * b // denominator
    if result > UINT256_MAX:
        raise ContractRevert("FullMath: result overflows uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """``FullMath.mulDivRoundingUp``: ceil(a*b/denominator)."""
    result = mul_div(a, b, denominator)
    if (a * b) % denominator > 0:
        if result >= UINT256_MAX:
            raise ContractRevert("FullMath: result overflows uint256")
        result += 1
    return result


def div_rounding_up(x: int, y: int) -> int:
    """``UnsafeMath.divRoundingUp``: ceil(x/y); EVM division by zero yields 0."""
    if y == 0:
        return 0
    return x // y + (1 if x % y > 0 else 0)


# --------------------------------------------------------------------------- BitMath


def most_significant_bit(x: int) -> int:
    """``BitMath.mostSignificantBit`` (reverts for 0)."""
    if x <= 0:
        raise ContractRevert("BitMath: x is zero")
    return x.bit_length() - 1


def least_significant_bit(x: int) -> int:
    """``BitMath.leastSignificantBit`` (reverts for 0)."""
    if x <= 0:
        raise ContractRevert("BitMath: x is zero")
    return (x & -x).bit_length() - 1


# --------------------------------------------------------------------------- TickMath

_TICK_FACTORS = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)


@lru_cache(maxsize=1 << 16)
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """``TickMath.getSqrtRatioAtTick``: sqrt(1.0001**tick) as a Q64.96, rounded up.

    Remembered per tick: a swap asks for the same initialized ticks and word
    edges again and again, and each answer costs up to 20 wide products.
    """
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        raise ContractRevert("T")
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 0x1 else 1 << 128
    for bit, factor in _TICK_FACTORS:
        if abs_tick & bit:
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = UINT256_MAX // ratio
    # Q128.128 -> Q64.96, rounding up so getTickAtSqrtRatio of the result is consistent.
    return (ratio >> 32) + (0 if ratio % (1 << 32) == 0 else 1)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """``TickMath.getTickAtSqrtRatio``: the greatest tick whose ratio is <= the price."""
    if not (MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO):
        raise ContractRevert("R")
    ratio = sqrt_price_x96 << 32

    r = ratio
    msb = 0
    for shift, threshold in (
        (7, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF),
        (6, 0xFFFFFFFFFFFFFFFF),
        (5, 0xFFFFFFFF),
        (4, 0xFFFF),
        (3, 0xFF),
        (2, 0xF),
        (1, 0x3),
    ):
        f = (1 << shift) if r > threshold else 0
        msb |= f
        r >>= f
    msb |= 1 if r > 0x1 else 0

    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)

    log_2 = (msb - 128) << 64
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f

    log_sqrt10001 = log_2 * 255738958999603826347141  # 128.128 number
    tick_low = (log_sqrt10001 - 3402992956809132418596140100660247210) >> 128
    tick_hi = (log_sqrt10001 + 291339464771989622907027621153398088495) >> 128
    if tick_low == tick_hi:
        return tick_low
    return tick_hi if get_sqrt_ratio_at_tick(tick_hi) <= sqrt_price_x96 else tick_low


# ---------------------------------------------------------------------- SqrtPriceMath


def _to_uint160(value: int) -> int:
    if value > UINT160_MAX:
        raise ContractRevert("SafeCast: value does not fit uint160")
    return value


def get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_px96: int, liquidity: int, amount: int, add: bool
) -> int:
    """``SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp``."""
    # amount == 0 is short-circuited: the formula would not return the input price exactly.
    if amount == 0:
        return sqrt_px96
    numerator1 = liquidity << RESOLUTION
    product = amount * sqrt_px96
    product_fits = product <= UINT256_MAX
    if add:
        if product_fits:
            denominator = numerator1 + product
            if denominator <= UINT256_MAX:  # the contract checks denominator >= numerator1
                # always fits in 160 bits
                return mul_div_rounding_up(numerator1, sqrt_px96, denominator)
        total = numerator1 // sqrt_px96 + amount
        if total > UINT256_MAX:
            raise ContractRevert("LowGasSafeMath: add overflow")
        return div_rounding_up(numerator1, total)
    # If the product overflows, the denominator would underflow.
    if not (product_fits and numerator1 > product):
        raise ContractRevert("SqrtPriceMath: amount0 removes the whole virtual reserve")
    denominator = numerator1 - product
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_px96, denominator))


def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_px96: int, liquidity: int, amount: int, add: bool
) -> int:
    """``SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown``."""
    if liquidity == 0:
        raise ContractRevert("division by zero")
    if add:
        quotient = (
            (amount << RESOLUTION) // liquidity
            if amount <= UINT160_MAX
            else mul_div(amount, Q96, liquidity)
        )
        total = sqrt_px96 + quotient
        if total > UINT256_MAX:
            raise ContractRevert("LowGasSafeMath: add overflow")
        return _to_uint160(total)
    quotient = (
        div_rounding_up(amount << RESOLUTION, liquidity)
        if amount <= UINT160_MAX
        else mul_div_rounding_up(amount, Q96, liquidity)
    )
    if not sqrt_px96 > quotient:
        raise ContractRevert("SqrtPriceMath: amount1 removes the whole virtual reserve")
    return sqrt_px96 - quotient


def get_next_sqrt_price_from_input(
    sqrt_px96: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """``SqrtPriceMath.getNextSqrtPriceFromInput`` (rounds so the target is not passed)."""
    if sqrt_px96 <= 0:
        raise ContractRevert("P")
    if liquidity <= 0:
        raise ContractRevert("L")
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(
    sqrt_px96: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    """``SqrtPriceMath.getNextSqrtPriceFromOutput`` (rounds so the target is passed)."""
    if sqrt_px96 <= 0:
        raise ContractRevert("P")
    if liquidity <= 0:
        raise ContractRevert("L")
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(
            sqrt_px96, liquidity, amount_out, False
        )
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_out, False)


def get_amount0_delta(
    sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool
) -> int:
    """``SqrtPriceMath.getAmount0Delta``: token0 between two prices for ``liquidity``."""
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    numerator1 = liquidity << RESOLUTION
    numerator2 = sqrt_ratio_b_x96 - sqrt_ratio_a_x96
    if sqrt_ratio_a_x96 <= 0:
        raise ContractRevert("SqrtPriceMath: price is zero")
    if round_up:
        return div_rounding_up(
            mul_div_rounding_up(numerator1, numerator2, sqrt_ratio_b_x96), sqrt_ratio_a_x96
        )
    return mul_div(numerator1, numerator2, sqrt_ratio_b_x96) // sqrt_ratio_a_x96


def get_amount1_delta(
    sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool
) -> int:
    """``SqrtPriceMath.getAmount1Delta``: token1 between two prices for ``liquidity``."""
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_ratio_b_x96 - sqrt_ratio_a_x96, Q96)
    return mul_div(liquidity, sqrt_ratio_b_x96 - sqrt_ratio_a_x96, Q96)


# --------------------------------------------------------------------------- SwapMath


def compute_swap_step(
    sqrt_ratio_current_x96: int,
    sqrt_ratio_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """``SwapMath.computeSwapStep``.

    ``amount_remaining`` is signed like the contract's: positive for exact
    input, negative for exact output. Returns ``(sqrt_ratio_next_x96,
    amount_in, amount_out, fee_amount)``.
    """
    zero_for_one = sqrt_ratio_current_x96 >= sqrt_ratio_target_x96
    exact_in = amount_remaining >= 0
    amount_in = 0
    amount_out = 0

    if exact_in:
        amount_remaining_less_fee = mul_div(
            amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR
        )
        amount_in = (
            get_amount0_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, True)
            if zero_for_one
            else get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, True)
        )
        if amount_remaining_less_fee >= amount_in:
            sqrt_ratio_next_x96 = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next_x96 = get_next_sqrt_price_from_input(
                sqrt_ratio_current_x96, liquidity, amount_remaining_less_fee, zero_for_one
            )
    else:
        amount_out = (
            get_amount1_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, False)
            if zero_for_one
            else get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, False)
        )
        if -amount_remaining >= amount_out:
            sqrt_ratio_next_x96 = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next_x96 = get_next_sqrt_price_from_output(
                sqrt_ratio_current_x96, liquidity, -amount_remaining, zero_for_one
            )

    reached_target = sqrt_ratio_target_x96 == sqrt_ratio_next_x96

    if zero_for_one:
        if not (reached_target and exact_in):
            amount_in = get_amount0_delta(
                sqrt_ratio_next_x96, sqrt_ratio_current_x96, liquidity, True
            )
        if not (reached_target and not exact_in):
            amount_out = get_amount1_delta(
                sqrt_ratio_next_x96, sqrt_ratio_current_x96, liquidity, False
            )
    else:
        if not (reached_target and exact_in):
            amount_in = get_amount1_delta(
                sqrt_ratio_current_x96, sqrt_ratio_next_x96, liquidity, True
            )
        if not (reached_target and not exact_in):
            amount_out = get_amount0_delta(
                sqrt_ratio_current_x96, sqrt_ratio_next_x96, liquidity, False
            )

    # Cap the output so it does not exceed the remaining output amount.
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining

    if exact_in and sqrt_ratio_next_x96 != sqrt_ratio_target_x96:
        # The target was not reached: the remainder of the maximum input is the fee.
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)

    return sqrt_ratio_next_x96, amount_in, amount_out, fee_amount


# ----------------------------------------------------------------------- LiquidityMath


def add_delta(x: int, y: int) -> int:
    """``LiquidityMath.addDelta``: uint128 plus int128, reverting on under/overflow."""
    if y < 0:
        z = x + y
        if z < 0:
            raise ContractRevert("LS")
        return z
    z = x + y
    if z > UINT128_MAX:
        raise ContractRevert("LA")
    return z


# ------------------------------------------------------------------------- TickBitmap


def position(tick: int) -> tuple[int, int]:
    """``TickBitmap.position``: (word, bit) of a compressed tick."""
    return tick >> 8, tick % 256


def next_initialized_tick_within_one_word(
    word_at: Callable[[int], int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """``TickBitmap.nextInitializedTickWithinOneWord``.

    ``word_at(word_pos)`` returns the bitmap word the contract would read from
    its ``tickBitmap`` mapping; it may raise if that word is not known.
    Returns ``(next_tick, initialized)``; the next tick is at most 256 spaced
    ticks away and may be uninitialized (the word boundary).
    """
    compressed = tick // tick_spacing  # floor division: rounds towards negative infinity
    if lte:
        word_pos, bit_pos = position(compressed)
        # all the 1s at or to the right of the current bit
        mask = (1 << bit_pos) - 1 + (1 << bit_pos)
        masked = word_at(word_pos) & mask
        if masked != 0:
            return (compressed - (bit_pos - most_significant_bit(masked))) * tick_spacing, True
        return (compressed - bit_pos) * tick_spacing, False
    # start from the word of the next tick, since the current tick state doesn't matter
    word_pos, bit_pos = position(compressed + 1)
    # all the 1s at or to the left of the bit
    mask = ~((1 << bit_pos) - 1) & UINT256_MAX
    masked = word_at(word_pos) & mask
    if masked != 0:
        return (compressed + 1 + (least_significant_bit(masked) - bit_pos)) * tick_spacing, True
    return (compressed + 1 + (255 - bit_pos)) * tick_spacing, False


def to_int256(value: int) -> int:
    """``SafeCast.toInt256``: a uint256 that must be below 2**255."""
    if value > INT256_MAX:
        raise ContractRevert("SafeCast: value does not fit int256")
    return value
