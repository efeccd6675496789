"""Exact integer swap maths per DEX family: no Django, no web3.

Integers in (token amounts in their smallest unit), frozen dataclasses out,
never floats for amounts. Each family reproduces its contracts to the wei:

- :mod:`trading.amm.uniswap_v2`: ``V2PoolState``, ``get_amount_out``, ``get_amount_in``.
- :mod:`trading.amm.uniswap_v3`: ``V3PoolState``, ``swap``, ``quote_exact_input``,
  ``quote_exact_output`` (on top of :mod:`trading.amm.v3_math`, a port of v3-core's
  libraries).
- :mod:`trading.amm.solidly`: ``SolidlyPoolState`` and Aerodrome's ``getAmountOut``
  for volatile and stable pools.
- :mod:`trading.amm.uniswap_v4`: ``V4PoolState`` (a ``V3PoolState`` named by its
  pool id, with V4's fees and swap step), pool ids and hook permissions.

This package's own API (stable):

- ``PoolState``: the union of the three state types. Every state has
  ``address``, ``token0``, ``token1``, ``block_number``, a ``kind`` string
  (``uniswap_v2``, ``uniswap_v3``, ``uniswap_v4``, ``solidly_volatile``, ``solidly_stable``),
  ``amount_out(token_in, amount_in)`` and ``after_swap(token_in, amount_in)``.
- ``quote(state, token_in, amount_in) -> int``: exact output for any state.
- ``other_token(state, token) -> str``.
- ``pool_holdings(state) -> (amount0, amount1)``: what the pool offers to trade against.
- The exceptions, all subclasses of ``AmmError``: ``InsufficientLiquidity``,
  ``IncompleteTickData``, ``InsufficientInputAmount``, ``ContractRevert``,
  ``UnknownToken``.
"""

from __future__ import annotations

from trading.amm.base import token_index
from trading.amm.errors import (
    AmmError,
    ContractRevert,
    IncompleteTickData,
    InsufficientInputAmount,
    InsufficientLiquidity,
    UnknownToken,
)
from trading.amm.solidly import SolidlyPoolState
from trading.amm.uniswap_v2 import V2PoolState
from trading.amm.uniswap_v3 import V3PoolState, V3SwapResult
from trading.amm.uniswap_v4 import V4PoolState
from trading.amm.v3_math import Q96

type PoolState = V2PoolState | V3PoolState | SolidlyPoolState

POOL_STATE_TYPES = (V2PoolState, V3PoolState, SolidlyPoolState)

__all__ = [
    "POOL_STATE_TYPES",
    "AmmError",
    "ContractRevert",
    "IncompleteTickData",
    "InsufficientInputAmount",
    "InsufficientLiquidity",
    "PoolState",
    "SolidlyPoolState",
    "UnknownToken",
    "V2PoolState",
    "V3PoolState",
    "V3SwapResult",
    "V4PoolState",
    "other_token",
    "pool_holdings",
    "quote",
]


def quote(state: PoolState, token_in: str, amount_in: int) -> int:
    """Exact output of selling ``amount_in`` of ``token_in`` into the pool ``state``.

    Raises an :class:`AmmError` subclass when the pool cannot quote (see the
    family modules); never returns a guess.
    """
    if not isinstance(state, POOL_STATE_TYPES):
        raise TypeError(f"not a pool state: {type(state).__name__}")
    return state.amount_out(token_in, amount_in)


def other_token(state: PoolState, token: str) -> str:
    """The pool's token that is not ``token`` (raises ``UnknownToken`` for a stranger)."""
    return state.token1 if token_index(state.token0, state.token1, token) == 0 else state.token0


def pool_holdings(state: PoolState) -> tuple[int, int]:
    """How much of token0 and token1 a pool offers to trade against.

    V2 and Solidly: the reserves. V3: the virtual reserves of the liquidity
    active at the current price (L/sqrtP and L*sqrtP), which is what a swap
    can use, unlike out-of-range positions.
    """
    if isinstance(state, V2PoolState | SolidlyPoolState):
        return state.reserve0, state.reserve1
    if isinstance(state, V3PoolState):
        if state.sqrt_price_x96 == 0:
            return 0, 0
        return (
            state.liquidity * Q96 // state.sqrt_price_x96,
            state.liquidity * state.sqrt_price_x96 // Q96,
        )
    raise TypeError(f"not a pool state: {type(state).__name__}")
