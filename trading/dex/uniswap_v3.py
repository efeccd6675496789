"""Uniswap V3 family (Uniswap V3, SushiSwap V3 and other forks that keep its interfaces).

V3 factories keep no pool list, so discovery scans the factory's
``PoolCreated`` logs in block windows from a block cursor. The window adapts:
a node that refuses a range (too many blocks or results) gets half of it from
then on, and quiet stretches double it up to that ceiling.

State is price, tick and liquidity plus the tick-bitmap words around the
current tick (``word_radius`` words each side, chosen on chain so one call is
enough) and every initialized tick's ``liquidityNet`` in them.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from trading.amm import V3PoolState
from trading.chain import readers
from trading.chain.client import ChainClient, RpcError
from trading.dex.base import (
    DexFamily,
    DexInfo,
    DiscoveredPool,
    DiscoveryPage,
    PoolSpec,
    SkippedPool,
    topic,
)

logger = logging.getLogger(__name__)

POOL_CREATED = topic("PoolCreated(address,address,uint24,int24,address)")
SWAP = topic("Swap(address,address,int256,int256,uint160,uint128,int24)")
MINT = topic("Mint(address,address,int24,int24,uint128,uint256,uint256)")
BURN = topic("Burn(address,int24,int24,uint128,uint256,uint256)")
INITIALIZE = topic("Initialize(uint160,int24)")
# Ticks a never-read pool is planned with: the bounds of two positions near the price.
# A pool holding more only makes its call use more gas, up to the node's cap, where the
# reader hands back the pools it read and the rest go in another call (see
# trading.dex.reading): planning never-read pools lightly costs no more round trips than
# knowing them, where planning them as packed ones cost many.
UNREAD_TICKS = 4
# Planned gas is the measured gas plus this share: within 10% of the truth, never under.
GAS_MARGIN_PERCENT = 8


def _address_from_word(word: str | bytes) -> str:
    from eth_utils import to_checksum_address

    raw = bytes.fromhex(word[2:]) if isinstance(word, str) else bytes(word)
    return to_checksum_address(raw[-20:])


def _int_from_word(word: str | bytes, signed: bool = False) -> int:
    raw = bytes.fromhex(word[2:]) if isinstance(word, str) else bytes(word)
    return int.from_bytes(raw, "big", signed=signed)


def decode_pool_created(log: dict[str, Any]) -> DiscoveredPool:
    """A ``PoolCreated(token0, token1, fee, tickSpacing, pool)`` log as a discovered pool."""
    topics = log["topics"]
    data = log["data"]
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    block = log.get("blockNumber")
    return DiscoveredPool(
        address=_address_from_word(raw[32:64]),
        token0=_address_from_word(topics[1]),
        token1=_address_from_word(topics[2]),
        fee=_int_from_word(topics[3]),
        tick_spacing=int.from_bytes(raw[0:32], "big", signed=True),
        created_block=int(block, 16) if isinstance(block, str) else block,
    )


class UniswapV3Family(DexFamily):
    """Pools announced by ``PoolCreated``; concentrated liquidity with per-pool fee tiers."""

    kind: ClassVar[str] = "uniswap_v3"
    reader_section: ClassVar[str] = "v3"
    discovers_by_logs: ClassVar[bool] = True
    state_topics: ClassVar[tuple[str, ...]] = (SWAP, MINT, BURN, INITIALIZE)
    # The factory event announcing a pool (topic0), decoded by ``decode_discovery``.
    pool_created_topic: ClassVar[str] = POOL_CREATED
    # Gas of one pool in a full PoolStateReader call, measured on anvil with real pools
    # (benchmarks/dex_refresh.py): the head (cold account, slot0, liquidity, the request
    # word), each tick-bitmap word, and each initialized tick (``ticks()`` reads its whole
    # four-slot struct: the protocol's getter, so that is the floor per tick).
    head_gas: ClassVar[int] = 16_500
    word_gas: ClassVar[int] = 3_400
    tick_gas: ClassVar[int] = 9_800

    def __init__(
        self,
        client: ChainClient,
        dex: DexInfo,
        *,
        window: int = 10_000,
        max_window: int = 200_000,
    ) -> None:
        super().__init__(client, dex)
        self.window = window
        self.max_window = max_window

    async def discover(self, cursor: int, *, latest_block: int | None = None) -> DiscoveryPage:
        """Scan one window of blocks from ``cursor`` (at least the DEX's start block)."""
        latest = latest_block if latest_block is not None else await self.client.block_number()
        start = max(cursor, self.dex.start_block)
        span = max(latest - self.dex.start_block + 1, 0)
        if start > latest:
            return DiscoveryPage((), (), start, True, span, span)
        while True:
            end = min(start + self.window - 1, latest)
            try:
                logs = await self.client.get_logs(
                    {
                        "address": self.dex.factory,
                        "topics": [self.pool_created_topic],
                        "fromBlock": start,
                        "toBlock": end,
                    }
                )
            except RpcError as exc:
                if end == start:
                    raise
                # The node refused the range: remember the limit and try half of it.
                self.window = max(1, (end - start + 1) // 2)
                self.max_window = self.window
                logger.info(
                    "getLogs refused %s blocks (%s); window now %s",
                    end - start + 1,
                    exc,
                    self.window,
                )
                continue
            break
        found, refused = self.decode_discovery(logs)
        pools, skipped = await self.complete(list(found), end)
        skipped = refused + skipped
        if len(logs) < 1_000:
            self.window = min(self.window * 2, self.max_window)
        return DiscoveryPage(
            pools=pools,
            skipped=skipped,
            next_cursor=end + 1,
            done=end >= latest,
            progress=end - self.dex.start_block + 1,
            total=span,
        )

    def decode_discovery(
        self, logs: list[dict[str, Any]]
    ) -> tuple[tuple[DiscoveredPool, ...], tuple[SkippedPool, ...]]:
        """The pools (and pools left out, with why) that one window's logs announce."""
        pools = tuple(self.decode_created(log) for log in logs if len(log.get("topics", ())) == 4)
        return pools, ()

    @classmethod
    def decode_created(cls, log: dict[str, Any]) -> DiscoveredPool:
        """The pool a factory creation log announces."""
        return decode_pool_created(log)

    async def complete(
        self, pools: list[DiscoveredPool], block: int
    ) -> tuple[tuple[DiscoveredPool, ...], tuple[SkippedPool, ...]]:
        """Fill in what the creation logs leave out (nothing for V3: the fee is in the log)."""
        return tuple(pools), ()

    @classmethod
    def state_request(cls, pool: PoolSpec, *, with_fee: bool, word_radius: int) -> Any:
        return readers.V3Request(
            pool.address,
            -word_radius,
            word_radius,
            relative=True,
            tick_spacing=pool.tick_spacing or 0,
        )

    @classmethod
    def build_state(cls, pool: PoolSpec, raw: Any, block_number: int) -> V3PoolState | None:
        if not raw.ok:
            return None
        return V3PoolState(
            address=pool.address,
            token0=pool.token0,
            token1=pool.token1,
            fee=pool.fee,
            tick_spacing=raw.tick_spacing,
            sqrt_price_x96=raw.sqrt_price_x96,
            tick=raw.tick,
            liquidity=raw.liquidity,
            ticks=raw.ticks,
            min_word=raw.word_lo,
            max_word=raw.word_hi,
            block_number=block_number,
        )

    @classmethod
    def estimated_gas(
        cls, pool: PoolSpec, *, with_fee: bool, word_radius: int, known_ticks: int = 0
    ) -> int:
        words = 2 * word_radius + 1
        ticks = known_ticks if known_ticks else UNREAD_TICKS
        gas = cls.head_gas + words * cls.word_gas + ticks * cls.tick_gas
        return gas * (100 + GAS_MARGIN_PERCENT) // 100


async def find_deployment_block(
    client: ChainClient, address: str, latest: int | None = None
) -> int:
    """The first block at which ``address`` has code (binary search over ``eth_getCode``).

    Needs historical state; a node that has pruned it makes this return 0,
    which only means discovery starts scanning from genesis.
    """
    high = latest if latest is not None else await client.block_number()
    try:
        code = await client.request("eth_getCode", [address, hex(high)])
    except RpcError:
        return 0
    if code in (None, "0x", ""):
        return high + 1
    low = 0
    try:
        while low < high:
            middle = (low + high) // 2
            code = await client.request("eth_getCode", [address, hex(middle)])
            if code in (None, "0x", ""):
                low = middle + 1
            else:
                high = middle
    except RpcError:
        return 0
    return low
