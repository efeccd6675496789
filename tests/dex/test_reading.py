"""Pools packed with ticks cost only themselves: pessimistic plans, tick windows, bisection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.chain_fixtures import reverted_after
from trading.amm import V3PoolState
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import DexPlan, Market, PoolPlan, Position, TokenPlan, build_market
from trading.dex.base import PoolSpec
from trading.dex.manager import DexManager
from trading.dex.reading import TICK_WINDOW, plan_chunks, read_states

pytestmark = pytest.mark.chain

# 1,280 tiny adjacent positions around the price: one initialized tick per spacing over
# the five bitmap words the reader looks at, about 14M gas to read.
_PACKED = tuple(Position(k, 1 - k, 10**6) for k in range(-639, 641))
_NORMAL = (Position(4, 4, 10**22), Position(None, None, 10**20))


@pytest.fixture(scope="module")
def packed_market(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[Market]:
    """Three V3 pools packed with ticks and two ordinary ones, deployed once."""
    with reverted_after(anvil):
        symbols = ["A", "B", "C", "D"]
        pools = [
            PoolPlan("V3", "A", "B", 0, fee=500, positions=_PACKED),
            PoolPlan("V3", "A", "C", 0, fee=500, positions=_PACKED),
            PoolPlan("V3", "B", "C", 0, fee=500, positions=_PACKED),
            PoolPlan("V3", "A", "D", 0, fee=3000, positions=_NORMAL),
            PoolPlan("V3", "B", "D", 0, fee=3000, positions=_NORMAL),
        ]
        yield build_market(
            devnet_session,
            [TokenPlan(s) for s in symbols],
            [DexPlan("V3", "uniswap_v3")],
            pools,
        )


def _specs(market: Market) -> list[PoolSpec]:
    return [
        PoolSpec(p.address, "uniswap_v3", p.token0, p.token1, p.fee, tick_spacing=p.tick_spacing)
        for p in market.v3_pools
    ]


async def test_packed_pools_never_read_cost_only_themselves(
    anvil: AnvilNode, packed_market: Market
) -> None:
    specs = _specs(packed_market)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        batch = await read_states(client, specs)
    assert batch.failed == {}
    assert set(batch.states) == {s.address for s in specs}
    packed = [batch.states[s.address] for s in specs[:3]]
    assert all(isinstance(s, V3PoolState) and len(s.ticks) > 1_100 for s in packed)
    assert {s.block_number for s in batch.states.values()} == {batch.block_number}


async def test_known_packed_pools_are_read_through_a_tick_window(
    anvil: AnvilNode, packed_market: Market
) -> None:
    specs = _specs(packed_market)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        first = await read_states(client, specs)
        known = {a: len(s.ticks) for a, s in first.states.items() if isinstance(s, V3PoolState)}
        chunks = plan_chunks(specs, known_ticks=known)
        second = await read_states(client, specs, known_ticks=known)
    assert second.failed == {}
    # The plan was right: no call had to be split.
    assert second.round_trips == len(chunks)
    for spec in specs[:3]:
        state = second.states[spec.address]
        assert isinstance(state, V3PoolState)
        assert 0 < len(state.ticks) <= TICK_WINDOW
        assert state.min_word <= state.tick // (spec.tick_spacing * 256) <= state.max_word
    # Ordinary pools keep the full window.
    for spec in specs[3:]:
        state = second.states[spec.address]
        assert isinstance(state, V3PoolState)
        assert state.max_word - state.min_word == 4


async def test_the_dex_manager_starts_and_keeps_packed_pools_windowed(
    anvil: AnvilNode, packed_market: Market
) -> None:
    specs = _specs(packed_market)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        manager = DexManager(client, specs)
        await manager.initialize()
        assert set(manager.states) == {s.address for s in specs}
        # Every later refresh reads the packed pools through their window, not wider.
        for _ in range(2):
            batch = await manager.refresh_all()
            assert batch.failed == {}
            for spec in specs[:3]:
                state = manager.states[spec.address]
                assert isinstance(state, V3PoolState)
                assert (state.max_word - state.min_word, len(state.ticks) <= TICK_WINDOW) == (
                    0,
                    True,
                )
        await manager.cleanup()
