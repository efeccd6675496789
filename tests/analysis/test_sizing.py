"""Optimal cycle sizing: the closed form against brute force, the search against sampling."""

from __future__ import annotations

import dataclasses
import random
from math import isqrt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.amm import SolidlyPoolState, V2PoolState, V3PoolState
from trading.amm import v3_math as m
from trading.analysis.cycles import Cycle, Hop
from trading.analysis.sizing import (
    LOCAL_STEPS,
    closed_form_optimum,
    has_closed_form,
    local_optimum,
    search_optimum,
    simulate,
    size_cycle,
)

E18 = 10**18
WETH, USDC, DAI = "WETH", "USDC", "DAI"
A, B, C = "A", "B", "C"


def _profit(cycle: Cycle, states: dict, x: int) -> int | None:
    try:
        return simulate(cycle, states, x)[-1] - x
    except Exception:
        return None


def _brute_force_best(cycle: Cycle, states: dict, limit: int) -> int:
    """The best gross profit over every integer input 1..limit (0 if none pays)."""
    best = 0
    for x in range(1, limit + 1):
        p = _profit(cycle, states, x)
        if p is not None and p > best:
            best = p
    return best


def _within(found: int, best: int) -> bool:
    """``found`` is at least the brute-force best less 0.01%."""
    return found <= best and found * 10_000 >= best * 9_999


TRIANGLE = Cycle(A, (Hop("p1", A, B), Hop("p2", B, C), Hop("p3", C, A)))
PAIR = Cycle(A, (Hop("p1", A, B), Hop("p2", B, A)))

reserves = st.integers(1_000, 20_000)
fees = st.sampled_from([0, 5, 30, 100])


@settings(max_examples=25, deadline=None)
@given(r=st.lists(reserves, min_size=6, max_size=6), f=st.lists(fees, min_size=3, max_size=3))
def test_the_closed_form_finds_the_brute_force_optimum_of_a_triangle(
    r: list[int], f: list[int]
) -> None:
    states = {
        "p1": V2PoolState("p1", A, B, r[0], r[1], f[0]),
        "p2": V2PoolState("p2", B, C, r[2], r[3], f[1]),
        "p3": V2PoolState("p3", C, A, r[4], r[5], f[2]),
    }
    limit = r[5]  # past the last pool's reserve no input can pay
    best = _brute_force_best(TRIANGLE, states, limit)
    sized = closed_form_optimum(TRIANGLE, states, limit)
    if best <= 0:
        assert sized is None
        return
    assert sized is not None
    assert _within(sized.gross_profit, best)
    assert sized.gross_profit == simulate(TRIANGLE, states, sized.amount_in)[-1] - sized.amount_in


