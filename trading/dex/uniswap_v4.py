"""Uniswap V4 family: pools inside the PoolManager singleton.

A V4 pool has no address: it is named by its pool id, the keccak of its key
(currency0, currency1, fee, tick spacing, hooks). The ``Dex.factory`` of a
``uniswap_v4`` DEX is the PoolManager, and a pool's ``address`` everywhere in
Listonian (rows, states, ``Opportunity.path``) is its id, 0x + 64 hex digits.

- Discovery scans the manager's ``Initialize`` logs in block windows from a
  block cursor (the V3 window logic). Pools whose hooks may alter swaps are
  skipped with the reason, and so are native-ETH pools (currency0 = 0): the
  executor trades ERC-20 tokens only.
- State is read with ``extsload(bytes32[])`` in the same PoolStateReader call
  as the other families (``V4Request``), three calls per pool: slot0 (price,
  tick, protocol and LP fees) with liquidity, the bitmap words around the
  price, and their ticks.
- The manager's ``Swap``, ``ModifyLiquidity`` and ``ProtocolFeeUpdated`` logs
  name the pool in their first indexed topic; the DEX manager re-reads it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_utils import to_checksum_address

from trading.amm.uniswap_v4 import DYNAMIC_FEE_FLAG, V4PoolState, hook_refusal
from trading.chain import readers
from trading.dex.base import DiscoveredPool, PoolSpec, SkippedPool, topic
from trading.dex.uniswap_v3 import UniswapV3Family

INITIALIZE = topic("Initialize(bytes32,address,address,uint24,int24,address,uint160,int24)")
SWAP = topic("Swap(bytes32,address,int128,int128,uint160,uint128,int24,uint24)")
MODIFY_LIQUIDITY = topic("ModifyLiquidity(bytes32,address,int24,int24,int256,bytes32)")
PROTOCOL_FEE_UPDATED = topic("ProtocolFeeUpdated(bytes32,uint24)")
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def _word(data: bytes, index: int, signed: bool = False) -> int:
    return int.from_bytes(data[32 * index : 32 * index + 32], "big", signed=signed)


def _raw(value: str | bytes) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def pool_id_topic(value: str | bytes) -> str:
    """A pool id as Listonian spells it: 0x + 64 lower-case hex digits."""
    return "0x" + _raw(value).rjust(32, b"\0").hex()


def decode_initialize(log: dict[str, Any]) -> DiscoveredPool | SkippedPool:
    """An ``Initialize`` log as a discovered pool, or a skipped one with the reason."""
    topics = log["topics"]
    data = _raw(log["data"])
    pool = pool_id_topic(topics[1])
    currency0 = to_checksum_address(_raw(topics[2])[-20:])
    currency1 = to_checksum_address(_raw(topics[3])[-20:])
    fee = _word(data, 0)
    hooks = to_checksum_address(data[64 + 12 : 96])
    if currency0 == ZERO_ADDRESS:
        return SkippedPool(pool, "native ETH pool (the executor trades ERC-20 tokens only)")
    refusal = hook_refusal(hooks)
    if refusal:
        return SkippedPool(pool, refusal)
    dynamic = bool(fee & DYNAMIC_FEE_FLAG)
    block = log.get("blockNumber")
    return DiscoveredPool(
        address=pool,
        token0=currency0,
        token1=currency1,
        fee=0 if dynamic else fee,
        tick_spacing=_word(data, 1, signed=True),
        created_block=int(block, 16) if isinstance(block, str) else block,
        hooks=hooks,
        dynamic_fee=dynamic,
    )


class UniswapV4Family(UniswapV3Family):
    """Pools announced by the PoolManager's ``Initialize``; V3 maths with V4's fees."""

    kind: ClassVar[str] = "uniswap_v4"
    reader_section: ClassVar[str] = "v4"
    state_topics: ClassVar[tuple[str, ...]] = (SWAP, MODIFY_LIQUIDITY, PROTOCOL_FEE_UPDATED)
    pool_created_topic: ClassVar[str] = INITIALIZE
    # Measured as for V3 (see there): three extsload(bytes32[]) calls per pool; a bitmap word
    # or a tick is one cold slot of the PoolManager and a hash.
    head_gas: ClassVar[int] = 20_500
    word_gas: ClassVar[int] = 2_600
    tick_gas: ClassVar[int] = 2_500

    def decode_discovery(
        self, logs: list[dict[str, Any]]
    ) -> tuple[tuple[DiscoveredPool, ...], tuple[SkippedPool, ...]]:
        pools: list[DiscoveredPool] = []
        skipped: list[SkippedPool] = []
        for log in logs:
            if len(log.get("topics", ())) != 4:
                continue
            found = decode_initialize(log)
            if isinstance(found, SkippedPool):
                skipped.append(found)
            else:
                pools.append(found)
        return tuple(pools), tuple(skipped)

    @classmethod
    def state_request(cls, pool: PoolSpec, *, with_fee: bool, word_radius: int) -> Any:
        if not pool.manager or not pool.tick_spacing:
            raise ValueError(f"V4 pool {pool.address} needs its PoolManager and tick spacing")
        return readers.V4Request(
            pool.manager, pool.address, pool.tick_spacing, -word_radius, word_radius, relative=True
        )

    @classmethod
    def build_state(cls, pool: PoolSpec, raw: Any, block_number: int) -> V4PoolState | None:
        if not raw.ok:
            return None
        return V4PoolState(
            address=pool.address,
            token0=pool.token0,
            token1=pool.token1,
            fee=raw.lp_fee,
            tick_spacing=raw.tick_spacing,
            sqrt_price_x96=raw.sqrt_price_x96,
            tick=raw.tick,
            liquidity=raw.liquidity,
            ticks=raw.ticks,
            min_word=raw.word_lo,
            max_word=raw.word_hi,
            block_number=block_number,
            protocol_fee=raw.protocol_fee,
            manager=pool.manager,
        )
