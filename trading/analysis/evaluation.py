"""Verdicts on cycles: size each one, price its gas, keep it or say why not (pure).

Ints in wei in, frozen dataclasses out; no Django, no web3. The engine's
scanner reads pool states and gas prices and hands them here.

Public API (stable):

- ``GasTerms`` (what gas costs at one block: price per gas, L1 data fee per
  hop count) and ``StartTerms`` (the operator's limits in one start token).
- ``native_prices(states, native, tokens)``: what one native wei is worth in
  each start token, through the pools' own prices; ``start_terms(token,
  price, max_trade_size_wei, min_net_profit_wei)`` converts the limits.
- ``gas_floor(cycle, states, gas_model)``: the gas of a cycle before any V3
  tick crossing.
- ``evaluate_cycle(cycle, states, terms, gas)`` -> ``Finding`` or
  ``Rejection`` (a kind and raw amounts; ``describe(amount)`` says it in
  words, ``reason`` in smallest units); ``evaluate_cycles(cycles, states, terms_by_token, gas)`` ->
  ``Analysis`` (findings best net first, rejections by key).
- ``evaluate_ids(index, ids, states, terms_by_token, gas, rates=None)``: the
  same verdicts on cycle ids of a :class:`~trading.analysis.cycles.CycleIndex`
  (the per-block hot path). ``Analysis.rejections`` is then lazy: rejected
  cycles produce nothing until a reason is asked for (the one row that
  becomes stale), and that reason is the one :func:`evaluate_cycle` gives.

Most cycles are ruled out by :func:`trading.analysis.ceiling.ceiling_ratio`
without a single quote; the rest are sized on the exact quotes. On the hot
path the float pre-filter (:mod:`trading.analysis.prefilter`) rules out, all
at once, cycles that the exact ceiling would rule out too; every verdict that
keeps a cycle still comes from the exact integer maths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from trading.amm import AmmError, PoolState, other_token, pool_holdings
from trading.amm.base import token_index
from trading.analysis.ceiling import Line, ceiling_ratio
from trading.analysis.cycles import (
    Cycle,
    CycleIndex,
    CycleTable,
    Ids,
    PoolInput,
    as_pool_ref,
    union_ids,
)
from trading.analysis.prefilter import EdgeRates
from trading.analysis.profit import (
    DEFAULT_GAS_MODEL,
    Evaluation,
    GasModel,
    convert_cost,
    evaluate,
    spot_price,
)
from trading.analysis.sizing import SizedCycle, size_cycle


@dataclass(frozen=True)
class GasTerms:
    """What gas costs at one block: price per gas and the L1 data fee per hop count (wei)."""

    gas_price_wei: int
    l1_fees: Mapping[int, int] = field(default_factory=dict)
    base_fee_wei: int = 0
    block_number: int = 0

    def l1_fee(self, hops: int) -> int:
        """The L1 data fee of an executor transaction with ``hops`` hops (0 off OP-stack)."""
        if hops in self.l1_fees:
            return self.l1_fees[hops]
        # A hop count not estimated (settings changed): the largest estimate is the safe one.
        return max(self.l1_fees.values(), default=0)


@dataclass(frozen=True)
class StartTerms:
    """The operator's limits in one start token's units, and its native price."""

    token: str
    native_to_start: Fraction  # start-token units per native wei
    max_amount_in: int
    min_net_profit: int


@dataclass(frozen=True)
class Finding:
    """A cycle that pays: its optimal size and its profit after gas."""

    sized: SizedCycle
    evaluation: Evaluation

    @property
    def cycle(self) -> Cycle:
        return self.sized.cycle

    @property
    def key(self) -> str:
        return self.sized.cycle.key


# Why a cycle was rejected (``Rejection.kind``).
NO_STATE = "no_state"  # a pool of the cycle has no readable state
SIZE_LIMIT = "size_limit"  # the maximum trade size is below one unit
CEILING_BELOW_MINIMUM = "ceiling_below_minimum"  # at most this gross, below the minimum
CEILING_BELOW_NEEDED = "ceiling_below_needed"  # at most this gross, below gas + minimum
GROSS_BELOW_NEEDED = "gross_below_needed"  # the sizing found no size earning gas + minimum
NET_BELOW_MINIMUM = "net_below_minimum"  # the net profit after gas is below the minimum
UNQUOTABLE = "unquotable"  # the maths refused a state
NO_TERMS = "no_terms"  # no native price in the start token: gas cannot be priced
NO_LONGER_PAYS = "no_longer_pays"

Amount = Callable[[int], str]


def _raw(amount: int) -> str:
    return str(amount)


@dataclass(frozen=True)
class Rejection:
    """A cycle that does not pay, and why: a ``kind`` and its amounts, in words on demand.

    ``amounts`` are in the smallest units of the start token ``token``; the
    words are built only when asked for (:meth:`describe`), where the token's
    decimals and symbol are known, so a rejected cycle costs no formatting.
    """

    key: str
    kind: str
    amounts: tuple[int, ...] = ()
    token: str = ""
    detail: str = ""

    @property
    def reason(self) -> str:
        """The words with amounts in smallest units."""
        return self.describe(_raw)

    def describe(self, amount: Amount = _raw) -> str:
        """Why the cycle does not pay; ``amount`` formats a start-token amount."""
        a = self.amounts
        match self.kind:
            case "no_state":
                return f"pool {self.detail} has no readable state"
            case "size_limit":
                return "the maximum trade size is below one unit of the start token"
            case "ceiling_below_minimum":
                return (
                    f"prices after fees allow at most {amount(a[0])} gross profit, "
                    f"below the minimum {amount(a[1])}"
                )
            case "ceiling_below_needed":
                return (
                    f"prices after fees allow at most {amount(a[0])} gross profit, below the "
                    f"{amount(a[1])} that gas and the minimum net profit need"
                )
            case "gross_below_needed":
                return (
                    f"gross profit below the {amount(a[0])} needed "
                    "(gas plus the minimum net profit)"
                )
            case "net_below_minimum":
                return f"net profit {amount(a[0])} below the minimum {amount(a[1])}"
            case "unquotable":
                return f"cannot be quoted: {self.detail}"
            case "no_terms":
                return f"no pool prices the native token in {self.token}: gas cannot be priced"
            case "no_longer_pays":
                return "no longer pays"
        return self.detail or self.kind


@dataclass(frozen=True)
class Analysis:
    """The verdicts on a set of cycles: findings (best net first) and rejections by key.

    ``sized`` counts the cycles that reached the optimal sizing (findings included).
    """

    findings: tuple[Finding, ...]
    rejections: Mapping[str, Rejection]
    sized: int = 0
    # Cycle ids left unjudged by a budget (evaluate_ids): neither found nor rejected.
    deferred: Ids = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    @property
    def evaluated(self) -> int:
        return len(self.findings) + len(self.rejections)

    @property
    def evaluated_keys(self) -> Set[str]:
        """Keys of every cycle judged (without listing the rejected ones)."""
        return EvaluatedKeys(self.rejections, self.findings)


class EvaluatedKeys(Set[str]):
    """The keys of rejections and findings as one set, built without copying either."""

    def __init__(self, rejections: Mapping[str, object], findings: Iterable[Finding]) -> None:
        self._rejections = rejections
        self._found = {finding.key for finding in findings}

    def __contains__(self, key: object) -> bool:
        return key in self._found or key in self._rejections

    def __iter__(self) -> Iterator[str]:
        yield from self._found
        yield from self._rejections

    def __len__(self) -> int:
        return len(self._found) + len(self._rejections)


class LazyRejections(Mapping[str, Rejection]):
    """Rejected cycle ids of a :class:`CycleTable`: a key is built when iterated, a reason
    only when asked for.

    ``reasons`` holds the reasons already known (the cycles the exact maths
    judged); ``explain`` gives any other one on demand.
    """

    def __init__(
        self,
        table: CycleTable,
        ids: Ids,
        reasons: Mapping[str, Rejection],
        explain: Callable[[int], Rejection],
    ) -> None:
        self._table = table
        self._ids = ids
        self._reasons = reasons
        self._explain = explain

    def _id(self, key: object) -> int | None:
        if not isinstance(key, str):
            return None
        cid = self._table.find(key)
        if cid is None:
            return None
        at = int(np.searchsorted(self._ids, cid))
        return cid if at < len(self._ids) and self._ids[at] == cid else None

    def __getitem__(self, key: str) -> Rejection:
        if key in self._reasons:
            return self._reasons[key]
        cid = self._id(key)
        if cid is None:
            raise KeyError(key)
        return self._explain(cid)

    def __contains__(self, key: object) -> bool:
        return key in self._reasons or self._id(key) is not None

    def __iter__(self) -> Iterator[str]:
        key = self._table.key
        return (key(cid) for cid in self._ids.tolist())

    def __len__(self) -> int:
        return len(self._ids)


def _holding(state: PoolState, token: str) -> int:
    return pool_holdings(state)[token_index(state.token0, state.token1, token)]


def native_prices(
    states: Iterable[PoolState], native: str | None, tokens: Iterable[str]
) -> dict[str, Fraction]:
    """Units of each token that one native wei buys at spot, through the deepest route.

    A token that is the native one is worth 1. Otherwise the deepest pool
    pairing it with ``native`` gives the price; failing that, the deepest
    route through one intermediate token (depth: the smaller of the two
    pools' holdings, in native terms). Tokens with no route are left out.
    Prices are computed only for the pools that can be chosen (the deepest
    first), not for every pool paired with ``native``.
    """
    wanted = set(tokens)
    if native is None:
        return {}
    prices: dict[str, Fraction] = {native: Fraction(1)} if native in wanted else {}
    # token -> pools pairing it with native, in the order given
    paired: dict[str, list[PoolState]] = {}
    touching: dict[str, list[PoolState]] = {}
    for state in states:
        for token in (state.token0, state.token1):
            if token in wanted:
                touching.setdefault(token, []).append(state)
        if native in (state.token0, state.token1):
            paired.setdefault(other_token(state, native), []).append(state)
    first: dict[str, tuple[int, Fraction] | None] = {}

    def deepest(token: str) -> tuple[int, Fraction] | None:
        """(depth in native wei, token units per native wei) of the deepest priced pool."""
        if token not in first:
            first[token] = None
            pools = paired.get(token, ())
            # Deepest first; among equals the earliest, as a strict "deeper than" scan keeps.
            for depth, _, state in sorted(
                ((_holding(state, native), -i, state) for i, state in enumerate(pools)),
                key=lambda item: (item[0], item[1]),
                reverse=True,
            ):
                if depth <= 0:
                    break
                try:
                    price = spot_price(state, native)
                except (ValueError, ZeroDivisionError):
                    continue  # an empty pool has no price
                if price > 0:
                    first[token] = (depth, price)
                    break
        return first[token]

    for token in wanted - prices.keys():
        direct = deepest(token)
        if direct is not None:
            prices[token] = direct[1]
            continue
        best: tuple[Fraction, Fraction] | None = None
        for state in touching.get(token, ()):
            middle = other_token(state, token)
            if middle == native:
                continue
            route = deepest(middle)
            if route is None:
                continue
            depth_first, price_first = route
            try:
                price_second = spot_price(state, middle)
            except (ValueError, ZeroDivisionError):
                continue
            if price_second <= 0:
                continue
            route_depth = min(Fraction(depth_first), _holding(state, middle) / price_first)
            if best is None or route_depth > best[0]:
                best = (route_depth, price_first * price_second)
        if best is not None and best[0] > 0:
            prices[token] = best[1]
    return prices


class NativePricer:
    """:func:`native_prices` for fixed tokens, reading only the pools that can set them.

    The deepest pool pairing a token with the native one prices it, so while
    every token has such a pool only those pools are looked at; a token
    without one falls back to reading every pool (the same answer either way).
    """

    def __init__(self, pools: Iterable[PoolInput], native: str | None, tokens: Iterable[str]):
        self.native = native
        self.tokens = frozenset(tokens)
        wanted = self.tokens | {native}
        self.direct = [
            ref.address
            for ref in map(as_pool_ref, pools)
            if native in (ref.token0, ref.token1) and {ref.token0, ref.token1} <= wanted
        ]

    def __call__(self, states: Mapping[str, PoolState]) -> dict[str, Fraction]:
        direct = [states[a] for a in self.direct if a in states]
        prices = native_prices(direct, self.native, self.tokens)
        if prices.keys() >= self.tokens:
            return prices
        return native_prices(states.values(), self.native, self.tokens)


def start_terms(
    token: str, native_to_start: Fraction, max_trade_size_wei: int, min_net_profit_wei: int
) -> StartTerms:
    """The operator's native-currency limits in ``token`` units.

    The trade size is rounded down (never more than allowed) and the minimum
    profit up, to at least one unit: a cycle that nets nothing is no opportunity.
    """
    price = Fraction(native_to_start)
    max_in = max_trade_size_wei * price.numerator // price.denominator
    min_net = -(-min_net_profit_wei * price.numerator // price.denominator)
    return StartTerms(token, price, max_in, max(1, min_net))


def gas_floor(cycle: Cycle, states: Mapping[str, PoolState], gas_model: GasModel) -> int:
    """Gas units of the cycle before any V3 tick crossing: a lower bound of its real gas."""
    return gas_model.overhead + sum(gas_model.hop_gas(states[pool].kind) for pool in cycle.pools)


def evaluate_cycle(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    terms: StartTerms,
    gas: GasTerms,
    gas_model: GasModel = DEFAULT_GAS_MODEL,
    lines: dict[tuple[str, str], Line] | None = None,
) -> Finding | Rejection:
    """Size ``cycle`` and price its gas; a :class:`Finding` when its net profit reaches
    ``terms.min_net_profit``, else a :class:`Rejection` saying why.

    ``lines`` is a cache of hop ceilings shared across the cycles of one
    block (the states must not change while it is used).
    """
    token = terms.token
    for hop in cycle.hops:
        if hop.pool not in states:
            return Rejection(cycle.key, NO_STATE, token=token, detail=hop.pool)
    if terms.max_amount_in < 1:
        return Rejection(cycle.key, SIZE_LIMIT, token=token)
    try:
        top, scale = ceiling_ratio(cycle, states, terms.max_amount_in, lines)
        if top < terms.min_net_profit * scale:
            # Most cycles end here: not even the minimum profit, gas aside.
            return Rejection(
                cycle.key,
                CEILING_BELOW_MINIMUM,
                (max(0, top // scale), terms.min_net_profit),
                token,
            )
        l1_fee = gas.l1_fee(len(cycle))
        # Gross profit must cover at least the cheapest gas and the minimum net profit.
        floor_cost = convert_cost(
            gas_floor(cycle, states, gas_model) * gas.gas_price_wei + l1_fee,
            terms.native_to_start,
        )
        needed = terms.min_net_profit + floor_cost
        if top < needed * scale:
            return Rejection(cycle.key, CEILING_BELOW_NEEDED, (top // scale, needed), token)
        sized = size_cycle(cycle, states, terms.max_amount_in, min_profit=needed)
        if sized is None:
            return Rejection(cycle.key, GROSS_BELOW_NEEDED, (needed,), token)
        evaluation = evaluate(
            sized, gas.gas_price_wei, l1_fee, terms.native_to_start, gas_model=gas_model
        )
    except (AmmError, ValueError, ZeroDivisionError) as exc:
        return Rejection(cycle.key, UNQUOTABLE, token=token, detail=str(exc))
    if evaluation.net < terms.min_net_profit:
        return Rejection(
            cycle.key, NET_BELOW_MINIMUM, (evaluation.net, terms.min_net_profit), token
        )
    return Finding(sized, evaluation)


def evaluate_cycles(
    cycles: Iterable[Cycle],
    states: Mapping[str, PoolState],
    terms: Mapping[str, StartTerms],
    gas: GasTerms,
    gas_model: GasModel = DEFAULT_GAS_MODEL,
) -> Analysis:
    """Verdicts on ``cycles``; ``terms`` by start token (a token without terms has no
    native price, so its cycles cannot be priced)."""
    findings: list[Finding] = []
    rejections: dict[str, Rejection] = {}
    lines: dict[tuple[str, str], Line] = {}
    for cycle in cycles:
        token_terms = terms.get(cycle.start_token)
        if token_terms is None:
            rejections[cycle.key] = _no_terms(cycle)
            continue
        verdict = evaluate_cycle(cycle, states, token_terms, gas, gas_model, lines)
        if isinstance(verdict, Finding):
            findings.append(verdict)
        else:
            rejections[verdict.key] = verdict
    findings.sort(key=lambda f: (-f.evaluation.net, f.key))
    sized = sum(1 for rejection in rejections.values() if rejection.kind in SIZED_REJECTIONS)
    return Analysis(tuple(findings), rejections, len(findings) + sized)


# Cycles judged exactly per block on the engine's path (evaluate_ids' budget): a
# block with more candidates judges the most promising and leaves the rest for the
# next blocks.
SIZING_BUDGET = 128
# At most 1/OWED_SHARE of a budget goes to the cycles owed a verdict (evaluate_ids' first).
OWED_SHARE = 4

# Rejections after the optimal sizing ran (the others stopped before it).
SIZED_REJECTIONS = frozenset({GROSS_BELOW_NEEDED, NET_BELOW_MINIMUM})


def _no_terms(cycle: Cycle) -> Rejection:
    return Rejection(cycle.key, NO_TERMS, token=cycle.start_token)


def evaluate_ids(
    index: CycleIndex,
    ids: Ids,
    states: Mapping[str, PoolState],
    terms: Mapping[str, StartTerms],
    gas: GasTerms,
    gas_model: GasModel = DEFAULT_GAS_MODEL,
    rates: EdgeRates | None = None,
    changed: Iterable[str] | None = None,
    budget: int | None = None,
    first: Ids | None = None,
) -> Analysis:
    """:func:`evaluate_cycles` on the cycles ``ids`` (ascending) of ``index``, pre-filtered
    in floats.

    ``rates`` carries the float lines from one call to the next (only pools
    whose state changed are recomputed; ``changed``, when given, names the
    only pools that may have changed since its last use); ``states`` must not
    change while the result's rejections may still be asked for a reason.

    ``budget`` caps the cycles judged exactly (the pre-filter's survivors):
    those among ``first`` (ids owed a verdict, e.g. deferred for long, in the
    order given) come first, up to a quarter of the budget, then the best
    estimated gross profit in native terms
    (:meth:`EdgeRates.estimate`). The rest are returned in ``deferred``: no
    verdict, so a row recorded for one of them stays as it is. The estimate
    only orders; every verdict is still the exact one.
    """
    table = index.table
    rates = rates if rates is not None else EdgeRates()
    rates.sync(table, states, changed)
    min_profit = np.full(len(table.tokens), np.inf)
    max_amount_in = np.zeros(len(table.tokens))
    for token, limits in terms.items():
        tid = table.token_ids.get(token)
        if tid is not None and limits.max_amount_in >= 1:
            min_profit[tid] = float(limits.min_net_profit)
            max_amount_in[tid] = float(limits.max_amount_in)
    survivors = ids[rates.keep(table, ids, min_profit, max_amount_in)]
    deferred = np.zeros(0, dtype=np.intp)
    if budget is not None and len(survivors) > budget:
        survivors, deferred = _within_budget(
            table, rates, survivors, terms, max_amount_in, budget, first
        )

    findings: list[Finding] = []
    reasons: dict[str, Rejection] = {}
    found: list[int] = []
    lines: dict[tuple[str, str], Line] = {}
    for cid in survivors.tolist():
        cycle = table.cycle(cid)
        token_terms = terms.get(cycle.start_token)
        if token_terms is None:
            reasons[cycle.key] = _no_terms(cycle)
            continue
        verdict = evaluate_cycle(cycle, states, token_terms, gas, gas_model, lines)
        if isinstance(verdict, Finding):
            findings.append(verdict)
            found.append(cid)
        else:
            reasons[verdict.key] = verdict
    findings.sort(key=lambda f: (-f.evaluation.net, f.key))
    sized = sum(1 for rejection in reasons.values() if rejection.kind in SIZED_REJECTIONS)

    def explain(cid: int) -> Rejection:
        cycle = table.cycle(cid)
        token_terms = terms.get(cycle.start_token)
        if token_terms is None:
            return _no_terms(cycle)
        verdict = evaluate_cycle(cycle, states, token_terms, gas, gas_model)
        # The pre-filter only drops what the exact ceiling rejects: never a finding.
        if isinstance(verdict, Rejection):
            return verdict
        return Rejection(cycle.key, NO_LONGER_PAYS, token=cycle.start_token)

    judged = union_ids(found, deferred)
    rejected = np.setdiff1d(ids, judged, assume_unique=True)
    return Analysis(
        tuple(findings),
        LazyRejections(table, rejected, reasons, explain),
        len(findings) + sized,
        deferred,
    )


def _within_budget(
    table: CycleTable,
    rates: EdgeRates,
    survivors: Ids,
    terms: Mapping[str, StartTerms],
    max_amount_in: npt.NDArray[np.float64],
    budget: int,
    first: Ids | None,
) -> tuple[Ids, Ids]:
    """``(chosen, deferred)``: at most ``budget`` of ``survivors`` (ascending): ``first`` in
    its order, up to a quarter of the budget, then by estimated gross profit in native
    terms, the largest first."""
    owed = np.zeros(0, dtype=np.intp)
    if first is not None and len(first) and budget > 0:
        owed = first[np.isin(first, survivors)][: max(1, budget // OWED_SHARE)]
    rest = np.setdiff1d(survivors, owed, assume_unique=True)
    room = budget - len(owed)
    # Start-token units per native wei, as floats: profits of different tokens compared.
    per_native = np.full(len(table.tokens), np.inf)
    for token, limits in terms.items():
        tid = table.token_ids.get(token)
        if tid is not None and limits.native_to_start > 0:
            per_native[tid] = float(limits.native_to_start)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = rates.estimate(table, rest, max_amount_in) / per_native.take(table.start.take(rest))
    value = np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)
    # Best first; equal estimates in id order (stable), so the choice is reproducible.
    order = np.argsort(-value, kind="stable")
    chosen = np.sort(np.concatenate([owed, rest[order[:room]]]))
    return chosen, np.sort(rest[order[room:]])
