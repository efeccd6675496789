"""Ask a DEX's factory whether a pool is really its pool.

A pool address can come from anywhere: typed into the admin, or named in a
route. The factory is the authority: ``getPair(a, b)`` for the V2 family,
``getPool(a, b, fee)`` for V3 and PancakeSwap V3, ``getPool(a, b, tickSpacing)``
for Slipstream, ``getPool(a, b, stable)`` for Solidly. A pool
the factory does not name is refused before any trade goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector


class _Requester(Protocol):
    async def request(self, method: str, params: list[object] | None = None) -> object: ...


@dataclass(frozen=True)
class PoolClaim:
    """What a pool row says about itself."""

    address: str
    kind: str  # the Dex kind
    factory: str
    token0: str
    token1: str
    fee: int = 0  # pips; the V3 fee tier
    stable: bool = False  # Solidly curve
    tick_spacing: int | None = None  # Slipstream keys pools by tick spacing


_GET_PAIR = function_signature_to_4byte_selector("getPair(address,address)")
_GET_POOL_V3 = function_signature_to_4byte_selector("getPool(address,address,uint24)")
_GET_POOL_SOLIDLY = function_signature_to_4byte_selector("getPool(address,address,bool)")
_GET_POOL_SLIPSTREAM = function_signature_to_4byte_selector("getPool(address,address,int24)")


class UnsupportedKind(ValueError):
    """No factory lookup is known for this DEX kind."""


def lookup_calldata(claim: PoolClaim) -> bytes:
    """The factory call that names the pool for ``claim``'s tokens and parameters."""
    tokens = [claim.token0, claim.token1]
    if claim.kind == "uniswap_v2":
        return _GET_PAIR + encode(["address", "address"], tokens)
    if claim.kind in ("uniswap_v3", "pancakeswap_v3"):
        return _GET_POOL_V3 + encode(["address", "address", "uint24"], [*tokens, claim.fee])
    if claim.kind == "solidly":
        return _GET_POOL_SOLIDLY + encode(["address", "address", "bool"], [*tokens, claim.stable])
    if claim.kind == "slipstream" and claim.tick_spacing:
        return _GET_POOL_SLIPSTREAM + encode(
            ["address", "address", "int24"], [*tokens, claim.tick_spacing]
        )
    raise UnsupportedKind(f"no factory lookup for DEX kind {claim.kind!r}")


async def factory_names(client: _Requester, claim: PoolClaim) -> bool:
    """True when the factory names ``claim.address`` as its pool for those tokens."""
    data = "0x" + lookup_calldata(claim).hex()
    answer = await client.request("eth_call", [{"to": claim.factory, "data": data}, "latest"])
    if not isinstance(answer, str) or len(answer) < 66:
        return False
    (named,) = decode(["address"], bytes.fromhex(answer[2:]))
    return str(named).lower() == claim.address.lower()
