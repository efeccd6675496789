"""Pool services beyond discovery: saving states for the dashboard."""

from __future__ import annotations

import pytest

from trading.chain.anvil import AnvilNode
from trading.chain.devnet import Market
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
