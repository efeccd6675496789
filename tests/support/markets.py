"""A deployed dev-chain market as the DEX layer is told about it."""

from __future__ import annotations

from trading.devchain.market import Market
from trading.dex.base import DexInfo, PoolSpec


def dex_infos(market: Market) -> dict[str, DexInfo]:
    """The market's DEXs by kind, as the DEX families are told about them."""
    return {
        d.kind: DexInfo(d.name, d.kind, d.factory, d.fee_bps or 30) for d in market.dexes.values()
    }


def pool_specs(market: Market) -> list[PoolSpec]:
    """Every pool of the market as the DEX manager is told about it."""
    return [
        PoolSpec(
            p.address,
            p.kind,
            p.token0,
            p.token1,
            p.fee,
            market.decimals(p.token0),
            market.decimals(p.token1),
            tick_spacing=p.tick_spacing or None,
            stable=p.stable,
            dex=p.dex,
            # A V4 pool (``address`` is its id) lives in its DEX's PoolManager.
            manager=market.dexes[p.dex].factory if p.kind == "uniswap_v4" else "",
        )
        for p in market.pools
    ]
