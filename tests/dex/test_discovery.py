"""Discovery per family finds exactly the deployed pools, incrementally."""

from __future__ import annotations

import pytest

from tests.dex.conftest import deploy_fresh_market
from tests.support.markets import dex_infos
from tests.support.rpc_proxy import RpcProxy
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.dex.base import DexInfo, DiscoveryPage
from trading.dex.registry import family_class
from trading.dex.solidly import SolidlyFamily
from trading.dex.uniswap_v2 import UniswapV2Family
from trading.dex.uniswap_v3 import UniswapV3Family, find_deployment_block

pytestmark = pytest.mark.chain


async def _discover_all(family, cursor: int = 0) -> tuple[list, int, list[DiscoveryPage]]:
    pages = []
    found = []
    while True:
        page = await family.discover(cursor)
        pages.append(page)
        found.extend(page.pools)
        cursor = page.next_cursor
        if page.done:
            return found, cursor, pages


async def test_v2_discovery_finds_every_pair_then_nothing(anvil: AnvilNode, devnet: Devnet) -> None:
    market = deploy_fresh_market(devnet, n_tokens=5)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        family = UniswapV2Family(client, dex_infos(market)["uniswap_v2"])
        family.page_size = 4  # several pages
        found, cursor, pages = await _discover_all(family)
        assert [(p.address, p.token0, p.token1) for p in found] == [
            (p.address, p.token0, p.token1) for p in market.v2_pairs
        ]
        assert {p.fee for p in found} == {3000}
        assert cursor == len(market.v2_pairs) == 10
        assert len(pages) == 3
        again = await family.discover(cursor)
        assert (again.pools, again.done, again.next_cursor) == ((), True, cursor)
        # A pair created later is found from the saved cursor.
        extra = devnet.deploy_tokens(["LATE"])[0]
        devnet.create_v2_pair(
            market.v2, extra.address, market.all_tokens()[0].address, 10**20, 10**20
        )
        later, _, _ = await _discover_all(family, cursor)
        assert [p.token0 in (extra.address, market.all_tokens()[0].address) for p in later] == [
            True
        ]


async def test_solidly_discovery_reads_curve_and_fee(anvil: AnvilNode, devnet: Devnet) -> None:
    # The real Aerodrome PoolFactory: a volatile and a stable pool, a custom fee on one.
    market = deploy_fresh_market(devnet)
    devnet.set_solidly_custom_fee(market.solidly, market.solidly_pools[0].address, 17)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        family = SolidlyFamily(client, dex_infos(market)["solidly"])
        family.page_size = 1  # one page per pool
        found, cursor, pages = await _discover_all(family)
        assert [(p.address, p.token0, p.token1, p.stable, p.fee) for p in found] == [
            (market.solidly_pools[0].address, *_tokens(market, 0), False, 1700),
            (market.solidly_pools[1].address, *_tokens(market, 1), True, 500),
        ]
        assert cursor == 2 and len(pages) >= 2
        again = await family.discover(cursor)
        assert (again.pools, again.skipped, again.done, again.next_cursor) == ((), (), True, 2)
        # A pool created later (same tokens, the other curve) is found from the saved cursor.
        t0, t1 = _tokens(market, 0)
        late = devnet.create_solidly_pool(market.solidly, t0, t1, True, 10**21, 10**21)
        later, cursor, _ = await _discover_all(family, cursor)
        assert [(p.address, p.stable, p.fee) for p in later] == [(late.address, True, 500)]
        assert cursor == 3
        assert (await family.discover(cursor)).pools == ()


def _tokens(market, index: int) -> tuple[str, str]:
    pool = market.solidly_pools[index]
    return pool.token0, pool.token1


async def test_v3_discovery_scans_logs_in_windows(anvil: AnvilNode, devnet: Devnet) -> None:
    start = devnet.w3.eth.block_number
    market = deploy_fresh_market(devnet)
    async with RpcProxy(anvil.rpc_url) as proxy:
        proxy.max_log_range = 7  # a node that refuses wide getLogs ranges
        async with ChainClient([proxy.url], chain_id=31337) as client:
            deployed_at = await find_deployment_block(client, market.v3.factory)
            assert start < deployed_at <= devnet.w3.eth.block_number
            info = DexInfo("Fresh V3", "uniswap_v3", market.v3.factory, start_block=deployed_at)
            family = UniswapV3Family(client, info, window=50)
            found, cursor, pages = await _discover_all(family)
            assert family.window <= 7
            assert cursor == devnet.w3.eth.block_number + 1
            assert pages[-1].progress == pages[-1].total
    assert [(p.address, p.fee, p.tick_spacing) for p in found] == [
        (p.address, p.fee, p.tick_spacing) for p in market.v3_pools
    ]
    assert all(p.created_block and p.created_block >= deployed_at for p in found)


async def test_unreadable_pools_are_skipped_with_a_reason(anvil: AnvilNode, devnet: Devnet) -> None:
    # A "factory" whose list holds an address that is not a pool.
    market = deploy_fresh_market(devnet, n_tokens=3)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        family = family_class("uniswap_v2")(
            client, DexInfo("Not a factory", "uniswap_v2", market.all_tokens()[0].address)
        )
        page = await family.discover(0)
    assert page.pools == () and page.done and page.total == 0
