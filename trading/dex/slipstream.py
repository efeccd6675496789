"""Aerodrome / Velodrome Slipstream: concentrated liquidity with V3's maths.

What differs from Uniswap V3 is the interfaces, not the maths:

- the factory keys pools by tick spacing and announces them with
  ``PoolCreated(token0, token1, int24 indexed tickSpacing, pool)`` (no fee in
  the log), so discovery reads each new pool's ``fee()`` in one batched call;
- the fee comes from the factory's swap fee module and may change at any
  time without an event from the pool, so every state read includes ``fee()``,
  and the fee module's ``CustomFeeSet`` (and dynamic-fee settings) events,
  which name the pool, have the DEX manager read the pool again that block;
- ``slot0()`` and ``ticks()`` return more fields, but their first two words are
  V3's (price and tick; liquidityGross and liquidityNet), which is all the
  reader takes;
- swaps call ``uniswapV3SwapCallback`` and emit V3's ``Swap``, ``Mint`` and
  ``Burn``, so log-driven updates and the executor's V3 path serve it unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from trading.amm import V3PoolState
from trading.chain import readers
from trading.dex.base import DiscoveredPool, PoolSpec, SkippedPool, topic
from trading.dex.uniswap_v3 import UniswapV3Family, _address_from_word

POOL_CREATED = topic("PoolCreated(address,address,int24,address)")
# Fee-module events naming a pool in their first topic (custom and dynamic fee
# modules): the pool's fee changed without a pool event, so it is read again.
FEE_MODULE_TOPICS = (
    topic("CustomFeeSet(address,uint24)"),
    topic("ScalingFactorSet(address,uint256)"),
    topic("FeeCapSet(address,uint256)"),
    topic("DynamicFeeReset(address)"),
)


def decode_pool_created(log: dict[str, Any]) -> DiscoveredPool:
    """A Slipstream ``PoolCreated`` log as a pool (fee still unknown: 0)."""
    topics = log["topics"]
    data = log["data"]
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    spacing_word = topics[3]
    spacing_raw = (
        bytes.fromhex(spacing_word[2:]) if isinstance(spacing_word, str) else bytes(spacing_word)
    )
    block = log.get("blockNumber")
    return DiscoveredPool(
        address=_address_from_word(raw[0:32]),
        token0=_address_from_word(topics[1]),
        token1=_address_from_word(topics[2]),
        fee=0,
        tick_spacing=int.from_bytes(spacing_raw, "big", signed=True),
        created_block=int(block, 16) if isinstance(block, str) else block,
    )


class SlipstreamFamily(UniswapV3Family):
    """Slipstream CL pools: V3 maths, pools keyed by tick spacing, a fee read with the state."""

    kind: ClassVar[str] = "slipstream"
    pool_created_topic: ClassVar[str] = POOL_CREATED
    # Measured as for V3 (see there). Pools are proxies (a delegatecall per read), fee()
    # goes through the factory and its fee module, and ticks() reads a six-slot struct.
    head_gas: ClassVar[int] = 28_700
    word_gas: ClassVar[int] = 3_500
    tick_gas: ClassVar[int] = 14_400

    @classmethod
    def decode_created(cls, log: dict[str, Any]) -> DiscoveredPool:
        return decode_pool_created(log)

    async def complete(
        self, pools: list[DiscoveredPool], block: int
    ) -> tuple[tuple[DiscoveredPool, ...], tuple[SkippedPool, ...]]:
        """Read the new pools' current fees (in chunks of the reader's limit)."""
        found: list[DiscoveredPool] = []
        skipped: list[SkippedPool] = []
        step = readers.MAX_POOLS_PER_CALL
        for start in range(0, len(pools), step):
            chunk = pools[start : start + step]
            # No bitmap words: only price, liquidity and fee.
            requests = [readers.V3Request(p.address, 0, -1, with_fee=True) for p in chunk]
            words = await self.client.read(readers.pool_state_call_data(v3=requests))
            decoded = readers.decode_pool_states(words, v3=requests)
            for pool, raw in zip(chunk, decoded.v3, strict=True):
                if raw.ok and raw.fee is not None:
                    found.append(replace(pool, fee=raw.fee))
                else:
                    skipped.append(SkippedPool(pool.address, "pool or its fee unreadable"))
        return tuple(found), tuple(skipped)

    @classmethod
    def state_request(cls, pool: PoolSpec, *, with_fee: bool, word_radius: int) -> Any:
        return readers.V3Request(
            pool.address,
            -word_radius,
            word_radius,
            relative=True,
            with_fee=True,
            tick_spacing=pool.tick_spacing or 0,
        )

    @classmethod
    def build_state(cls, pool: PoolSpec, raw: Any, block_number: int) -> V3PoolState | None:
        state = super().build_state(pool, raw, block_number)
        if state is None or raw.fee is None:
            return state
        # The fee just read, not the one known at discovery.
        return replace(state, fee=raw.fee)
