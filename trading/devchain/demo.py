"""The demo: a local anvil node with a market of real Uniswap contracts and our
Solidly-style pools, registered like any other network, and a market maker that
makes random swaps every block so that price gaps open and close.

Everything the bot does on the demo is real: discovery through the factories,
state reads, quotes, the executor contract, signed transactions. Only the chain
is local. The signing key is anvil's first development account (public test
key, worthless anywhere else); it is put in this process's environment only.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import (
    MAX_TICK,
    MIN_TICK,
    V3_TICK_SPACING,
    Devnet,
    connect,
    nearest_usable_tick,
    sort_tokens,
    sqrt_price_x96_for,
    tick_at_price,
)

logger = logging.getLogger(__name__)

DEMO_NETWORK = "Local demo"
DEMO_CHAIN_ID = 31337
E18, E6, E8 = 10**18, 10**6, 10**8

# token: (decimals, USD price)
TOKENS = {"WETH": (18, 3_000), "USDC": (6, 1), "DAI": (18, 1), "WBTC": (8, 60_000)}
# Liquidity of each pool, in USD per side.
_DEPTH_USD = 3_000_000


@dataclass
class DemoPool:
    address: str
    kind: str  # uniswap_v2, uniswap_v3, solidly
    token0: str
    token1: str
    dex: str
    stable: bool = False


@dataclass
class DemoMarket:
    node: AnvilNode
    devnet: Devnet
    tokens: dict[str, str]
    pools: list[DemoPool] = field(default_factory=list)
    dexes: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # name: kind, factory, fee
    v3_helper: str = ""
    maker: str = ""
    block_time: float = 1.0


def _amount(symbol: str, usd: int) -> int:
    decimals, price = TOKENS[symbol]
    return usd * 10**decimals // price


def _raw_price(symbol_a: str, symbol_b: str, token_a: str, token_b: str) -> Fraction:
    """Price of token0 in token1 (raw units) for a V3 pool of these tokens."""
    dec_a, usd_a = TOKENS[symbol_a]
    dec_b, usd_b = TOKENS[symbol_b]
    a_in_b = Fraction(usd_a * 10**dec_b, usd_b * 10**dec_a)
    token0, _ = sort_tokens(token_a, token_b)
    return a_in_b if token0 == token_a else 1 / a_in_b


def start_demo_chain(*, block_time: float = 1.0) -> DemoMarket:
    """Start anvil and deploy the demo market (tokens, 2 V2 DEXs, V3, Solidly)."""
    # Deploy with automine (one block per transaction, no waiting), then switch
    # to a block every ``block_time`` seconds like a real chain.
    node = AnvilNode(chain_id=DEMO_CHAIN_ID, accounts=4)
    node.start()
    try:
        w3 = connect(node.rpc_url)
        devnet = Devnet(w3, node.accounts[0])
        tokens = {}
        for symbol, (decimals, _) in TOKENS.items():
            tokens[symbol] = devnet.deploy_token(symbol, decimals, f"Demo {symbol}").address
        market = DemoMarket(
            node=node, devnet=devnet, tokens=tokens, maker=node.accounts[1], block_time=block_time
        )
        pairs = [("WETH", "USDC"), ("WETH", "DAI"), ("USDC", "DAI"), ("WBTC", "WETH")]

        for name in ("Uniswap V2", "SushiSwap"):
            deployment = devnet.deploy_uniswap_v2()
            market.dexes[name] = ("uniswap_v2", deployment.factory, 30)
            specs = [
                (tokens[a], tokens[b], _amount(a, _DEPTH_USD), _amount(b, _DEPTH_USD))
                for a, b in pairs
            ]
            for pair in devnet.create_v2_pairs(deployment, specs):
                market.pools.append(
                    DemoPool(pair.address, "uniswap_v2", pair.token0, pair.token1, name)
                )

        v3 = devnet.deploy_uniswap_v3()
        market.v3_helper = v3.helper
        market.dexes["Uniswap V3"] = ("uniswap_v3", v3.factory, 0)
        v3_specs = []
        for a, b, fee in (("WETH", "USDC", 500), ("WETH", "USDC", 3000), ("WBTC", "WETH", 3000)):
            price = _raw_price(a, b, tokens[a], tokens[b])
            spacing = V3_TICK_SPACING[fee]
            centre = nearest_usable_tick(tick_at_price(price), spacing)
            positions = [
                (centre - 20 * spacing, centre + 20 * spacing, 3 * 10**17),
                (centre - 200 * spacing, centre + 200 * spacing, 10**17),
                (
                    nearest_usable_tick(MIN_TICK, spacing),
                    nearest_usable_tick(MAX_TICK, spacing),
                    10**16,
                ),
            ]
            v3_specs.append((tokens[a], tokens[b], fee, sqrt_price_x96_for(price), positions))
        for pool in devnet.create_v3_pools(v3, v3_specs):
            market.pools.append(
                DemoPool(pool.address, "uniswap_v3", pool.token0, pool.token1, "Uniswap V3")
            )

        solidly = devnet.deploy_solidly()
        market.dexes["Aerodrome"] = ("solidly", solidly.factory, 0)
        solidly_specs = [
            (
                tokens["WETH"],
                tokens["USDC"],
                False,
                _amount("WETH", _DEPTH_USD),
                _amount("USDC", _DEPTH_USD),
            ),
            (
                tokens["USDC"],
                tokens["DAI"],
                True,
                _amount("USDC", _DEPTH_USD),
                _amount("DAI", _DEPTH_USD),
            ),
            (
                tokens["WETH"],
                tokens["DAI"],
                False,
                _amount("WETH", _DEPTH_USD),
                _amount("DAI", _DEPTH_USD),
            ),
        ]
        for pool in devnet.create_solidly_pools(solidly, solidly_specs):
            market.pools.append(
                DemoPool(
                    pool.address, "solidly", pool.token0, pool.token1, "Aerodrome", pool.stable
                )
            )
        # The market maker trades from its own funded account.
        for address in tokens.values():
            devnet.mint(address, market.maker, 2**200)
            for pool in market.pools:
                if pool.kind == "uniswap_v3" and address in (pool.token0, pool.token1):
                    devnet.approve(address, v3.helper, owner=market.maker)
                    break
        node.rpc("evm_setAutomine", [False])
        node.rpc("evm_setIntervalMining", [max(1, round(block_time))])
        return market
    except BaseException:
        node.stop()
        raise


def register_demo(market: DemoMarket, *, mode: str = "live") -> Any:
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
    os.environ["LISTONIAN_PRIVATE_KEY"] = market.node.private_keys[0]
    os.environ.pop("LISTONIAN_PRIVATE_KEY_FILE", None)
    os.environ.pop("LISTONIAN_RPC_URL", None)
    Network.objects.filter(active=True).exclude(name=DEMO_NETWORK).update(active=False)
    network, _ = network_add(
        name=DEMO_NETWORK,
        chain_id=DEMO_CHAIN_ID,
        rpc_urls=[market.node.rpc_url],
        base_tokens=[market.tokens["WETH"], market.tokens["USDC"]],
        activate=True,
    )
    network.block_time_ms = int(market.block_time * 1000)
    network.wrapped_native_token = network.tokens.get(address=market.tokens["WETH"])
    network.executor_address = ""
    network.save()
    # The chain is new each time: forget discovery cursors from an earlier run.
    network.dexes.update(discovery_cursor=0, start_block=0)
    for name, (kind, factory, fee_bps) in market.dexes.items():
        dex_add(
            name=name,
            kind=kind,
            factory=factory,
            fee_bps=fee_bps if kind == "uniswap_v2" else None,
            network=network,
        )
    network.dexes.exclude(name__in=list(market.dexes)).update(enabled=False)
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


class MarketMaker:
    """Random swaps on random demo pools so that gaps open (and the bot closes them)."""

    def __init__(self, market: DemoMarket, *, seed: int | None = None, swaps_per_block: int = 2):
        self.market = market
        self.devnet = Devnet(connect(market.node.rpc_url), market.maker)
        self.random = random.Random(seed)
        self.swaps_per_block = swaps_per_block
        self.swaps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        """Make a few swaps of 0.5-3% of a pool's depth in a random direction."""
        for pool in self.random.sample(
            self.market.pools, k=min(self.swaps_per_block, len(self.market.pools))
        ):
            token_in = self.random.choice([pool.token0, pool.token1])
            symbol = next(s for s, a in self.market.tokens.items() if a == token_in)
            usd = int(_DEPTH_USD * self.random.uniform(0.005, 0.03))
            if pool.kind == "uniswap_v3":
                usd //= 10  # V3 liquidity is concentrated: smaller swaps move it as much
            amount = _amount(symbol, usd)
            try:
                if pool.kind == "uniswap_v2":
                    self.devnet.swap_v2(pool.address, token_in, amount, to=self.market.maker)
                elif pool.kind == "solidly":
                    self.devnet.swap_solidly(pool.address, token_in, amount, to=self.market.maker)
                else:
                    from trading.devchain.devnet import V3Deployment

                    self.devnet.swap_v3(
                        V3Deployment(factory="", helper=self.market.v3_helper),
                        pool.address,
                        token_in,
                        amount,
                        recipient=self.market.maker,
                        sender=self.market.maker,
                    )
                self.swaps += 1
            except Exception as exc:  # a failed random swap is not worth stopping the demo
                logger.debug("market maker swap on %s failed: %s", pool.address, exc)

    def _run(self, interval: float) -> None:
        last_block = -1
        while not self._stop.is_set():
            try:
                block = self.devnet.w3.eth.block_number
                if block != last_block:
                    last_block = block
                    self.step()
            except Exception as exc:
                logger.debug("market maker paused: %s", exc)
            self._stop.wait(interval)

    def start(self, interval: float = 0.25) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="market-maker", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
