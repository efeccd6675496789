"""Fixtures for command tests that talk to the session's anvil node."""

from __future__ import annotations

import pytest

from trading.devchain.anvil import AnvilNode
from trading.models import Network
from trading.services.networks import network_add


@pytest.fixture
def local_network(db: None, anvil: AnvilNode) -> Network:
    """An active network on the session's anvil node."""
    network, _ = network_add(name="Local", chain_id=31337, rpc_urls=[anvil.rpc_url], activate=True)
    return network
