"""Back-off after repeated simulation failures, and the engine leaving backed-off cycles out."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import pytest

from tests.trading import factories as f
from trading.addresses import normalize_address
from trading.analysis import Cycle, Hop
from trading.engine.engine import Engine
from trading.models import SimulationBackoff
from trading.services.backoff import (
    BACKOFF_AFTER,
    backed_off_until,
    backoff_blocks,
    backoff_note,
    backoff_reset,
)

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


def _finding(start, pools, net: int):
    """A finding of the cycle through ``pools`` from ``start``, as the engine keeps it."""
    hops, token = [], start.address
    for pool in pools:
        other = pool.token1.address if pool.token0.address == token else pool.token0.address
        hops.append(Hop(pool.address, token, other))
        token = other
    cycle = Cycle(start.address, tuple(hops))
    return SimpleNamespace(key=cycle.key, cycle=cycle, evaluation=SimpleNamespace(net=net))


def _candidates(network, findings, block: int) -> list[str]:
    """The keys the engine would rank at ``block``, with the back-offs the database holds."""
    engine = Engine()
    engine.remember(
        SimpleNamespace(
            block_number=block,
            findings=tuple(findings),
            evaluated_keys={x.key for x in findings},
            full=False,
        )
    )
    engine._backed_off = backed_off_until(network_ids=[network.pk], block=block)
    prices = {x.cycle.start_token: Fraction(1) for x in findings}
    return [key for key, _, _ in engine.ranked_routes(prices, block)]


def test_backed_off_cycles_are_not_candidates_until_reset(cycle) -> None:
    net, weth, fot, there, back = cycle
    other = f.token(net, "OTHER")
    dex = there.dex
    clean = [f.pool(dex, weth, other), f.pool(dex, other, weth)]
    for block in range(1, BACKOFF_AFTER + 1):
        opp = f.opportunity(weth, pools=[there, back], block=block)
        backoff_note(opportunity_id=opp.pk, block=block, failed=True)
    griefer = _finding(weth, [there, back], 10**20)
    honest = _finding(weth, clean, 10**15)

    assert _candidates(net, [griefer, honest], 5) == [honest.key]
    # The back-off ends by itself, or at once when staff reset it.
    ends = 3 + backoff_blocks(BACKOFF_AFTER)
    assert backed_off_until(network_ids=[net.pk], block=5) == dict.fromkeys(
        {normalize_address(p.address).lower() for p in (there, back)}
        | {normalize_address(fot.address).lower()},
        ends,
    )
    assert _candidates(net, [griefer, honest], ends + 1) == [griefer.key, honest.key]
    assert backoff_reset(SimulationBackoff.objects.all()) == 3
    assert _candidates(net, [griefer, honest], 5) == [griefer.key, honest.key]


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
    griefer = _finding(weth, [there, v4], 10**18)
    assert _candidates(there.dex.network, [griefer], BACKOFF_AFTER + 1) == []
