"""Ask a DEX's factory whether a pool is really its pool.

A pool address can come from anywhere: typed into the admin, or named in a
route. The factory is the authority: ``getPair(a, b)`` for the V2 family,
``getPool(a, b, fee)`` for V3 and PancakeSwap V3, ``getPool(a, b, tickSpacing)``
for Slipstream, ``getPool(a, b, stable)`` for Solidly. A pool
the factory does not name is refused before any trade goes through it.

A Uniswap V4 pool has no address: its "address" is its pool id, which must be
the keccak of its key (currencies, fee, tick spacing, hooks), and the
PoolManager (the DEX's factory) must hold an initialized pool under that id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from trading.amm.uniswap_v4 import DYNAMIC_FEE_FLAG, pool_id


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
    tick_spacing: int | None = None  # Slipstream keys pools by tick spacing; so does V4
    # Uniswap V4: the rest of the pool key.
    hooks: str = "0x0000000000000000000000000000000000000000"
    dynamic_fee: bool = False


_GET_PAIR = function_signature_to_4byte_selector("getPair(address,address)")
_GET_POOL_V3 = function_signature_to_4byte_selector("getPool(address,address,uint24)")
_GET_POOL_SOLIDLY = function_signature_to_4byte_selector("getPool(address,address,bool)")
_GET_POOL_SLIPSTREAM = function_signature_to_4byte_selector("getPool(address,address,int24)")
_EXTSLOAD = function_signature_to_4byte_selector("extsload(bytes32)")
# PoolManager storage: mapping(PoolId => Pool.State) _pools sits in slot 6.
_V4_POOLS_SLOT = 6
_MASK160 = (1 << 160) - 1


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
    if claim.kind == "uniswap_v4":
        # slot0 of the pool's state: zero until the pool is initialized.
        key_id = bytes.fromhex(v4_key_id(claim)[2:])
        return _EXTSLOAD + keccak(key_id + _V4_POOLS_SLOT.to_bytes(32, "big"))
    raise UnsupportedKind(f"no factory lookup for DEX kind {claim.kind!r}")


def v4_key_id(claim: PoolClaim) -> str:
    """The pool id that ``claim``'s V4 key hashes to."""
    fee = DYNAMIC_FEE_FLAG if claim.dynamic_fee else claim.fee
    return pool_id(claim.token0, claim.token1, fee, claim.tick_spacing or 0, claim.hooks)


async def factory_names(client: _Requester, claim: PoolClaim) -> bool:
    """True when the factory names ``claim.address`` as its pool for those tokens."""
    if claim.kind == "uniswap_v4" and v4_key_id(claim) != claim.address.lower():
        return False
    data = "0x" + lookup_calldata(claim).hex()
    answer = await client.request("eth_call", [{"to": claim.factory, "data": data}, "latest"])
    if not isinstance(answer, str) or len(answer) < 66:
        return False
    if claim.kind == "uniswap_v4":
        return int(answer[2:66], 16) & _MASK160 != 0  # a price: initialized
    (named,) = decode(["address"], bytes.fromhex(answer[2:]))
    return str(named).lower() == claim.address.lower()
