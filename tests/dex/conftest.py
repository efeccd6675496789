"""Helpers for DEX tests: small fresh markets deployed inside each test's snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from trading.devchain.devnet import (
    V3_TICK_SPACING,
    Devnet,
    SolidlyDeployment,
    SolidlyPool,
    TokenInfo,
    V2Deployment,
    V2Pair,
    V3Deployment,
    V3Pool,
    nearest_usable_tick,
    sqrt_price_x96_for,
)
from trading.dex.base import DexInfo, PoolSpec


@dataclass
class FreshMarket:
    tokens: list[TokenInfo]
    v2: V2Deployment
    v2_pairs: list[V2Pair]
    v3: V3Deployment
    v3_pools: list[V3Pool]
    solidly: SolidlyDeployment
    solidly_pools: list[SolidlyPool]

    def dex_infos(self) -> dict[str, DexInfo]:
        return {
            "uniswap_v2": DexInfo("Fresh V2", "uniswap_v2", self.v2.factory, 30),
            "uniswap_v3": DexInfo("Fresh V3", "uniswap_v3", self.v3.factory),
            "solidly": DexInfo("Fresh Solidly", "solidly", self.solidly.factory),
        }

    def specs(self) -> list[PoolSpec]:
        decimals = {t.address: t.decimals or 18 for t in self.tokens}
        out = [
            PoolSpec(
                p.address,
                "uniswap_v2",
                p.token0,
                p.token1,
                3000,
                decimals[p.token0],
                decimals[p.token1],
            )
            for p in self.v2_pairs
        ]
        out += [
            PoolSpec(
                p.address,
                "uniswap_v3",
                p.token0,
                p.token1,
                p.fee,
                decimals[p.token0],
                decimals[p.token1],
                tick_spacing=p.tick_spacing,
            )
            for p in self.v3_pools
        ]
        out += [
            PoolSpec(
                p.address,
                "solidly",
                p.token0,
                p.token1,
                500 if p.stable else 3000,
                decimals[p.token0],
                decimals[p.token1],
                stable=p.stable,
            )
            for p in self.solidly_pools
        ]
        return out


def deploy_fresh_market(devnet: Devnet, n_tokens: int = 4) -> FreshMarket:
    """Tokens of 18 decimals, every pair on V2, a few V3 pools and Solidly pools."""
    tokens = devnet.deploy_tokens([f"T{i}" for i in range(n_tokens)])
    pairs = [(a, b) for i, a in enumerate(tokens) for b in tokens[i + 1 :]]
    v2 = devnet.deploy_uniswap_v2()
    v2_pairs = devnet.create_v2_pairs(
        v2,
        [
            (a.address, b.address, (10 + i) * 10**21, (20 + i) * 10**21)
            for i, (a, b) in enumerate(pairs)
        ],
    )
    v3 = devnet.deploy_uniswap_v3()
    specs = []
    for i, (a, b) in enumerate(pairs[:3]):
        fee = (500, 3000, 10000)[i % 3]
        spacing = V3_TICK_SPACING[fee]
        centre = nearest_usable_tick(0, spacing)
        positions = [
            (centre - 4 * spacing, centre + 4 * spacing, 10**22),
            (centre - 40 * spacing, centre + 30 * spacing, 10**21),
            (nearest_usable_tick(-887272, spacing), nearest_usable_tick(887272, spacing), 10**20),
        ]
        specs.append((a.address, b.address, fee, sqrt_price_x96_for(1), positions))
    v3_pools = devnet.create_v3_pools(v3, specs)
    solidly = devnet.deploy_solidly()
    solidly_pools = devnet.create_solidly_pools(
        solidly,
        [
            (pairs[0][0].address, pairs[0][1].address, False, 10**22, 3 * 10**22),
            (pairs[1][0].address, pairs[1][1].address, True, 10**24, 10**24),
        ],
    )
    return FreshMarket(tokens, v2, v2_pairs, v3, v3_pools, solidly, solidly_pools)
