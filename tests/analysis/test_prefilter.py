"""The float pre-filter never drops a cycle the exact integer ceiling keeps."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.amm import PoolState, SolidlyPoolState, V2PoolState, V3PoolState
from trading.amm import v3_math as m
from trading.analysis import (
    CycleIndex,
    EdgeRates,
    GasTerms,
    StartTerms,
    evaluate_cycles,
    evaluate_ids,
)
from trading.analysis.ceiling import ceiling_ratio

TOKENS = [f"0x{i:040x}" for i in range(1, 6)]  # the first two are the base tokens
BASES = TOKENS[:2]
GAS = GasTerms(gas_price_wei=10**7, l1_fees={2: 10**11, 3: 2 * 10**11})


def amounts() -> st.SearchStrategy[int]:
    """From 1 wei to uint112-sized reserves, spread over the orders of magnitude."""
    return st.integers(0, 33).flatmap(lambda e: st.integers(10**e, 10 ** (e + 1)))


@st.composite
def pool_state(draw: st.DrawFn, index: int) -> PoolState:
    token_a, token_b = draw(st.lists(st.sampled_from(TOKENS), min_size=2, max_size=2, unique=True))
    t0, t1 = sorted((token_a, token_b))
    address = f"0x{0xF000 + index:040x}"
    kind = draw(st.sampled_from(["v2", "v2", "v3", "volatile", "stable"]))
    if kind == "v2":
        fee = draw(st.sampled_from([0, 1, 5, 25, 30, 100, 9_999]))
        return V2PoolState(address, t0, t1, draw(amounts()), draw(amounts()), fee)
    if kind in ("volatile", "stable"):
        dec0, dec1 = draw(st.sampled_from([(18, 18), (6, 18), (18, 6), (8, 9), (0, 24)]))
        return SolidlyPoolState(
            address, t0, t1, draw(amounts()), draw(amounts()), dec0, dec1,
            kind == "stable", draw(st.integers(0, 100)),
        )  # fmt: skip
    fee = draw(st.sampled_from([0, 100, 500, 3000, 10_000, 999_999]))
    sqrt_price = draw(st.integers(m.MIN_SQRT_RATIO, m.MAX_SQRT_RATIO - 1))
    tick = m.get_tick_at_sqrt_ratio(sqrt_price)
    return V3PoolState(
        address, t0, t1, fee, 1, sqrt_price, tick, draw(amounts()), {}, -4000, 4000
    )  # fmt: skip


@st.composite
def markets(draw: st.DrawFn) -> dict[str, PoolState]:
    count = draw(st.integers(2, 9))
    states = [draw(pool_state(i)) for i in range(count)]
    return {state.address: state for state in states}


def _terms(token: str, min_net: int, max_in: int) -> StartTerms:
    return StartTerms(token, Fraction(1), max_in, min_net)


@settings(max_examples=200, deadline=None)
@given(market=markets(), max_in=amounts(), data=st.data())
def test_it_keeps_every_cycle_the_exact_ceiling_keeps(
    market: dict[str, PoolState], max_in: int, data: st.DataObject
) -> None:
    index = CycleIndex(market.values(), BASES)
    rates = EdgeRates()
    rates.sync(index.table, market)
    table = index.table
    for cid in index.alive_ids().tolist():
        cycle = table.cycle(cid)
        top, scale = ceiling_ratio(cycle, market, max_in)
        # The sharpest minimum the exact ceiling still lets through (or a random one).
        exact_best = top // scale
        min_net = max(1, exact_best) if data.draw(st.booleans()) else data.draw(amounts())
        min_profit = np.full(len(table.tokens), np.inf)
        max_amount_in = np.zeros(len(table.tokens))
        start = table.token_ids[cycle.start_token]
        min_profit[start], max_amount_in[start] = float(min_net), float(max_in)
        kept = rates.keep(table, np.array([cid]), min_profit, max_amount_in)[0]
        if top >= min_net * scale:
            assert kept, (cycle.key, top / scale, min_net)


def test_it_drops_cycles_that_cannot_pay_and_keeps_a_gap() -> None:
    weth, usdc = BASES
    in_line = [
        V2PoolState(f"0x{0xA0 + i:040x}", weth, usdc, 10**21, 3 * 10**9 * (1000 + i), 30)
        for i in range(3)
    ]
    gap = V2PoolState(f"0x{0xAF:040x}", weth, usdc, 10**21, 33 * 10**8 * 1000, 30)
    states: dict[str, PoolState] = {s.address: s for s in [*in_line, gap]}
    index = CycleIndex(states.values(), [weth])
    rates = EdgeRates()
    rates.sync(index.table, states)
    ids = index.alive_ids()
    keep = rates.keep(index.table, ids, np.array([1.0, math.inf]), np.array([1e18, 0.0]))
    kept = {index.table.key(cid) for cid in ids[keep].tolist()}
    # 10% dearer USDC in the gap pool: selling WETH there and buying it back elsewhere pays.
    assert kept == {f"{gap.address}>{p.address}|{weth}" for p in in_line}


def test_rates_follow_changed_states_only() -> None:
    weth, usdc = BASES
    a = V2PoolState(f"0x{0xA1:040x}", weth, usdc, 10**21, 3 * 10**12, 30)
    b = V2PoolState(f"0x{0xA2:040x}", weth, usdc, 10**21, 3 * 10**12, 30)
    states: dict[str, PoolState] = {a.address: a, b.address: b}
    index = CycleIndex(states.values(), [weth])
    rates = EdgeRates()
    assert rates.sync(index.table, states) == 2
    assert rates.sync(index.table, states) == 0
    states[b.address] = b.with_reserves(10**21, 4 * 10**12)
    assert rates.sync(index.table, states) == 1
    keep = rates.keep(
        index.table, index.alive_ids(), np.array([1.0, math.inf]), np.array([1e18, 0.0])
    )
    assert keep.tolist() == [True, False] or keep.tolist() == [False, True]


@settings(max_examples=25, deadline=None)
@given(market=markets(), min_net=st.integers(1, 10**6), max_in=amounts())
def test_evaluate_ids_gives_the_exact_verdicts(
    market: dict[str, PoolState], min_net: int, max_in: int
) -> None:
    index = CycleIndex(market.values(), BASES)
    terms = {BASES[0]: _terms(BASES[0], min_net, max_in)}  # the second base has no price
    exact = evaluate_cycles(list(index), market, terms, GAS)
    fast = evaluate_ids(index, index.alive_ids(), market, terms, GAS)
    assert [(f.key, f.sized, f.evaluation) for f in fast.findings] == [
        (f.key, f.sized, f.evaluation) for f in exact.findings
    ]
    assert dict(fast.rejections) == dict(exact.rejections)
    assert fast.sized == exact.sized
    assert fast.evaluated_keys == {c.key for c in index}


@settings(max_examples=40, deadline=None)
@given(market=markets(), min_net=st.integers(1, 10**6), max_in=amounts(), data=st.data())
def test_a_budget_judges_at_most_that_many_exactly_and_defers_the_rest(
    market: dict[str, PoolState], min_net: int, max_in: int, data: st.DataObject
) -> None:
    index = CycleIndex(market.values(), BASES)
    terms = {BASES[0]: _terms(BASES[0], min_net, max_in), BASES[1]: _terms(BASES[1], 1, max_in)}
    ids = index.alive_ids()
    full = evaluate_ids(index, ids, market, terms, GAS)
    budget = data.draw(st.integers(0, 6))
    first = np.array(
        sorted(data.draw(st.sets(st.sampled_from(ids.tolist()), max_size=3))) if len(ids) else [],
        dtype=np.intp,
    )
    part = evaluate_ids(index, ids, market, terms, GAS, budget=budget, first=first)
    deferred = {index.table.key(cid) for cid in part.deferred.tolist()}
    found = {f.key for f in part.findings}
    # Nothing is both judged and deferred, and nothing is lost.
    assert not deferred & found
    assert not deferred & set(part.rejections)
    assert found | set(part.rejections) | deferred == {c.key for c in index}
    assert deferred.isdisjoint(part.evaluated_keys)
    # Every verdict given is the unbudgeted one: the budget only chooses what is judged.
    whole = {f.key: (f.sized, f.evaluation) for f in full.findings}
    assert {f.key: (f.sized, f.evaluation) for f in part.findings}.items() <= whole.items()
    for key in part.rejections:
        assert key not in whole
        assert part.rejections[key] == full.rejections[key]
    # At most `budget` cycles past the pre-filter were judged exactly.
    if len(part.deferred):
        table = index.table
        keep = EdgeRates()
        keep.sync(table, market)
        min_profit = np.full(len(table.tokens), np.inf)
        max_amount = np.zeros(len(table.tokens))
        for token, limits in terms.items():
            if token in table.token_ids:
                min_profit[table.token_ids[token]] = float(limits.min_net_profit)
                max_amount[table.token_ids[token]] = float(limits.max_amount_in)
        survivors = ids[keep.keep(table, ids, min_profit, max_amount)]
        judged = np.setdiff1d(survivors, part.deferred)
        assert len(judged) == budget
        # Owed ones first, in their order, up to a quarter of the budget.
        owed = first[np.isin(first, survivors)][: max(1, budget // 4)] if budget else first[:0]
        assert set(owed.tolist()) <= set(judged.tolist())


def test_the_estimate_is_the_closed_form_on_constant_product_pools() -> None:
    weth, usdc = BASES
    a = V2PoolState(f"0x{0xA1:040x}", weth, usdc, 10**21, 3 * 10**12, 30)
    b = V2PoolState(f"0x{0xA2:040x}", weth, usdc, 10**21, 33 * 10**11, 30)
    states: dict[str, PoolState] = {a.address: a, b.address: b}
    index = CycleIndex(states.values(), [weth])
    rates = EdgeRates()
    rates.sync(index.table, states)
    ids = index.alive_ids()
    estimate = rates.estimate(index.table, ids, np.array([1e30, 0.0]))
    terms = {weth: _terms(weth, 1, 10**30)}
    analysis = evaluate_ids(index, ids, states, terms, GasTerms(0, {}))
    (finding,) = analysis.findings
    paying = int(np.argmax(estimate))
    assert index.table.key(int(ids[paying])) == finding.key
    assert estimate[paying] == pytest.approx(finding.sized.gross_profit, rel=1e-6)
    assert estimate[1 - paying] == 0.0
    # A trade size below the optimum caps the input.
    capped = rates.estimate(index.table, ids, np.array([1e18, 0.0]))[paying]
    assert capped == pytest.approx(
        evaluate_ids(index, ids, states, {weth: _terms(weth, 1, 10**18)}, GasTerms(0, {}))
        .findings[0]
        .sized.gross_profit,
        rel=1e-6,
    )


def test_the_budget_sizes_the_richest_gaps_first() -> None:
    weth, usdc = BASES
    base = V2PoolState(f"0x{0xA0:040x}", weth, usdc, 10**22, 3 * 10**13, 30)
    # Gaps of growing size against the deep pool: the biggest pays the most.
    gaps = [
        V2PoolState(f"0x{0xB0 + i:040x}", weth, usdc, 10**21, (31 + i) * 10**11, 30)
        for i in range(6)
    ]
    states: dict[str, PoolState] = {s.address: s for s in [base, *gaps]}
    index = CycleIndex(states.values(), [weth], max_hops=2)
    terms = {weth: _terms(weth, 1, 10**24)}
    ids = index.alive_ids()
    full = evaluate_ids(index, ids, states, terms, GasTerms(0, {}))
    part = evaluate_ids(index, ids, states, terms, GasTerms(0, {}), budget=2)
    assert [f.key for f in part.findings] == [f.key for f in full.findings[:2]]
    waiting = {index.table.key(cid) for cid in part.deferred.tolist()}
    assert {f.key for f in full.findings[2:]} <= waiting
