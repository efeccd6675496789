"""Slipstream and PancakeSwap V3 in the DEX layer, on their real contracts.

Discovery finds exactly the deployed pools (Slipstream's with the fee its
factory charges now) and a re-run finds nothing new; log-driven updates equal
a full re-read after random swaps, liquidity changes and, for Slipstream, fee
changes made through the real fee module (no pool event: the fee is read with
every state).
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from web3.contract import Contract

from tests.dex.test_discovery import _discover_all
from tests.support.markets import pool_specs
from trading.amm import PoolState, V3PoolState
from trading.chain.artifacts import external_artifact, pancakeswap_v3_artifact
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, V3Deployment
from trading.devchain.market import DexPlan, Market, PoolPlan, Position, TokenPlan, build_market
from trading.dex.base import DexInfo
from trading.dex.manager import DexManager
from trading.dex.pancakeswap_v3 import PancakeSwapV3Family
from trading.dex.slipstream import SlipstreamFamily
from trading.dex.uniswap_v3 import find_deployment_block

pytestmark = pytest.mark.chain

_POSITIONS = (Position(4, 4, 10**22), Position(40, 30, 10**21), Position(None, None, 10**20))


def deploy_cl_market(devnet: Devnet) -> Market:
    """Four tokens; Slipstream pools of every tick spacing, PancakeSwap V3 pools of every tier."""
    symbols = ["C0", "C1", "C2", "C3"]
    pairs = [(a, b) for i, a in enumerate(symbols) for b in symbols[i + 1 :]]
    dexes = (DexPlan("Fresh CL", "slipstream"), DexPlan("Fresh Pancake", "pancakeswap_v3"))
    pools = [
        PoolPlan(
            "Fresh CL", a, b, 0, tick_spacing=(1, 50, 100, 200, 2000)[i % 5], positions=_POSITIONS
        )
        for i, (a, b) in enumerate(pairs)
    ]
    pools += [
        PoolPlan("Fresh Pancake", a, b, 0, fee=(100, 500, 2500, 10000)[i % 4], positions=_POSITIONS)
        for i, (a, b) in enumerate(pairs[:4])
    ]
    return build_market(devnet, [TokenPlan(s) for s in symbols], dexes, pools)


async def test_slipstream_discovery_finds_every_pool_with_its_fee(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    start = devnet.w3.eth.block_number
    market = deploy_cl_market(devnet)
    slipstream = market.slipstream
    first = market.cl_pools("slipstream")[0]
    devnet.set_slipstream_fee(slipstream, first.address, 1234)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        deployed_at = await find_deployment_block(client, slipstream.factory)
        assert start < deployed_at
        info = DexInfo("Fresh CL", "slipstream", slipstream.factory, start_block=deployed_at)
        family = SlipstreamFamily(client, info, window=3)
        found, cursor, _ = await _discover_all(family)
        expected = {
            (p.address, p.token0, p.token1, 1234 if p == first else p.fee, p.tick_spacing)
            for p in market.cl_pools("slipstream")
        }
        assert {(p.address, p.token0, p.token1, p.fee, p.tick_spacing) for p in found} == expected
        assert len(found) == len(expected)
        again, _, _ = await _discover_all(family, cursor)
        assert again == []


async def test_pancakeswap_v3_discovery_finds_every_pool(anvil: AnvilNode, devnet: Devnet) -> None:
    market = deploy_cl_market(devnet)
    pancake = market.pancakeswap_v3
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        deployed_at = await find_deployment_block(client, pancake.factory)
        info = DexInfo("Fresh Pancake", "pancakeswap_v3", pancake.factory, start_block=deployed_at)
        found, cursor, _ = await _discover_all(PancakeSwapV3Family(client, info))
        expected = [(p.address, p.fee, p.tick_spacing) for p in market.cl_pools("pancakeswap_v3")]
        assert [(p.address, p.fee, p.tick_spacing) for p in found] == expected
        # Addresses follow from the pool deployer, not the factory.
        assert all(
            p.address == devnet.pancakeswap_v3_pool_address(pancake, p.token0, p.token1, p.fee)
            for p in found
        )
        again, _, _ = await _discover_all(PancakeSwapV3Family(client, info), cursor)
        assert again == []


def _pool(devnet: Devnet, address: str, family: str) -> Contract:
    if family == "slipstream":
        return devnet.contract(external_artifact("CLPool"), address)
    return devnet.contract(pancakeswap_v3_artifact("PancakeV3Pool"), address)


def _comparable(states: dict[str, PoolState]) -> dict[str, PoolState]:
    return {a: dataclasses.replace(s, block_number=0) for a, s in states.items()}


def _random_action(devnet: Devnet, market: Market, rng: random.Random) -> str:
    kind = rng.choice(["slipstream", "pancake", "slipstream_fee", "liquidity"])
    if kind == "slipstream_fee":
        pool = rng.choice(market.cl_pools("slipstream"))
        devnet.set_slipstream_fee(market.slipstream, pool.address, rng.choice([0, 1, 250, 3000]))
        return pool.address
    family = "slipstream" if kind == "slipstream" or rng.random() < 0.5 else "pancakeswap_v3"
    pool = rng.choice(market.cl_pools(family))
    helper = V3Deployment("", market.v3_helper)
    if kind == "liquidity":
        state_tick = _pool(devnet, pool.address, family).functions.slot0().call()[1]
        centre = (state_tick // pool.tick_spacing) * pool.tick_spacing
        lower = centre - rng.randint(1, 30) * pool.tick_spacing
        upper = centre + rng.randint(1, 30) * pool.tick_spacing
        devnet.add_v3_liquidity(helper, pool.address, lower, upper, rng.randint(10**18, 10**21))
        return pool.address
    token = rng.choice([pool.token0, pool.token1])
    devnet.swap_v3(helper, pool.address, token, rng.randint(10**15, 10**19))
    return pool.address


@pytest.mark.parametrize("seed", [1, 2])
async def test_log_updates_equal_a_full_read(anvil: AnvilNode, devnet: Devnet, seed: int) -> None:
    rng = random.Random(seed)
    market = deploy_cl_market(devnet)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market))
        await manager.initialize()
        assert len(manager.states) == len(market.pools)
        last = manager.last_block
        assert last is not None
        for _ in range(20):
            _random_action(devnet, market, rng)
            head = devnet.w3.eth.block_number
            for block in range(last + 1, head + 1):
                await manager.update(block)
            last = head
        # A fee change alone has no pool event: the next swap's re-read carries it.
        for pool in market.cl_pools("slipstream"):
            devnet.swap_v3(V3Deployment("", market.v3_helper), pool.address, pool.token0, 10**15)
        head = devnet.w3.eth.block_number
        await manager.update(head, from_block=last + 1)
        fresh = DexManager(client, pool_specs(market))
        await fresh.refresh_all(head)
        assert _comparable(dict(manager.states)) == _comparable(dict(fresh.states))
        fees = {a: s.fee for a, s in fresh.states.items() if isinstance(s, V3PoolState)}
        on_chain = {
            p.address: _pool(devnet, p.address, "slipstream").functions.fee().call()
            for p in market.cl_pools("slipstream")
        }
        assert {a: fees[a] for a in on_chain} == on_chain


async def test_a_slipstream_fee_change_alone_is_seen_the_same_block(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = deploy_cl_market(devnet)
    pools = market.cl_pools("slipstream")
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market))
        await manager.initialize()
        changed_pool = pools[1].address
        before = manager.state(changed_pool)
        assert isinstance(before, V3PoolState)
        new_fee = 1234 if before.fee != 1234 else 4321
        # The real fee module: no pool event, only its CustomFeeSet.
        devnet.set_slipstream_fee(market.slipstream, changed_pool, new_fee)
        head = devnet.w3.eth.block_number
        assert await manager.update(head) == {changed_pool}
        after = manager.state(changed_pool)
        assert isinstance(after, V3PoolState)
        assert (
            after.fee == new_fee == _pool(devnet, changed_pool, "slipstream").functions.fee().call()
        )
        assert after.block_number == head
