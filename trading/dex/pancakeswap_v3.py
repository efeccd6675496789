"""PancakeSwap V3: Uniswap V3's maths and factory, with its own names.

- Fee tiers 100, 500, 2500 and 10000 pips (tick spacings 1, 10, 50, 200);
  the factory announces pools with V3's ``PoolCreated``, so discovery is V3's.
- Pools are created by a separate pool deployer: their addresses follow from
  the deployer's address, not the factory's (the factory's ``getPool`` still
  names them, which is what confirmation asks).
- ``slot0().feeProtocol`` is a uint32: the reader takes only price and tick.
- Swaps call ``pancakeV3SwapCallback`` (the executor answers it like V3's) and
  emit a ``Swap`` with two protocol-fee fields more, so a different topic.
"""

from __future__ import annotations

from typing import ClassVar

from trading.dex.base import topic
from trading.dex.uniswap_v3 import BURN, INITIALIZE, MINT, UniswapV3Family

SWAP = topic("Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)")


class PancakeSwapV3Family(UniswapV3Family):
    """PancakeSwap V3 pools: V3 discovery and state, PancakeSwap's Swap event."""

    kind: ClassVar[str] = "pancakeswap_v3"
    state_topics: ClassVar[tuple[str, ...]] = (SWAP, MINT, BURN, INITIALIZE)
    # Measured as for V3 (see there): slot0 returns a wider struct.
    head_gas: ClassVar[int] = 18_800
    word_gas: ClassVar[int] = 3_300
    tick_gas: ClassVar[int] = 9_800
