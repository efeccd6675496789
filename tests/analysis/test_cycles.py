"""The cycle index: which cycles exist, which a changed pool touches, and scale."""

from __future__ import annotations

import random
import time
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.amm import V2PoolState
from trading.analysis.cycles import Cycle, CycleIndex, Hop, PoolRef, union_ids

WETH, USDC, DAI, ARB = "WETH", "USDC", "DAI", "ARB"


def _brute_force(pools: list[PoolRef], bases: set[str], max_hops: int) -> set[str]:
    """Every cycle key by trying every ordered choice of distinct pools."""
    keys = set()
    for n in range(2, max_hops + 1):
        for chosen in permutations(pools, n):
            for start in bases:
                token = start
                hops = []
                seen = {start}
                for i, pool in enumerate(chosen):
                    if token not in (pool.token0, pool.token1):
                        break
                    nxt = pool.token1 if token == pool.token0 else pool.token0
                    last = i == n - 1
                    if (nxt == start) != last or (not last and nxt in seen):
                        break
                    hops.append(Hop(pool.address, token, nxt))
                    seen.add(nxt)
                    token = nxt
                else:
                    keys.add(Cycle(start, tuple(hops)).key)
    return keys


def test_it_finds_two_and_three_hop_cycles() -> None:
    pools = [
        PoolRef("p1", WETH, USDC),
        PoolRef("p2", WETH, USDC),
        PoolRef("p3", USDC, DAI),
        PoolRef("p4", DAI, WETH),
    ]
    index = CycleIndex(pools, {WETH})
    keys = {cycle.key for cycle in index}
    assert keys == {
        "p1>p2|WETH",
        "p2>p1|WETH",
        "p1>p3>p4|WETH",
        "p2>p3>p4|WETH",
        "p4>p3>p1|WETH",
        "p4>p3>p2|WETH",
    }
    cycle = index.get("p1>p3>p4|WETH")
    assert cycle is not None
    assert cycle.tokens == (WETH, USDC, DAI, WETH)
    assert cycle.pools == ("p1", "p3", "p4")
    assert cycle.path() == [
        {"pool": "p1", "token_in": WETH, "token_out": USDC},
        {"pool": "p3", "token_in": USDC, "token_out": DAI},
        {"pool": "p4", "token_in": DAI, "token_out": WETH},
    ]
    assert len(CycleIndex(pools, {WETH}, max_hops=2)) == 2


def test_each_base_token_starts_its_own_cycles() -> None:
    pools = [PoolRef("p1", WETH, USDC), PoolRef("p2", USDC, DAI), PoolRef("p3", DAI, WETH)]
    index = CycleIndex(pools, {WETH, USDC})
    assert {c.key for c in index} == {
        "p1>p2>p3|WETH",
        "p3>p2>p1|WETH",
        "p2>p3>p1|USDC",
        "p1>p3>p2|USDC",
    }


def test_it_accepts_pool_states_and_tuples() -> None:
    state = V2PoolState("p1", WETH, USDC, 1, 1)
    index = CycleIndex([state, ("p2", USDC, WETH)], [WETH])
    assert [c.key for c in index.cycles] == ["p1>p2|WETH", "p2>p1|WETH"]


def test_cycles_through_returns_only_touched_cycles() -> None:
    pools = [
        PoolRef("p1", WETH, USDC),
        PoolRef("p2", WETH, USDC),
        PoolRef("p3", WETH, DAI),
        PoolRef("p4", WETH, DAI),
    ]
    index = CycleIndex(pools, {WETH})
    assert [c.key for c in index.cycles_through(["p3"])] == ["p3>p4|WETH", "p4>p3|WETH"]
    assert len(index.cycles_through(["p1", "p3"])) == 4
    assert index.cycles_through(["nope"]) == []


