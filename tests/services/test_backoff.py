"""Back-off after repeated simulation failures, and ranking candidates by native value."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.trading import factories as f
from trading.addresses import normalize_address
from trading.engine.engine import disjoint_routes
from trading.models import SimulationBackoff
from trading.services.backoff import BACKOFF_AFTER, backoff_blocks, backoff_note, backoff_reset
from trading.services.engine_state import best_detected, best_detected_routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle():
    """WETH -> FOT -> WETH over two pools; WETH is a base token, FOT is not."""
    net = f.network()
    weth = f.token(net, "WETH")
    fot = f.token(net, "FOT")
    net.base_tokens.add(weth)
    dex = f.dex(net)
    there = f.pool(dex, weth, fot)
    back = f.pool(dex, fot, weth)
    return net, weth, fot, there, back


def test_back_off_grows_exponentially_and_spares_base_tokens(cycle) -> None:
    _, weth, fot, there, back = cycle
    assert [backoff_blocks(n) for n in range(1, 7)] == [0, 0, 4, 8, 16, 32]
    for block in range(100, 100 + BACKOFF_AFTER + 1):
        opp = f.opportunity(weth, pools=[there, back], block=block)
        backoff_note(opportunity_id=opp.pk, block=block, failed=True, reason="simulation reverted")
    rows = {(r.kind, r.address): r for r in SimulationBackoff.objects.all()}
    assert set(rows) == {
        ("pool", normalize_address(there.address)),
        ("pool", normalize_address(back.address)),
        ("token", normalize_address(fot.address)),
    }
    assert {r.failures for r in rows.values()} == {4}
    assert {r.until_block for r in rows.values()} == {103 + 8}
    assert rows[("token", normalize_address(fot.address))].last_reason == "simulation reverted"


def test_backed_off_cycles_are_not_candidates_until_reset(cycle) -> None:
    net, weth, _, there, back = cycle
    other = f.token(net, "OTHER")
    dex = there.dex
    clean = [f.pool(dex, weth, other), f.pool(dex, other, weth)]
    for block in range(1, BACKOFF_AFTER + 1):
        opp = f.opportunity(weth, pools=[there, back], block=block)
        backoff_note(opportunity_id=opp.pk, block=block, failed=True)
    griefer = f.opportunity(weth, pools=[there, back], net_profit=10**20, block=5)
    honest = f.opportunity(weth, pools=clean, net_profit=10**15, block=5)
    ids = [griefer.pk, honest.pk]

    assert [pk for pk, _ in best_detected(ids, 5, block=5)] == [honest.pk]
    # The back-off ends by itself, or at once when staff reset it.
    assert best_detected(ids, 5, block=3 + backoff_blocks(BACKOFF_AFTER) + 1)[0][0] == griefer.pk
    assert backoff_reset(SimulationBackoff.objects.all()) == 3
    assert [pk for pk, _ in best_detected(ids, 5, block=5)] == [griefer.pk, honest.pk]


def test_a_success_clears_the_count(cycle) -> None:
    _, weth, _, there, back = cycle
    for block in (1, 2):
        opp = f.opportunity(weth, pools=[there, back], block=block)
        backoff_note(opportunity_id=opp.pk, block=block, failed=True)
    opp = f.opportunity(weth, pools=[there, back], block=3)
    backoff_note(opportunity_id=opp.pk, block=3, failed=False)
    opp = f.opportunity(weth, pools=[there, back], block=4)
    backoff_note(opportunity_id=opp.pk, block=4, failed=True)
    assert set(SimulationBackoff.objects.values_list("failures", "until_block")) == {(1, 4)}


def test_candidates_are_ranked_by_native_value_not_raw_units() -> None:
    net = f.network()
    weth = f.token(net, "WETH", 18)
    usdc = f.token(net, "USDC", 6)
    # 0.01 WETH against 1,000 USDC: the USDC profit is worth far more, but is a smaller integer.
    small_in_weth = f.opportunity(weth, net_profit=10**16)
    big_in_usdc = f.opportunity(usdc, net_profit=1_000 * 10**6)
    # 1 WETH = 2,000 USDC: start-token units per native wei.
    prices = {weth.address: Fraction(1), usdc.address: Fraction(2_000 * 10**6, 10**18)}
    ids = [small_in_weth.pk, big_in_usdc.pk]
    assert [pk for pk, _ in best_detected(ids, 2, native_to_start=prices)] == [
        big_in_usdc.pk,
        small_in_weth.pk,
    ]
    # A start token without a price comes after every priced one.
    unpriced = f.opportunity(f.token(net, "ODD"), net_profit=10**30)
    ranked = best_detected([*ids, unpriced.pk], 3, native_to_start=prices)
    assert [pk for pk, _ in ranked] == [big_in_usdc.pk, small_in_weth.pk, unpriced.pk]


def test_a_gap_closed_by_this_blocks_own_trade_is_not_a_failure(cycle) -> None:
    _, weth, _, there, back = cycle
    traded = backoff_note(
        opportunity_id=f.opportunity(weth, pools=[there, back]).pk, block=1, failed=False
    )
    assert set(traded) == {normalize_address(there.address), normalize_address(back.address)}
    for _ in range(BACKOFF_AFTER + 1):
        opp = f.opportunity(weth, pools=[back, there], block=1)
        backoff_note(opportunity_id=opp.pk, block=1, failed=True, traded_pools=traded)
    assert not SimulationBackoff.objects.filter(failures__gt=0).exists()


def test_a_v4_pool_id_on_the_route_is_backed_off_like_any_pool(cycle) -> None:
    # A Uniswap V4 pool has no address: its route entry is the 32-byte pool id.
    _, weth, fot, there, _ = cycle
    v4 = f.pool(there.dex, fot, weth, address="0x" + "ab" * 32)
    for block in range(1, BACKOFF_AFTER + 1):
        opp = f.opportunity(weth, pools=[there, v4], block=block)
        backoff_note(opportunity_id=opp.pk, block=block, failed=True)
    pools = set(SimulationBackoff.objects.filter(kind="pool").values_list("address", flat=True))
    assert pools == {normalize_address(there.address), "0x" + "ab" * 32}
    griefer = f.opportunity(weth, pools=[there, v4], block=BACKOFF_AFTER + 1)
    assert best_detected([griefer.pk], 5, block=BACKOFF_AFTER + 1) == []


@pytest.fixture
def routes(cycle):
    """Pools and three routes, the richest first: `shared` shares `back` with `rich`,
    `apart` shares no pool with `rich`."""
    _, weth, fot, there, back = cycle
    across = f.pool(there.dex, weth, fot)
    home = f.pool(there.dex, fot, weth)
    rich = f.opportunity(weth, pools=[there, back], block=1, net_profit=10**18)
    shared = f.opportunity(weth, pools=[across, back], block=1, net_profit=10**15)
    apart = f.opportunity(weth, pools=[across, home], block=1, net_profit=10**14)
    return (there, back, across, home), (rich, shared, apart)


def test_cycles_through_a_pool_in_flight_are_left_out(routes) -> None:
    (there, back, _, _), (rich, shared, apart) = routes
    ids = [rich.pk, shared.pk, apart.pk]
    assert [pk for pk, _ in best_detected(ids, 3)] == [rich.pk, shared.pk, apart.pk]
    # A trade through `there` and `back` is in flight: only the cycle clear of both is left.
    flying = {there.address.lower(), back.address.lower()}
    assert [pk for pk, _ in best_detected(ids, 3, avoid_pools=flying)] == [apart.pk]


def test_a_blocks_trades_are_chosen_through_pools_no_other_uses(routes) -> None:
    (there, back, across, home), (rich, shared, apart) = routes
    ids = [rich.pk, shared.pk, apart.pk]
    ranked = best_detected_routes(ids, 3)
    assert [(pk, pools) for pk, _, pools in ranked] == [
        (rich.pk, frozenset({there.address.lower(), back.address.lower()})),
        (shared.pk, frozenset({across.address.lower(), back.address.lower()})),
        (apart.pk, frozenset({across.address.lower(), home.address.lower()})),
    ]
    # `shared` goes through `back` like the richer one: the next clear one is taken.
    assert [pk for pk, _ in disjoint_routes(ranked, 2)] == [rich.pk, apart.pk]
    assert [pk for pk, _ in disjoint_routes(ranked, 1)] == [rich.pk]
    # A trade in flight through `there` keeps its pools: `shared` is now first.
    flying = {there.address.lower()}
    assert [pk for pk, _ in disjoint_routes(ranked, 3, flying)] == [shared.pk]


def test_routes_are_read_past_many_richer_candidates_left_out(routes) -> None:
    # More richer candidates in flight than one read of paths holds (32): the
    # clear route behind them is still found, and only `limit` routes come back.
    (there, back, _, _), (rich, shared, apart) = routes
    weth = rich.start_token
    crowd = [
        f.opportunity(weth, pools=[there, back], block=1, net_profit=10**18 + n) for n in range(40)
    ]
    ids = [*(o.pk for o in crowd), rich.pk, shared.pk, apart.pk]
    flying = {there.address.lower(), back.address.lower()}
    assert [pk for pk, _ in best_detected(ids, 1, avoid_pools=flying)] == [apart.pk]
    # Without pools in flight: the richest first (equal profits: the newest first).
    assert [pk for pk, _ in best_detected(ids, 3)] == [crowd[-1].pk, crowd[-2].pk, crowd[-3].pk]
    assert best_detected(ids, 0) == []
