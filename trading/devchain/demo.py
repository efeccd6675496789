"""The demo: a local anvil node with a market of real Uniswap (V2, V3 and V4's
PoolManager), Aerodrome (classic pools and Slipstream) and PancakeSwap V3
contracts, registered like any other network, and a market maker that makes
random swaps every block so that price gaps open and close.

Everything the bot does on the demo is real: discovery through the factories,
state reads, quotes, the executor contract, signed transactions. Only the chain
is local. The signing key is anvil's first development account (public test
key, worthless anywhere else); it is put in this process's environment only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, connect
from trading.devchain.market import (
    DexPlan,
    Market,
    MarketMaker,
    PoolPlan,
    TokenPlan,
    build_market,
    fund_maker,
)

DEMO_NETWORK = "Local demo"
DEMO_CHAIN_ID = 31337
E18 = 10**18

TOKENS = (
    TokenPlan("WETH", 18, 3_000, "Demo WETH"),
    TokenPlan("USDC", 6, 1, "Demo USDC"),
    TokenPlan("DAI", 18, 1, "Demo DAI"),
    TokenPlan("WBTC", 8, 60_000, "Demo WBTC"),
)
DEXES = (
    DexPlan("Uniswap V2", "uniswap_v2", 30),
    DexPlan("SushiSwap", "uniswap_v2", 30),
    DexPlan("Uniswap V3", "uniswap_v3"),
    DexPlan("Aerodrome", "solidly"),
    DexPlan("Aerodrome Slipstream", "slipstream"),
    DexPlan("PancakeSwap V3", "pancakeswap_v3"),
    DexPlan("Uniswap V4", "uniswap_v4"),
)
# Liquidity of each pool, in USD per side.
_DEPTH_USD = 3_000_000
_PAIRS = (("WETH", "USDC"), ("WETH", "DAI"), ("USDC", "DAI"), ("WBTC", "WETH"))
POOLS = (
    *(PoolPlan(dex, a, b, _DEPTH_USD) for dex in ("Uniswap V2", "SushiSwap") for a, b in _PAIRS),
    PoolPlan("Uniswap V3", "WETH", "USDC", _DEPTH_USD, fee=500),
    PoolPlan("Uniswap V3", "WETH", "USDC", _DEPTH_USD, fee=3000),
    PoolPlan("Uniswap V3", "WBTC", "WETH", _DEPTH_USD, fee=3000),
    PoolPlan("Aerodrome", "WETH", "USDC", _DEPTH_USD),
    PoolPlan("Aerodrome", "USDC", "DAI", _DEPTH_USD, stable=True),
    PoolPlan("Aerodrome", "WETH", "DAI", _DEPTH_USD),
    PoolPlan("Aerodrome Slipstream", "WETH", "USDC", _DEPTH_USD, tick_spacing=100),
    PoolPlan("Aerodrome Slipstream", "WBTC", "WETH", _DEPTH_USD, tick_spacing=200),
    PoolPlan("PancakeSwap V3", "WETH", "USDC", _DEPTH_USD, fee=2500),
    PoolPlan("PancakeSwap V3", "WETH", "DAI", _DEPTH_USD, fee=500),
    PoolPlan("Uniswap V4", "WETH", "USDC", _DEPTH_USD, fee=500),
)


@dataclass
class DemoChain:
    """The demo's anvil node, its market and the market maker's account."""

    node: AnvilNode
    devnet: Devnet
    market: Market
    maker: str
    block_time: float = 1.0


def start_demo_chain(*, block_time: float = 1.0) -> DemoChain:
    """Start anvil and deploy the demo market (tokens, 2 V2 DEXs, V3, Solidly, Slipstream,
    PancakeSwap V3, V4)."""
    # Deploy with automine (one block per transaction, no waiting), then switch
    # to a block every ``block_time`` seconds like a real chain.
    node = AnvilNode(chain_id=DEMO_CHAIN_ID, accounts=4)
    node.start()
    try:
        devnet = Devnet(connect(node.rpc_url), node.accounts[0])
        market = build_market(devnet, TOKENS, DEXES, POOLS)
        # The market maker trades from its own funded account.
        fund_maker(devnet, market, node.accounts[1])
        node.rpc("evm_setAutomine", [False])
        node.rpc("evm_setIntervalMining", [max(1, round(block_time))])
        return DemoChain(node, devnet, market, node.accounts[1], block_time)
    except BaseException:
        node.stop()
        raise


def demo_market_maker(demo: DemoChain, *, seed: int | None = None) -> MarketMaker:
    """The market maker of the demo: two random swaps a block, so gaps open for the bot."""
    return MarketMaker(demo.market, demo.node.rpc_url, demo.maker, swaps_per_block=2, seed=seed)


def register_demo(demo: DemoChain, *, mode: str = "live") -> Any:
    """Register the demo chain as the active network, discover its pools, deploy the executor.

    Uses the same services an operator's commands use (add_network, add_dex,
    sync_pools, deploy_executor). Returns the Network.
    """
    from trading.chain.signer import Signer
    from trading.models import BotConfig, Network
    from trading.services.dexes import dex_add
    from trading.services.executor import executor_deploy
    from trading.services.networks import network_add
    from trading.services.pools import pools_sync

    # anvil's public development key: only meaningful on this local chain.
    os.environ["LISTONIAN_PRIVATE_KEY"] = demo.node.private_keys[0]
    os.environ.pop("LISTONIAN_PRIVATE_KEY_FILE", None)
    os.environ.pop("LISTONIAN_RPC_URL", None)
    Network.objects.filter(active=True).exclude(name=DEMO_NETWORK).update(active=False)
    network, _ = network_add(
        name=DEMO_NETWORK,
        chain_id=DEMO_CHAIN_ID,
        rpc_urls=[demo.node.rpc_url],
        base_tokens=[demo.market.tokens[s].address for s in ("WETH", "USDC")],
        activate=True,
    )
    network.block_time_ms = int(demo.block_time * 1000)
    network.wrapped_native_token = network.tokens.get(address=demo.market.tokens["WETH"].address)
    network.executor_address = ""
    network.save()
    # The chain is new each time: forget discovery cursors from an earlier run.
    network.dexes.update(discovery_cursor=0, discovery_unread=[], start_block=0)
    for dex in demo.market.dexes.values():
        dex_add(
            name=dex.name, kind=dex.kind, factory=dex.factory, fee_bps=dex.fee_bps, network=network
        )
    network.dexes.exclude(name__in=list(demo.market.dexes)).update(enabled=False)
    pools_sync(network=network)
    executor_deploy(network=network, signer=Signer.from_environment())
    network.refresh_from_db()
    config = BotConfig.load()
    config.mode = mode
    config.paused = False
    config.paused_reason = ""
    config.max_gas_price_wei = 100 * 10**9
    config.max_trade_size_wei = 50 * E18
    config.min_net_profit_wei = 0
    config.daily_loss_limit_wei = 10 * E18
    config.save()
    return network
