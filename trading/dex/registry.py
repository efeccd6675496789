"""Which class handles which DEX kind."""

from __future__ import annotations

from trading.dex.base import DexFamily
from trading.dex.pancakeswap_v3 import PancakeSwapV3Family
from trading.dex.slipstream import SlipstreamFamily
from trading.dex.solidly import SolidlyFamily
from trading.dex.uniswap_v2 import UniswapV2Family
from trading.dex.uniswap_v3 import UniswapV3Family

FAMILIES: dict[str, type[DexFamily]] = {
    UniswapV2Family.kind: UniswapV2Family,
    UniswapV3Family.kind: UniswapV3Family,
    SolidlyFamily.kind: SolidlyFamily,
    SlipstreamFamily.kind: SlipstreamFamily,
    PancakeSwapV3Family.kind: PancakeSwapV3Family,
}


def family_class(kind: str) -> type[DexFamily]:
    """The family class for a ``Dex.kind``; a clear error for an unknown kind."""
    try:
        return FAMILIES[kind]
    except KeyError:
        choices = ", ".join(sorted(FAMILIES))
        raise ValueError(f"unknown DEX kind {kind!r}: choose one of {choices}") from None
