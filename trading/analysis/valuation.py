"""Profit after gas, and what it is worth in the native currency and in US dollars (pure).

A row records two reference prices at the block it was seen, as exact integers:

- ``native_price``: smallest units of the start token one whole native coin
  (``10**18`` wei) was worth, at the pools' spot prices;
- ``native_usd_price``: millionths of a US dollar one whole native coin was
  worth, from the reference native/stablecoin pool.

Stored with the row, they keep its history fixed whatever prices do later.
Everything here is exact integer or ``Fraction`` maths: conversions for
display round toward zero, a cost converted into the start token rounds up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from trading.amm import PoolState
from trading.analysis.evaluation import native_prices
from trading.analysis.profit import spot_price

NATIVE_DECIMALS = 18
NATIVE_UNIT: int = 10**NATIVE_DECIMALS
USD_DECIMALS = 6
USD_UNIT: int = 10**USD_DECIMALS


def price_per_native_coin(native_to_start: Fraction) -> int:
    """Start-token smallest units per whole native coin, from units per wei (rounded down)."""
    return int(native_to_start * NATIVE_UNIT)


def usd_per_native_coin(stable_per_wei: Fraction, stable_decimals: int) -> int:
    """Millionths of a dollar per whole native coin, from stablecoin units per wei."""
    return int(stable_per_wei * NATIVE_UNIT * USD_UNIT / 10**stable_decimals)


def reference_usd_price(
    states: Iterable[PoolState],
    native: str | None,
    stable: str | None,
    stable_decimals: int,
    pool: str | None = None,
) -> int | None:
    """Millionths of a dollar per native coin at these pool states, or None.

    ``pool`` (an address) is the operator's chosen native/stablecoin pool;
    without it, or when it is not among ``states``, the deepest pool pairing
    the native token with ``stable`` gives the price.
    """
    if native is None or stable is None:
        return None
    states = list(states)
    if pool is not None:
        wanted = pool.lower()
        for state in states:
            if state.address.lower() == wanted and {native, stable} == {
                state.token0,
                state.token1,
            }:
                try:
                    return usd_per_native_coin(spot_price(state, native), stable_decimals)
                except (ValueError, ZeroDivisionError):
                    break  # empty: fall back to the deepest pool
    price = native_prices(states, native, [stable]).get(stable)
    return None if price is None else usd_per_native_coin(price, stable_decimals)


def gas_in_start_token(gas_cost_wei: int, native_price: int) -> int:
    """A gas cost in native wei, in start-token smallest units (rounded up: a cost)."""
    return -((-gas_cost_wei * native_price) // NATIVE_UNIT)


def net_after_gas(
    realized_profit: int | None, gas_cost_wei: int | None, native_price: int | None
) -> int | None:
    """Realized profit minus gas, in start-token units; None when gas has no price.

    A trade that earned nothing (reverted, failed) counts zero profit, so its
    net is the gas it burned, negative.
    """
    gas = gas_cost_wei or 0
    if not gas:
        return realized_profit or 0
    if not native_price:
        return None
    return (realized_profit or 0) - gas_in_start_token(gas, native_price)


@dataclass(frozen=True)
class NetValue:
    """One amount in its start token, in native wei and in millionths of a dollar."""

    start: int
    native_wei: int | None
    usd_micros: int | None


def to_native_wei(amount: int, native_price: int | None) -> int | None:
    """Start-token smallest units in native wei (rounded toward zero), None without a price."""
    if not native_price:
        return None
    return int(Fraction(amount * NATIVE_UNIT, native_price))


def to_usd_micros(native_wei: int | None, native_usd_price: int | None) -> int | None:
    """Native wei in millionths of a dollar (rounded toward zero), None without a price."""
    if native_wei is None or native_usd_price is None:
        return None
    return int(Fraction(native_wei * native_usd_price, NATIVE_UNIT))


def value_of(amount: int, native_price: int | None, native_usd_price: int | None) -> NetValue:
    """``amount`` of a start token in all three currencies, at a row's stored prices."""
    native = to_native_wei(amount, native_price)
    return NetValue(amount, native, to_usd_micros(native, native_usd_price))


__all__ = [
    "NATIVE_DECIMALS",
    "NATIVE_UNIT",
    "USD_DECIMALS",
    "USD_UNIT",
    "NetValue",
    "gas_in_start_token",
    "net_after_gas",
    "price_per_native_coin",
    "reference_usd_price",
    "to_native_wei",
    "to_usd_micros",
    "usd_per_native_coin",
    "value_of",
]
