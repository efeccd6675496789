"""Log-driven updates: after random swaps, states equal a full re-read at the same block."""

from __future__ import annotations

import dataclasses
import random

import pytest

from tests.dex.conftest import deploy_fresh_market
from tests.support.markets import pool_specs
from tests.support.rpc_proxy import RpcProxy
from trading.amm import PoolState
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import Market
from trading.dex.manager import DexManager

pytestmark = pytest.mark.chain


def _comparable(states: dict[str, PoolState]) -> dict[str, PoolState]:
    # A pool untouched since an earlier block keeps that block number: compare the rest.
    return {a: dataclasses.replace(s, block_number=0) for a, s in states.items()}


def _random_action(devnet: Devnet, market: Market, rng: random.Random) -> str:
    kind = rng.choice(
        [
            "v2",
            "v2",
            "v3",
            "v3",
            "solidly",
            "v3_liquidity",
            "solidly_fee",
            "v2_sync",
            "solidly_mint",
        ]
    )
    if kind == "v2":
        pair = rng.choice(market.v2_pairs)
        token = rng.choice([pair.token0, pair.token1])
        devnet.swap_v2(pair.address, token, rng.randint(10**15, 10**21))
        return pair.address
    if kind == "v3":
        pool = rng.choice(market.v3_pools)
        token = rng.choice([pool.token0, pool.token1])
        devnet.swap_v3(market.v3, pool.address, token, rng.randint(10**15, 10**21))
        return pool.address
    if kind == "v3_liquidity":
        pool = rng.choice(market.v3_pools)
        tick = devnet.v3_pool(pool.address).functions.slot0().call()[1]
        centre = (tick // pool.tick_spacing) * pool.tick_spacing
        lower = centre - rng.randint(1, 30) * pool.tick_spacing
        upper = centre + rng.randint(1, 30) * pool.tick_spacing
        devnet.add_v3_liquidity(market.v3, pool.address, lower, upper, rng.randint(10**18, 10**21))
        return pool.address
    if kind == "solidly":
        pool = rng.choice(market.solidly_pools)
        token = rng.choice([pool.token0, pool.token1])
        devnet.swap_solidly(pool.address, token, rng.randint(10**15, 10**21))
        return pool.address
    if kind == "solidly_fee":
        pool = rng.choice(market.solidly_pools)
        devnet.set_solidly_custom_fee(
            market.solidly, pool.address, rng.choice([0, 1, 25, 100, 300, 420])
        )
        return pool.address
    if kind == "solidly_mint":
        # Liquidity added as Aerodrome's Router does: tokens into the pool, then mint.
        pool = rng.choice(market.solidly_pools)
        contract = devnet.solidly_pool(pool.address)
        r0, r1, _ = contract.functions.getReserves().call()
        share = rng.randint(1, 50)
        devnet.mint(pool.token0, pool.address, r0 * share // 100)
        devnet.mint(pool.token1, pool.address, r1 * share // 100)
        devnet.transact(contract.functions.mint(devnet.deployer))
        return pool.address
    pair = rng.choice(market.v2_pairs)
    devnet.mint(pair.token0, pair.address, rng.randint(1, 10**18))
    devnet.transact(devnet.v2_pair(pair.address).functions.sync())
    return pair.address


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_block_by_block_updates_match_a_full_read(
    anvil: AnvilNode, devnet: Devnet, seed: int
) -> None:
    rng = random.Random(seed)
    market = deploy_fresh_market(devnet, n_tokens=4)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await manager.initialize()
        last = manager.last_block
        assert last is not None
        touched = set()
        for _ in range(25):
            touched.add(_random_action(devnet, market, rng))
            head = devnet.w3.eth.block_number
            for block in range(last + 1, head + 1):
                await manager.update(block)
            last = head
        fresh = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await fresh.refresh_all(last)
        assert manager.last_block == fresh.last_block == last
        assert len(manager.states) == len(pool_specs(market))
        assert _comparable(dict(manager.states)) == _comparable(dict(fresh.states))
        # Only touched pools were read at the head of their own block.
        assert touched


async def test_a_range_of_blocks_in_one_update(anvil: AnvilNode, devnet: Devnet) -> None:
    rng = random.Random(7)
    market = deploy_fresh_market(devnet, n_tokens=4)
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await manager.initialize()
        start = (manager.last_block or 0) + 1
        touched = {_random_action(devnet, market, rng) for _ in range(10)}
        head = devnet.w3.eth.block_number
        proxy.reset()
        changed = await manager.update(head, from_block=start)
        assert changed == touched
        # One getLogs and one batched read.
        assert proxy.methods == {"eth_getLogs": 1, "eth_call": 1}
        fresh = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await fresh.refresh_all(head)
        assert _comparable(dict(manager.states)) == _comparable(dict(fresh.states))


async def test_a_quiet_block_reads_nothing(anvil: AnvilNode, devnet: Devnet) -> None:
    market = deploy_fresh_market(devnet, n_tokens=3)
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market))
        await manager.initialize()
        devnet.w3.provider.make_request("evm_mine", [])
        proxy.reset()
        assert await manager.update(devnet.w3.eth.block_number) == set()
        assert proxy.methods == {"eth_getLogs": 1}


async def test_new_and_removed_pools(anvil: AnvilNode, devnet: Devnet) -> None:
    market = deploy_fresh_market(devnet, n_tokens=3)
    specs = pool_specs(market)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        manager = DexManager(client, specs[:2])
        await manager.initialize()
        assert set(manager.states) == {s.address for s in specs[:2]}
        manager.set_pools(specs[1:])
        devnet.w3.provider.make_request("evm_mine", [])
        changed = await manager.update(devnet.w3.eth.block_number)
        assert changed == {s.address for s in specs[2:]}
        assert set(manager.states) == {s.address for s in specs[1:]}
        assert manager.state(specs[0].address) is None
        assert manager.state(specs[1].address.lower()) is not None


async def test_swaps_are_applied_from_their_logs_without_a_read(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = deploy_fresh_market(devnet, n_tokens=3)
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await manager.initialize()
        start = (manager.last_block or 0) + 1
        pair, pool, aero = market.v2_pairs[0], market.v3_pools[0], market.solidly_pools[0]
        devnet.swap_v2(pair.address, pair.token0, 10**18)
        devnet.swap_v2(pair.address, pair.token1, 10**17)
        devnet.swap_v3(market.v3, pool.address, pool.token1, 10**15)  # stays in its word
        devnet.swap_solidly(aero.address, aero.token0, 10**18)
        head = devnet.w3.eth.block_number
        proxy.reset()
        changed = await manager.update(head, from_block=start)
        assert changed == {pair.address, pool.address, aero.address}
        # The Sync and Swap logs carried every new state: nothing was read but the logs.
        assert proxy.methods == {"eth_getLogs": 1}
        fresh = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await fresh.refresh_all(head)
        assert _comparable(dict(manager.states)) == _comparable(dict(fresh.states))


async def test_a_block_announced_before_the_node_serves_it_is_waited_for(
    anvil: AnvilNode, devnet: Devnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from trading.chain.client import RpcError

    market = deploy_fresh_market(devnet, n_tokens=3)
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await manager.initialize()
        start = (manager.last_block or 0) + 1
        pair = market.v2_pairs[0]
        devnet.swap_v2(pair.address, pair.token0, 10**18)
        head = devnet.w3.eth.block_number
        assert pair.address in await manager.update(head, from_block=start)
        # Announced (as by a subscription) before the node has it: mined a moment later.
        ahead = head + 1

        async def mine_soon() -> None:
            await asyncio.sleep(0.15)
            await asyncio.to_thread(anvil.mine, 1)

        mining = asyncio.create_task(mine_soon())
        proxy.reset()
        changed = await manager.update(ahead)
        await mining
        assert changed == set() and manager.last_block == ahead
        assert proxy.methods["eth_getLogs"] == 2  # refused once, asked again once mined
        assert manager.health().counters["logs_asked_again"] == 1
        fresh = DexManager(client, pool_specs(market), solidly_factories=[market.solidly.factory])
        await fresh.refresh_all(ahead)
        assert _comparable(dict(manager.states)) == _comparable(dict(fresh.states))

        # A block that does not come within the wait fails the update, as before.
        monkeypatch.setattr("trading.dex.manager.HEAD_WAIT", 0.1)
        with pytest.raises(RpcError, match="eth_getLogs"):
            await manager.update(ahead + 5)
        assert manager.last_block == ahead
