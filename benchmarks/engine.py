"""The engine under load: per-block latency on ~2,000 pools while the market moves.

    .venv/bin/python benchmarks/engine.py [--pools 2000] [--seconds 120] [--block-time 1]
                                          [--touch 0.05] [--watch {ws,poll}] [--seed 7]
                                          [--grace 60]

Starts a fresh anvil node (automine while deploying) and deploys a market of
real contracts: a WETH and a USDC base token, long-tail tokens (18, 8 and 6
decimals) priced between $0.05 and $50, Uniswap V2 pairs on two factories
(every token against WETH on both, against USDC on one, plus token/token pairs)
and Uniswap V3 pools (token/WETH and WETH/USDC). The market is registered the
way an operator registers one (network_add with the base tokens, dex_add,
pools_sync) in a throwaway SQLite database, and the executor is deployed from
anvil's first development key.

Then anvil mines a block every ``--block-time`` seconds and the engine runs in
dry-run mode (new blocks from a ``newHeads`` subscription, or ``--watch poll``)
while a market maker thread swaps on ``--touch`` of the pools every block: one
JSON-RPC batch of transactions per block, so it keeps up. Swap sizes are random (0.5-3%
of a V2 pair's reserves, 0.2-1% of a V3 pool's virtual reserves) and the
direction leans back towards each pool's starting price, since in a dry run
nobody closes the gaps. For every block the engine reports, the script records:

- the time from the block's arrival (when the engine's block watcher yields it)
  to the report, i.e. to the decision; and from its first sight on the node (a
  separate thread polls the head every 50 ms), which includes any queueing
  before the watcher hands the block over, with how many blocks the node had
  beyond it at the decision;
- the engine's own latency (``BlockReport.latency_ms``) and its parts: the pool
  update (``dex.update``, timed here), analysis, record + dry-run execution;
- the wall time between consecutive reports, blocks skipped, pools changed,
  cycles evaluated and findings.

The first block is the full scan of every pool; it is reported apart. After
``--seconds`` the engine is asked to stop and finishes its block (cancelled
after ``--grace`` seconds). The machine's load average is printed before and
after: the numbers depend on what else runs. It prints numbers and never fails
on timing; anvil, the market maker and the temporary database are stopped and
removed on exit, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_abi import decode as abi_decode  # noqa: E402
from eth_abi import encode as abi_encode  # noqa: E402
from eth_utils import keccak  # noqa: E402

from trading.devchain.anvil import AnvilNode  # noqa: E402
from trading.devchain.devnet import (  # noqa: E402
    MAX_TICK,
    MIN_TICK,
    V3_TICK_SPACING,
    Devnet,
    DevnetError,
    connect,
    nearest_usable_tick,
    sort_tokens,
    sqrt_price_x96_for,
    tick_at_price,
)

logger = logging.getLogger("benchmarks.engine")

CHAIN_ID = 31337
NETWORK_NAME = "Engine benchmark"
WETH_USD = 3_000
Q96 = 2**96
# Gas limits of the market maker's transactions (generous; anvil charges what is used).
MINT_GAS = 120_000
V2_SWAP_GAS = 250_000
V3_SWAP_GAS = 1_500_000
# Block gas limit while the market runs: a full batch of swaps fits in one block.
BLOCK_GAS_LIMIT = 1_000_000_000


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


GET_RESERVES = "0x" + _selector("getReserves()").hex()
SLOT0 = "0x" + _selector("slot0()").hex()
MINT = _selector("mint(address,uint256)")
APPROVE = _selector("approve(address,uint256)")
V2_SWAP = _selector("swap(uint256,uint256,address,bytes)")
V3_SWAP = _selector("swapExactInput(address,bool,uint256,uint160,address)")


# ---- the market ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Coin:
    """A deployed token with its decimals and the USD price the market is built around."""

    address: str
    symbol: str
    decimals: int
    usd: float


@dataclass
class BenchPool:
    """A deployed pool the market maker may swap on."""

    address: str
    kind: str  # uniswap_v2 or uniswap_v3
    token0: str
    token1: str
    dex: str
    # The starting price (token1 per token0, raw units): the maker leans back towards it.
    reference_price: float = 1.0
    # V3 only: the liquidity of its positions, to size swaps.
    liquidity: int = 0


@dataclass
class Market:
    """What was deployed: tokens, DEXs (name: kind, factory, fee bps), pools, the V3 helper."""

    weth: Coin
    usdc: Coin
    coins: list[Coin]
    dexes: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)
    pools: list[BenchPool] = field(default_factory=list)
    v3_helper: str = ""

    @property
    def all_coins(self) -> list[Coin]:
        """Base tokens first, then the long tail."""
        return [self.weth, self.usdc, *self.coins]


def _raw(coin: Coin, usd: float) -> int:
    """``usd`` dollars of ``coin`` in its smallest unit."""
    return int(Fraction(usd) / Fraction(coin.usd) * 10**coin.decimals)


def _raw_price(coin_a: Coin, coin_b: Coin) -> Fraction:
    """Price of the pool's token0 in token1, raw units, for a pool of these two coins."""
    a_in_b = (
        Fraction(coin_a.usd) * 10**coin_b.decimals / (Fraction(coin_b.usd) * 10**coin_a.decimals)
    )
    token0, _ = sort_tokens(coin_a.address, coin_b.address)
    return a_in_b if token0 == coin_a.address else 1 / a_in_b


