"""Uniswap V2 family (Uniswap V2, SushiSwap, BaseSwap and other forks).

Discovery walks the factory's ``allPairs`` list from a pool index with the
deployless ``PoolListReader`` (500 pairs and their tokens per round trip).
State is ``getReserves()``; every pair of a DEX charges the DEX's ``fee_bps``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from trading.amm import PoolState, V2PoolState
from trading.chain import readers
from trading.dex.base import (
    DexFamily,
    DiscoveredPool,
    DiscoveryPage,
    PoolSpec,
    SkippedPool,
    topic,
)

SYNC = topic("Sync(uint112,uint112)")
SWAP = topic("Swap(address,uint256,uint256,uint256,uint256,address)")
MINT = topic("Mint(address,uint256,uint256)")
BURN = topic("Burn(address,uint256,uint256,address)")


class UniswapV2Family(DexFamily):
    """Pairs listed by ``allPairs``/``allPairsLength``; x*y with a fixed fee."""

    kind: ClassVar[str] = "uniswap_v2"
    reader_section: ClassVar[str] = "v2"
    state_topics: ClassVar[tuple[str, ...]] = (SYNC, SWAP, MINT, BURN)
    list_kind: ClassVar[int] = readers.KIND_V2_FACTORY
    page_size: int = readers.MAX_POOLS_PER_CALL

    async def discover(self, cursor: int, *, latest_block: int | None = None) -> DiscoveryPage:
        """Read the pools at indexes ``[cursor, cursor + page_size)`` and their tokens."""
        listings, total = await self._list(cursor, cursor + self.page_size)
        next_cursor = cursor + len(listings)
        return await self._page(
            listings, next_cursor=next_cursor, done=next_cursor >= total, total=total
        )

    async def rediscover(self, indexes: Sequence[int]) -> DiscoveryPage:
        """Read again the entries at ``indexes``: one round trip per run of neighbours."""
        wanted = sorted(set(indexes))
        listings: list[readers.PoolListing] = []
        for start, end in _runs(wanted, self.page_size):
            listings.extend((await self._list(start, end))[0])
        page = await self._page(listings, next_cursor=0, done=True, total=0)
        # An index the factory no longer lists at all stays unread, not lost.
        missing = set(wanted) - {item.index for item in listings}
        return replace(page, unread=tuple(sorted({*page.unread, *missing})))

    async def _page(
        self, listings: list[readers.PoolListing], *, next_cursor: int, done: bool, total: int
    ) -> DiscoveryPage:
        pools = []
        skipped = []
        unread = []
        for listing in listings:
            if listing.address is None:
                # The factory's entry call reverted (or named no pool): read it again later.
                unread.append(listing.index)
                continue
            if not listing.ok:
                skipped.append(SkippedPool(listing.address, "pool or its tokens unreadable"))
                continue
            pools.append(self._discovered(listing))
        return DiscoveryPage(
            pools=tuple(pools),
            skipped=tuple(skipped),
            next_cursor=next_cursor,
            done=done,
            progress=next_cursor,
            total=total,
            unread=tuple(unread),
        )

    async def _list(self, start: int, end: int) -> tuple[list[readers.PoolListing], int]:
        data = readers.pool_list_call_data(self.dex.factory, self.list_kind, start, end)
        _, total, listings = readers.decode_pool_list(await self.client.read(data), start)
        return listings, total

    def _discovered(self, listing: readers.PoolListing) -> DiscoveredPool:
        assert listing.address and listing.token0 and listing.token1
        return DiscoveredPool(
            address=listing.address,
            token0=listing.token0,
            token1=listing.token1,
            fee=self.dex.fee_bps * 100,
        )

    @classmethod
    def state_request(cls, pool: PoolSpec, *, with_fee: bool, word_radius: int) -> Any:
        return pool.address

    @classmethod
    # PoolState, not V2PoolState: the Solidly family reuses this family's reads.
    def build_state(cls, pool: PoolSpec, raw: Any, block_number: int) -> PoolState | None:
        if not raw.ok:
            return None
        return V2PoolState(
            address=pool.address,
            token0=pool.token0,
            token1=pool.token1,
            reserve0=raw.reserve0,
            reserve1=raw.reserve1,
            fee_bps=pool.fee_bps,
            block_number=block_number,
        )

    @classmethod
    def estimated_gas(
        cls, pool: PoolSpec, *, with_fee: bool, word_radius: int, known_ticks: int = 0
    ) -> int:
        # A cold account and a storage read, plus the reader's own work: 6,800 measured
        # (benchmarks/dex_refresh.py), planned with a margin.
        return 7_400


def _runs(indexes: Sequence[int], limit: int) -> Iterator[tuple[int, int]]:
    """Sorted ``indexes`` as ``[start, end)`` ranges of neighbours, each at most ``limit`` long."""
    start = end = None
    for index in indexes:
        if start is not None and end is not None and index == end and end - start < limit:
            end += 1
            continue
        if start is not None and end is not None:
            yield start, end
        start, end = index, index + 1
    if start is not None and end is not None:
        yield start, end