@settings(max_examples=25, deadline=None)
@given(
    r=st.lists(reserves, min_size=5, max_size=5),
    edge_pct=st.integers(101, 160),
    f=st.lists(fees, min_size=3, max_size=3),
)
def test_the_closed_form_finds_the_optimum_of_a_mispriced_triangle(
    r: list[int], edge_pct: int, f: list[int]
) -> None:
    # Price the last pool so the loop's rate before fees is edge_pct / 100.
    r5 = max(1_000, r[4] * r[0] * r[2] * edge_pct // (r[1] * r[3] * 100))
    states = {
        "p1": V2PoolState("p1", A, B, r[0], r[1], f[0]),
        "p2": V2PoolState("p2", B, C, r[2], r[3], f[1]),
        "p3": V2PoolState("p3", C, A, r[4], r5, f[2]),
    }
    best = _brute_force_best(TRIANGLE, states, r5)
    sized = closed_form_optimum(TRIANGLE, states, r5)
    assert (sized.gross_profit if sized else 0) == best


# Triangles where the exact optimum sits far (hundreds of wei) from x*.
ROUNDING_CASES = [
    ([18193, 9221, 26414, 16166, 4540, 20325], 100, 202),
    ([25588, 10406, 23019, 8705, 2086, 16795], 5, 91),
    ([12657, 5227, 27567, 3740, 1167, 27803], 5, 161),
]


@pytest.mark.parametrize(("r", "middle_fee", "best"), ROUNDING_CASES)
def test_the_exact_optimum_is_found_where_rounding_moves_it(
    r: list[int], middle_fee: int, best: int
) -> None:
    states = {
        "p1": V2PoolState("p1", A, B, r[0], r[1], 30),
        "p2": V2PoolState("p2", B, C, r[2], r[3], middle_fee),
        "p3": V2PoolState("p3", C, A, r[4], r[5], 30),
    }
    assert _brute_force_best(TRIANGLE, states, r[5]) == best
    sized = size_cycle(TRIANGLE, states, r[5])
    assert sized is not None
    assert sized.gross_profit == best


@settings(max_examples=25, deadline=None)
@given(
    r=st.lists(reserves, min_size=4, max_size=4),
    f=st.lists(fees, min_size=2, max_size=2),
    solidly_first=st.booleans(),
)
def test_the_closed_form_handles_volatile_solidly_legs(
    r: list[int], f: list[int], solidly_first: bool
) -> None:
    solidly = SolidlyPoolState("p1", A, B, r[0], r[1], 18, 18, False, f[0])
    v2 = V2PoolState("p2", A, B, r[2], r[3], f[1])
    states = {"p1": solidly, "p2": v2}
    cycle = PAIR if solidly_first else Cycle(A, (Hop("p2", A, B), Hop("p1", B, A)))
    limit = r[0] + r[2]
    best = _brute_force_best(cycle, states, limit)
    sized = size_cycle(cycle, states, limit)
    assert has_closed_form(cycle, states)
    if best <= 0:
        assert sized is None
        return
    assert sized is not None
    assert _within(sized.gross_profit, best)


@settings(max_examples=50, deadline=None)
@given(
    r0=st.integers(10**6, 10**27),
    r1=st.integers(10**6, 10**27),
    scale=st.integers(1, 1000),
    f=st.lists(st.sampled_from([1, 5, 30, 100]), min_size=2, max_size=2),
)
def test_a_fair_market_has_no_profitable_size(r0: int, r1: int, scale: int, f: list[int]) -> None:
    # Two pools at the same price (one a multiple of the other): fees make every size lose.
    states = {
        "p1": V2PoolState("p1", A, B, r0, r1, f[0]),
        "p2": SolidlyPoolState("p2", A, B, r0 * scale, r1 * scale, 18, 6, False, f[1]),
    }
    for cycle in (PAIR, Cycle(A, (Hop("p2", A, B), Hop("p1", B, A)))):
        assert size_cycle(cycle, states, r0 * 10) is None
        assert search_optimum(cycle, states, r0 * 10) is None


def _weth_usdc(price_usdc: int, weth: int = 1_000, fee: int = 30, name: str = "v2") -> V2PoolState:
    return V2PoolState(name, WETH, USDC, weth * E18, weth * price_usdc * 10**6, fee)


def test_six_and_eighteen_decimal_tokens_size_sensibly() -> None:
    cheap = _weth_usdc(3000, name="cheap")
    dear = SolidlyPoolState("dear", WETH, USDC, 1_000 * E18, 3_060_000 * 10**6, 18, 6, False, 30)
    states = {"cheap": cheap, "dear": dear}
    from_weth = Cycle(WETH, (Hop("dear", WETH, USDC), Hop("cheap", USDC, WETH)))
    from_usdc = Cycle(USDC, (Hop("cheap", USDC, WETH), Hop("dear", WETH, USDC)))
    sized_weth = size_cycle(from_weth, states, 100 * E18)
    sized_usdc = size_cycle(from_usdc, states, 300_000 * 10**6)
    assert sized_weth is not None and sized_usdc is not None
    # ~1% mispricing between two 1000 WETH pools: a few WETH in, a few thousandths profit.
    assert E18 < sized_weth.amount_in < 10 * E18
    assert sized_weth.gross_profit > E18 // 1_000
    assert 3_000 * 10**6 < sized_usdc.amount_in < 30_000 * 10**6
    assert sized_usdc.gross_profit > 3 * 10**6
    # The search agrees with the closed form to a millionth.
    searched = search_optimum(from_weth, states, 100 * E18)
    assert searched is not None
    assert abs(searched.gross_profit - sized_weth.gross_profit) * 10**6 <= sized_weth.gross_profit


def test_the_cap_binds() -> None:
    states = {"cheap": _weth_usdc(3000, name="cheap"), "dear": _weth_usdc(3300, name="dear")}
    cycle = Cycle(WETH, (Hop("dear", WETH, USDC), Hop("cheap", USDC, WETH)))
    free = size_cycle(cycle, states, 1_000 * E18)
    capped = size_cycle(cycle, states, E18)
    assert free is not None and capped is not None
    assert free.amount_in > E18
    assert capped.amount_in <= E18
    assert capped.amount_in >= E18 - 8  # the profit still rises at the cap
    assert capped.gross_profit < free.gross_profit
    assert size_cycle(cycle, states, 0) is None


def test_the_sized_cycle_reports_every_hop() -> None:
    states = {"cheap": _weth_usdc(3000, name="cheap"), "dear": _weth_usdc(3300, name="dear")}
    cycle = Cycle(WETH, (Hop("dear", WETH, USDC), Hop("cheap", USDC, WETH)))
    sized = size_cycle(cycle, states, 1_000 * E18)
    assert sized is not None
    assert sized.hop_amounts == simulate(cycle, states, sized.amount_in)
    assert sized.amount_out == sized.hop_amounts[-1]
    assert sized.gross_profit == sized.amount_out - sized.amount_in
    assert sized.hop_kinds == ("uniswap_v2", "uniswap_v2")
    assert sized.ticks_crossed == (0, 0)


def _v3_weth_usdc(
    price_usdc: int, liquidity: int, width: int, words: tuple[int, int] | None = None
) -> V3PoolState:
    sqrt_price = isqrt(price_usdc * 10**6 * 2**192 // E18)
    tick = m.get_tick_at_sqrt_ratio(sqrt_price)
    centre = tick // 60 * 60
    ticks = {}
    for k in range(1, 6):  # five nested positions, so a large swap crosses ticks
        ticks[centre - k * width] = ticks.get(centre - k * width, 0) + liquidity
        ticks[centre + k * width] = ticks.get(centre + k * width, 0) - liquidity
    min_word, max_word = words or V3PoolState.full_word_range(60)
    return V3PoolState(
        "v3", WETH, USDC, 500, 60, sqrt_price, tick, 5 * liquidity, ticks, min_word, max_word
    )


def _dense_best(cycle: Cycle, states: dict, hi: int, points: int = 4000) -> int:
    best = 0
    for i in range(1, points + 1):
        p = _profit(cycle, states, hi * i // points)
        if p is not None and p > best:
            best = p
    return best


def test_the_search_sizes_a_cycle_with_a_v3_leg() -> None:
    states = {"v3": _v3_weth_usdc(3060, 10**16, 600), "cheap": _weth_usdc(3000, name="cheap")}
    cycle = Cycle(WETH, (Hop("v3", WETH, USDC), Hop("cheap", USDC, WETH)))
    assert not has_closed_form(cycle, states)
    sized = size_cycle(cycle, states, 100 * E18)
    assert sized is not None
    sampled = _dense_best(cycle, states, 100 * E18)
    assert sized.gross_profit >= sampled
    assert sized.gross_profit > 0
    assert sized.hop_kinds == ("uniswap_v3", "uniswap_v2")


def test_a_large_v3_swap_counts_crossed_ticks() -> None:
    states = {"v3": _v3_weth_usdc(3300, 10**15, 60), "cheap": _weth_usdc(3000, name="cheap")}
    cycle = Cycle(WETH, (Hop("v3", WETH, USDC), Hop("cheap", USDC, WETH)))
    sized = size_cycle(cycle, states, 100 * E18)
    assert sized is not None
    assert sized.ticks_crossed[0] >= 1
    assert sized.ticks_crossed[1] == 0


def test_unknown_tick_words_make_large_sizes_unusable_not_wrong() -> None:
    full = _v3_weth_usdc(3300, 10**15, 600)
    word = (full.tick // 60) >> 8
    narrow = _v3_weth_usdc(3300, 10**15, 600, words=(word, word))
    cheap = _weth_usdc(3000, name="cheap")
    cycle = Cycle(WETH, (Hop("v3", WETH, USDC), Hop("cheap", USDC, WETH)))
    sized = size_cycle(cycle, {"v3": narrow, "cheap": cheap}, 100 * E18)
    assert sized is not None  # a smaller size that stays inside the known word
    result = narrow.quote(WETH, sized.amount_in)
    assert (result.tick_after // 60) >> 8 == word
    assert (
        sized.gross_profit
        <= size_cycle(cycle, {"v3": full, "cheap": cheap}, 100 * E18).gross_profit
    )


def test_the_search_sizes_a_cycle_with_a_stable_leg() -> None:
    stable = SolidlyPoolState(
        "stable", USDC, DAI, 5_000_000 * 10**6, 5_000_000 * E18, 6, 18, True, 1
    )
    # DAI is cheap on the V2 pool: 1 USDC buys 1.02 DAI there.
    v2 = V2PoolState("v2", USDC, DAI, 1_000_000 * 10**6, 1_020_000 * E18, 30)
    states = {"stable": stable, "v2": v2}
    cycle = Cycle(USDC, (Hop("v2", USDC, DAI), Hop("stable", DAI, USDC)))
    sized = size_cycle(cycle, states, 1_000_000 * 10**6)
    assert sized is not None
    sampled = _dense_best(cycle, states, 1_000_000 * 10**6, points=2000)
    assert sized.gross_profit >= sampled
    assert sized.hop_kinds == ("uniswap_v2", "solidly_stable")
    reverse = Cycle(USDC, (Hop("stable", USDC, DAI), Hop("v2", DAI, USDC)))
    assert size_cycle(reverse, states, 1_000_000 * 10**6) is None


def _v3_case(
    price: int, liquidity: int, width: int, fee: int, v2_price: int, v2_weth: int
) -> dict[str, V3PoolState | V2PoolState]:
    pool = _v3_weth_usdc(price, liquidity, width)
    pool = dataclasses.replace(pool, fee=fee)
    return {"v3": pool, "v2": _weth_usdc(v2_price, weth=v2_weth, name="v2")}


V3_CYCLES = (
    Cycle(WETH, (Hop("v3", WETH, USDC), Hop("v2", USDC, WETH))),
    Cycle(WETH, (Hop("v2", WETH, USDC), Hop("v3", USDC, WETH))),
    Cycle(USDC, (Hop("v3", USDC, WETH), Hop("v2", WETH, USDC))),
)


@settings(max_examples=40, deadline=None)
@given(
    price=st.integers(2_500, 3_500),
    liquidity=st.sampled_from([10**14, 10**15, 10**16, 10**17]),
    width=st.sampled_from([60, 600, 6_000]),
    fee=st.sampled_from([100, 500, 3_000, 10_000]),
    gap_bps=st.integers(-400, 400),
    v2_weth=st.sampled_from([10, 1_000, 100_000]),
    which=st.integers(0, 2),
)
def test_local_closed_forms_find_the_optimum_of_a_v3_cycle(
    price: int, liquidity: int, width: int, fee: int, gap_bps: int, v2_weth: int, which: int
) -> None:
    states = _v3_case(price, liquidity, width, fee, price * (10_000 + gap_bps) // 10_000, v2_weth)
    cycle = V3_CYCLES[which]
    limit = 1_000 * E18 if cycle.start_token == WETH else 3_000_000 * 10**6
    evaluations: list[int] = []
    found = local_optimum(cycle, states, limit, evaluations=evaluations)
    searched = search_optimum(cycle, states, limit)
    best = max(
        searched.gross_profit if searched else 0, _dense_best(cycle, states, limit, points=400)
    )
    if best <= 0:
        assert found is None
        return
    assert found is not None
    # At least 99.9% of the best that the exact search or a dense sampling finds.
    assert found.gross_profit * 1_000 >= best * 999
    assert found.hop_amounts == simulate(cycle, states, found.amount_in)
    assert evaluations[0] <= LOCAL_STEPS


def test_local_closed_forms_need_few_exact_evaluations() -> None:
    rng = random.Random(11)
    evaluations: list[int] = []
    sized = 0
    for _ in range(60):
        price = rng.randint(2_500, 3_500)
        states = _v3_case(
            price,
            rng.choice([10**15, 10**16, 10**17]),
            rng.choice([60, 600, 6_000]),
            rng.choice([500, 3_000, 10_000]),
            price * rng.randint(9_600, 10_400) // 10_000,
            rng.choice([10, 1_000, 100_000]),
        )
        for cycle in V3_CYCLES[:2]:
            if local_optimum(cycle, states, 1_000 * E18, evaluations=evaluations) is not None:
                sized += 1
    assert sized >= 30  # most of these cycles pay one way or the other
    assert sum(evaluations) / len(evaluations) <= 10
