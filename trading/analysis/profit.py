"""Profit after gas: the gas a cycle costs, priced in its start token.

Public API (stable):

- ``GasModel`` (frozen): gas units per hop kind (``uniswap_v2``,
  ``uniswap_v3`` plus ``v3_per_tick_crossed``, ``uniswap_v4``, ``solidly_volatile``,
  ``solidly_stable``) and the executor's fixed ``overhead`` (intrinsic
  transaction gas, calldata, flash-loan and transfer logic).
  ``gas_units(sized_cycle)`` adds them up.
- ``evaluate(sized_cycle, gas_price_wei, l1_fee_wei, native_to_start,
  gas_model=DEFAULT_GAS_MODEL) -> Evaluation(gross, gas_cost_start_token, net,
  gas_units, gas_cost_wei)``.
- Prices as exact rationals (:class:`fractions.Fraction`, start-token units per
  unit of the other token): ``spot_price(state, token_in)`` for one pool (no
  fee, no size), ``path_price(steps)`` for a chain of pools. A price of
  ``Fraction(1)`` means the start token is the native token.

The cost of a cycle is ``gas_units * gas_price_wei + l1_fee_wei`` in native
wei (the L1 data fee is what OP-stack chains such as Base add on top). It is
converted to the start token with ``native_to_start``, either a rational
price or a callable ``int -> int``, and rounded up: a cost is never
understated by rounding. ``net = gross - gas_cost_start_token``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from trading.amm import PoolState, SolidlyPoolState, V2PoolState, V3PoolState
from trading.amm.base import token_index
from trading.analysis.sizing import SizedCycle


@dataclass(frozen=True, slots=True)
class GasModel:
    """Gas units per hop kind plus a fixed overhead per executed cycle.

    The defaults are conservative estimates for swaps through an executor
    contract; calibrate them from receipts (``Trade.gas_used``) on the
    network in use.
    """

    overhead: int = 90_000
    uniswap_v2: int = 60_000
    uniswap_v3: int = 100_000
    v3_per_tick_crossed: int = 25_000
    # unlock, swap, settle and take through the PoolManager (ticks as in V3).
    uniswap_v4: int = 130_000
    solidly_volatile: int = 75_000
    solidly_stable: int = 110_000

    def hop_gas(self, kind: str, ticks_crossed: int = 0) -> int:
        """Gas of one hop of ``kind`` (``ticks_crossed`` only matters for V3)."""
        if kind == "uniswap_v2":
            return self.uniswap_v2
        if kind == "uniswap_v3":
            return self.uniswap_v3 + self.v3_per_tick_crossed * ticks_crossed
        if kind == "uniswap_v4":
            return self.uniswap_v4 + self.v3_per_tick_crossed * ticks_crossed
        if kind == "solidly_volatile":
            return self.solidly_volatile
        if kind == "solidly_stable":
            return self.solidly_stable
        raise ValueError(f"unknown hop kind {kind!r}")

    def gas_units(self, sized: SizedCycle) -> int:
        """Total gas of executing ``sized``: the overhead plus every hop."""
        if len(sized.hop_kinds) != len(sized.cycle.hops):
            raise ValueError("the sized cycle does not say what kind each hop is")
        crossed = sized.ticks_crossed or (0,) * len(sized.hop_kinds)
        return self.overhead + sum(
            self.hop_gas(kind, ticks) for kind, ticks in zip(sized.hop_kinds, crossed, strict=True)
        )


DEFAULT_GAS_MODEL = GasModel()


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Gross and net profit of a sized cycle, all in start-token units."""

    gross: int
    gas_cost_start_token: int
    net: int
    gas_units: int = 0
    gas_cost_wei: int = 0

    @property
    def profitable(self) -> bool:
        """True when the profit survives gas."""
        return self.net > 0


type NativeToStart = Fraction | int | Callable[[int], int]


def convert_cost(cost_wei: int, native_to_start: NativeToStart) -> int:
    """A native-token cost in start-token units, rounded up."""
    if callable(native_to_start):
        return int(native_to_start(cost_wei))
    price = Fraction(native_to_start)
    if price < 0:
        raise ValueError("a price cannot be negative")
    # ceil(cost * numerator / denominator) with integers only
    return -(-cost_wei * price.numerator // price.denominator)


def evaluate(
    sized: SizedCycle,
    gas_price_wei: int,
    l1_fee_wei: int = 0,
    native_to_start: NativeToStart = 1,
    gas_model: GasModel = DEFAULT_GAS_MODEL,
) -> Evaluation:
    """Profit of ``sized`` after paying ``gas_price_wei`` per gas plus ``l1_fee_wei``.

    ``native_to_start`` turns native wei into start-token units: a rational
    price (start-token units per native wei, e.g. from :func:`path_price`) or
    a callable that does its own (upward) rounding.
    """
    if gas_price_wei < 0 or l1_fee_wei < 0:
        raise ValueError("gas price and L1 fee cannot be negative")
    units = gas_model.gas_units(sized)
    cost_wei = units * gas_price_wei + l1_fee_wei
    cost = convert_cost(cost_wei, native_to_start)
    return Evaluation(
        gross=sized.gross_profit,
        gas_cost_start_token=cost,
        net=sized.gross_profit - cost,
        gas_units=units,
        gas_cost_wei=cost_wei,
    )


def spot_price(state: PoolState, token_in: str) -> Fraction:
    """Marginal price of ``token_in`` in the pool's other token (raw units, no fee).

    V2 and volatile Solidly: the reserve ratio. V3: ``sqrtPriceX96**2 / 2**192``
    (token1 per token0). Stable Solidly: the slope of x3y+y3x at the reserves,
    on 1e18-normalised amounts.
    """
    idx = token_index(state.token0, state.token1, token_in)
    if isinstance(state, V3PoolState):
        token1_per_token0 = Fraction(state.sqrt_price_x96**2, 1 << 192)
        return token1_per_token0 if idx == 0 else 1 / token1_per_token0
    if isinstance(state, V2PoolState) or (isinstance(state, SolidlyPoolState) and not state.stable):
        if state.reserve0 <= 0 or state.reserve1 <= 0:
            raise ValueError(f"pool {state.address} is empty")
        token1_per_token0 = Fraction(state.reserve1, state.reserve0)
        return token1_per_token0 if idx == 0 else 1 / token1_per_token0
    if isinstance(state, SolidlyPoolState):
        x = Fraction(state.reserve0, 10**state.decimals0)
        y = Fraction(state.reserve1, 10**state.decimals1)
        if x <= 0 or y <= 0:
            raise ValueError(f"pool {state.address} is empty")
        # -dy/dx on x^3*y + y^3*x = k, in whole tokens, then back to raw units
        whole1_per_whole0 = (3 * x * x * y + y**3) / (x**3 + 3 * x * y * y)
        token1_per_token0 = whole1_per_whole0 * Fraction(10**state.decimals1, 10**state.decimals0)
        return token1_per_token0 if idx == 0 else 1 / token1_per_token0
    raise TypeError(f"not a pool state: {type(state).__name__}")


def path_price(steps: Iterable[tuple[PoolState, str]]) -> Fraction:
    """Product of spot prices along ``(pool, token_in)`` steps.

    ``path_price([(weth_usdc_pool, WETH)])`` is USDC units per WETH wei, the
    rational to pass as ``native_to_start`` for cycles that start in USDC.
    An empty path is 1 (the start token is the native token).
    """
    price = Fraction(1)
    for state, token_in in steps:
        price *= spot_price(state, token_in)
    return price
