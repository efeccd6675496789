"""Full refreshes are batched: 600 pools in at most 2 round trips, states exact."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.chain_fixtures import reverted_after
from tests.support.rpc_proxy import RpcProxy
from trading.amm import V2PoolState
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, V2Pair
from trading.dex.base import PoolSpec
from trading.dex.manager import DexManager
from trading.dex.reading import plan_chunks, read_states

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def six_hundred_pairs(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[list[V2Pair]]:
    """600 Uniswap V2 pairs with liquidity, deployed once for this module."""
    with reverted_after(anvil):
        tokens = devnet_session.deploy_tokens([f"P{i}" for i in range(36)])
        v2 = devnet_session.deploy_uniswap_v2()
        specs = []
        for i, a in enumerate(tokens):
            for b in tokens[i + 1 :]:
                specs.append((a.address, b.address, (len(specs) + 1) * 10**18, 10**21))
        yield devnet_session.create_v2_pairs(v2, specs[:600])


def _specs(pairs: list[V2Pair]) -> list[PoolSpec]:
    return [PoolSpec(p.address, "uniswap_v2", p.token0, p.token1, 3000) for p in pairs]


async def test_600_pools_in_two_round_trips(
    anvil: AnvilNode, six_hundred_pairs: list[V2Pair], devnet_session: Devnet
) -> None:
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        manager = DexManager(client, _specs(six_hundred_pairs))
        proxy.reset()
        await manager.initialize()
        assert proxy.requests <= 2
        assert proxy.methods == {"eth_call": 2}
        assert len(manager.states) == 600 and not manager.failed
    blocks = {s.block_number for s in manager.states.values()}
    assert len(blocks) == 1
    for pair in six_hundred_pairs[::97]:
        state = manager.state(pair.address)
        assert isinstance(state, V2PoolState)
        r0, r1, _ = devnet_session.v2_pair(pair.address).functions.getReserves().call()
        assert (state.reserve0, state.reserve1) == (r0, r1)


async def test_chunks_respect_count_and_gas() -> None:
    v2 = [
        PoolSpec(f"0x{i:040x}", "uniswap_v2", "0x" + "1" * 40, "0x" + "2" * 40, 3000)
        for i in range(1200)
    ]
    chunks = plan_chunks(v2)
    assert [len(c) for c in chunks] == [400, 400, 400]
    assert sorted(p.address for c in chunks for p in c) == sorted(p.address for p in v2)
    v3 = [
        PoolSpec(
            f"0x{i:040x}", "uniswap_v3", "0x" + "1" * 40, "0x" + "2" * 40, 3000, tick_spacing=60
        )
        for i in range(300)
    ]
    chunks = plan_chunks(v3, gas_budget=5_000_000)
    assert len(chunks) > 1 and sum(map(len, chunks)) == 300
    assert [len(c) for c in plan_chunks(v3, chunk_size=100, gas_budget=10**12)] == [100, 100, 100]
    # Heavy V3 pools are spread over the V2 calls instead of needing calls of their own.
    known = {p.address: 8 for p in v3}
    mixed = plan_chunks(v2[:1000] + v3[:200], known_ticks=known)
    assert len(mixed) == 3
    # Never-read V3 pools may be packed with ticks: they are planned pessimistically.
    assert len(plan_chunks(v2[:1000] + v3[:200])) > 10
    assert all(len(c) <= 500 for c in mixed)


async def test_later_chunks_read_at_the_first_chunk_block(
    anvil: AnvilNode, six_hundred_pairs: list[V2Pair]
) -> None:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        batch = await read_states(client, _specs(six_hundred_pairs), chunk_size=100)
        assert batch.round_trips == 6
        assert {s.block_number for s in batch.states.values()} == {batch.block_number}


async def test_v4_pools_are_planned_by_their_measured_weight() -> None:
    v4 = [
        PoolSpec(
            f"0x{i:064x}",
            "uniswap_v4",
            "0x" + "1" * 40,
            "0x" + "2" * 40,
            3000,
            tick_spacing=60,
            manager="0x" + "3" * 40,
        )
        for i in range(500)
    ]
    # Four ticks near the price (what a refresh learns): ~51k gas each, two calls of 20M.
    known = {p.address: 4 for p in v4}
    assert len(plan_chunks(v4, known_ticks=known)) == 2
    assert len(plan_chunks(v4[:390], known_ticks=known)) == 1
