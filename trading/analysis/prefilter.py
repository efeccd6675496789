"""The float pre-filter: rule out most cycles of a block at once, never one that could pay.

A cycle's exact profit ceiling (:mod:`trading.analysis.ceiling`) composes
each hop's line ``out(x) <= slope * x + slack``. Here the same lines are kept
in float per edge of a :class:`~trading.analysis.cycles.CycleTable` (an edge
is a pool in one direction): ``log(slope)`` and ``slack``, recomputed only
for pools whose state object changed. The ceiling of many cycles is then one
numpy expression: the sum of their log slopes, the composed slack, and the
start token's trade size.

Every float step is widened by ``MARGIN`` (relative) towards keeping the
cycle, far above the rounding of a handful of logs, exps, products and sums
of doubles (about 1e-13), so a cycle is discarded only when the exact integer
ceiling would also stay below the minimum profit. The property test in
``tests/analysis/test_prefilter.py`` runs both on random markets, extreme
reserves and decimals included. A cycle the floats cannot judge (an infinite
or NaN value) is kept, and everything kept goes to the exact evaluation.

The same pass keeps each edge's local curve for ranking: within its current
range a hop pays about ``s*x / (1 + k*x)`` (a constant-product pool on its
reserves, a V3 pool on its virtual reserves), and such maps compose, so
``estimate`` gives every cycle's best gross profit on those curves in one numpy
expression. It only orders cycles (which to size first when a block has more
than its sizing budget); it never decides a verdict.

Public API: ``EdgeRates`` with ``sync(table, states)``, ``keep(table, ids,
min_profit, max_amount_in)`` and ``estimate(table, ids, max_amount_in)``;
``MARGIN``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from trading.amm import AmmError, PoolState, SolidlyPoolState, V2PoolState, V3PoolState
from trading.analysis.ceiling import hop_ceiling
from trading.analysis.cycles import CycleTable, Ids

MARGIN = 1e-9
_LOG_2_96 = 96 * math.log(2)
_BPS = 10_000
_PIPS = 1_000_000

type Floats = npt.NDArray[np.float64]
type Mask = npt.NDArray[np.bool_]


def _log_ratio(numerator: int, denominator: int) -> float:
    # math.log takes integers of any size: no overflow where a float ratio would.
    return math.log(numerator) - math.log(denominator)


def edge_line(state: PoolState, token_in: str) -> tuple[float, float]:
    """``(log slope, slack)`` of :func:`~trading.analysis.ceiling.hop_ceiling` in floats.

    A slope of 0 (an empty pool) is ``-inf``; a pool the ceiling cannot
    judge gives ``(inf, inf)``, which keeps every cycle through it.
    """
    try:
        if isinstance(state, V2PoolState):
            # The common case, without building Fractions: (1 - fee) * r_out / r_in.
            first = token_in == state.token0
            if not first and token_in != state.token1:
                raise AmmError(f"{token_in} is not a token of {state.address}")
            r_in, r_out = (
                (state.reserve0, state.reserve1) if first else (state.reserve1, state.reserve0)
            )
            if r_in <= 0 or r_out <= 0:
                return -math.inf, 0.0
            return _log_ratio(r_out * (_BPS - state.fee_bps), r_in * _BPS), 0.0
        if isinstance(state, V3PoolState):
            # Price after fees: sqrtP**2 / 2**192 for token0 in, its inverse for token1.
            first = token_in == state.token0
            if (not first and token_in != state.token1) or state.sqrt_price_x96 <= 0:
                raise AmmError(f"{state.address} cannot price {token_in}")
            log_price = 2 * (math.log(state.sqrt_price_x96) - _LOG_2_96)
            keep = math.log((_PIPS - state.fee) / _PIPS) if state.fee < _PIPS else -math.inf
            return (log_price if first else -log_price) + keep, 0.0
        slope, slack = hop_ceiling(state, token_in)
    except (AmmError, ValueError, ZeroDivisionError, TypeError):
        return math.inf, math.inf
    log_slope = -math.inf if slope == 0 else _log_ratio(slope.numerator, slope.denominator)
    return log_slope, float(slack) * (1 + MARGIN)


def edge_curve(state: PoolState, token_in: str) -> float:
    """``k`` of the hop's local curve ``s*x / (1 + k*x)`` in floats (for ranking only).

    Constant product: ``k = (1 - fee) / reserve_in``; V3: the same on the
    virtual reserves of the active liquidity. A stable Solidly pool is taken
    as flat (0), an empty one or one that cannot be judged as ``inf`` (it
    ranks last).
    """
    try:
        if isinstance(state, V3PoolState):
            if state.liquidity <= 0 or state.sqrt_price_x96 <= 0 or state.fee >= _PIPS:
                return math.inf
            keep = (_PIPS - state.fee) / _PIPS
            sqrt_price = state.sqrt_price_x96 / 2**96
            first = token_in == state.token0
            # token0 in: virtual reserve L / sqrtP; token1 in: L * sqrtP.
            return keep * (sqrt_price if first else 1 / sqrt_price) / state.liquidity
        if isinstance(state, V2PoolState | SolidlyPoolState):
            if isinstance(state, SolidlyPoolState) and state.stable:
                return 0.0
            first = token_in == state.token0
            reserve_in = state.reserve0 if first else state.reserve1
            if reserve_in <= 0 or state.fee_bps >= _BPS:
                return math.inf
            return (_BPS - state.fee_bps) / _BPS / reserve_in
    except (OverflowError, ZeroDivisionError):
        return math.inf
    return math.inf


class EdgeRates:
    """Per edge of one :class:`CycleTable`: the float line of its hop at the current states.

    The arrays have one element more than the table has edges: the identity
    line (log slope 0, no slack) that a cycle's ``-1`` padding indexes.
    """

    def __init__(self) -> None:
        self.table: CycleTable | None = None
        self.log_slope: Floats = np.zeros(1)
        self.slope: Floats = np.ones(1)
        self.slack: Floats = np.zeros(1)
        self.curve: Floats = np.zeros(1)  # k of each edge's local curve (identity: 0)
        self.slack_edges = 0  # edges with slack (only Solidly pools have any)
        self._seen: list[object | None] = []

    def sync(
        self,
        table: CycleTable,
        states: Mapping[str, PoolState],
        changed: Iterable[str] | None = None,
    ) -> int:
        """Bring every edge of ``table`` in line with ``states``; returns pools recomputed.

        Only pools whose state object is not the one seen last time are
        recomputed (states are immutable, so identity is enough); ``changed``,
        when given, names the only pools whose state may have changed since
        the last call (pools new to the table are always looked at). A pool
        with no state gets slope 0 (its cycles cannot be quoted anyway).
        """
        if table is not self.table:
            self.table = table
            self._seen = []
            changed = None
        pools = table.pools[:]  # a snapshot: the index may grow meanwhile (another thread)
        first_new = len(self._seen)
        if len(self._seen) < len(pools):
            size = 2 * len(pools) + 1
            old = len(self._seen) * 2
            log_slope, slack, curve = np.zeros(size), np.zeros(size), np.zeros(size)
            log_slope[:old], slack[:old] = self.log_slope[:old], self.slack[:old]
            curve[:old] = self.curve[:old]
            self.log_slope, self.slack, self.curve = log_slope, slack, curve
            self._seen.extend([False] * (len(pools) - len(self._seen)))  # never a state
        seen = self._seen
        log_slope, slack, curve = self.log_slope, self.slack, self.curve
        if changed is None:
            look: Iterable[tuple[int, str]] = enumerate(pools)
        else:
            ids = table.pool_ids
            look = [(ids[a], a) for a in changed if a in ids]
            look += [(pid, pools[pid]) for pid in range(first_new, len(pools))]
        recomputed = 0
        for pid, address in look:
            state = states.get(address)
            if state is seen[pid]:
                continue
            seen[pid] = state
            recomputed += 1
            if state is None:
                log_slope[2 * pid] = log_slope[2 * pid + 1] = -math.inf
                slack[2 * pid] = slack[2 * pid + 1] = 0.0
                curve[2 * pid] = curve[2 * pid + 1] = math.inf
                continue
            ref = table.refs[pid]
            log_slope[2 * pid], slack[2 * pid] = edge_line(state, ref.token0)
            log_slope[2 * pid + 1], slack[2 * pid + 1] = edge_line(state, ref.token1)
            curve[2 * pid] = edge_curve(state, ref.token0)
            curve[2 * pid + 1] = edge_curve(state, ref.token1)
        if recomputed:
            with np.errstate(over="ignore"):
                self.slope = np.exp(log_slope)
            self.slack_edges = int(np.count_nonzero(slack))
        return recomputed

    def keep(
        self,
        table: CycleTable,
        ids: Ids,
        min_profit: Floats,
        max_amount_in: Floats,
    ) -> Mask:
        """Which of the cycles ``ids`` the exact ceiling might let through.

        ``min_profit`` and ``max_amount_in`` are per start token id (floats;
        ``min_profit`` may be ``inf`` to rule a token's cycles out). A cycle
        is dropped only when even its widened float ceiling stays below its
        minimum profit, so everything the exact ceiling keeps is kept.
        """
        if table is not self.table:
            raise ValueError("sync the rates with this table first")
        starts = table.start.take(ids)
        log_slope = self.log_slope
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_total = log_slope.take(table.hops[:, 0].take(ids))
            for position in range(1, table.max_hops):
                log_total += log_slope.take(table.hops[:, position].take(ids))
            # With no slack the ceiling is max(0, slope - 1) * max_amount_in: it stays below
            # min_profit exactly when the log slope stays below log1p(min_profit / max_in).
            threshold = np.log1p(min_profit * (1 - MARGIN) / max_amount_in) - MARGIN
            # NaN compares False: a cycle the floats cannot judge is kept.
            dropped: Mask = log_total < threshold.take(starts)
            if self.slack_edges:
                edges = table.hops[ids]
                slacked = np.flatnonzero(self.slack[edges].any(axis=1))
                if len(slacked):
                    dropped[slacked] = self._slack_dropped(
                        edges[slacked], log_total[slacked], starts[slacked], min_profit,
                        max_amount_in,
                    )  # fmt: skip
        return ~dropped

    def estimate(self, table: CycleTable, ids: Ids, max_amount_in: Floats) -> Floats:
        """Each cycle's best gross profit on its hops' local curves, in start-token units.

        Hop maps ``s*x / (1 + k*x)`` compose into one (``s = s1*s2``, ``k = k1
        + s1*k2``), whose profit ``S*x / (1 + K*x) - x`` peaks at ``x* =
        (sqrt(S) - 1) / K``, taken no larger than the start token's trade size
        (``max_amount_in`` per start token id). An estimate for ordering
        cycles, not a bound: a V3 pool's liquidity can change past its tick.
        A cycle the floats cannot judge gets 0.
        """
        if table is not self.table:
            raise ValueError("sync the rates with this table first")
        hops = table.hops
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            total = np.ones(len(ids))
            curve = np.zeros(len(ids))
            for position in range(table.max_hops):
                edges = hops[:, position].take(ids)
                curve += total * self.curve.take(edges)
                total *= self.slope.take(edges)
            limit = max_amount_in.take(table.start.take(ids))
            best = np.minimum((np.sqrt(total) - 1) / curve, limit)
            profit = total * best / (1 + curve * best) - best
        return np.where(np.isfinite(profit) & (total > 1), np.maximum(profit, 0.0), 0.0)

    def _slack_dropped(
        self,
        edges: npt.NDArray[np.int32],
        log_total: Floats,
        starts: npt.NDArray[np.int32],
        min_profit: Floats,
        max_amount_in: Floats,
    ) -> Mask:
        """The full widened ceiling, for cycles with a hop that has slack (Solidly)."""
        slack = np.zeros(len(edges))
        for position in range(edges.shape[1]):
            column = edges[:, position]
            slack = (slack * self.slope[column] + self.slack[column]) * (1 + MARGIN)
        # Above a slope of 1 the ceiling peaks at the largest input, else at one unit;
        # max(0, slope - 1) * max_amount_in covers both.
        gain = np.maximum(np.exp(log_total + MARGIN) - 1, 0.0)
        ceiling = (gain * max_amount_in[starts] + slack) * (1 + MARGIN)
        dropped: Mask = ceiling < min_profit[starts] * (1 - MARGIN)
        return dropped
