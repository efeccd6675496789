"""Pool services beyond discovery: saving states for the dashboard."""

from __future__ import annotations

import dataclasses

import pytest

from tests.dex.conftest import deploy_v4_market
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import Market
from trading.dex.confirm import PoolClaim, factory_names
from trading.dex.reading import read_states
from trading.models import Network, Pool
from trading.services.chain_access import ChainSession
from trading.services.dexes import dex_add
from trading.services.networks import network_add
from trading.services.pools import (
    pool_specs_for_network,
    pool_states_save,
    pools_sync,
)


@pytest.mark.django_db
@pytest.mark.chain
def test_states_are_saved_on_pool_rows(anvil: AnvilNode, market: Market) -> None:
    network, _ = network_add(name="Local", chain_id=31337, rpc_urls=[anvil.rpc_url], activate=True)
    dex_add(name="Uni V2", kind="uniswap_v2", factory=market.v2.factory)
    dex_add(name="Uni V3", kind="uniswap_v3", factory=market.v3.factory)
    pools_sync()
    with ChainSession.for_network(network) as session:
        batch = session.run(read_states(session.client, pool_specs_for_network(network)))
    assert pool_states_save(states=list(batch.states.values()), dex_network=network) == 8
    v2 = Pool.objects.get(address=market.v2_pairs[0].address)
    assert (v2.reserve0, v2.state_block) == (1_000 * 10**18, batch.block_number)
    v3 = Pool.objects.get(address=market.v3_pools[0].address)
    assert v3.sqrt_price_x96 and v3.liquidity and v3.tick is not None
    assert Network.objects.get(pk=network.pk).active


@pytest.mark.django_db
@pytest.mark.chain
def test_uniswap_v4_pools_are_stored_by_pool_id_with_their_key(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = deploy_v4_market(devnet)
    network, _ = network_add(name="Local", chain_id=31337, rpc_urls=[anvil.rpc_url], activate=True)
    dex, _ = dex_add(name="Uni V4", kind="uniswap_v4", factory=market.v4.manager)
    report = pools_sync()
    assert report.added == 3 and not report.failed
    assert pools_sync().added == 0
    rows = {p.address: p for p in Pool.objects.filter(dex=dex)}
    assert set(rows) == {p.address for p in market.v4_pools}
    for pool in market.v4_pools:
        row = rows[pool.address]
        assert row.pool_id == pool.address and len(row.address) == 66
        assert row.pool_key == pool.key
        claim = PoolClaim(
            row.address, "uniswap_v4", dex.factory, pool.token0, pool.token1, pool.fee,
            tick_spacing=pool.tick_spacing,
        )  # fmt: skip
        with ChainSession.for_network(network) as session:
            assert session.run(factory_names(session.client, claim))
            # Another spacing hashes to another id: not this pool.
            wrong = dataclasses.replace(claim, tick_spacing=pool.tick_spacing + 1)
            assert not session.run(factory_names(session.client, wrong))
    specs = pool_specs_for_network(network)
    assert {s.manager for s in specs} == {market.v4.manager}
    with ChainSession.for_network(network) as session:
        batch = session.run(read_states(session.client, specs))
    assert set(batch.states) == set(rows) and batch.round_trips == 1
