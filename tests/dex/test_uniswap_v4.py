"""Uniswap V4 pools: discovery from the PoolManager's logs and log-driven state updates."""

from __future__ import annotations

import dataclasses
import random

import pytest

from tests.dex.conftest import deploy_v4_market
from tests.support.markets import dex_infos, pool_specs
from trading.amm import PoolState
from trading.amm.uniswap_v4 import pool_id
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, V4Pool
from trading.devchain.market import Market
from trading.dex.manager import DexManager
from trading.dex.uniswap_v4 import UniswapV4Family

pytestmark = pytest.mark.chain

ZERO = "0x0000000000000000000000000000000000000000"
# A hook allowed to run beforeSwap: its pools may price swaps their own way.
SWAP_HOOK = "0x0000000000000000000000000000000000000080"
# A hook with only beforeAddLiquidity: swaps are untouched.
LIQUIDITY_HOOK = "0x0000000000000000000000000000000000000800"


async def test_discovery_finds_exactly_the_initialized_pools(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = deploy_v4_market(devnet)
    v4 = market.v4
    a, b = market.token("A").address, market.token("B").address
    manager = devnet.v4_manager(v4)
    token0, token1 = sorted([a, b], key=lambda t: int(t, 16))
    # Left out, each with its reason: hooks that may alter swaps, and native ETH.
    devnet.transact(manager.functions.initialize((token0, token1, 3000, 60, SWAP_HOOK), 2**96))
    devnet.transact(manager.functions.initialize((ZERO, token1, 3000, 60, ZERO), 2**96))
    # Kept: a hook that has no say in swaps.
    devnet.transact(manager.functions.initialize((token0, token1, 500, 10, LIQUIDITY_HOOK), 2**96))
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        family = UniswapV4Family(client, dex_infos(market)["uniswap_v4"], window=3)
        found, skipped, cursor, pages = [], [], 0, 0
        while True:
            page = await family.discover(cursor)
            found += page.pools
            skipped += page.skipped
            cursor, pages = page.next_cursor, pages + 1
            if page.done:
                break
        assert pages > 1  # bounded log ranges
        expected = [p.address for p in market.v4_pools] + [
            pool_id(token0, token1, 500, 10, LIQUIDITY_HOOK)
        ]
        assert [p.address for p in found] == expected
        first = found[0]
        pool = market.v4_pools[0]
        assert (first.token0, first.token1, first.fee, first.tick_spacing, first.hooks) == (
            pool.token0,
            pool.token1,
            500,
            10,
            ZERO,
        )
        assert found[2].tick_spacing == 25
        reasons = {s.address: s.reason for s in skipped}
        assert "beforeSwap" in reasons[pool_id(token0, token1, 3000, 60, SWAP_HOOK)]
        assert "native ETH" in reasons[pool_id(ZERO, token1, 3000, 60, ZERO)]
        again = await family.discover(cursor)
        assert (again.pools, again.skipped, again.done) == ((), (), True)


def _comparable(states: dict[str, PoolState]) -> dict[str, PoolState]:
    return {a: dataclasses.replace(s, block_number=0) for a, s in states.items()}


def _random_action(devnet: Devnet, market: Market, rng: random.Random) -> None:
    kind = rng.choice(["v4", "v4", "v4_add", "v4_remove", "v2"])
    if kind == "v2":
        pair = rng.choice(market.v2_pairs)
        devnet.swap_v2(pair.address, rng.choice([pair.token0, pair.token1]), 10**18)
        return
    pool: V4Pool = rng.choice(market.v4_pools)
    if kind == "v4":
        token = rng.choice([pool.token0, pool.token1])
        devnet.swap_v4(market.v4, pool, token, rng.randint(10**15, 10**21))
        return
    spacing = pool.tick_spacing
    lower, upper = -rng.randint(1, 20) * spacing, rng.randint(1, 20) * spacing
    liquidity = rng.randint(10**18, 10**20)
    devnet.modify_v4_liquidity(market.v4, pool, lower, upper, liquidity)
    if kind == "v4_remove":
        devnet.modify_v4_liquidity(market.v4, pool, lower, upper, -liquidity // 2)


@pytest.mark.parametrize("seed", [1, 2])
async def test_log_updates_equal_a_full_read(anvil: AnvilNode, devnet: Devnet, seed: int) -> None:
    rng = random.Random(seed)
    market = deploy_v4_market(devnet)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        manager = DexManager(client, pool_specs(market))
        batch = await manager.refresh_all()
        assert batch.round_trips == 1 and not batch.failed
        assert set(manager.states) == {p.address for p in market.pools}
        last = manager.last_block
        assert last is not None
        updated: set[str] = set()
        for _ in range(20):
            _random_action(devnet, market, rng)
            head = devnet.w3.eth.block_number
            for block in range(last + 1, head + 1):
                updated |= await manager.update(block)
            last = head
        assert updated & {p.address for p in market.v4_pools}
        incremental = _comparable(dict(manager.states))
        fresh = DexManager(client, pool_specs(market))
        await fresh.refresh_all(block=last)
        assert incremental == _comparable(dict(fresh.states))