def plan_sizes(pools: int) -> tuple[int, int, int]:
    """(long-tail tokens, V2 pairs, V3 pools) for a market of about ``pools`` pools."""
    n_v3 = max(2, pools // 10)
    n_v2 = max(4, pools - n_v3)
    n_tokens = max(4, pools // 8)
    return n_tokens, n_v2, n_v3


def deploy_market(devnet: Devnet, pools: int, rng: random.Random) -> Market:
    """Deploy tokens, two Uniswap V2 factories with their pairs and Uniswap V3 with its pools."""
    n_tokens, n_v2, n_v3 = plan_sizes(pools)
    weth_info = devnet.deploy_token("WETH", 18, "Wrapped Ether")
    usdc_info = devnet.deploy_token("USDC", 6, "USD Coin")
    weth = Coin(weth_info.address, "WETH", 18, WETH_USD)
    usdc = Coin(usdc_info.address, "USDC", 6, 1)
    coins: list[Coin] = []
    by_decimals: dict[int, list[str]] = {}
    for i in range(n_tokens):
        by_decimals.setdefault(rng.choice((18, 18, 18, 8, 6)), []).append(f"T{i}")
    for decimals, symbols in sorted(by_decimals.items()):
        for info in devnet.deploy_tokens(symbols, decimals):
            usd = math.exp(rng.uniform(math.log(0.05), math.log(50)))
            coins.append(Coin(info.address, info.symbol, decimals, round(usd, 6)))
    rng.shuffle(coins)
    market = Market(weth=weth, usdc=usdc, coins=coins)

    # V2: hubs first, then every token against WETH (both DEXs) and USDC (one), then token pairs.
    v2_names = ("Uniswap V2", "SushiSwap")
    wanted: list[tuple[str, Coin, Coin]] = [(name, weth, usdc) for name in v2_names]
    for i, coin in enumerate(coins):
        wanted += [(v2_names[0], coin, weth), (v2_names[1], coin, weth)]
        wanted.append((v2_names[i % 2], coin, usdc))
    seen = {(name, a.address, b.address) for name, a, b in wanted}
    attempts = 0
    while len(wanted) < n_v2 and attempts < 50 * n_v2:
        attempts += 1
        name = rng.choice(v2_names)
        a, b = rng.sample(coins, 2)
        key = (name, *sort_tokens(a.address, b.address))
        if key in seen:
            continue
        seen.add(key)
        wanted.append((name, a, b))
    wanted = wanted[:n_v2]
    for name in v2_names:
        deployment = devnet.deploy_uniswap_v2()
        market.dexes[name] = ("uniswap_v2", deployment.factory, 30)
        specs = []
        for _, a, b in (w for w in wanted if w[0] == name):
            depth = math.exp(rng.uniform(math.log(100_000), math.log(2_000_000)))
            noise = 1 + rng.uniform(-0.002, 0.002)  # small gaps between venues
            specs.append((a.address, b.address, _raw(a, depth), _raw(b, depth * noise)))
        for start in range(0, len(specs), 500):
            chunk = specs[start : start + 500]
            for pair, (a, _, amount_a, amount_b) in zip(
                devnet.create_v2_pairs(deployment, chunk), chunk, strict=True
            ):
                amount0, amount1 = (
                    (amount_a, amount_b) if pair.token0 == a else (amount_b, amount_a)
                )
                market.pools.append(
                    BenchPool(
                        pair.address,
                        "uniswap_v2",
                        pair.token0,
                        pair.token1,
                        name,
                        reference_price=amount1 / amount0,
                    )
                )

    # V3: WETH/USDC on two fee tiers, then tokens against WETH.
    v3 = devnet.deploy_uniswap_v3()
    market.v3_helper = v3.helper
    market.dexes["Uniswap V3"] = ("uniswap_v3", v3.factory, None)
    v3_wanted: list[tuple[Coin, Coin, int]] = [(weth, usdc, 500), (weth, usdc, 3000)]
    tiers = (3000, 500, 10000)
    for round_ in range(len(tiers)):
        for coin in coins:
            if len(v3_wanted) < n_v3:
                v3_wanted.append((coin, weth, tiers[round_]))
    v3_specs = []
    v3_meta = []
    for a, b, fee in v3_wanted:
        price = _raw_price(a, b)
        spacing = V3_TICK_SPACING[fee]
        centre = nearest_usable_tick(tick_at_price(price), spacing)
        depth = math.exp(rng.uniform(math.log(200_000), math.log(2_000_000)))
        liquidity = math.isqrt(_raw(a, depth) * _raw(b, depth))
        positions = [
            (centre - 20 * spacing, centre + 20 * spacing, liquidity * 6 // 10),
            (centre - 200 * spacing, centre + 200 * spacing, liquidity * 3 // 10),
            (
                nearest_usable_tick(MIN_TICK, spacing),
                nearest_usable_tick(MAX_TICK, spacing),
                liquidity // 10,
            ),
        ]
        sqrt_price = sqrt_price_x96_for(price)
        v3_specs.append((a.address, b.address, fee, sqrt_price, positions))
        v3_meta.append((sum(p[2] for p in positions), sqrt_price))
    for start in range(0, len(v3_specs), 100):
        created = devnet.create_v3_pools(v3, v3_specs[start : start + 100])
        for pool, (liquidity, sqrt_price) in zip(
            created, v3_meta[start : start + 100], strict=True
        ):
            market.pools.append(
                BenchPool(
                    pool.address,
                    "uniswap_v3",
                    pool.token0,
                    pool.token1,
                    "Uniswap V3",
                    reference_price=(sqrt_price / Q96) ** 2,
                    liquidity=liquidity,
                )
            )
    return market


def fund_maker(devnet: Devnet, market: Market, maker: str) -> None:
    """Give the market maker every token and let the V3 helper pull them (one batch)."""
    calls: list[tuple[str | None, bytes | str, int]] = []
    for coin in market.all_coins:
        calls.append(
            (coin.address, MINT + abi_encode(["address", "uint256"], [maker, 2**200]), MINT_GAS)
        )
        calls.append(
            (
                coin.address,
                APPROVE + abi_encode(["address", "uint256"], [market.v3_helper, 2**256 - 1]),
                MINT_GAS,
            )
        )
    devnet.send_batch(calls, sender=maker)


# ---- registration through the services ----------------------------------------------------


def setup_django(directory: Path) -> None:
    """Point Django at a fresh SQLite file in ``directory`` and migrate it."""
    os.environ["DATABASE_URL"] = f"sqlite:///{directory / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "engine-benchmark-throwaway-secret")
    for name in ("REDIS_URL", "LISTONIAN_RPC_URL", "LISTONIAN_PRIVATE_KEY_FILE"):
        os.environ.pop(name, None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def register(market: Market, node: AnvilNode, *, block_time: float, watch: str) -> dict[str, Any]:
    """Register network, DEXs and pools, deploy the executor; returns a summary."""
    from trading.chain.signer import Signer
    from trading.models import BotConfig, Pool
    from trading.services.dexes import dex_add
    from trading.services.executor import executor_deploy
    from trading.services.networks import network_add
    from trading.services.pools import pools_sync

    # anvil's public development key: only meaningful on this local chain.
    os.environ["LISTONIAN_PRIVATE_KEY"] = node.private_keys[0]
    started = time.perf_counter()
    network, _ = network_add(
        name=NETWORK_NAME,
        chain_id=CHAIN_ID,
        rpc_urls=[node.rpc_url],
        base_tokens=[market.weth.address, market.usdc.address],
        activate=True,
    )
    for name, (kind, factory, fee_bps) in market.dexes.items():
        dex_add(name=name, kind=kind, factory=factory, fee_bps=fee_bps, network=network)
    report = pools_sync(network=network)
    errors = [d.error for d in report.dexes if d.error]
    if errors:
        raise RuntimeError(f"pool discovery failed: {errors}")
    deployment = executor_deploy(network=network, signer=Signer.from_environment())
    network.refresh_from_db()
    network.block_time_ms = int(block_time * 1000)
    network.wrapped_native_token = network.tokens.get(address=market.weth.address)
    if watch == "ws":
        network.rpc_urls = ",".join([node.rpc_url, node.ws_url])
    network.save()
    config = BotConfig.load()
    config.mode = "dry_run"
    config.paused = False
    config.paused_reason = ""
    config.max_gas_price_wei = 100 * 10**9
    config.max_trade_size_wei = 50 * 10**18
    config.min_net_profit_wei = 0
    config.daily_loss_limit_wei = 10 * 10**18
    config.save()
    return {
        "pools": Pool.objects.filter(dex__network=network).count(),
        "skipped": sum(d.skipped_total for d in report.dexes),
        "executor": deployment.address,
        "seconds": time.perf_counter() - started,
    }


# ---- the market maker ---------------------------------------------------------------------


class BatchMarketMaker:
    """Random swaps on ``touch`` of the pools every block, sent as one batch per block."""

    def __init__(
        self, market: Market, rpc_url: str, maker: str, *, touch: float, seed: int
    ) -> None:
        self.market = market
        self.maker = maker
        self.devnet = Devnet(connect(rpc_url), maker)
        self.random = random.Random(seed)
        self.per_block = max(1, round(touch * len(market.pools)))
        self.swaps = 0
        self.batches = 0
        self.failures = 0
        self.reverted = 0
        self.blocks_with_swaps: set[int] = set()
        self.busy_seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _prices(self, pools: Sequence[BenchPool]) -> dict[str, tuple[int, int]]:
        """V2 reserves, or V3 (sqrtPriceX96, 0), of ``pools`` at the latest block (one batch)."""
        answers = self.devnet.w3.provider.make_batch_request(
            [
                (
                    "eth_call",
                    [
                        {
                            "to": p.address,
                            "data": GET_RESERVES if p.kind == "uniswap_v2" else SLOT0,
                        },
                        "latest",
                    ],
                )
                for p in pools
            ]
        )
        states = {}
        for pool, answer in zip(pools, answers, strict=True):
            raw = bytes.fromhex(answer["result"][2:])
            if pool.kind == "uniswap_v2":
                r0, r1, _ = abi_decode(["uint112", "uint112", "uint32"], raw)
                states[pool.address] = (r0, r1)
            else:
                states[pool.address] = (abi_decode(["uint160"], raw[:32])[0], 0)
        return states

    def _zero_for_one(self, price: float, reference: float) -> bool:
        """A random direction, leaning back towards the starting price.

        In a dry run nobody closes the gaps the maker opens: without the lean
        prices would drift apart for as long as the benchmark runs.
        """
        drift = math.log(price / reference) if price > 0 else 0.0
        lean = max(-0.45, min(0.45, drift / 0.04))
        return self.random.random() < 0.5 + lean  # selling token0 lowers the price

    def calls_for(self, pools: Sequence[BenchPool]) -> list[tuple[str, bytes, int]]:
        """The transactions of one block's swaps (each pool at most once)."""
        states = self._prices(pools) if pools else {}
        calls: list[tuple[str, bytes, int]] = []
        for pool in pools:
            if pool.kind == "uniswap_v2":
                r0, r1 = states[pool.address]
                if r0 == 0 or r1 == 0:
                    continue
                zero_for_one = self._zero_for_one(r1 / r0, pool.reference_price)
                token_in = pool.token0 if zero_for_one else pool.token1
                reserve_in, reserve_out = (r0, r1) if zero_for_one else (r1, r0)
                amount_in = int(reserve_in * self.random.uniform(0.005, 0.03))
                with_fee = amount_in * 997
                amount_out = with_fee * reserve_out // (reserve_in * 1000 + with_fee)
                if amount_in == 0 or amount_out == 0:
                    continue
                outs = (0, amount_out) if zero_for_one else (amount_out, 0)
                mint = MINT + abi_encode(["address", "uint256"], [pool.address, amount_in])
                swap = V2_SWAP + abi_encode(
                    ["uint256", "uint256", "address", "bytes"], [*outs, self.maker, b""]
                )
                calls += [(token_in, mint, MINT_GAS), (pool.address, swap, V2_SWAP_GAS)]
            else:
                sqrt_price = states[pool.address][0]
                if sqrt_price == 0:
                    continue
                zero_for_one = self._zero_for_one((sqrt_price / Q96) ** 2, pool.reference_price)
                if zero_for_one:
                    virtual = pool.liquidity * Q96 // sqrt_price
                else:
                    virtual = pool.liquidity * sqrt_price // Q96
                amount_in = int(virtual * self.random.uniform(0.002, 0.01))
                if amount_in == 0:
                    continue
                data = V3_SWAP + abi_encode(
                    ["address", "bool", "uint256", "uint160", "address"],
                    [pool.address, zero_for_one, amount_in, 0, self.maker],
                )
                calls.append((self.market.v3_helper, data, V3_SWAP_GAS))
        return calls

    def send(self, calls: Sequence[tuple[str, bytes, int]]) -> tuple[set[int], int]:
        """Send ``calls`` in one JSON-RPC batch and wait until they are mined.

        Returns the blocks they landed in and how many reverted. One HTTP
        request for the whole block keeps the maker ahead of the chain even
        while the engine, in the same process, keeps the interpreter busy
        (``Devnet.send_batch`` makes one request per transaction).
        """
        provider = self.devnet.w3.provider
        nonce = self.devnet.w3.eth.get_transaction_count(self.maker, "pending")
        answers = provider.make_batch_request(
            [
                (
                    "eth_sendTransaction",
                    [
                        {
                            "from": self.maker,
                            "to": to,
                            "data": "0x" + data.hex(),
                            "gas": hex(gas),
                            "nonce": hex(nonce + offset),
                        }
                    ],
                )
                for offset, (to, data, gas) in enumerate(calls)
            ]
        )
        refused = [a["error"] for a in answers if "error" in a]
        if refused:
            raise DevnetError(f"{len(refused)} transaction(s) refused, first: {refused[0]}")
        hashes = [a["result"] for a in answers]
        deadline = time.monotonic() + 60
        # The sender's last transaction mined means all of them are.
        while not self._stop.is_set() and time.monotonic() < deadline:
            if provider.make_request("eth_getTransactionReceipt", [hashes[-1]]).get("result"):
                break
            self._stop.wait(0.05)
        receipts = provider.make_batch_request([("eth_getTransactionReceipt", [h]) for h in hashes])
        blocks, reverted = set(), 0
        for answer in receipts:
            receipt = answer.get("result")
            if receipt is None:
                continue
            blocks.add(int(receipt["blockNumber"], 16))
            reverted += int(receipt["status"], 16) != 1
        return blocks, reverted

    def step(self, block: int) -> None:
        """Send one block's swaps and wait until they are mined."""
        chosen = self.random.sample(
            self.market.pools, k=min(self.per_block, len(self.market.pools))
        )
        started = time.perf_counter()
        try:
            calls = self.calls_for(chosen)
            if not calls:
                return
            blocks, reverted = self.send(calls)
        except DevnetError as exc:
            self.failures += 1
            logger.debug("market maker batch at block %s: %s", block, exc)
        else:
            self.swaps += sum(1 for _, _, gas in calls if gas != MINT_GAS)
            self.reverted += reverted
            self.batches += 1
            self.blocks_with_swaps.update(blocks)
        finally:
            self.busy_seconds += time.perf_counter() - started

    def _run(self) -> None:
        last_block = -1
        while not self._stop.is_set():
            try:
                block = self.devnet.w3.eth.block_number
                if block != last_block:
                    last_block = block
                    self.step(block)
                    continue
            except Exception as exc:  # the node may be going away; keep trying until stopped
                logger.debug("market maker paused: %s", exc)
            self._stop.wait(0.02)

    def start(self) -> None:
        """Start the maker thread."""
        self._thread = threading.Thread(target=self._run, name="market-maker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the maker thread (it finishes the batch in flight)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


class HeadClock:
    """Notes when each block first shows up on the node (polled every ``interval`` s).

    Independent of the engine's watcher: it tells how old a block is when the
    engine decides on it, queueing included.
    """

    def __init__(self, head: Callable[[], int], interval: float = 0.05) -> None:
        self.head = head
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.latest = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                number = self.head()
            except Exception:  # the node is going away
                number = self.latest
            now = time.perf_counter()
            for missed in range(self.latest + 1, number + 1):
                self.seen.setdefault(missed, now)
            self.latest = max(self.latest, number)
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Start polling in a thread."""
        self._thread = threading.Thread(target=self._run, name="head-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# ---- the engine, timed --------------------------------------------------------------------


@dataclass
class Sample:
    """One engine report, with the benchmark's own clock readings."""

    block_number: int
    skipped_before: int
    pools_changed: int
    findings: int
    recorded: int
    simulated: int
    engine_ms: float
    arrival_ms: float | None
    since_previous_ms: float | None
    update_ms: float = 0.0
    analysis_ms: float = 0.0
    record_ms: float = 0.0
    cycles_evaluated: int = 0
    mined_ms: float | None = None  # from the block's first sight on the node to the report
    behind_head: int = 0  # blocks the node had beyond this one at the report


def make_engine(samples: list[Sample], first_report: asyncio.Event, clock: HeadClock) -> Any:
    """An Engine (dry-run) whose block watcher notes when each block arrives."""
    from trading.engine.engine import BlockReport, Engine
    from trading.engine.watcher import BlockWatcher

    class TimedWatcher(BlockWatcher):
        """The engine's watcher, noting the moment each block is handed to the engine."""

        arrived_at: float | None = None

        async def blocks(self, stop: asyncio.Event) -> Any:
            async for number in super().blocks(stop):
                self.arrived_at = time.perf_counter()
                yield number

    class TimedEngine(Engine):
        async def _build(self) -> None:
            await super()._build()
            plain = self.watcher
            self.watcher = TimedWatcher(
                plain.client, ws_url=plain.ws_url, poll_interval=plain.poll_interval
            )
            update = self.dex.update

            async def timed_update(block_number: int, *, from_block: int | None = None) -> Any:
                started = time.perf_counter()
                try:
                    return await update(block_number, from_block=from_block)
                finally:
                    update_ms.append((time.perf_counter() - started) * 1000)

            self.dex.update = timed_update  # type: ignore[method-assign]

    last_report: list[float] = []
    update_ms: list[float] = []

    def on_block(report: BlockReport) -> None:
        now = time.perf_counter()
        arrived = engine.watcher.arrived_at
        result = engine.last_scan[0] if engine.last_scan is not None else None
        refresh = update_ms[-1] if update_ms and not getattr(result, "full", True) else 0.0
        analysis = result.analysis_ms if result is not None else 0.0
        own_refresh = result.refresh_ms if result is not None else 0.0
        first_seen = clock.seen.get(report.block_number)
        samples.append(
            Sample(
                block_number=report.block_number,
                skipped_before=report.skipped_before,
                pools_changed=report.pools_changed,
                findings=report.findings,
                recorded=report.recorded,
                simulated=sum(1 for e in report.executions if e.outcome == "simulated"),
                engine_ms=report.latency_ms,
                arrival_ms=(now - arrived) * 1000 if arrived is not None else None,
                since_previous_ms=(now - last_report[-1]) * 1000 if last_report else None,
                update_ms=refresh + own_refresh,
                analysis_ms=analysis,
                record_ms=report.latency_ms - own_refresh - analysis,
                cycles_evaluated=result.cycles_evaluated if result is not None else 0,
                mined_ms=(now - first_seen) * 1000 if first_seen is not None else None,
                behind_head=max(0, clock.latest - report.block_number),
            )
        )
        last_report.append(now)
        first_report.set()

    engine = TimedEngine(mode="dry_run", on_block=on_block)
    return engine


@dataclass
class RunOutcome:
    """How the engine run went, beyond the per-block samples."""

    engine: Any
    wall: float  # from the first report to the stop request
    stop_seconds: float  # from the stop request until the engine returned
    cancelled: bool  # the engine did not finish its block within the grace period
    head_at_stop: int | None  # the chain's newest block when the stop was requested


async def run_engine(
    seconds: float, samples: list[Sample], grace: float, clock: HeadClock
) -> RunOutcome:
    """Run the engine until ``seconds`` after its first block (or Ctrl+C).

    Then it is asked to stop; it finishes the block in hand, unless that takes
    longer than ``grace`` seconds, in which case it is cancelled.
    """
    first_report = asyncio.Event()
    engine = make_engine(samples, first_report, clock)
    engine.install_signal_handlers()
    task = asyncio.create_task(engine.run(), name="engine")
    waiter = asyncio.create_task(first_report.wait())
    stopper = asyncio.create_task(engine.stop_event.wait())
    started = time.perf_counter()
    cancelled = False
    try:
        await asyncio.wait({task, waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if first_report.is_set() and not task.done():
            started = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stopper), timeout=seconds)
    finally:
        stop_requested = time.perf_counter()
        engine.request_stop()
        try:
            head_at_stop: int | None = await asyncio.to_thread(clock.head)
        except Exception:  # the node is gone: the report does without it
            head_at_stop = None
        for helper in (waiter, stopper):
            helper.cancel()
        if not task.done():
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                cancelled = True
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, timeout=60)
    if not cancelled and task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
    return RunOutcome(
        engine=engine,
        wall=stop_requested - started,
        stop_seconds=time.perf_counter() - stop_requested,
        cancelled=cancelled,
        head_at_stop=head_at_stop,
    )


# ---- report -------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _line(label: str, values: Sequence[float], digits: int = 1) -> str:
    if not values:
        return f"  {label:<40} n/a"
    return (
        f"  {label:<40} p50 {percentile(values, 0.5):>9.{digits}f}"
        f"  p95 {percentile(values, 0.95):>9.{digits}f}  max {max(values):>9.{digits}f}"
        f"  mean {statistics.fmean(values):>9.{digits}f}"
    )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def print_report(
    samples: list[Sample],
    outcome: RunOutcome,
    maker: BatchMarketMaker,
    *,
    cpu: float,
    chain_blocks: int,
) -> None:
    """Print the run's numbers."""
    engine = outcome.engine
    print()
    if not samples:
        print("the engine reported no block")
        return
    first, steady = samples[0], samples[1:]
    print(
        f"first block: full scan of {first.pools_changed} pools, "
        f"{first.cycles_evaluated} cycles: {first.engine_ms:.1f} ms "
        f"(refresh {first.update_ms:.1f}, analysis {first.analysis_ms:.1f}, "
        f"record + execute {first.record_ms:.1f})"
    )
    processed = len(steady)
    skipped = sum(s.skipped_before for s in steady)
    seen = processed + skipped
    block_time = engine_block_time(engine)
    print()
    print(
        f"run: {outcome.wall:.1f} s after the first block; the engine returned "
        f"{outcome.stop_seconds:.1f} s after the stop request"
        + (" (cancelled: its block outlasted the grace period)" if outcome.cancelled else "")
    )
    print(f"  blocks mined since the engine started    {chain_blocks}")
    print(f"  blocks processed after the first         {processed}")
    print(
        f"  blocks skipped                           {skipped} "
        f"(skip share {(skipped / seen * 100) if seen else 0:.1f}% of the {seen} blocks up to "
        f"the last one processed; engine.blocks_skipped = {engine.blocks_skipped})"
    )
    if outcome.head_at_stop is not None:
        mined = outcome.head_at_stop - first.block_number
        unseen = max(0, mined - processed)
        print(
            f"  blocks mined from the first to the stop  {mined}, of which not processed "
            f"{unseen} ({(unseen / mined * 100) if mined else 0:.1f}%)"
        )
    if not steady:
        return
    slow = sum(1 for s in steady if (s.arrival_ms or 0) > 1000 * block_time)
    print(f"  blocks slower than the block time        {slow} of {processed}")
    print("per-block latency, ms")
    print(_line("arrival -> decision (wall clock)", [s.arrival_ms or 0.0 for s in steady]))
    print(
        _line(
            "block seen on the node -> decision",
            [s.mined_ms for s in steady if s.mined_ms is not None],
        )
    )
    print(_line("BlockReport.latency_ms", [s.engine_ms for s in steady]))
    print(_line("  pool update (dex.update)", [s.update_ms for s in steady]))
    print(_line("  analysis", [s.analysis_ms for s in steady]))
    print(_line("  record + dry-run execution", [s.record_ms for s in steady]))
    print(_line("between consecutive reports", [s.since_previous_ms or 0.0 for s in steady]))
    print("per block")
    print(_line("skipped before it", [s.skipped_before for s in steady], 0))
    print(_line("blocks behind the head at decision", [s.behind_head for s in steady], 0))
    print(_line("pools changed", [s.pools_changed for s in steady], 0))
    print(_line("cycles evaluated", [s.cycles_evaluated for s in steady], 0))
    print(_line("findings", [s.findings for s in steady], 0))
    print(_line("opportunities recorded", [s.recorded for s in steady], 0))
    print(_line("dry-run simulations", [s.simulated for s in steady], 0))
    watcher = engine.watcher
    print(f"block watcher: {watcher.mode}, {watcher.errors} error(s)")
    print(
        f"market maker (own thread in this process): {maker.swaps} swaps in {maker.batches} "
        f"batches of {maker.per_block} pools, {maker.failures} refused batches, "
        f"{maker.reverted} reverted transactions, swaps in {len(maker.blocks_with_swaps)} blocks "
        f"({maker.busy_seconds / max(maker.batches, 1):.2f} s per batch, mining included)"
    )
    print(
        f"this process (engine + market maker): {cpu:.1f} CPU s, "
        f"{cpu / max(outcome.wall + outcome.stop_seconds, 1e-9) * 100:.0f}% of one core"
    )


def engine_block_time(engine: Any) -> float:
    """The network's block time in seconds (1 s when unknown)."""
    network = getattr(engine, "network", None)
    return (network.block_time_ms / 1000) if network is not None else 1.0


# ---- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Deploy, register, run the engine under a moving market, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=2000, help="pools to deploy (default 2000)")
    parser.add_argument(
        "--seconds", type=float, default=120, help="engine run after its first block (default 120)"
    )
    parser.add_argument("--block-time", type=int, default=1, help="seconds per block (default 1)")
    parser.add_argument(
        "--touch", type=float, default=0.05, help="share of pools swapped per block (default 0.05)"
    )
    parser.add_argument(
        "--watch",
        choices=("ws", "poll"),
        default="ws",
        help="new blocks by newHeads subscription (default) or by polling",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--grace",
        type=float,
        default=60,
        help="seconds the engine may take to finish its block after the stop (default 60)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    print(f"load average at start: {_load()}")
    rng = random.Random(args.seed)
    maker: BatchMarketMaker | None = None
    clock: HeadClock | None = None
    interrupted = False
    node = AnvilNode(chain_id=CHAIN_ID, accounts=4, gas_limit=BLOCK_GAS_LIMIT)
    with tempfile.TemporaryDirectory(prefix="listonian-bench-", ignore_cleanup_errors=True) as tmp:
        try:
            setup_django(Path(tmp))
            node.start()
            devnet = Devnet(connect(node.rpc_url, timeout=120), node.accounts[0])
            started = time.perf_counter()
            market = deploy_market(devnet, args.pools, rng)
            fund_maker(devnet, market, node.accounts[1])
            n_v2 = sum(1 for p in market.pools if p.kind == "uniswap_v2")
            print(
                f"deployed {len(market.pools)} pools ({n_v2} Uniswap V2 on 2 factories, "
                f"{len(market.pools) - n_v2} Uniswap V3) over {len(market.all_coins)} tokens "
                f"in {time.perf_counter() - started:.1f} s"
            )
            summary = register(market, node, block_time=args.block_time, watch=args.watch)
            print(
                f"registered {summary['pools']} pools ({summary['skipped']} skipped), executor "
                f"{summary['executor']}, in {summary['seconds']:.1f} s"
            )
            node.rpc("evm_setAutomine", [False])
            node.rpc("evm_setIntervalMining", [args.block_time])
            maker = BatchMarketMaker(
                market, node.rpc_url, node.accounts[1], touch=args.touch, seed=args.seed
            )
            maker.start()
            print(
                f"running the engine (dry run, {args.watch}) for {args.seconds:.0f} s: "
                f"{args.block_time} s blocks, {maker.per_block} pools swapped per block"
            )
            print(f"load average before the run: {_load()}")
            samples: list[Sample] = []
            first_chain_block = int(node.rpc("eth_blockNumber"), 16)
            clock = HeadClock(lambda: int(node.rpc("eth_blockNumber", timeout=5), 16))
            clock.start()
            cpu_before = time.process_time()
            outcome = asyncio.run(run_engine(args.seconds, samples, grace=args.grace, clock=clock))
            cpu = time.process_time() - cpu_before
            clock.stop()
            maker.stop()
            chain_blocks = int(node.rpc("eth_blockNumber"), 16) - first_chain_block
            print(f"load average after the run: {_load()}")
            print_report(samples, outcome, maker, cpu=cpu, chain_blocks=chain_blocks)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            interrupted = True
        except Exception:
            state = "running" if node.running else "not running"
            print(f"failed; anvil is {state}, its last lines:", file=sys.stderr)
            print(node.output()[-2000:], file=sys.stderr)
            raise
        finally:
            if clock is not None:
                clock.stop()
            if maker is not None:
                maker.stop()
            node.stop()
            if "django.db" in sys.modules:
                from django.db import connections

                connections.close_all()
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
