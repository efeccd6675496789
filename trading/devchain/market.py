"""The one market builder and the one market maker of the local chain.

``build_market`` deploys tokens and pools of the Uniswap V2, Uniswap V3,
Slipstream, PancakeSwap V3, Uniswap V4 and Solidly (Aerodrome's real pools)
families from a plan: every token has a USD price, every pool a USD depth per
side and an optional deliberate ``gap`` (its first token dearer or cheaper than
the reference price), so price gaps between venues are chosen, not accidental.
The demo, the tests and the benchmarks describe their markets as plans and
share this code.

``MarketMaker`` makes random swaps on a few pools every block, sent as one
JSON-RPC batch per block, leaning back towards each pool's starting price so
that the market moves without drifting away when nobody closes the gaps.

Amounts are exact integers in each token's smallest unit; prices are Fractions.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from trading.amm.uniswap_v4 import pool_id
from trading.chain.artifacts import uniswap_v3_artifact
from trading.devchain.devnet import (
    MAX_TICK,
    MIN_TICK,
    PANCAKESWAP_V3_TICK_SPACING,
    V3_TICK_SPACING,
    Devnet,
    DevnetError,
    PancakeV3Deployment,
    SlipstreamDeployment,
    SolidlyDeployment,
    SolidlyPool,
    TokenInfo,
    V2Deployment,
    V2Pair,
    V3Deployment,
    V3Pool,
    V4Deployment,
    V4Pool,
    connect,
    nearest_usable_tick,
    sort_tokens,
    sqrt_price_x96_for,
    tick_at_price,
)

logger = logging.getLogger(__name__)

Q96 = 2**96
# Pools per batch of creations: keeps each JSON-RPC request and block reasonable.
_V2_CHUNK, _V3_CHUNK, _SOLIDLY_CHUNK = 500, 100, 500
# Gas limits of the market maker's transactions (generous; anvil charges what is used).
MINT_GAS = 120_000
PAIR_SWAP_GAS = 250_000
# Aerodrome's pool also moves the fee to its PoolFees and, once per 30 minutes,
# records a price observation: up to ~300k gas.
SOLIDLY_SWAP_GAS = 400_000
V3_SWAP_GAS = 1_500_000


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


_GET_RESERVES = "0x" + _selector("getReserves()").hex()
_SLOT0 = "0x" + _selector("slot0()").hex()
_GET_AMOUNT_OUT = _selector("getAmountOut(uint256,address)")
_MINT = _selector("mint(address,uint256)")
_APPROVE = _selector("approve(address,uint256)")
_PAIR_SWAP = _selector("swap(uint256,uint256,address,bytes)")
_V3_SWAP = _selector("swapExactInput(address,bool,uint256,uint160,address)")
# Kinds whose pools are V3 pools (price, ticks, swaps through the V3 helper).
V3_KINDS = frozenset({"uniswap_v3", "slipstream", "pancakeswap_v3"})
# Kinds priced by sqrtPriceX96 and liquidity (the V3 kinds, and V4 inside its PoolManager).
_PRICED_KINDS = V3_KINDS | {"uniswap_v4"}
_EXTSLOAD = _selector("extsload(bytes32)")
_V4_SWAP = _selector(
    "swap((address,address,uint24,int24,address),(bool,int256,uint160),(bool,bool),bytes)"
)
# Uniswap V4 tick spacing by fee, as the usual interfaces pair them.
V4_TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
_ZERO = "0x0000000000000000000000000000000000000000"
_MIN_SQRT_PLUS_ONE = 4295128740
_MAX_SQRT_MINUS_ONE = 1461446703485210103287273052203988822378723970341


# ---- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPlan:
    """A token to deploy.

    ``kind`` is ``standard``, ``bytes32``, ``no_decimals`` or ``gas_burner``.
    """

    symbol: str
    decimals: int = 18
    usd: Fraction | int | str = 1
    name: str | None = None
    kind: str = "standard"


@dataclass(frozen=True)
class DexPlan:
    """A DEX to deploy: ``uniswap_v2``, ``uniswap_v3``, ``slipstream``, ``pancakeswap_v3``,
    ``uniswap_v4`` or ``solidly``."""

    name: str
    kind: str
    fee_bps: int | None = None  # what ``add_dex`` is told (V2 factories: 30)


@dataclass(frozen=True)
class Position:
    """A V3 position around the pool's price, in tick spacings; None reaches the range's end."""

    spacings_below: int | None
    spacings_above: int | None
    liquidity: int


@dataclass(frozen=True)
class PoolPlan:
    """A pool of ``dex`` holding ``depth_usd`` of each token at the reference price.

    ``gap`` multiplies the price of ``token_a`` in ``token_b`` (1.02: ``token_a``
    2% dearer here). V2 and Solidly: the ``token_b`` side is scaled by it. V3:
    ``fee`` is the fee tier; without ``positions``, the depth is spread over a
    narrow, a wide and a full-range position (60/30/10%). Slipstream: pools are
    keyed by ``tick_spacing`` (default 100; the factory sets the fee);
    PancakeSwap V3: ``fee`` is one of its tiers (100, 500, 2500, 10000).
    V4: as V3, in the DEX's PoolManager, hookless, with ``tick_spacing``
    (default: the usual one for the fee). Solidly: ``stable`` picks the curve.
    """

    dex: str
    token_a: str
    token_b: str
    depth_usd: Fraction | int | str
    gap: Fraction | int | str = 1
    fee: int = 3000
    stable: bool = False
    positions: tuple[Position, ...] | None = None
    tick_spacing: int | None = None


# ---- what was deployed --------------------------------------------------------------------


@dataclass(frozen=True)
class Dex:
    """A deployed DEX; ``helper`` is the V3 pool helper that pays swaps and mints.

    For Uniswap V4, ``factory`` is the PoolManager and ``v4`` the deployment
    with its liquidity and swap routers.
    """

    name: str
    kind: str
    factory: str
    fee_bps: int | None = None
    helper: str = ""
    # Slipstream: the fee module; PancakeSwap V3: the pool deployer; Slipstream: pool code.
    fee_module: str = ""
    pool_deployer: str = ""
    implementation: str = ""
    v4: V4Deployment | None = None


@dataclass(frozen=True)
class MarketPool:
    """A deployed pool and its starting price (token1 per token0, raw units)."""

    address: str
    kind: str
    dex: str
    token0: str
    token1: str
    fee: int  # hundredths of a basis point, as the engine counts them
    reference_price: Fraction
    tick_spacing: int = 0
    stable: bool = False
    liquidity: int = 0  # V3: the sum of its positions' liquidity, to size swaps


@dataclass(frozen=True)
class Market:
    """Tokens (by symbol), DEXs (by name) and pools of a deployed market, in plan order."""

    tokens: dict[str, TokenInfo]
    dexes: dict[str, Dex]
    pools: tuple[MarketPool, ...]
    usd: dict[str, Fraction]  # token address: its reference USD price
    odd_tokens: dict[str, TokenInfo]

    def token(self, symbol: str) -> TokenInfo:
        """Return a token of the market by symbol (standard or odd)."""
        return self.tokens.get(symbol) or self.odd_tokens[symbol]

    def all_tokens(self) -> list[TokenInfo]:
        """Every token, standard ones first."""
        return [*self.tokens.values(), *self.odd_tokens.values()]

    def decimals(self, address: str) -> int:
        """Decimals of a token of the market (18 for a token without ``decimals()``)."""
        return next(t.decimals or 18 for t in self.all_tokens() if t.address == address)

    def _first(self, kind: str) -> Dex:
        return next(d for d in self.dexes.values() if d.kind == kind)

    @property
    def v2(self) -> V2Deployment:
        """The first Uniswap V2 factory."""
        return V2Deployment(self._first("uniswap_v2").factory)

    @property
    def v3(self) -> V3Deployment:
        """The first Uniswap V3 factory and its helper."""
        dex = self._first("uniswap_v3")
        return V3Deployment(dex.factory, dex.helper)

    @property
    def slipstream(self) -> SlipstreamDeployment:
        """The first Slipstream factory, its fee module and the helper."""
        dex = self._first("slipstream")
        return SlipstreamDeployment(dex.factory, dex.helper, dex.fee_module, dex.implementation)

    @property
    def pancakeswap_v3(self) -> PancakeV3Deployment:
        """The first PancakeSwap V3 factory, its pool deployer and the helper."""
        dex = self._first("pancakeswap_v3")
        return PancakeV3Deployment(dex.factory, dex.helper, dex.pool_deployer)

    @property
    def solidly(self) -> SolidlyDeployment:
        """The first Solidly factory."""
        return SolidlyDeployment(self._first("solidly").factory)

    @property
    def v4(self) -> V4Deployment:
        """The first Uniswap V4 PoolManager and its routers."""
        deployment = self._first("uniswap_v4").v4
        assert deployment is not None
        return deployment

    @property
    def v4_routers(self) -> list[str]:
        """The swap routers of every V4 DEX of the market."""
        return [d.v4.swap_router for d in self.dexes.values() if d.v4 is not None]

    @property
    def v4_pools(self) -> tuple[V4Pool, ...]:
        """Every Uniswap V4 pool, in plan order (hookless)."""
        return tuple(
            V4Pool(p.address, p.token0, p.token1, p.fee, p.tick_spacing)
            for p in self._of("uniswap_v4")
        )

    def dex_of(self, pool: MarketPool) -> Dex:
        """The deployed DEX of ``pool``."""
        return self.dexes[pool.dex]

    @property
    def v3_helper(self) -> str:
        """The V3 pool helper (one for all V3 DEXs of the market), or ``""``."""
        return next((d.helper for d in self.dexes.values() if d.helper), "")

    @property
    def v2_pairs(self) -> tuple[V2Pair, ...]:
        """Every Uniswap V2 pair, in plan order."""
        return tuple(V2Pair(p.address, p.token0, p.token1) for p in self._of("uniswap_v2"))

    @property
    def v3_pools(self) -> tuple[V3Pool, ...]:
        """Every Uniswap V3 pool, in plan order."""
        return self.cl_pools("uniswap_v3")

    def cl_pools(self, kind: str) -> tuple[V3Pool, ...]:
        """Every pool of a V3-like ``kind`` (``uniswap_v3``, ``slipstream``, ``pancakeswap_v3``)."""
        return tuple(
            V3Pool(p.address, p.token0, p.token1, p.fee, p.tick_spacing) for p in self._of(kind)
        )

    @property
    def solidly_pools(self) -> tuple[SolidlyPool, ...]:
        """Every Solidly pool, in plan order."""
        return tuple(
            SolidlyPool(p.address, p.token0, p.token1, p.stable) for p in self._of("solidly")
        )

    def _of(self, kind: str) -> list[MarketPool]:
        return [p for p in self.pools if p.kind == kind]


# ---- the builder --------------------------------------------------------------------------


def raw_amount(usd: Fraction | int | str, token_usd: Fraction, decimals: int) -> int:
    """``usd`` dollars of a token priced ``token_usd`` dollars, in its smallest unit."""
    return math.floor(Fraction(usd) / token_usd * 10**decimals)


def build_market(
    devnet: Devnet,
    tokens: Sequence[TokenPlan],
    dexes: Sequence[DexPlan],
    pools: Sequence[PoolPlan],
) -> Market:
    """Deploy the plan: tokens in order, then each DEX followed by its pools.

    Pools are created in batches (liquidity minted straight to V2 and Solidly
    pools, V3 positions paid through the helper); test tokens only.
    """
    infos = _deploy_tokens(devnet, tokens)
    by_symbol = {t.symbol: t for t in infos}
    usd = {info.address: Fraction(plan.usd) for plan, info in zip(tokens, infos, strict=True)}
    decimals = {info.address: info.decimals or 18 for info in infos}
    deployed: dict[str, Dex] = {}
    created: dict[int, MarketPool] = {}
    helper = ""
    for dex in dexes:
        indices = [i for i, p in enumerate(pools) if p.dex == dex.name]
        plans = [pools[i] for i in indices]
        if dex.kind == "uniswap_v2":
            factory = devnet.deploy_uniswap_v2().factory
            deployed[dex.name] = Dex(dex.name, dex.kind, factory, dex.fee_bps)
        elif dex.kind == "uniswap_v3":
            if not helper:
                v3 = devnet.deploy_uniswap_v3()
                factory, helper = v3.factory, v3.helper
            else:  # a second V3 factory shares the first one's helper
                factory = devnet.deploy(uniswap_v3_artifact("UniswapV3Factory"))
            deployed[dex.name] = Dex(dex.name, dex.kind, factory, dex.fee_bps, helper)
        elif dex.kind == "slipstream":
            cl = devnet.deploy_slipstream(helper or None)
            helper = cl.helper
            deployed[dex.name] = Dex(
                dex.name,
                dex.kind,
                cl.factory,
                dex.fee_bps,
                helper,
                fee_module=cl.fee_module,
                implementation=cl.implementation,
            )
        elif dex.kind == "pancakeswap_v3":
            pancake = devnet.deploy_pancakeswap_v3(helper or None)
            helper = pancake.helper
            deployed[dex.name] = Dex(
                dex.name,
                dex.kind,
                pancake.factory,
                dex.fee_bps,
                helper,
                pool_deployer=pancake.pool_deployer,
            )
        elif dex.kind == "solidly":
            factory = devnet.deploy_solidly().factory
            deployed[dex.name] = Dex(dex.name, dex.kind, factory, dex.fee_bps)
        elif dex.kind == "uniswap_v4":
            v4 = devnet.deploy_uniswap_v4()
            deployed[dex.name] = Dex(dex.name, dex.kind, v4.manager, dex.fee_bps, v4=v4)
        else:
            raise DevnetError(f"no builder for DEX kind {dex.kind!r}")
        new = _create_pools(devnet, deployed[dex.name], plans, by_symbol, usd, decimals)
        created.update(zip(indices, new, strict=True))
    unknown = sorted({p.dex for i, p in enumerate(pools) if i not in created})
    if unknown:
        raise DevnetError(f"pools of DEXs not in the plan: {unknown}")
    return Market(
        tokens={t.symbol: t for t in infos if t.kind == "standard"},
        dexes=deployed,
        pools=tuple(created[i] for i in range(len(pools))),
        usd=usd,
        odd_tokens={t.symbol: t for t in infos if t.kind != "standard"},
    )


def _deploy_tokens(devnet: Devnet, plans: Sequence[TokenPlan]) -> list[TokenInfo]:
    """Deploy in plan order; runs of standard tokens go in one batch."""
    infos: list[TokenInfo] = []
    run: list[TokenPlan] = []

    def flush() -> None:
        if run:
            infos.extend(
                devnet.deploy_tokens(
                    [p.symbol for p in run], [p.decimals for p in run], [p.name for p in run]
                )
            )
            run.clear()

    for plan in plans:
        if plan.kind == "standard":
            run.append(plan)
            continue
        flush()
        if plan.kind == "bytes32":
            infos.append(devnet.deploy_bytes32_token(plan.symbol, plan.decimals, plan.name))
        elif plan.kind == "no_decimals":
            infos.append(devnet.deploy_no_decimals_token(plan.symbol, plan.name))
        elif plan.kind == "gas_burner":
            infos.extend(devnet.deploy_gas_burner_tokens([plan.symbol]))
        else:
            raise DevnetError(f"unknown token kind {plan.kind!r}")
    flush()
    return infos


def _price(plan: PoolPlan, a: TokenInfo, b: TokenInfo, usd: dict[str, Fraction]) -> Fraction:
    """Raw price of ``a`` in ``b`` in this pool (gap included)."""
    decimals_a, decimals_b = a.decimals or 18, b.decimals or 18
    return usd[a.address] * 10**decimals_b / (usd[b.address] * 10**decimals_a) * Fraction(plan.gap)


def _create_pools(
    devnet: Devnet,
    dex: Dex,
    plans: Sequence[PoolPlan],
    tokens: dict[str, TokenInfo],
    usd: dict[str, Fraction],
    decimals: dict[str, int],
) -> Iterable[MarketPool]:
    amounts = []
    for plan in plans:
        a, b = tokens[plan.token_a], tokens[plan.token_b]
        amount_a = raw_amount(plan.depth_usd, usd[a.address], decimals[a.address])
        amount_b = raw_amount(
            Fraction(plan.depth_usd) * Fraction(plan.gap), usd[b.address], decimals[b.address]
        )
        amounts.append((a, b, amount_a, amount_b))

    def starting(a: TokenInfo, amount_a: int, amount_b: int, token0: str) -> Fraction:
        if amount_a == 0 or amount_b == 0:
            return Fraction(0)
        price = Fraction(amount_b, amount_a)
        return price if token0 == a.address else 1 / price

    if dex.kind == "uniswap_v2":
        specs = [(a.address, b.address, x, y) for a, b, x, y in amounts]
        fee = (dex.fee_bps or 30) * 100
        for start in range(0, len(specs), _V2_CHUNK):
            chunk = specs[start : start + _V2_CHUNK]
            pairs = devnet.create_v2_pairs(V2Deployment(dex.factory), chunk)
            for pair, (a, _, x, y) in zip(pairs, amounts[start : start + _V2_CHUNK], strict=True):
                price = starting(a, x, y, pair.token0)
                yield MarketPool(
                    pair.address, dex.kind, dex.name, pair.token0, pair.token1, fee, price
                )
    elif dex.kind == "solidly":
        specs_s = [
            (a.address, b.address, plan.stable, x, y)
            for plan, (a, b, x, y) in zip(plans, amounts, strict=True)
        ]
        for start in range(0, len(specs_s), _SOLIDLY_CHUNK):
            chunk_s = specs_s[start : start + _SOLIDLY_CHUNK]
            created = devnet.create_solidly_pools(SolidlyDeployment(dex.factory), chunk_s)
            for pool, (a, _, x, y) in zip(
                created, amounts[start : start + _SOLIDLY_CHUNK], strict=True
            ):
                price = starting(a, x, y, pool.token0)
                fee = 500 if pool.stable else 3000
                yield MarketPool(
                    pool.address,
                    dex.kind,
                    dex.name,
                    pool.token0,
                    pool.token1,
                    fee,
                    price,
                    stable=pool.stable,
                )
    else:
        # V3: (a, b, fee, sqrt price, ticks); V4: (a, b, fee, spacing, sqrt price, ticks).
        v3_specs: list[tuple[Any, ...]] = []
        meta = []
        for plan, (a, b, x, y) in zip(plans, amounts, strict=True):
            token0, _ = sort_tokens(a.address, b.address)
            price = _price(plan, a, b, usd)
            raw = price if token0 == a.address else 1 / price
            if dex.kind == "slipstream":
                spacing = plan.tick_spacing or 100
            elif dex.kind == "pancakeswap_v3":
                spacing = PANCAKESWAP_V3_TICK_SPACING[plan.fee]
            elif dex.kind == "uniswap_v4":
                spacing = plan.tick_spacing or V4_TICK_SPACING[plan.fee]
            else:
                spacing = V3_TICK_SPACING[plan.fee]
            centre = nearest_usable_tick(tick_at_price(raw), spacing)
            positions = plan.positions or _default_positions(math.isqrt(x * y))
            ticks = [
                (
                    nearest_usable_tick(
                        MIN_TICK
                        if p.spacings_below is None
                        else centre - p.spacings_below * spacing,
                        spacing,
                    ),
                    nearest_usable_tick(
                        MAX_TICK
                        if p.spacings_above is None
                        else centre + p.spacings_above * spacing,
                        spacing,
                    ),
                    p.liquidity,
                )
                for p in positions
            ]
            if dex.kind == "uniswap_v4":
                v3_specs.append(
                    (a.address, b.address, plan.fee, spacing, sqrt_price_x96_for(raw), ticks)
                )
            else:
                key = spacing if dex.kind == "slipstream" else plan.fee
                v3_specs.append((a.address, b.address, key, sqrt_price_x96_for(raw), ticks))
            meta.append((raw, sum(p.liquidity for p in positions)))
        for start in range(0, len(v3_specs), _V3_CHUNK):
            batch = v3_specs[start : start + _V3_CHUNK]
            created_v3: list[V3Pool | V4Pool] = []
            if dex.kind == "uniswap_v4":
                assert dex.v4 is not None
                created_v3.extend(devnet.create_v4_pools(dex.v4, batch))
            elif dex.kind == "slipstream":
                created_v3.extend(
                    devnet.create_slipstream_pools(
                        SlipstreamDeployment(
                            dex.factory, dex.helper, dex.fee_module, dex.implementation
                        ),
                        batch,
                    )
                )
            elif dex.kind == "pancakeswap_v3":
                created_v3.extend(
                    devnet.create_pancakeswap_v3_pools(
                        PancakeV3Deployment(dex.factory, dex.helper, dex.pool_deployer), batch
                    )
                )
            else:
                deployment = V3Deployment(dex.factory, dex.helper)
                created_v3.extend(devnet.create_v3_pools(deployment, batch))
            for made, (raw, liquidity) in zip(
                created_v3, meta[start : start + _V3_CHUNK], strict=True
            ):
                yield MarketPool(
                    made.address,
                    dex.kind,
                    dex.name,
                    made.token0,
                    made.token1,
                    made.fee,
                    raw,
                    tick_spacing=made.tick_spacing,
                    liquidity=liquidity,
                )


def _default_positions(liquidity: int) -> tuple[Position, ...]:
    """A narrow, a wide and a full-range position: 60/30/10% of ``liquidity``."""
    return (
        Position(20, 20, liquidity * 6 // 10),
        Position(200, 200, liquidity * 3 // 10),
        Position(None, None, liquidity // 10),
    )


def fund_maker(devnet: Devnet, market: Market, maker: str) -> None:
    """Give ``maker`` plenty of every token and let the V3 helper pull them (one batch)."""
    calls: list[tuple[str | None, bytes | str, int]] = []
    for token in market.all_tokens():
        calls.append(
            (token.address, _MINT + abi_encode(["address", "uint256"], [maker, 2**200]), MINT_GAS)
        )
        for spender in [market.v3_helper, *market.v4_routers]:
            if spender:
                approve = abi_encode(["address", "uint256"], [spender, 2**256 - 1])
                calls.append((token.address, _APPROVE + approve, MINT_GAS))
    devnet.send_batch(calls, sender=maker)


# ---- the market maker ---------------------------------------------------------------------


class MarketMaker:
    """Random swaps on ``swaps_per_block`` pools every block, sent as one batch per block.

    Sizes are random: 0.5-3% of a V2 or Solidly pool's input reserve, 0.2-1% of
    a V3 pool's virtual reserve. The direction leans back towards each pool's
    starting price. The maker's account must be funded (``fund_maker``).
    """

    def __init__(
        self,
        market: Market,
        rpc_url: str,
        maker: str,
        *,
        swaps_per_block: int = 2,
        seed: int | None = None,
    ) -> None:
        self.market = market
        self.maker = maker
        self.devnet = Devnet(connect(rpc_url), maker)
        self.random = random.Random(seed)
        self.per_block = max(1, min(swaps_per_block, len(market.pools)))
        self.swaps = 0
        self.batches = 0
        self.failures = 0
        self.reverted = 0
        self.blocks_with_swaps: set[int] = set()
        self.busy_seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _call_batch(self, calls: Sequence[tuple[str, str]]) -> list[bytes]:
        provider: Any = self.devnet.w3.provider  # an HTTPProvider: it batches
        answers = provider.make_batch_request(
            [("eth_call", [{"to": to, "data": data}, "latest"]) for to, data in calls]
        )
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise DevnetError(f"{len(errors)} read(s) failed, first: {errors[0]}")
        return [bytes.fromhex(a["result"][2:]) for a in answers]

    def _states(self, pools: Sequence[MarketPool]) -> dict[str, tuple[int, int]]:
        """Reserves, or V3 (sqrtPriceX96, 0), of ``pools`` at the latest block (one batch)."""
        reads = [self._state_read(p) for p in pools]
        states = {}
        for pool, raw in zip(pools, self._call_batch(reads), strict=True):
            if pool.kind in _PRICED_KINDS:
                # V4's slot0 word packs the price in its low 160 bits, like V3's first word.
                states[pool.address] = (int.from_bytes(raw[:32], "big") & (2**160 - 1), 0)
            else:
                r0, r1 = abi_decode(["uint256", "uint256"], raw[:64])
                states[pool.address] = (r0, r1)
        return states

    def _state_read(self, pool: MarketPool) -> tuple[str, str]:
        if pool.kind in V3_KINDS:
            return pool.address, _SLOT0
        if pool.kind == "uniswap_v4":
            slot = keccak(bytes.fromhex(pool.address[2:]) + (6).to_bytes(32, "big"))
            return self.market.dex_of(pool).factory, "0x" + (_EXTSLOAD + slot).hex()
        return pool.address, _GET_RESERVES

    def _zero_for_one(self, price: Fraction | float, reference: Fraction) -> bool:
        """A random direction, leaning back towards the starting price.

        Where nobody closes the gaps the maker opens (a dry run), prices would
        otherwise drift apart for as long as the maker runs.
        """
        drift = math.log(price / reference) if price > 0 and reference > 0 else 0.0
        lean = max(-0.45, min(0.45, drift / 0.04))
        return self.random.random() < 0.5 + lean  # selling token0 lowers the price

    def calls_for(self, pools: Sequence[MarketPool]) -> list[tuple[str, bytes, int]]:
        """The transactions of one block's swaps (each pool at most once)."""
        states = self._states(pools) if pools else {}
        calls: list[tuple[str, bytes, int]] = []
        pair_swaps: list[tuple[MarketPool, str, int, bool]] = []
        for pool in pools:
            if pool.kind in _PRICED_KINDS:
                sqrt_price = states[pool.address][0]
                if sqrt_price == 0:
                    continue
                zero_for_one = self._zero_for_one(
                    Fraction(sqrt_price, Q96) ** 2, pool.reference_price
                )
                if zero_for_one:
                    virtual = pool.liquidity * Q96 // sqrt_price
                else:
                    virtual = pool.liquidity * sqrt_price // Q96
                amount_in = int(virtual * self.random.uniform(0.002, 0.01))
                if amount_in == 0:
                    continue
                if pool.kind == "uniswap_v4":
                    calls.append(self._v4_swap(pool, zero_for_one, amount_in))
                    continue
                data = _V3_SWAP + abi_encode(
                    ["address", "bool", "uint256", "uint160", "address"],
                    [pool.address, zero_for_one, amount_in, 0, self.maker],
                )
                calls.append((self.market.v3_helper, data, V3_SWAP_GAS))
                continue
            r0, r1 = states[pool.address]
            if r0 == 0 or r1 == 0:
                continue
            zero_for_one = self._zero_for_one(Fraction(r1, r0), pool.reference_price)
            reserve_in = r0 if zero_for_one else r1
            amount_in = int(reserve_in * self.random.uniform(0.005, 0.03))
            if amount_in:
                token_in = pool.token0 if zero_for_one else pool.token1
                pair_swaps.append((pool, token_in, amount_in, zero_for_one))
        for (pool, token_in, amount_in, zero_for_one), amount_out in zip(
            pair_swaps, self._amounts_out(pair_swaps, states), strict=True
        ):
            if amount_out == 0:
                continue
            outs = (0, amount_out) if zero_for_one else (amount_out, 0)
            mint = _MINT + abi_encode(["address", "uint256"], [pool.address, amount_in])
            swap = _PAIR_SWAP + abi_encode(
                ["uint256", "uint256", "address", "bytes"], [*outs, self.maker, b""]
            )
            gas = SOLIDLY_SWAP_GAS if pool.kind == "solidly" else PAIR_SWAP_GAS
            calls += [(token_in, mint, MINT_GAS), (pool.address, swap, gas)]
        return calls

    def _v4_swap(
        self, pool: MarketPool, zero_for_one: bool, amount_in: int
    ) -> tuple[str, bytes, int]:
        """An exact-input swap through the DEX's v4-core swap router (hookless pool)."""
        deployment = self.market.dex_of(pool).v4
        assert deployment is not None
        key = (pool.token0, pool.token1, pool.fee, pool.tick_spacing, _ZERO)
        assert pool_id(*key) == pool.address
        limit = _MIN_SQRT_PLUS_ONE if zero_for_one else _MAX_SQRT_MINUS_ONE
        data = _V4_SWAP + abi_encode(
            [
                "(address,address,uint24,int24,address)",
                "(bool,int256,uint160)",
                "(bool,bool)",
                "bytes",
            ],
            [key, (zero_for_one, -amount_in, limit), (False, False), b""],
        )
        return deployment.swap_router, data, V3_SWAP_GAS

    def _amounts_out(
        self,
        swaps: Sequence[tuple[MarketPool, str, int, bool]],
        states: dict[str, tuple[int, int]],
    ) -> list[int]:
        """What each pair swap pays: the V2 formula, or the Solidly pool's own quote."""
        quotes: list[int | None] = []
        solidly: list[tuple[str, str]] = []
        for pool, token_in, amount_in, zero_for_one in swaps:
            if pool.kind == "solidly":
                data = _GET_AMOUNT_OUT + abi_encode(["uint256", "address"], [amount_in, token_in])
                solidly.append((pool.address, "0x" + data.hex()))
                quotes.append(None)
                continue
            r0, r1 = states[pool.address]
            reserve_in, reserve_out = (r0, r1) if zero_for_one else (r1, r0)
            fee_kept = 10_000 - pool.fee // 100
            with_fee = amount_in * fee_kept
            quotes.append(with_fee * reserve_out // (reserve_in * 10_000 + with_fee))
        answers = iter(self._call_batch(solidly) if solidly else [])
        return [q if q is not None else abi_decode(["uint256"], next(answers))[0] for q in quotes]

    def send(self, calls: Sequence[tuple[str, bytes, int]]) -> tuple[set[int], int]:
        """Send ``calls`` in one JSON-RPC batch and wait until they are mined.

        Returns the blocks they landed in and how many reverted. One HTTP
        request per block keeps the maker ahead of the chain even when another
        thread of the process keeps the interpreter busy.
        """
        provider: Any = self.devnet.w3.provider  # an HTTPProvider: it batches
        nonce = self.devnet.w3.eth.get_transaction_count(to_checksum_address(self.maker), "pending")
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

    def step(self, block: int | None = None) -> None:
        """Send one block's swaps and wait until they are mined."""
        chosen = self.random.sample(list(self.market.pools), k=self.per_block)
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
