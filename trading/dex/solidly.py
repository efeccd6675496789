"""Solidly family (Aerodrome, Velodrome V2 and their forks).

Discovery walks ``allPools`` from a pool index with the ``PoolListReader``
(which also reads each pool's ``stable`` flag) and then reads the new pools'
fees from the factory (``getFee(pool, stable)``) in one more batched call.
State is ``getReserves()``; the fee is re-read on every full refresh and when
the factory announces a custom fee (``SetCustomFee``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from trading.amm import SolidlyPoolState
from trading.chain import readers
from trading.dex.base import DiscoveredPool, DiscoveryPage, PoolSpec, SkippedPool, topic
from trading.dex.uniswap_v2 import UniswapV2Family

SYNC = topic("Sync(uint256,uint256)")
SWAP = topic("Swap(address,address,uint256,uint256,uint256,uint256)")
MINT = topic("Mint(address,uint256,uint256)")
BURN = topic("Burn(address,address,uint256,uint256)")
# Emitted by the factory; topic1 is the pool.
SET_CUSTOM_FEE = topic("SetCustomFee(address,uint256)")


class SolidlyFamily(UniswapV2Family):
    """Pools listed by ``allPools``/``allPoolsLength``; volatile or stable curve, per-pool fee."""

    kind: ClassVar[str] = "solidly"
    reader_section: ClassVar[str] = "solidly"
    state_topics: ClassVar[tuple[str, ...]] = (SYNC, SWAP, MINT, BURN)
    factory_topics: ClassVar[tuple[str, ...]] = (SET_CUSTOM_FEE,)
    list_kind: ClassVar[int] = readers.KIND_SOLIDLY_FACTORY

    async def _page(
        self, listings: list[readers.PoolListing], *, next_cursor: int, done: bool, total: int
    ) -> DiscoveryPage:
        """The pools among ``listings``, with their curve and factory fee."""
        # The factory's entry call reverted (or named no pool): read it again later.
        unread = [item.index for item in listings if item.address is None]
        listed = [item for item in listings if item.address is not None]
        readable = [item for item in listed if item.ok and item.stable is not None]
        skipped = [
            SkippedPool(item.address or "", "pool, its tokens or its curve unreadable")
            for item in listed
            if item not in readable
        ]
        fees: dict[str, int | None] = {}
        if readable:
            requests = [
                readers.SolidlyRequest(item.address or "", with_fee=True) for item in readable
            ]
            words = await self.client.read(readers.pool_state_call_data(solidly=requests))
            decoded = readers.decode_pool_states(words, solidly=requests)
            fees = {r.address: r.fee_bps if r.fee_ok else None for r in decoded.solidly}
        pools = []
        for item in readable:
            assert item.address and item.token0 and item.token1
            fee_bps = fees.get(item.address)
            if fee_bps is None:
                skipped.append(SkippedPool(item.address, "factory fee unreadable"))
                continue
            pools.append(
                DiscoveredPool(
                    address=item.address,
                    token0=item.token0,
                    token1=item.token1,
                    fee=fee_bps * 100,
                    stable=bool(item.stable),
                )
            )
        return DiscoveryPage(
            pools=tuple(pools),
            skipped=tuple(skipped),
            next_cursor=next_cursor,
            done=done,
            progress=next_cursor,
            total=total,
            unread=tuple(unread),
        )

    @classmethod
    def state_request(cls, pool: PoolSpec, *, with_fee: bool, word_radius: int) -> Any:
        return readers.SolidlyRequest(pool.address, with_fee=with_fee)

    @classmethod
    def build_state(cls, pool: PoolSpec, raw: Any, block_number: int) -> SolidlyPoolState | None:
        if not raw.ok:
            return None
        # Fresh on-chain fee and curve when they were read; the known ones otherwise.
        fee_bps = raw.fee_bps if raw.fee_ok else pool.fee_bps
        stable = raw.stable if raw.fee_ok else pool.stable
        return SolidlyPoolState(
            address=pool.address,
            token0=pool.token0,
            token1=pool.token1,
            reserve0=raw.reserve0,
            reserve1=raw.reserve1,
            decimals0=pool.decimals0,
            decimals1=pool.decimals1,
            stable=bool(stable),
            fee_bps=fee_bps,
            block_number=block_number,
        )

    @classmethod
    def estimated_gas(
        cls, pool: PoolSpec, *, with_fee: bool, word_radius: int, known_ticks: int = 0
    ) -> int:
        return 30_000 if with_fee else 9_000
