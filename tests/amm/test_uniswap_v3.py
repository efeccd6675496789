"""Uniswap V3 maths, pinned to v3-core's own test vectors and swap snapshots."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.amm import ContractRevert, IncompleteTickData, InsufficientLiquidity
from trading.amm import v3_math as m
from trading.amm.uniswap_v3 import (
    V3PoolState,
    V3SwapResult,
    quote_exact_input,
    quote_exact_output,
    swap,
)

E18 = 10**18
MAX_UINT256 = 2**256 - 1
Q128 = 2**128
T0 = "0x0000000000000000000000000000000000000A01"
T1 = "0x0000000000000000000000000000000000000B02"


def encode_price_sqrt(reserve1: int, reserve0: int) -> int:
    """v3-core's test helper: bignumber.js with 40 decimal places, then floor(x * 2**96)."""
    with localcontext() as ctx:
        ctx.prec = 200
        step = Decimal(1).scaleb(-40)
        ratio = (Decimal(reserve1) / Decimal(reserve0)).quantize(step, rounding=ROUND_HALF_UP)
        root = ratio.sqrt().quantize(step, rounding=ROUND_HALF_UP)
        return int((root * 2**96).to_integral_value(rounding=ROUND_FLOOR))


def min_tick(spacing: int) -> int:
    return -(-m.MIN_TICK // spacing) * spacing


def max_tick(spacing: int) -> int:
    return m.MAX_TICK // spacing * spacing


def pool_with_positions(
    fee: int,
    spacing: int,
    sqrt_price: int,
    positions: list[tuple[int, int, int]],
    words: tuple[int, int] | None = None,
) -> V3PoolState:
    """A pool as v3-core's tests build it: initialize at a price, then mint positions."""
    tick = m.get_tick_at_sqrt_ratio(sqrt_price)
    net: dict[int, int] = {}
    liquidity = 0
    for lower, upper, amount in positions:
        net[lower] = net.get(lower, 0) + amount
        net[upper] = net.get(upper, 0) - amount
        if lower <= tick < upper:
            liquidity += amount
    min_word, max_word = words or V3PoolState.full_word_range(spacing)
    return V3PoolState(
        "0xpool", T0, T1, fee, spacing, sqrt_price, tick, liquidity, net, min_word, max_word, 1
    )


# ------------------------------------------------------------------------------ FullMath


def test_mul_div_matches_fullmath_spec() -> None:
    assert m.mul_div(Q128, 50 * Q128 // 100, 150 * Q128 // 100) == Q128 // 3
    assert m.mul_div(MAX_UINT256, MAX_UINT256, MAX_UINT256) == MAX_UINT256
    assert m.mul_div(Q128, 35 * Q128, 8 * Q128) == 4375 * Q128 // 1000
    assert m.mul_div(Q128, 1000 * Q128, 3000 * Q128) == Q128 // 3
    assert m.mul_div_rounding_up(Q128, 1000 * Q128, 3000 * Q128) == Q128 // 3 + 1
    assert m.mul_div_rounding_up(Q128, 35 * Q128, 8 * Q128) == 4375 * Q128 // 1000


@pytest.mark.parametrize(
    ("a", "b", "denominator"),
    [
        (Q128, 5, 0),
        (Q128, Q128, 1),
        (MAX_UINT256, MAX_UINT256, MAX_UINT256 - 1),
    ],
)
def test_mul_div_reverts_like_fullmath(a: int, b: int, denominator: int) -> None:
    with pytest.raises(ContractRevert):
        m.mul_div(a, b, denominator)


def test_mul_div_rounding_up_reverts_when_rounding_overflows() -> None:
    with pytest.raises(ContractRevert):
        m.mul_div_rounding_up(
            535006138814359,
            432862656469423142931042426214547535783388063929571229938474969,
            2,
        )
    with pytest.raises(ContractRevert):
        m.mul_div_rounding_up(
            115792089237316195423570985008687907853269984659341747863450311749907997002549,
            115792089237316195423570985008687907853269984659341747863450311749907997002550,
            115792089237316195423570985008687907853269984653042931687443039491902864365164,
        )


# ------------------------------------------------------------------------------ TickMath

# v3-core test/TickMath.spec.ts and its snapshot of getSqrtRatioAtTick.
SQRT_RATIO_AT_TICK = [
    (m.MIN_TICK, 4295128739),
    (m.MIN_TICK + 1, 4295343490),
    (m.MAX_TICK - 1, 1461373636630004318706518188784493106690254656249),
    (m.MAX_TICK, 1461446703485210103287273052203988822378723970342),
    (0, 2**96),
    (-50, 79030349367926598376800521322),
    (50, 79426470787362580746886972461),
    (-100, 78833030112140176575862854579),
    (100, 79625275426524748796330556128),
    (-250, 78244023372248365697264290337),
    (250, 80224679980005306637834519095),
    (-500, 77272108795590369356373805297),
    (500, 81233731461783161732293370115),
    (-1000, 75364347830767020784054125655),
    (1000, 83290069058676223003182343270),
    (-2500, 69919044979842180277688105136),
    (2500, 89776708723587163891445672585),
    (-3000, 68192822843687888778582228483),
    (3000, 92049301871182272007977902845),
    (-4000, 64867181785621769311890333195),
    (4000, 96768528593268422080558758223),
    (-5000, 61703726247759831737814779831),
    (5000, 101729702841318637793976746270),
    (-50000, 6504256538020985011912221507),
    (50000, 965075977353221155028623082916),
    (-150000, 43836292794701720435367485),
    (150000, 143194173941309278083010301478497),
    (-250000, 295440463448801648376846),
    (250000, 21246587762933397357449903968194344),
    (-500000, 1101692437043807371),
    (500000, 5697689776495288729098254600827762987878),
    (-738203, 7409801140451),
    (738203, 847134979253254120489401328389043031315994541),
]


@pytest.mark.parametrize(("tick", "expected"), SQRT_RATIO_AT_TICK)
def test_sqrt_ratio_at_tick_matches_tickmath(tick: int, expected: int) -> None:
    assert m.get_sqrt_ratio_at_tick(tick) == expected


def test_tickmath_bounds() -> None:
    assert m.get_sqrt_ratio_at_tick(m.MIN_TICK) == m.MIN_SQRT_RATIO
    assert m.get_sqrt_ratio_at_tick(m.MAX_TICK) == m.MAX_SQRT_RATIO
    assert m.get_tick_at_sqrt_ratio(m.MIN_SQRT_RATIO) == m.MIN_TICK
    assert m.get_tick_at_sqrt_ratio(m.MAX_SQRT_RATIO - 1) == m.MAX_TICK - 1
    assert m.get_tick_at_sqrt_ratio(2**96) == 0
    assert m.get_tick_at_sqrt_ratio(2**96 + 1) == 0
    assert m.get_tick_at_sqrt_ratio(2**96 - 1) == -1
    for bad_tick in (m.MIN_TICK - 1, m.MAX_TICK + 1):
        with pytest.raises(ContractRevert, match="T"):
            m.get_sqrt_ratio_at_tick(bad_tick)
    for bad_price in (m.MIN_SQRT_RATIO - 1, m.MAX_SQRT_RATIO):
        with pytest.raises(ContractRevert, match="R"):
            m.get_tick_at_sqrt_ratio(bad_price)


@given(st.integers(m.MIN_TICK, m.MAX_TICK - 1), st.data())
def test_tick_at_sqrt_ratio_inverts_sqrt_ratio_at_tick(tick: int, data: st.DataObject) -> None:
    low = m.get_sqrt_ratio_at_tick(tick)
    high = m.get_sqrt_ratio_at_tick(tick + 1)
    assert low < high
    assert m.get_tick_at_sqrt_ratio(low) == tick
    assert m.get_tick_at_sqrt_ratio(high - 1) == tick
    assert m.get_tick_at_sqrt_ratio(data.draw(st.integers(low, high - 1))) == tick


# ------------------------------------------------------------------------- SqrtPriceMath


def test_sqrt_price_math_matches_spec() -> None:
    one = encode_price_sqrt(1, 1)
    assert m.get_next_sqrt_price_from_input(one, E18, E18 // 10, False) == (
        87150978765690771352898345369
    )
    assert m.get_next_sqrt_price_from_input(one, E18, E18 // 10, True) == (
        72025602285694852357767227579
    )
    assert m.get_next_sqrt_price_from_input(one, 10 * E18, 2**100, True) == 624999999995069620
    assert m.get_next_sqrt_price_from_input(one, 1, MAX_UINT256 // 2, True) == 1
    assert m.get_next_sqrt_price_from_input(1, 1, 2**255, True) == 1
    assert m.get_next_sqrt_price_from_input(one, E18 // 10, 0, True) == one
    assert m.get_next_sqrt_price_from_output(one, E18, E18 // 10, False) == (
        88031291682515930659493278152
    )
    assert m.get_next_sqrt_price_from_output(one, E18, E18 // 10, True) == (
        71305346262837903834189555302
    )
    amount0 = m.get_amount0_delta(encode_price_sqrt(121, 100), one, E18, True)
    assert amount0 == 90909090909090910
    assert m.get_amount0_delta(encode_price_sqrt(121, 100), one, E18, False) == amount0 - 1
    amount1 = m.get_amount1_delta(one, encode_price_sqrt(121, 100), E18, True)
    assert amount1 == 100000000000000000
    assert m.get_amount1_delta(one, encode_price_sqrt(121, 100), E18, False) == amount1 - 1
    up = m.get_amount0_delta(encode_price_sqrt(2**96, 1), encode_price_sqrt(2**90, 1), E18, True)
    down = m.get_amount0_delta(encode_price_sqrt(2**96, 1), encode_price_sqrt(2**90, 1), E18, False)
    assert up == down + 1


def test_sqrt_price_math_swap_computation() -> None:
    sqrt_p = 1025574284609383690408304870162715216695788925244
    liquidity = 50015962439936049619261659728067971248
    sqrt_q = m.get_next_sqrt_price_from_input(sqrt_p, liquidity, 406, True)
    assert sqrt_q == 1025574284609383582644711336373707553698163132913
    assert m.get_amount0_delta(sqrt_p, sqrt_q, liquidity, True) == 406


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((0, 0, E18 // 10, False), "P"),
        ((1, 0, E18 // 10, True), "L"),
        ((2**160 - 1, 1024, 1024, False), "uint160"),
    ],
)
def test_next_price_from_input_reverts(args: tuple[int, int, int, bool], reason: str) -> None:
    with pytest.raises(ContractRevert, match=reason):
        m.get_next_sqrt_price_from_input(*args)


@pytest.mark.parametrize(
    ("amount_out", "zero_for_one"),
    # The released contract requires sqrtP > quotient, so taking exactly the virtual
    # reserves of token1 (262144) reverts as well.
    [(4, False), (5, False), (262144, True), (262145, True)],
)
def test_next_price_from_output_reverts_past_the_virtual_reserves(
    amount_out: int, zero_for_one: bool
) -> None:
    with pytest.raises(ContractRevert):
        m.get_next_sqrt_price_from_output(
            20282409603651670423947251286016, 1024, amount_out, zero_for_one
        )


# ------------------------------------------------------------------------------ SwapMath


def test_compute_swap_step_matches_swapmath_spec() -> None:
    one = encode_price_sqrt(1, 1)
    target = encode_price_sqrt(101, 100)
    assert m.compute_swap_step(one, target, 2 * E18, E18, 600) == (
        target,
        9975124224178055,
        9925619580021728,
        5988667735148,
    )
    assert m.compute_swap_step(one, target, 2 * E18, -E18, 600) == (
        target,
        9975124224178055,
        9925619580021728,
        5988667735148,
    )
    price, amount_in, amount_out, fee = m.compute_swap_step(
        one, encode_price_sqrt(1000, 100), 2 * E18, E18, 600
    )
    assert (amount_in, amount_out, fee) == (999400000000000000, 666399946655997866, 600000000000000)
    assert price == m.get_next_sqrt_price_from_input(one, 2 * E18, E18 - fee, False)
    price, amount_in, amount_out, fee = m.compute_swap_step(
        one, encode_price_sqrt(10000, 100), 2 * E18, -E18, 600
    )
    assert (amount_in, amount_out, fee) == (2 * E18, E18, 1200720432259356)
    assert m.compute_swap_step(
        417332158212080721273783715441582,
        1452870262520218020823638996,
        159344665391607089467575320103,
        -1,
        1,
    ) == (417332158212080721273783715441581, 1, 1, 1)
    assert m.compute_swap_step(2, 1, 1, 3915081100057732413702495386755767, 1) == (
        1,
        39614081257132168796771975168,
        0,
        39614120871253040049813,
    )
    assert m.compute_swap_step(
        2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872
    ) == (
        2413,
        0,
        0,
        10,
    )
    sqrt_p = 20282409603651670423947251286016
    assert m.compute_swap_step(sqrt_p, sqrt_p * 11 // 10, 1024, -4, 3000)[1:] == (26215, 0, 79)
    assert m.compute_swap_step(sqrt_p, sqrt_p * 9 // 10, 1024, -263000, 3000)[1:] == (1, 26214, 1)


# ---------------------------------------------------------------- LiquidityMath, BitMath


def test_add_delta_reverts_like_liquiditymath() -> None:
    assert m.add_delta(1, 0) == 1
    assert m.add_delta(1, -1) == 0
    assert m.add_delta(1, 1) == 2
    with pytest.raises(ContractRevert, match="LA"):
        m.add_delta(2**128 - 15, 15)
    with pytest.raises(ContractRevert, match="LS"):
        m.add_delta(0, -1)
    with pytest.raises(ContractRevert, match="LS"):
        m.add_delta(3, -4)


def test_bit_math() -> None:
    for i in range(256):
        assert m.most_significant_bit(2**i) == i
        assert m.least_significant_bit(2**i) == i
    assert m.most_significant_bit(MAX_UINT256) == 255
    assert m.least_significant_bit(MAX_UINT256) == 0
    with pytest.raises(ContractRevert):
        m.most_significant_bit(0)


# ---------------------------------------------------------------------------- TickBitmap

BITMAP_TICKS = [-200, -55, -4, 70, 78, 84, 139, 240, 535]


def _word_reader(ticks: list[int]):
    words: dict[int, int] = {}
    for tick in ticks:
        word, bit = m.position(tick)
        words[word] = words.get(word, 0) | (1 << bit)
    return lambda word: words.get(word, 0)


@pytest.mark.parametrize(
    ("tick", "extra", "expected"),
    [
        (78, None, (84, True)),
        (-55, None, (-4, True)),
        (77, None, (78, True)),
        (-56, None, (-55, True)),
        (255, None, (511, False)),
        (-257, None, (-200, True)),
        (328, 340, (340, True)),
        (508, None, (511, False)),
        (383, None, (511, False)),
    ],
)
def test_next_initialized_tick_to_the_right(
    tick: int, extra: int | None, expected: tuple[int, bool]
) -> None:
    reader = _word_reader(BITMAP_TICKS + ([extra] if extra is not None else []))
    assert m.next_initialized_tick_within_one_word(reader, tick, 1, False) == expected


@pytest.mark.parametrize(
    ("tick", "extra", "expected"),
    [
        (78, None, (78, True)),
        (79, None, (78, True)),
        (258, None, (256, False)),
        (256, None, (256, False)),
        (72, None, (70, True)),
        (-257, None, (-512, False)),
        (1023, None, (768, False)),
        (900, None, (768, False)),
        (456, 329, (329, True)),
    ],
)
def test_next_initialized_tick_to_the_left(
    tick: int, extra: int | None, expected: tuple[int, bool]
) -> None:
    reader = _word_reader(BITMAP_TICKS + ([extra] if extra is not None else []))
    assert m.next_initialized_tick_within_one_word(reader, tick, 1, True) == expected


def test_bitmap_words_use_compressed_ticks() -> None:
    pool = pool_with_positions(3000, 60, 2**96, [(-120, 60, E18)])
    assert pool.bitmap_word(-1) == 1 << 254  # -120 / 60 = -2 -> word -1, bit 254
    assert pool.bitmap_word(0) == 1 << 1
    assert pool.liquidity_net(-120) == E18
    assert pool.liquidity_net(60) == -E18
    assert pool.liquidity_net(0) == 0


# ------------------------------------------------------------------ the pool's swap loop

LOW, MEDIUM, HIGH = (500, 10), (3000, 60), (10000, 200)


def _full(spacing: int, amount: int = 2 * E18) -> list[tuple[int, int, int]]:
    return [(min_tick(spacing), max_tick(spacing), amount)]


SNAPSHOT_POOLS = {
    "low fee, 1:1": (LOW, encode_price_sqrt(1, 1), _full(10)),
    "medium fee, 1:1": (MEDIUM, encode_price_sqrt(1, 1), _full(60)),
    "high fee, 1:1": (HIGH, encode_price_sqrt(1, 1), _full(200)),
    "medium fee, 10:1": (MEDIUM, encode_price_sqrt(10, 1), _full(60)),
    "medium fee, 1:1, 0 liquidity around": (
        MEDIUM,
        encode_price_sqrt(1, 1),
        [(min_tick(60), -60, 2 * E18), (60, max_tick(60), 2 * E18)],
    ),
    "medium fee, 1:1, additional liquidity around": (
        MEDIUM,
        encode_price_sqrt(1, 1),
        [*_full(60), (min_tick(60), -60, 2 * E18), (60, max_tick(60), 2 * E18)],
    ),
    "low fee, large liquidity around (stable swap)": (
        LOW,
        encode_price_sqrt(1, 1),
        [(-10, 10, 2 * E18)],
    ),
    "medium fee, token0 liquidity only": (MEDIUM, encode_price_sqrt(1, 1), [(0, 120000, 2 * E18)]),
    "medium fee, token1 liquidity only": (
        MEDIUM,
        encode_price_sqrt(1, 1),
        [(-120000, 0, 2 * E18)],
    ),
    "close to max price": (MEDIUM, encode_price_sqrt(2**127, 1), _full(60)),
    "close to min price": (MEDIUM, encode_price_sqrt(1, 2**127), _full(60)),
    "max full range liquidity": (
        MEDIUM,
        encode_price_sqrt(1, 1),
        _full(60, 11505743598341114571880798222544994),
    ),
    "initialized at the max ratio": (MEDIUM, m.MAX_SQRT_RATIO - 1, _full(60)),
    "initialized at the min ratio": (MEDIUM, m.MIN_SQRT_RATIO, _full(60)),
}

# (pool, zeroForOne, amountSpecified or None for "to price", price limit as (r1, r0) or None,
#  expected (amount0, amount1, tickAfter) or "SPL") from v3-core
# test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap.
SNAPSHOT_SWAPS = [
    ("low fee, 1:1", True, E18, None, (E18, -666444407401233536, -8107)),
    ("low fee, 1:1", False, E18, None, (-666444407401233536, E18, 8106)),
    ("low fee, 1:1", True, 1000, None, (1000, -998, -1)),
    ("low fee, 1:1", True, -E18, None, (2001000500250125077, -E18, -13864)),
    ("low fee, 1:1", False, -E18, None, (-E18, 2001000500250125079, 13863)),
    ("low fee, 1:1", True, None, (2, 5), (1162859089713235953, -735088935932648266, -9164)),
    ("low fee, 1:1", False, None, (5, 2), (-735088935932648266, 1162859089713235954, 9163)),
    ("low fee, 1:1", True, None, (5, 2), "SPL"),
    ("medium fee, 1:1", True, E18, None, (E18, -665331998665331998, -8090)),
    ("medium fee, 1:1", False, 1000, None, (-996, 1000, 0)),
    ("medium fee, 1:1", True, -1000, None, (1005, -1000, -1)),
    ("medium fee, 1:1", True, None, (2, 5), (1165774985123750584, -735088935932648267, -9164)),
    ("high fee, 1:1", True, E18, None, (E18, -662207357859531772, -8043)),
    ("high fee, 1:1", False, 1000, None, (-989, 1000, 0)),
    ("high fee, 1:1", True, -E18, None, (2020202020202020203, -E18, -13864)),
    ("high fee, 1:1", False, None, (5, 2), (-735088935932648267, 1174017838553918518, 9163)),
    ("medium fee, 10:1", True, E18, None, (E18, -3869747612262812754, 4098)),
    ("medium fee, 10:1", False, E18, None, (-86123526743846551, E18, 25954)),
    ("medium fee, 10:1", True, 1000, None, (1000, -9969, 23027)),
    ("medium fee, 10:1", False, 1000, None, (-99, 1000, 23027)),
    ("medium fee, 10:1", True, -E18, None, (119138326055954425, -E18, 19584)),
    (
        "medium fee, 10:1",
        False,
        -E18,
        None,
        (-632455532033675838, 36907032426281581270030941278837275671, 887271),
    ),
    ("medium fee, 10:1", True, None, (2, 5), (2537434431428990438, -5059644256269406930, -9164)),
    ("medium fee, 10:1", True, None, (5, 2), (634358607857247610, -3162277660168379331, 9163)),
    ("medium fee, 10:1", False, None, (5, 2), "SPL"),
    ("medium fee, 1:1, 0 liquidity around", True, E18, None, (E18, -662011820624678025, -8130)),
    ("medium fee, 1:1, 0 liquidity around", True, 1000, None, (1000, -991, -61)),
    ("medium fee, 1:1, 0 liquidity around", False, 1000, None, (-991, 1000, 60)),
    ("medium fee, 1:1, 0 liquidity around", True, -1000, None, (1011, -1000, -61)),
    ("medium fee, 1:1, 0 liquidity around", False, -E18, None, (-E18, 2024171064311638316, 13983)),
    (
        "medium fee, 1:1, 0 liquidity around",
        False,
        None,
        (5, 2),
        (-729098226020826705, 1159748196632793863, 9163),
    ),
    (
        "medium fee, 1:1, additional liquidity around",
        True,
        E18,
        None,
        (E18, -795933705287758544, -4476),
    ),
    (
        "medium fee, 1:1, additional liquidity around",
        False,
        -E18,
        None,
        (-E18, 1342022152495072924, 5793),
    ),
    (
        "medium fee, 1:1, additional liquidity around",
        True,
        None,
        (2, 5),
        (2325523181756544449, -1464187161953474971, -9164),
    ),
    (
        "low fee, large liquidity around (stable swap)",
        True,
        E18,
        None,
        (1000700370186095, -999700069986002, -887272),
    ),
    (
        "low fee, large liquidity around (stable swap)",
        False,
        E18,
        None,
        (-999700069986002, 1000700370186095, 887271),
    ),
    ("low fee, large liquidity around (stable swap)", True, 1000, None, (1000, -998, -1)),
    (
        "low fee, large liquidity around (stable swap)",
        True,
        None,
        (2, 5),
        (1000700370186095, -999700069986002, -9164),
    ),
    ("medium fee, token0 liquidity only", True, E18, None, (0, 0, -887272)),
    ("medium fee, token0 liquidity only", False, E18, None, (-665331998665331998, E18, 8089)),
    ("medium fee, token0 liquidity only", True, None, (2, 5), (0, 0, -9164)),
    ("medium fee, token0 liquidity only", False, -1000, None, (-1000, 1005, 0)),
    ("medium fee, token1 liquidity only", False, 1000, None, (0, 0, 887271)),
    ("medium fee, token1 liquidity only", True, E18, None, (E18, -665331998665331998, -8090)),
    ("medium fee, token1 liquidity only", False, None, (5, 2), (0, 0, 9163)),
    (
        "close to max price",
        True,
        1000,
        None,
        (1000, -26083549850867114346332688477747755628, 705098),
    ),
    (
        "close to max price",
        True,
        E18,
        None,
        (E18, -26087635650665564420687107504180041533, 13923),
    ),
    ("close to max price", False, E18, None, (0, E18, 880340)),
    ("close to max price", True, -E18, None, (2, -E18, 880340)),
    (
        "close to max price",
        False,
        -1000,
        None,
        (0, 10740898373457544742072477595619363803, 887271),
    ),
    (
        "close to max price",
        True,
        None,
        (2, 5),
        (3171793039286238109, -26087635650665564423434232548437664977, -9164),
    ),
    ("close to max price", False, None, (5, 2), "SPL"),
    (
        "close to min price",
        False,
        1000,
        None,
        (-26033697540846965126433148994127431276, 1000, -705093),
    ),
    (
        "close to min price",
        False,
        E18,
        None,
        (-26037782196502120271413746514214063808, E18, -13924),
    ),
    ("close to min price", True, E18, None, (E18, 0, -880303)),
    ("close to min price", True, -E18, None, (10790901831095468191587263901270792610, 0, -887272)),
    (
        "close to min price",
        False,
        None,
        (5, 2),
        (-26037782196502120274160871558471687260, 3171793039286238112, 9163),
    ),
    ("max full range liquidity", True, E18, None, (E18, -996999999999999318, -1)),
    ("max full range liquidity", False, E18, None, (-996999999999999232, E18, 0)),
    ("max full range liquidity", True, 1000, None, (1000, 0, -1)),
    ("max full range liquidity", True, -1000, None, (145660, -1000, -1)),
    ("max full range liquidity", False, -E18, None, (-E18, 1003009027081361094, 0)),
    (
        "max full range liquidity",
        True,
        None,
        (2, 5),
        (6706554036096900675845906992672697, -4228872409409224753601131225116702, -9164),
    ),
    (
        "max full range liquidity",
        False,
        None,
        (5, 2),
        (-4228872409409224753601131224936259, 6706554036096900675845906992220230, 9163),
    ),
    (
        "initialized at the max ratio",
        True,
        E18,
        None,
        (E18, -36796311329002736528533367667012547243, 13923),
    ),
    ("initialized at the max ratio", True, -1000, None, (2, -1000, 887219)),
    ("initialized at the max ratio", False, 1000, None, "SPL"),
    (
        "initialized at the min ratio",
        False,
        1000,
        None,
        (-36792226666449146913445651103694411508, 1000, -705093),
    ),
    ("initialized at the min ratio", False, -E18, None, (-E18, 2, -887220)),
    ("initialized at the min ratio", True, E18, None, "SPL"),
]


@pytest.mark.parametrize(
    ("pool_name", "zero_for_one", "amount", "limit", "expected"),
    SNAPSHOT_SWAPS,
    ids=[f"{c[0]}|{'0for1' if c[1] else '1for0'}|{c[2] or c[3]}" for c in SNAPSHOT_SWAPS],
)
def test_swap_matches_the_pool_snapshots(
    pool_name: str,
    zero_for_one: bool,
    amount: int | None,
    limit: tuple[int, int] | None,
    expected: tuple[int, int, int] | str,
) -> None:
    (fee, spacing), price, positions = SNAPSHOT_POOLS[pool_name]
    pool = pool_with_positions(fee, spacing, price, positions)
    if amount is None:
        # "swap to price": an exact input of effectively unlimited size with a limit
        amount = 2**255 - 1
    sqrt_limit = encode_price_sqrt(*limit) if limit else None
    if expected == "SPL":
        with pytest.raises(ContractRevert, match="SPL"):
            swap(pool, zero_for_one, amount, sqrt_limit)
        return
    result = swap(pool, zero_for_one, amount, sqrt_limit)
    amount_in, amount_out = result.amount_in_used, -result.amount_out
    amounts = (amount_in, amount_out) if zero_for_one else (amount_out, amount_in)
    assert (*amounts, result.tick_after) == expected


def test_the_snapshot_pools_start_where_the_snapshots_say() -> None:
    ticks = {
        name: pool_with_positions(*cfg[0], cfg[1], cfg[2]).tick
        for name, cfg in SNAPSHOT_POOLS.items()
    }
    assert ticks["close to max price"] == 880340
    assert ticks["close to min price"] == -880303
    assert ticks["medium fee, 10:1"] == 23027
    assert ticks["initialized at the min ratio"] == m.MIN_TICK


# ---------------------------------------------------------------- state and properties


def test_the_state_quotes_by_token_and_counts_crossed_ticks() -> None:
    pool = pool_with_positions(
        3000,
        60,
        encode_price_sqrt(1, 1),
        [*_full(60), (min_tick(60), -60, 2 * E18), (60, max_tick(60), 2 * E18)],
    )
    assert pool.amount_out(T0, E18) == 795933705287758544
    assert pool.amount_out(T1.lower(), E18) == 795933705287758544
    result = pool.quote(T0, E18)
    assert result.ticks_crossed == 1  # crosses -60, where the extra position ends
    assert result.liquidity_after == 4 * E18
    after = pool.after_swap(T0, E18)
    assert (after.tick, after.sqrt_price_x96, after.liquidity) == (
        result.tick_after,
        result.sqrt_price_x96_after,
        result.liquidity_after,
    )
    assert after.ticks == pool.ticks
    assert pool.kind == "uniswap_v3"


def test_it_refuses_to_guess_outside_the_known_words() -> None:
    positions = [(-600, 600, 10**20), (-6000, 6000, 10**20)]
    # Only words -1 and 0 known: ticks -15360 .. 15359 for spacing 60.
    pool = pool_with_positions(3000, 60, encode_price_sqrt(1, 1), positions, words=(-1, 0))
    assert pool.amount_out(T0, 10**18) > 0  # stays inside the known words
    with pytest.raises(IncompleteTickData) as caught:
        pool.amount_out(T0, 10**23)  # empties the range and must look past word -1
    assert caught.value.word == -2
    with pytest.raises(IncompleteTickData):
        pool.amount_out(T1, 10**23)


def test_amount_out_refuses_a_swap_the_pool_cannot_fill() -> None:
    pool = pool_with_positions(3000, 60, encode_price_sqrt(1, 1), [(0, 120000, 2 * E18)])
    assert quote_exact_input(pool, True, E18).amount_in_used == 0
    with pytest.raises(InsufficientLiquidity):
        pool.amount_out(T0, E18)


def test_the_state_is_immutable_hashable_and_validated() -> None:
    a = pool_with_positions(3000, 60, 2**96, [(-60, 60, E18)])
    b = V3PoolState(
        "0xpool",
        T0,
        T1,
        3000,
        60,
        2**96,
        0,
        E18,
        ((60, -E18), (-60, E18)),
        a.min_word,
        a.max_word,
        1,
    )
    assert a == b
    assert hash(a) == hash(b)
    assert a.ticks == ((-60, E18), (60, -E18))
    with pytest.raises(AttributeError):
        a.liquidity = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        V3PoolState("0xpool", T0, T1, 3000, 60, 2**96, 0, E18, {30: 1}, -1, 0)
    with pytest.raises(ValueError):
        V3PoolState("0xpool", T0, T1, 3000, 60, 2**96, 0, E18, {}, 5, 4)
    with pytest.raises(ContractRevert, match="AS"):
        swap(a, True, 0)


@st.composite
def random_pools(draw: st.DrawFn) -> V3PoolState:
    fee, spacing = draw(st.sampled_from([LOW, MEDIUM, HIGH, (100, 1)]))
    positions = [(min_tick(spacing), max_tick(spacing), draw(st.integers(10**6, 10**24)))]
    for _ in range(draw(st.integers(0, 6))):
        lower = draw(st.integers(-3000, 3000)) * spacing
        width = draw(st.integers(1, 500)) * spacing
        positions.append(
            (lower, min(lower + width, max_tick(spacing)), draw(st.integers(1, 10**24)))
        )
    tick = draw(st.integers(-200_000, 200_000))
    price = draw(
        st.integers(m.get_sqrt_ratio_at_tick(tick), m.get_sqrt_ratio_at_tick(tick + 1) - 1)
    )
    return pool_with_positions(fee, spacing, price, positions)


@settings(max_examples=60, deadline=None)
@given(pool=random_pools(), zero_for_one=st.booleans(), amount=st.integers(1, 10**22))
def test_more_input_never_gives_less_output(
    pool: V3PoolState, zero_for_one: bool, amount: int
) -> None:
    first = quote_exact_input(pool, zero_for_one, amount)
    second = quote_exact_input(pool, zero_for_one, amount + amount // 3 + 1)
    assert second.amount_out >= first.amount_out >= 0
    assert first.amount_in_used <= amount
    if zero_for_one:
        assert first.sqrt_price_x96_after <= pool.sqrt_price_x96
    else:
        assert first.sqrt_price_x96_after >= pool.sqrt_price_x96


@settings(max_examples=60, deadline=None)
@given(pool=random_pools(), zero_for_one=st.booleans(), amount=st.integers(1, 10**20))
def test_exact_output_and_exact_input_agree(
    pool: V3PoolState, zero_for_one: bool, amount: int
) -> None:
    forward = quote_exact_input(pool, zero_for_one, amount)
    if forward.amount_out == 0 or forward.amount_in_used != amount:
        return
    before, after = pool.sqrt_price_x96, forward.sqrt_price_x96_after
    if max(before, after) > 2 * min(before, after):
        # Emptying a range: one wei of output there is worth any amount of input,
        # and the exact-output rounding may legitimately ask for much more.
        return
    backward = quote_exact_output(pool, zero_for_one, forward.amount_out)
    # The input that buys exactly that output is never more than what produced it.
    assert backward.amount_out == forward.amount_out
    assert backward.amount_in_used <= amount
    again = quote_exact_input(pool, zero_for_one, backward.amount_in_used)
    assert again.amount_out >= forward.amount_out


@settings(max_examples=40, deadline=None)
@given(pool=random_pools(), zero_for_one=st.booleans(), amount=st.integers(1, 10**20))
def test_a_swap_and_its_reverse_never_make_money(
    pool: V3PoolState, zero_for_one: bool, amount: int
) -> None:
    token_in, token_out = (T0, T1) if zero_for_one else (T1, T0)
    try:
        out = pool.amount_out(token_in, amount)
        if out == 0:
            return
        back = pool.after_swap(token_in, amount).amount_out(token_out, out)
    except InsufficientLiquidity:
        return
    assert back <= amount


# ------------------------------------------------- the state's quotes and the reference loop


def _outcome(call: Callable[[], object]) -> object:
    """What ``call`` returns, or the type and reason of what it raises."""
    try:
        return call()
    except Exception as error:
        return (type(error), str(error))


def _same_as_the_loop(pool: V3PoolState, zero_for_one: bool, amount: int) -> None:
    token = T0 if zero_for_one else T1
    reference = _outcome(lambda: quote_exact_input(pool, zero_for_one, amount))
    assert _outcome(lambda: pool.quote(token, amount)) == reference
    light = _outcome(lambda: pool.quote_no_tick(token, amount))
    if isinstance(reference, V3SwapResult):
        assert light == (
            reference.amount_in_used,
            reference.amount_out,
            reference.sqrt_price_x96_after,
            reference.liquidity_after,
            reference.ticks_crossed,
        )
        expected: object = reference.amount_out
        if reference.amount_in_used != amount:
            expected = InsufficientLiquidity
        got = _outcome(lambda: pool.amount_out(token, amount))
        assert got == expected or (isinstance(got, tuple) and got[0] is expected)
    else:
        assert light == reference
        assert _outcome(lambda: pool.amount_out(token, amount)) == reference


@st.composite
def edge_pools(draw: st.DrawFn) -> V3PoolState:
    """Pools the quick loop must not get wrong: near the price bounds, few known words,
    positions ending on word edges, a tick that disagrees with the price."""
    fee, spacing = draw(st.sampled_from([LOW, MEDIUM, HIGH, (100, 1), (0, 1), (999_999, 7)]))
    near = draw(st.sampled_from([m.MIN_TICK + 2, m.MAX_TICK - 2, 0, 256 * spacing, -256 * spacing]))
    tick = min(max(near + draw(st.integers(-600, 600)), m.MIN_TICK), m.MAX_TICK - 1)
    price = draw(
        st.integers(m.get_sqrt_ratio_at_tick(tick), m.get_sqrt_ratio_at_tick(tick + 1) - 1)
    )
    liquidity = st.one_of(st.integers(1, 10**4), st.integers(1, 2**100))
    positions = []
    if draw(st.booleans()):
        positions.append((min_tick(spacing), max_tick(spacing), draw(liquidity)))
    for _ in range(draw(st.integers(0, 5))):
        lower = max(min_tick(spacing), (tick // spacing + draw(st.integers(-600, 300))) * spacing)
        width = draw(st.sampled_from([1, 2, 255, 256, 257])) * spacing
        upper = min(lower + width, max_tick(spacing))
        if lower < upper:
            positions.append((lower, upper, draw(liquidity)))
    pool = pool_with_positions(fee, spacing, price, positions)
    here = (tick // spacing) >> 8
    lo, hi = pool.min_word, pool.max_word
    if draw(st.booleans()):
        lo, hi = max(lo, here - draw(st.integers(0, 2))), min(hi, here + draw(st.integers(0, 2)))
    shift = draw(st.sampled_from([0, 0, 0, 1, -1]))  # a tick one off the price
    return V3PoolState(
        pool.address, T0, T1, fee, spacing, price, pool.tick + shift, pool.liquidity,
        pool.ticks, lo, hi, 1,
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    pool=random_pools(),
    zero_for_one=st.booleans(),
    amount=st.one_of(st.integers(1, 10**22), st.integers(1, 2**255 - 1)),
)
def test_the_states_quotes_are_the_contracts_loop(
    pool: V3PoolState, zero_for_one: bool, amount: int
) -> None:
    _same_as_the_loop(pool, zero_for_one, amount)


@settings(max_examples=400, deadline=None)
@given(
    pool=edge_pools(),
    zero_for_one=st.booleans(),
    amount=st.one_of(st.integers(-3, 10**30), st.integers(2**200, 2**256)),
)
def test_the_states_quotes_are_the_contracts_loop_at_the_edges(
    pool: V3PoolState, zero_for_one: bool, amount: int
) -> None:
    _same_as_the_loop(pool, zero_for_one, amount)


@pytest.mark.parametrize("pool_name", sorted(SNAPSHOT_POOLS))
@pytest.mark.parametrize("zero_for_one", [True, False])
@pytest.mark.parametrize("amount", [1, 1000, E18, 10**30, 2**255 - 1])
def test_the_states_quotes_match_the_loop_on_the_snapshot_pools(
    pool_name: str, zero_for_one: bool, amount: int
) -> None:
    (fee, spacing), price, positions = SNAPSHOT_POOLS[pool_name]
    _same_as_the_loop(pool_with_positions(fee, spacing, price, positions), zero_for_one, amount)
