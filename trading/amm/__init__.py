"""Exact integer swap maths per DEX family: no Django, no web3.

Integers in (token amounts in their smallest unit), frozen dataclasses out,
never floats for amounts. Each family reproduces its contracts to the wei:

- :mod:`trading.amm.uniswap_v2`: ``V2PoolState``, ``get_amount_out``, ``get_amount_in``.
- :mod:`trading.amm.uniswap_v3`: ``V3PoolState``, ``swap``, ``quote_exact_input``,
  ``quote_exact_output`` (on top of :mod:`trading.amm.v3_math`, a port of v3-core's
  libraries).
- :mod:`trading.amm.solidly`: ``SolidlyPoolState`` and Aerodrome's ``getAmountOut``
  for volatile and stable pools.

This package's own API (stable):

- ``PoolState``: the union of the three state types. Every state has
  ``address``, ``token0``, ``token1``, ``block_number``, a ``kind`` string
  (``uniswap_v2``, ``uniswap_v3``, ``solidly_volatile``, ``solidly_stable``),
  ``amount_out(token_in, amount_in)`` and ``after_swap(token_in, amount_in)``.
- ``quote(state, token_in, amount_in) -> int``: exact output for any state.
- ``other_token(state, token) -> str``.
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
    "other_token",
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
