"""Optimal input size of an arbitrage cycle, on the exact integer quotes.

Public API (stable):

- ``SizedCycle`` (frozen): ``cycle, amount_in, amount_out, gross_profit,
  hop_amounts`` (the output of each hop, in swap order, so
  ``hop_amounts[-1] == amount_out``), plus ``hop_kinds`` and
  ``ticks_crossed`` (per hop) for the gas model.
- ``size_cycle(cycle, states, max_amount_in, min_profit=1) -> SizedCycle | None``:
  the closed form when every hop is a constant-product pool (Uniswap V2 or a
  volatile Solidly pool), a bounded search otherwise.
- ``simulate(cycle, states, amount_in) -> tuple[int, ...]``: the exact hop
  outputs (raises :class:`~trading.amm.errors.AmmError` when a pool cannot
  quote).
- ``closed_form_optimum(...)``, ``local_optimum(...)``, ``search_optimum(...)``:
  the strategies, for callers that want one of them.

``states`` maps pool address to a :data:`~trading.amm.PoolState`.

The closed form
---------------

A constant-product hop with reserves ``R_in``, ``R_out`` and a fee of ``f``
basis points pays, before rounding, ``out = a*x / (b + c*x)`` with
``a = (10000 - f) * R_out``, ``b = 10000 * R_in``, ``c = 10000 - f``.
Feeding one hop into the next keeps that shape::

    y = a1*x / (b1 + c1*x),  z = a2*y / (b2 + c2*y)
    =>  z = a1*a2*x / (b1*b2 + (c1*b2 + a1*c2)*x)
    i.e. a = a1*a2,  b = b1*b2,  c = c1*b2 + a1*c2

(these are the 2x2 matrices ``[[a, 0], [c, b]]`` of Moebius maps, multiplied).
The profit ``P(x) = a*x/(b + c*x) - x`` has ``P'(x) = a*b/(b + c*x)**2 - 1``,
zero at ``(b + c*x)**2 = a*b``, so::

    x* = (isqrt(a*b) - b) // c        (a cycle pays only if a > b)

The floors in each hop make the exact profit a step function a few units
below that curve, so the exact optimum can sit hundreds of units away from
``x*`` in small pools. The curve bounds the exact profit from above, so every
input that could beat the best exact profit ``T`` found so far satisfies
``P(x) >= T + 1``: a quadratic ``c*x**2 + (b + c*(T+1) - a)*x + b*(T+1) <= 0``
whose integer roots bound the window to search. A window of up to
``EXHAUSTIVE_WINDOW`` inputs is walked outward from ``x*`` until the bound
cannot win any more, which finds the exact optimum. A wider window means a
flat top: only ``NEIGHBOURHOOD`` inputs either side of ``x*`` are checked,
and the result is then within the rounding granularity (the value of one
smallest unit of an intermediate token) of the exact optimum.

A Solidly hop takes its fee as ``x - x*f//10000``, which rounds the kept
input up, not down; its bound is the Moebius map ``((10000-f)*x + 10000)*R_out
/ (10000*R_in + 10000 + (10000-f)*x)`` (the kept input plus one unit), and
maps with a constant term compose the same way (2x2 matrix products).

Local closed forms (V3)
-----------------------

Within its current tick range a V3 pool is a constant-product pool on its
virtual reserves (``L/sqrtP`` and ``L*sqrtP``), so around any input ``x``
every hop continues along a map ``out(x + d) ~ out(x) + Y*k*d / (X + k*d)``
(``X``, ``Y``: the reserves after the swap, ``k``: the share the fee keeps)
and the cycle along their composition, one Moebius map. Its optimum is a
closed-form step (``d* = (sqrt(slope) - 1) / curvature``); an exact
evaluation at the new input gives the next map (a tick crossed changes the
piece), and the slope's sign there shrinks a bracket around the optimum.
Within a piece the model is the exact curve up to rounding, so two or three
exact evaluations usually settle it; a step that leaves the bracket bisects
it instead, and inputs a pool cannot quote shrink it from above. The floats
only propose inputs: every number kept comes from the exact integer quotes.

The search
----------

Cycles with a stable leg (or a family with no local form) have no closed form. Their exact profit is
concave up to rounding (each hop's output is concave in its input), so: a
geometric grid from ``max_amount_in`` down to 1 (factor 4), then a
golden-section search between the best grid point's neighbours until the
bracket is within ``1e-6`` of the input (a flat top: finer does not pay), and
a last look at the few integers around the best. An input at which a pool
cannot quote (``InsufficientLiquidity``, ``IncompleteTickData``, a revert)
counts as unusable, never as a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import isqrt, sqrt

from trading.amm import (
    AmmError,
    InsufficientLiquidity,
    PoolState,
    SolidlyPoolState,
    V2PoolState,
    V3PoolState,
)
from trading.amm.base import token_index
from trading.amm.uniswap_v3 import quote_exact_output
from trading.amm.v3_math import Q96
from trading.analysis.cycles import Cycle

BPS = 10_000
EXHAUSTIVE_WINDOW = 4096  # closed form: search windows up to this wide completely
NEIGHBOURHOOD = 8  # closed form: integers checked either side of x* in a wide window
GRID_FACTOR = 4
LOCAL_STEPS = 24  # local closed forms: exact evaluations at most (usually 2-4)
LOCAL_TOLERANCE = 1_000_000  # local closed forms: stop when the bracket is < input / this
_PIPS = 1_000_000
RELATIVE_TOLERANCE = 1_000_000  # search: stop when the bracket is < input / this
_INV_PHI = (5**0.5 - 1) / 2  # only positions probes; amounts stay integers


@dataclass(frozen=True, slots=True)
class SizedCycle:
    """A cycle with the input that maximises its gross profit, and what each hop pays."""

    cycle: Cycle
    amount_in: int
    amount_out: int
    gross_profit: int
    hop_amounts: tuple[int, ...]
    hop_kinds: tuple[str, ...] = ()
    ticks_crossed: tuple[int, ...] = ()


def _state_for(states: Mapping[str, PoolState], pool: str) -> PoolState:
    try:
        return states[pool]
    except KeyError:
        raise ValueError(f"no state for pool {pool}") from None


def _hop(state: PoolState, token_in: str, amount: int) -> tuple[int, int]:
    """(output, initialized ticks crossed) of one exact hop."""
    if isinstance(state, V3PoolState):
        used, out, _, _, crossed = state.quote_no_tick(token_in, amount)
        if used != amount:
            # the pool runs out of range: the real swap would take less than offered
            raise InsufficientLiquidity(f"V3 pool {state.address} cannot take {amount}")
        return out, crossed
    return state.amount_out(token_in, amount), 0


def simulate(cycle: Cycle, states: Mapping[str, PoolState], amount_in: int) -> tuple[int, ...]:
    """Exact output of each hop for ``amount_in`` of the start token.

    Raises an ``AmmError`` when a pool cannot quote; a hop that pays 0 ends
    the chain with zeros (nothing to sell further).
    """
    amounts = []
    amount = amount_in
    for hop in cycle.hops:
        amount = 0 if amount <= 0 else _hop(_state_for(states, hop.pool), hop.token_in, amount)[0]
        amounts.append(amount)
    return tuple(amounts)


def _profit(cycle: Cycle, states: Mapping[str, PoolState], amount_in: int) -> int | None:
    """Exact gross profit, or None when the input is unusable."""
    try:
        return simulate(cycle, states, amount_in)[-1] - amount_in
    except AmmError:
        return None


def _sized(cycle: Cycle, states: Mapping[str, PoolState], amount_in: int) -> SizedCycle:
    amounts: list[int] = []
    crossed: list[int] = []
    kinds: list[str] = []
    amount = amount_in
    for hop in cycle.hops:
        state = _state_for(states, hop.pool)
        out, ticks = _hop(state, hop.token_in, amount) if amount > 0 else (0, 0)
        amounts.append(out)
        crossed.append(ticks)
        kinds.append(state.kind)
        amount = out
    return SizedCycle(
        cycle=cycle,
        amount_in=amount_in,
        amount_out=amount,
        gross_profit=amount - amount_in,
        hop_amounts=tuple(amounts),
        hop_kinds=tuple(kinds),
        ticks_crossed=tuple(crossed),
    )


# ------------------------------------------------------------------------ closed form

Moebius = tuple[
    int, int, int, int
]  # (alpha, beta, gamma, delta): (alpha*x + beta)/(gamma*x + delta)


def has_closed_form(cycle: Cycle, states: Mapping[str, PoolState]) -> bool:
    """True when every hop is a constant-product pool (V2 or volatile Solidly)."""
    for hop in cycle.hops:
        state = _state_for(states, hop.pool)
        if isinstance(state, V2PoolState):
            continue
        if isinstance(state, SolidlyPoolState) and not state.stable:
            continue
        return False
    return True


def hop_bound(state: PoolState, token_in: str) -> Moebius:
    """The hop's output as a Moebius map that is never below the exact output.

    For a V2 pool this is the exact pre-floor curve ``a*x/(b + c*x)``.
    """
    idx = token_index(state.token0, state.token1, token_in)
    if isinstance(state, V2PoolState):
        r_in, r_out = (
            (state.reserve0, state.reserve1) if idx == 0 else (state.reserve1, state.reserve0)
        )
        keep = BPS - state.fee_bps
        return keep * r_out, 0, keep, BPS * r_in
    if isinstance(state, SolidlyPoolState) and not state.stable:
        r_in, r_out = (
            (state.reserve0, state.reserve1) if idx == 0 else (state.reserve1, state.reserve0)
        )
        keep = BPS - state.fee_bps
        # kept input <= (keep*x + BPS) / BPS: one unit more than the unrounded fee
        return keep * r_out, BPS * r_out, keep, BPS * r_in + BPS
    raise TypeError(f"{state.kind} pools have no closed form")


def compose(first: Moebius, second: Moebius) -> Moebius:
    """The map ``second(first(x))`` (a 2x2 matrix product)."""
    a1, b1, c1, d1 = first
    a2, b2, c2, d2 = second
    return a2 * a1 + b2 * c1, a2 * b1 + b2 * d1, c2 * a1 + d2 * c1, c2 * b1 + d2 * d1


def cycle_bound(cycle: Cycle, states: Mapping[str, PoolState]) -> Moebius:
    """The composed map of the whole cycle (start token in, start token out)."""
    total: Moebius = (1, 0, 0, 1)
    for hop in cycle.hops:
        total = compose(total, hop_bound(_state_for(states, hop.pool), hop.token_in))
    return total


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def profit_window(bound: Moebius, target: int) -> tuple[int, int] | None:
    """Integer inputs ``x >= 0`` where the bound's profit ``(alpha*x+beta)/(gamma*x+delta) - x``
    reaches ``target``; None if there are none.

    Solves ``gamma*x**2 + (delta + gamma*target - alpha)*x + (delta*target - beta) <= 0``.
    """
    alpha, beta, gamma, delta = bound
    qa = gamma
    qb = delta + gamma * target - alpha
    qc = delta * target - beta
    disc = qb * qb - 4 * qa * qc
    if disc < 0 or qa <= 0:
        return None
    root = isqrt(disc)
    # widen by one on each side: the integer square root rounds down
    lo = max(0, (-qb - root - 1) // (2 * qa))
    hi = _ceil_div(-qb + root + 1, 2 * qa)
    if hi < lo or hi < 0:
        return None
    return lo, hi


def closed_form_optimum(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    min_profit: int = 1,
) -> SizedCycle | None:
    """Optimal input of a constant-product cycle: ``x*`` then an exact integer check."""
    bound = cycle_bound(cycle, states)
    alpha, beta, gamma, delta = bound
    window = profit_window(bound, min_profit)
    if window is None:
        return None
    lo, hi = max(1, window[0]), min(max_amount_in, window[1])
    if lo > hi:
        return None
    det = alpha * delta - beta * gamma
    x_star = (isqrt(det) - delta) // gamma if det > 0 else lo
    x_star = min(max(x_star, lo), hi)

    best_x, best = x_star, _profit(cycle, states, x_star)
    if best is not None and best >= min_profit:
        # Narrow the window to inputs whose bound can still beat what was found.
        narrowed = profit_window(bound, best + 1)
        lo, hi = (max(lo, narrowed[0]), min(hi, narrowed[1])) if narrowed else (x_star, x_star)

    def can_beat(x: int, best: int | None) -> bool:
        # the bound's profit at x reaches best + 1 (exact integer comparison)
        target = min_profit if best is None else best + 1
        return alpha * x + beta >= (target + x) * (gamma * x + delta)

    exhaustive = hi - lo + 1 <= EXHAUSTIVE_WINDOW
    for step in (-1, 1):
        x = x_star + step
        while lo <= x <= hi:
            if exhaustive:
                # Outward from x*, the bound only falls: stop where it cannot win.
                if not can_beat(x, best):
                    break
            elif abs(x - x_star) > NEIGHBOURHOOD:
                break
            p = _profit(cycle, states, x)
            if p is not None and (best is None or p > best or (p == best and x < best_x)):
                best_x, best = x, p
            x += step
    if best is None or best < min_profit:
        return None
    return _sized(cycle, states, best_x)


# ----------------------------------------------------------------------------- search


def _maximise(profit: Callable[[int], int | None], low: int, high: int) -> tuple[int, int] | None:
    """Integer golden-section search for the best ``profit`` on [low, high] (concave).

    Unusable inputs count as minus infinity. The search stops when the bracket
    is narrower than ``max(8, low / RELATIVE_TOLERANCE)``; the best point seen
    and its neighbours are then compared.
    """
    cache: dict[int, int | None] = {}

    def value(x: int) -> float:
        if x not in cache:
            cache[x] = profit(x)
        v = cache[x]
        return float("-inf") if v is None else v

    a, b = low, high
    x1 = b - round((b - a) * _INV_PHI)
    x2 = a + round((b - a) * _INV_PHI)
    while b - a > max(8, a // RELATIVE_TOLERANCE) and x1 < x2:
        if value(x1) >= value(x2):
            # the maximum of a concave function is not right of x2
            b, x2 = x2, x1
            x1 = b - round((b - a) * _INV_PHI)
        else:
            a, x1 = x1, x2
            x2 = a + round((b - a) * _INV_PHI)
    if b - a <= 64:
        for x in range(a, b + 1):
            value(x)
    seen = [x for x in cache if cache[x] is not None]
    if not seen:
        return None
    best_x = max(seen, key=lambda x: (cache[x], -x))
    for x in range(best_x - 2, best_x + 3):
        if low <= x <= high:
            value(x)
    usable = {x: v for x, v in cache.items() if v is not None}
    best_x = max(usable, key=lambda x: (usable[x], -x))
    return best_x, usable[best_x]


def search_optimum(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    min_profit: int = 1,
) -> SizedCycle | None:
    """Optimal input by a bounded search on the exact quote (any pool kinds)."""
    if max_amount_in < 1:
        return None

    def profit(x: int) -> int | None:
        return _profit(cycle, states, x)

    grid = []
    x = max_amount_in
    while x >= 1:
        grid.append(x)
        x //= GRID_FACTOR
    grid.reverse()  # ascending
    values = [profit(x) for x in grid]
    usable = [i for i, v in enumerate(values) if v is not None]
    if not usable:
        return None
    best_i = max(usable, key=lambda i: (values[i], -i))
    low = grid[best_i - 1] if best_i > 0 else 1
    high = grid[best_i + 1] if best_i + 1 < len(grid) else max_amount_in
    found = _maximise(profit, low, high)
    if found is None:
        return None
    best_x, best = found
    on_grid = values[best_i]
    if on_grid is not None and on_grid > best:
        best_x, best = grid[best_i], on_grid
    if best < min_profit:
        return None
    return _sized(cycle, states, best_x)


# ---------------------------------------------------------------- local closed forms

# A Moebius map through the origin, in floats: d -> alpha*d / (gamma*d + 1).
type LocalMap = tuple[float, float]
# One hop: (output, ticks crossed, X, Y, k), its piece continuing Y*k*d / (X + k*d).
type Piece = tuple[int, int, float, float, float]


def _local_hop(
    state: PoolState, token_in: str, amount: int
) -> tuple[int, int, float, float, float]:
    """``(output, ticks crossed, X, Y, k)`` of one exact hop and its continuation beyond it.

    Raises ``TypeError`` for a family with no constant-product piece (a stable pool).
    """
    if isinstance(state, V3PoolState):
        used, out, price, liquidity, crossed = state.quote_no_tick(token_in, amount)
        if used != amount:
            raise InsufficientLiquidity(f"V3 pool {state.address} cannot take {amount}")
        virtual0 = liquidity * Q96 / price if price else 0.0
        virtual1 = liquidity * price / Q96
        zero_for_one = token_index(state.token0, state.token1, token_in) == 0
        x, y = (virtual0, virtual1) if zero_for_one else (virtual1, virtual0)
        return out, crossed, x, y, (_PIPS - state.fee) / _PIPS
    if isinstance(state, V2PoolState) or (isinstance(state, SolidlyPoolState) and not state.stable):
        out = state.amount_out(token_in, amount)
        first = token_index(state.token0, state.token1, token_in) == 0
        r_in, r_out = (
            (state.reserve0, state.reserve1) if first else (state.reserve1, state.reserve0)
        )
        return out, 0, float(r_in + amount), float(r_out - out), (BPS - state.fee_bps) / BPS
    raise TypeError(f"{state.kind} pools have no constant-product piece")


def _has_local_form(cycle: Cycle, states: Mapping[str, PoolState]) -> bool:
    for hop in cycle.hops:
        state = _state_for(states, hop.pool)
        if isinstance(state, SolidlyPoolState) and state.stable:
            return False
        if not isinstance(state, V2PoolState | V3PoolState | SolidlyPoolState):
            return False
    return True


@dataclass(frozen=True, slots=True)
class _Walk:
    """One exact evaluation of a cycle, and the local map of the cycle beyond it."""

    amount_in: int
    amounts: tuple[int, ...]
    crossed: tuple[int, ...]
    local: LocalMap

    @property
    def profit(self) -> int:
        return self.amounts[-1] - self.amount_in


def _walk(cycle: Cycle, states: Mapping[str, PoolState], amount_in: int) -> _Walk | None:
    """Exact hop outputs for ``amount_in``, or None when a pool cannot quote it."""
    amounts: list[int] = []
    crossed: list[int] = []
    alpha, gamma = 1.0, 0.0
    amount = amount_in
    try:
        for hop in cycle.hops:
            if amount <= 0:
                amounts.append(0)
                crossed.append(0)
                alpha = 0.0
                continue
            out, ticks, x, y, k = _local_hop(_state_for(states, hop.pool), hop.token_in, amount)
            amounts.append(out)
            crossed.append(ticks)
            amount = out
            if x <= 0 or y <= 0:
                alpha = 0.0
                continue
            # compose with d -> (y*k/x) d / ((k/x) d + 1)
            slope, bend = y * k / x, k / x
            alpha, gamma = alpha * slope, gamma + alpha * bend
    except AmmError:
        return None
    return _Walk(amount_in, tuple(amounts), tuple(crossed), (alpha, gamma))


def _local_step(local: LocalMap) -> float:
    """The step ``d`` that maximises ``alpha*d/(gamma*d + 1) - d``."""
    alpha, gamma = local
    if alpha <= 0:
        return -math.inf
    if gamma <= 0:
        return math.inf if alpha > 1 else -math.inf
    return (sqrt(alpha) - 1) / gamma


def local_optimum(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    min_profit: int = 1,
    evaluations: list[int] | None = None,
) -> SizedCycle | None:
    """Optimal input by composed local closed forms, refined on exact quotes (V2/V3 cycles).

    ``evaluations``, when given, gets the number of exact cycle evaluations
    appended (for benchmarks).
    """
    if max_amount_in < 1:
        return None
    # The map at zero input: the pools as they are (no quote needed).
    alpha, gamma = 1.0, 0.0
    for hop in cycle.hops:
        state = _state_for(states, hop.pool)
        try:
            _, _, x, y, k = _piece_now(state, hop.token_in)
        except (AmmError, ZeroDivisionError):
            return None
        if x <= 0 or y <= 0:
            return None
        alpha, gamma = alpha * (y * k / x), gamma + alpha * (k / x)
    if alpha <= 1:
        # Concave profit that does not rise at zero never becomes positive.
        if evaluations is not None:
            evaluations.append(0)
        return None
    low, high = 1, max_amount_in
    target = _local_step((alpha, gamma))
    x = high if not target < high else max(low, int(target))
    best: _Walk | None = None
    count = 0
    for _ in range(LOCAL_STEPS):
        count += 1
        walk = _walk(cycle, states, x)
        if walk is None:
            high = x - 1  # unusable here, and so beyond (the pools run out of range)
            if high < low:
                break
            x = (low + high) // 2
            continue
        if best is None or (walk.profit, -walk.amount_in) > (best.profit, -best.amount_in):
            best = walk
        step = _local_step(walk.local)
        if step > 0:
            low = x
        else:
            high = x
        if high - low <= max(1, low // LOCAL_TOLERANCE):
            break
        following = x + step
        if not low < following < high:
            following = (low + high) / 2  # the piece ends before its optimum: bisect
        nxt = int(following)
        if nxt == x or abs(nxt - x) <= max(0, x // (LOCAL_TOLERANCE * 16)):
            break
        x = nxt
    if best is not None and best.profit > 0:
        best, extra = _refine_steps(cycle, states, best, max_amount_in, min_profit)
        count += extra
    if evaluations is not None:
        evaluations.append(count)
    if best is None or best.profit < min_profit:
        return None
    kinds = tuple(_state_for(states, hop.pool).kind for hop in cycle.hops)
    return SizedCycle(
        cycle=cycle,
        amount_in=best.amount_in,
        amount_out=best.amounts[-1],
        gross_profit=best.profit,
        hop_amounts=best.amounts,
        hop_kinds=kinds,
        ticks_crossed=best.crossed,
    )


STEP_CANDIDATES = 3  # rounding refinement: output steps tried either side of the optimum's


def _min_input(state: PoolState, token_in: str, amount_out: int) -> int:
    """The smallest input for which the hop pays at least ``amount_out`` (exact for V2)."""
    if isinstance(state, V3PoolState):
        zero_for_one = token_index(state.token0, state.token1, token_in) == 0
        return quote_exact_output(state, zero_for_one, amount_out).amount_in_used
    if isinstance(state, V2PoolState | SolidlyPoolState):
        first = token_index(state.token0, state.token1, token_in) == 0
        r_in, r_out = (
            (state.reserve0, state.reserve1) if first else (state.reserve1, state.reserve0)
        )
        if amount_out >= r_out:
            raise InsufficientLiquidity("output is not smaller than the reserve")
        # floor(x*k*r_out / (r_in*BPS + x*k)) >= y  <=>  x*k*(r_out - y) >= y*r_in*BPS
        return -(-amount_out * r_in * BPS // ((r_out - amount_out) * (BPS - state.fee_bps)))
    raise TypeError(f"{state.kind} pools have no inverse here")


def _refine_steps(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    best: _Walk,
    max_amount_in: int,
    min_profit: int,
) -> tuple[_Walk, int]:
    """Where one unit of an intermediate token is worth a visible share of the profit, the
    exact profit is a staircase around the smooth optimum: try the smallest inputs that
    reach the nearby steps of the coarsest hop. Returns the best walk and evaluations made.
    """
    # Start-token value of one unit of each intermediate token, at the trade's average rate.
    units = [best.amount_in / max(1, amount) for amount in best.amounts[:-1]]
    coarse = max(range(len(units)), key=units.__getitem__)
    if units[coarse] * 4 * STEP_CANDIDATES * 1_000 < best.profit:
        return best, 0  # rounding cannot move the profit by 0.1%
    if best.profit + units[coarse] * 4 * STEP_CANDIDATES < min_profit:
        return best, 0  # a few steps cannot lift it to the minimum either
    count = 0
    target = best.amounts[coarse]
    for step in range(-STEP_CANDIDATES, STEP_CANDIDATES + 1):
        needed = target + step
        try:
            for hop in reversed(cycle.hops[: coarse + 1]):
                if needed <= 0:
                    break
                needed = _min_input(_state_for(states, hop.pool), hop.token_in, needed)
        except (AmmError, TypeError):
            continue
        if not 1 <= needed <= max_amount_in or needed == best.amount_in:
            continue
        count += 1
        walk = _walk(cycle, states, needed)
        if walk is not None and (walk.profit, -walk.amount_in) > (best.profit, -best.amount_in):
            best = walk
    return best, count


def _piece_now(state: PoolState, token_in: str) -> Piece:
    """The hop's constant-product piece at its current state (no quote)."""
    first = token_index(state.token0, state.token1, token_in) == 0
    if isinstance(state, V3PoolState):
        price = state.sqrt_price_x96
        virtual0 = state.liquidity * Q96 / price if price else 0.0
        virtual1 = state.liquidity * price / Q96
        x, y = (virtual0, virtual1) if first else (virtual1, virtual0)
        return 0, 0, x, y, (_PIPS - state.fee) / _PIPS
    if isinstance(state, V2PoolState | SolidlyPoolState):
        r_in, r_out = (
            (state.reserve0, state.reserve1) if first else (state.reserve1, state.reserve0)
        )
        return 0, 0, float(r_in), float(r_out), (BPS - state.fee_bps) / BPS
    raise TypeError(f"{state.kind} pools have no constant-product piece")


def size_cycle(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    min_profit: int = 1,
) -> SizedCycle | None:
    """The most profitable input up to ``max_amount_in``; None if nothing pays ``min_profit``.

    ``min_profit`` is in start-token units (gross, before gas).
    """
    if max_amount_in < 1:
        return None
    if has_closed_form(cycle, states):
        return closed_form_optimum(cycle, states, max_amount_in, min_profit)
    if _has_local_form(cycle, states):
        return local_optimum(cycle, states, max_amount_in, min_profit)
    return search_optimum(cycle, states, max_amount_in, min_profit)
