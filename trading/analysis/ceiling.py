"""The profit ceiling: an exact upper bound of what a cycle can pay, without a quote.

Every family's output is concave in its input (the price only worsens as it
moves) and rounds down, so the marginal rate at the current price, fee
included, bounds each hop by a line ``out(x) <= slope * x + slack``. The
hops' lines compose into one for the cycle: when the pools' marginal prices
after fees multiply to at most 1 (the usual case in a market that is roughly
in line) nothing can pay, and most cycles are ruled out this way.

Public API: ``hop_ceiling(state, token_in) -> (slope, slack)``,
``profit_ceiling(cycle, states, max_amount_in, lines=None) -> Fraction`` and
``ceiling_ratio`` (the same bound as an integer ratio, for the hot path);
``Line`` is a hop's line in integers, cached across the cycles of a block.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from trading.amm import PoolState, SolidlyPoolState, V3PoolState
from trading.amm.base import token_index
from trading.analysis.cycles import Cycle
from trading.analysis.profit import spot_price

BPS = 10_000

type Ceiling = tuple[Fraction, Fraction]

# A hop line as integers, (slope num, slope den, slack num, slack den): composing them
# needs no gcd, which is what makes ruling out hundreds of thousands of cycles cheap.
type Line = tuple[int, int, int, int]


def hop_ceiling(state: PoolState, token_in: str) -> Ceiling:
    """``(slope, slack)`` with ``out(x) <= slope * x + slack`` for every input ``x``.

    V2: ``(1 - fee) * r_out / r_in``; V3: the pool price times ``(1 - fee)``.
    Solidly rounds the fee down, keeping up to one unit more than
    ``(1 - fee) * x``: that unit's worth is the slack (and two more output
    units for the stable curve's Newton rounding).
    """
    index = token_index(state.token0, state.token1, token_in)
    if isinstance(state, V3PoolState):
        if state.sqrt_price_x96 == 0:
            return Fraction(0), Fraction(0)
        keep = Fraction(1_000_000 - state.fee, 1_000_000)
        return spot_price(state, token_in) * keep, Fraction(0)
    reserve_in, reserve_out = (
        (state.reserve0, state.reserve1) if index == 0 else (state.reserve1, state.reserve0)
    )
    if reserve_in <= 0 or reserve_out <= 0:
        return Fraction(0), Fraction(0)  # an empty pool pays nothing (it cannot quote)
    keep = Fraction(BPS - state.fee_bps, BPS)
    if isinstance(state, SolidlyPoolState):
        rate = spot_price(state, token_in) if state.stable else Fraction(reserve_out, reserve_in)
        return rate * keep, rate + (2 if state.stable else 0)
    return Fraction(reserve_out, reserve_in) * keep, Fraction(0)


def hop_line(state: PoolState, token_in: str) -> Line:
    """:func:`hop_ceiling` as integers."""
    slope, slack = hop_ceiling(state, token_in)
    return slope.numerator, slope.denominator, slack.numerator, slack.denominator


def ceiling_ratio(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    lines: dict[tuple[str, str], Line] | None = None,
) -> tuple[int, int]:
    """The profit ceiling as ``(numerator, denominator)``, denominator positive."""
    a, b, c, d = 1, 1, 0, 1  # out(x) <= (a/b) x + c/d
    for hop in cycle.hops:
        key = (hop.pool, hop.token_in)
        line = lines.get(key) if lines is not None else None
        if line is None:
            line = hop_line(states[hop.pool], hop.token_in)
            if lines is not None:
                lines[key] = line
        p, q, r, t = line
        # (a/b x + c/d) * p/q + r/t
        if r == 0:
            a, b, c, d = a * p, b * q, c * p, d * q
        elif c == 0:
            a, b, c, d = a * p, b * q, r, t
        else:
            a, b, c, d = a * p, b * q, c * p * t + r * d * q, d * q * t
    x = max_amount_in if a > b else 1
    # (a/b - 1) x + c/d over the common denominator b*d
    return (a - b) * x * d + c * b, b * d


def profit_ceiling(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    lines: dict[tuple[str, str], Line] | None = None,
) -> Fraction:
    """An upper bound of the cycle's gross profit for any input in ``[1, max_amount_in]``.

    ``lines`` caches the hop lines across cycles (the states must not change
    while it is used).
    """
    numerator, denominator = ceiling_ratio(cycle, states, max_amount_in, lines)
    return Fraction(numerator, denominator)