def test_add_and_remove_keep_the_index_equal_to_a_rebuild() -> None:
    pools = [
        PoolRef("p1", WETH, USDC),
        PoolRef("p2", USDC, DAI),
        PoolRef("p3", DAI, WETH),
        PoolRef("p4", DAI, ARB),
        PoolRef("p5", ARB, WETH),
    ]
    index = CycleIndex(pools[:3], {WETH, DAI})
    added = index.add_pool(pools[3])
    assert added == []  # ARB is a dead end until p5
    added = index.add_pool(pools[4])
    assert {c.key for c in added} == {
        "p5>p4>p3|WETH",
        "p3>p4>p5|WETH",
        "p4>p5>p3|DAI",
        "p3>p5>p4|DAI",
    }
    assert {c.key for c in index} == {c.key for c in CycleIndex(pools, {WETH, DAI})}
    removed = index.remove_pool("p3")
    assert all("p3" in c.pools for c in removed)
    assert {c.key for c in index} == {
        c.key for c in CycleIndex([p for p in pools if p.address != "p3"], {WETH, DAI})
    }
    assert index.remove_pool("p3") == []
    index.rebuild(base_tokens={USDC})
    assert all(c.start_token == USDC for c in index)


def test_cycles_validate_themselves() -> None:
    with pytest.raises(ValueError):
        Cycle(WETH, (Hop("p1", WETH, USDC),))
    with pytest.raises(ValueError):
        Cycle(WETH, (Hop("p1", WETH, USDC), Hop("p1", USDC, WETH)))
    with pytest.raises(ValueError):
        Cycle(WETH, (Hop("p1", WETH, USDC), Hop("p2", DAI, WETH)))
    with pytest.raises(ValueError):
        CycleIndex([PoolRef("p1", WETH, WETH)], {WETH})


@settings(max_examples=40, deadline=None)
@given(
    edges=st.lists(
        st.tuples(st.sampled_from("ABCDEF"), st.sampled_from("ABCDEF")).filter(
            lambda e: e[0] != e[1]
        ),
        min_size=1,
        max_size=9,
    ),
    bases=st.sets(st.sampled_from("ABC"), min_size=1),
    max_hops=st.sampled_from([2, 3]),
)
def test_it_matches_a_brute_force_enumeration(
    edges: list[tuple[str, str]], bases: set[str], max_hops: int
) -> None:
    pools = [PoolRef(f"p{i}", a, b) for i, (a, b) in enumerate(edges)]
    index = CycleIndex(pools, bases, max_hops)
    assert {c.key for c in index} == _brute_force(pools, bases, max_hops)
    # and building pool by pool gives the same index
    incremental = CycleIndex([], bases, max_hops)
    for pool in pools:
        incremental.add_pool(pool)
    assert {c.key for c in incremental} == {c.key for c in index}


def test_it_scales_to_five_thousand_pools() -> None:
    rng = random.Random(7)
    tokens = [f"T{i:04d}" for i in range(1500)]
    bases = tokens[:3]
    pools = []
    for i in range(5000):
        a = rng.choice(bases) if rng.random() < 0.4 else rng.choice(tokens)
        b = rng.choice(tokens[:50]) if rng.random() < 0.3 else rng.choice(tokens)
        if a != b:
            pools.append(PoolRef(f"P{i:05d}", a, b))
    started = time.perf_counter()
    index = CycleIndex(pools, bases)
    built = time.perf_counter() - started
    assert len(index) > 50_000
    started = time.perf_counter()
    touched = index.cycles_through(p.address for p in pools[:100])
    looked_up = time.perf_counter() - started
    assert touched
    assert all(any(p in c.pools for p in {q.address for q in pools[:100]}) for c in touched)
    # generous bounds: a quadratic blow-up would take minutes, not seconds
    assert built < 20
    assert looked_up < 2


@given(st.lists(st.lists(st.integers(0, 5_000), max_size=300), max_size=4))
def test_union_ids_is_numpys_union(parts: list[list[int]]) -> None:
    expected = np.unique(np.concatenate([np.zeros(0, dtype=np.intp), *map(np.asarray, parts)]))
    got = union_ids(*parts)
    assert got.dtype == np.intp
    assert got.tolist() == expected.astype(np.intp).tolist()


def test_union_ids_refuses_a_negative_id() -> None:
    with pytest.raises(ValueError, match="never negative"):
        union_ids([3, -1])
