"""Token metadata reads: hostile tokens cost only themselves, discovery keeps going."""

from __future__ import annotations

import pytest

from trading.chain import readers
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.models import Dex, Pool, Token
from trading.services.chain_access import ChainSession
from trading.services.dexes import dex_add
from trading.services.networks import network_add
from trading.services.pools import pools_sync
from trading.services.tokens import tokens_ensure

pytestmark = [pytest.mark.django_db, pytest.mark.chain]


def test_gas_burning_tokens_do_not_stop_discovery(anvil: AnvilNode, devnet: Devnet) -> None:
    network_add(name="Local", chain_id=31337, rpc_urls=[anvil.rpc_url], activate=True)
    v2 = devnet.deploy_uniswap_v2()
    good_a, good_b = devnet.deploy_tokens(["GOODA", "GOODB"])
    burners = devnet.deploy_gas_burner_tokens([f"BURN{i}" for i in range(70)])
    devnet.create_v2_pairs(v2, [(b.address, good_a.address, 0, 0) for b in burners])
    dex_add(name="Uni V2", kind="uniswap_v2", factory=v2.factory)

    first = pools_sync()
    # A legitimate pair created after the hostile ones is still found.
    legit = devnet.create_v2_pair(v2, good_a.address, good_b.address, 10**20, 10**20)
    second = pools_sync()

    assert not first.failed and not second.failed
    assert Dex.objects.get(name="Uni V2").discovery_cursor == 71
    assert list(Pool.objects.values_list("address", flat=True)) == [legit.address]
    assert first.dexes[0].skipped_total == 70
    assert all("decimals" in reason for reason in first.dexes[0].skipped)
    assert not Token.objects.filter(address__in=[b.address for b in burners]).exists()
    assert Token.objects.filter(symbol__in=["GOODA", "GOODB"]).count() == 2


def test_a_failing_batch_is_split_down_to_single_tokens(
    anvil: AnvilNode, devnet: Devnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    network, _ = network_add(name="Local", chain_id=31337, rpc_urls=[anvil.rpc_url], activate=True)
    good = devnet.deploy_tokens([f"OK{i}" for i in range(5)])
    burners = devnet.deploy_gas_burner_tokens(["BURN0", "BURN1", "BURN2"])
    # No real cap: one hostile token alone exhausts the node's call gas.
    monkeypatch.setattr(readers, "METADATA_CALL_GAS", 2**40)
    addresses = [t.address for t in good + burners]

    with ChainSession.for_network(network) as session:
        lookup = tokens_ensure(network=network, addresses=addresses, session=session)
        round_trips = session.client.round_trips

    assert set(lookup.tokens) == {t.address for t in good}
    assert set(lookup.problems) == {t.address for t in burners}
    assert all("metadata unreadable" in p for p in lookup.problems.values())
    # Halving 8 tokens down to the 3 hostile ones, not one call per token from the start.
    assert 3 < round_trips < 16
    assert Token.objects.filter(address__in=addresses).count() == 5
