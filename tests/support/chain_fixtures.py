"""Chain fixtures: a local anvil node, snapshot isolation and a deployed market.

Loaded by the root conftest (``pytest_plugins``). One anvil node serves the
whole session; every test that asks for ``w3``, ``devnet`` or
``chain_snapshot`` runs between an ``evm_snapshot`` and an ``evm_revert``, so
tests never see each other's transactions. The market (tokens, Uniswap V2/V3
and Solidly pools) is deployed once, before the first snapshot that needs it.

Tests using the ``anvil`` fixture are marked ``chain`` automatically.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

import pytest
from web3 import Web3

from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, connect
from trading.devchain.market import (
    DexPlan,
    Market,
    PoolPlan,
    Position,
    TokenPlan,
    build_market,
)

# The session's market: four tokens, two odd ones, pools of every family with
# small gaps between venues (WETH ~ 3,000 USD) so that cycles exist.
SESSION_TOKENS = (
    TokenPlan("WETH", 18, 3_000, "Wrapped Ether"),
    TokenPlan("USDC", 6, 1, "USD Coin"),
    TokenPlan("DAI", 18, 1, "Dai Stablecoin"),
    TokenPlan("WBTC", 8, 60_000, "Wrapped BTC"),
    TokenPlan("MKR", 18, 1_500, "Maker", kind="bytes32"),
    TokenPlan("NODEC", 18, Fraction(3, 10), "No Decimals", kind="no_decimals"),
)
SESSION_DEXES = (
    DexPlan("Uniswap V2", "uniswap_v2", 30),
    DexPlan("Uniswap V3", "uniswap_v3"),
    DexPlan("Solidly", "solidly"),
)
_V3_POSITIONS = (Position(10, 10, 10**16), Position(50, 50, 10**16), Position(None, None, 10**15))
SESSION_POOLS = (
    PoolPlan("Uniswap V2", "WETH", "USDC", 3_000_000),
    PoolPlan("Uniswap V2", "WETH", "DAI", 2_400_000, gap=Fraction(2_430, 2_400)),
    PoolPlan("Uniswap V2", "USDC", "DAI", 2_000_000),
    PoolPlan("Uniswap V2", "WBTC", "WETH", 3_000_000),
    PoolPlan("Uniswap V2", "MKR", "WETH", 1_500_000),
    PoolPlan("Uniswap V2", "NODEC", "WETH", 300_000),
    PoolPlan("Uniswap V3", "WETH", "USDC", 0, Fraction(3_010, 3_000), 500, positions=_V3_POSITIONS),
    PoolPlan(
        "Uniswap V3",
        "WETH",
        "USDC",
        0,
        Fraction(3_010 * 1_003, 3_000_000),
        3000,
        positions=_V3_POSITIONS,
    ),
    PoolPlan("Uniswap V3", "WBTC", "WETH", 0, Fraction(19, 20), 3000, positions=_V3_POSITIONS),
    PoolPlan("Solidly", "WETH", "USDC", 1_500_000, gap=Fraction(1_495, 1_500)),
    PoolPlan("Solidly", "USDC", "DAI", 1_000_000, stable=True),
    PoolPlan("Solidly", "WETH", "DAI", 900_000, gap=Fraction(905, 900)),
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that starts or uses an anvil node as a ``chain`` test."""
    for item in items:
        if "anvil" in getattr(item, "fixturenames", ()) and "chain" not in item.keywords:
            item.add_marker(pytest.mark.chain)


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    """One anvil node (chain id 31337, automine) for the whole test session."""
    node = AnvilNode(chain_id=31337)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def _session_w3(anvil: AnvilNode) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="session")
def devnet_session(anvil: AnvilNode, _session_w3: Web3) -> Devnet:
    """The session's deployment helper and market, without per-test isolation.

    Module-scoped fixtures that deploy more contracts should depend on it (so
    the market exists before their own snapshot) and revert what they add.
    """
    # Deployed once per session, before any snapshot that depends on it.
    devnet = Devnet(_session_w3, anvil.accounts[0])
    devnet.market = build_market(devnet, SESSION_TOKENS, SESSION_DEXES, SESSION_POOLS)
    return devnet


@pytest.fixture
def chain_snapshot(anvil: AnvilNode) -> Iterator[str]:
    """Run the test between ``evm_snapshot`` and ``evm_revert``; yields the snapshot id."""
    with reverted_after(anvil) as snapshot_id:
        yield snapshot_id


@contextmanager
def reverted_after(node: AnvilNode) -> Iterator[str]:
    """Take a snapshot and revert to it on exit (for wider-scoped fixtures)."""
    snapshot_id = node.snapshot()
    try:
        yield snapshot_id
    finally:
        node.revert(snapshot_id)


@pytest.fixture
def w3(_session_w3: Web3, chain_snapshot: str) -> Web3:
    """A synchronous ``Web3`` on the session node; the chain is reverted after the test."""
    return _session_w3


@pytest.fixture
def deployer(anvil: AnvilNode) -> str:
    """The unlocked dev account that deploys and pays for everything (checksummed)."""
    return anvil.accounts[0]


@pytest.fixture
def devnet(devnet_session: Devnet, chain_snapshot: str) -> Devnet:
    """Deployment helper with the session's market in ``devnet.market``; isolated per test."""
    return devnet_session


@pytest.fixture
def market(devnet: Devnet) -> Market:
    """The session's deployed market (tokens, V2 pairs, V3 pools, Solidly pools)."""
    assert devnet.market is not None
    return devnet.market
