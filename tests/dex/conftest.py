"""Helpers for DEX tests: small fresh markets deployed inside each test's snapshot."""

from __future__ import annotations

from fractions import Fraction

from trading.devchain.devnet import Devnet
from trading.devchain.market import DexPlan, Market, PoolPlan, Position, TokenPlan, build_market

FRESH_DEXES = (
    DexPlan("Fresh V2", "uniswap_v2", 30),
    DexPlan("Fresh V3", "uniswap_v3"),
    DexPlan("Fresh Solidly", "solidly"),
)
_V3_POSITIONS = (Position(4, 4, 10**22), Position(40, 30, 10**21), Position(None, None, 10**20))


def deploy_fresh_market(devnet: Devnet, n_tokens: int = 4) -> Market:
    """Tokens of 18 decimals, every pair on V2, a few V3 pools and Solidly pools."""
    symbols = [f"T{i}" for i in range(n_tokens)]
    pairs = [(a, b) for i, a in enumerate(symbols) for b in symbols[i + 1 :]]
    pools = [
        PoolPlan("Fresh V2", a, b, (10 + i) * 10**3, gap=Fraction(20 + i, 10 + i))
        for i, (a, b) in enumerate(pairs)
    ]
    pools += [
        PoolPlan("Fresh V3", a, b, 0, fee=(500, 3000, 10000)[i], positions=_V3_POSITIONS)
        for i, (a, b) in enumerate(pairs[:3])
    ]
    pools += [
        PoolPlan("Fresh Solidly", *pairs[0], 10**4, gap=3),
        PoolPlan("Fresh Solidly", *pairs[1], 10**6, stable=True),
    ]
    return build_market(devnet, [TokenPlan(s) for s in symbols], FRESH_DEXES, pools)


_V4_POSITIONS = (Position(4, 4, 10**21), Position(40, 30, 10**20), Position(None, None, 10**19))


def deploy_v4_market(devnet: Devnet) -> Market:
    """Three hookless V4 pools (three fees and spacings) next to V2 pairs of the same tokens."""
    symbols = ["A", "B", "C"]
    dexes = (DexPlan("V2", "uniswap_v2", 30), DexPlan("V4", "uniswap_v4"))
    pools = [
        PoolPlan("V2", "A", "B", 10**5),
        PoolPlan("V2", "B", "C", 10**5),
        PoolPlan("V4", "A", "B", 0, Fraction(101, 100), 500, positions=_V4_POSITIONS),
        PoolPlan("V4", "B", "C", 0, Fraction(99, 100), 3000, positions=_V4_POSITIONS),
        PoolPlan("V4", "A", "C", 0, 1, 2500, positions=_V4_POSITIONS, tick_spacing=25),
    ]
    return build_market(devnet, [TokenPlan(s) for s in symbols], dexes, pools)
