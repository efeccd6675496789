"""The market analyzer: refresh pools → cycles → size → profit after gas → keep → record.

Two layers, I/O at the edges:

- **Pure** (ints and frozen dataclasses, no web3, no ORM): :func:`native_prices`
  (what one native wei is worth in each start token, through the pools' own
  prices), :func:`start_terms` (operator limits converted into a start
  token), :func:`profit_ceiling` (an exact upper bound of what a cycle can
  pay, from the marginal prices after fees: most cycles of a market in line
  are ruled out without a single quote), :func:`evaluate_cycle` /
  :func:`evaluate_cycles` (size a cycle, price its gas, keep it or say why not).
- **I/O**: :class:`MarketScanner` reads pool states through the DEX manager
  and gas prices through the gas oracle, then runs the pure layer.
  ``scan_full()`` is one full pass; ``scan_changed(pools)`` re-evaluates only
  the cycles through pools that changed (the per-block path);
  ``scan_block(n)`` does the log-driven refresh of block ``n`` first.
  :func:`scan_record` stores a result; :func:`scan_once` is the whole pass for
  synchronous callers (``runbot --once``).

Gas: the price is the normal-speed EIP-1559 fee (``eth_feeHistory`` through
:func:`trading.gas.fees.suggest_fees`) that a transaction would pay in the
next block; on OP-stack networks the L1 data fee of an executor transaction
of the cycle's hop count comes from the GasPriceOracle predeploy (zero when
the chain has none). The cost in native wei is converted into the start
token at the pools' spot prices and rounded up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

import rlp
from eth_abi import encode
from eth_utils import keccak

from trading.amm import AmmError, PoolState, SolidlyPoolState, V3PoolState
from trading.amm.base import token_index
from trading.analysis import (
    DEFAULT_GAS_MODEL,
    Cycle,
    CycleIndex,
    Evaluation,
    GasModel,
    SizedCycle,
    evaluate,
    size_cycle,
    spot_price,
)
from trading.analysis.profit import convert_cost
from trading.chain.client import ChainClient
from trading.dex.manager import DexManager
from trading.engine.component import Component
from trading.execution.hops import HOP_ABI_TYPE
from trading.execution.manager import EXECUTE_SELECTOR
from trading.gas.oracle import GasOracle
from trading.models import Network
from trading.services.chain_access import ChainSession
from trading.services.networks import active_network_required
from trading.services.opportunities import (
    AnalysisInputs,
    RecordResult,
    analysis_inputs,
    opportunities_record,
)

logger = logging.getLogger(__name__)

Q96 = 1 << 96
BPS = 10_000


# --------------------------------------------------------------------------- pure layer


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


@dataclass(frozen=True)
class Rejection:
    """A cycle that does not pay, and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Analysis:
    """The verdicts on a set of cycles: findings (best net first) and rejections by key."""

    findings: tuple[Finding, ...]
    rejections: Mapping[str, str]

    @property
    def evaluated(self) -> int:
        return len(self.findings) + len(self.rejections)


def pool_holdings(state: PoolState) -> tuple[int, int]:
    """What a pool offers of token0 and token1: reserves, or V3's active virtual reserves."""
    if isinstance(state, V3PoolState):
        if state.sqrt_price_x96 == 0:
            return 0, 0
        return (
            state.liquidity * Q96 // state.sqrt_price_x96,
            state.liquidity * state.sqrt_price_x96 // Q96,
        )
    return state.reserve0, state.reserve1


def _holding(state: PoolState, token: str) -> int:
    return pool_holdings(state)[token_index(state.token0, state.token1, token)]


def _other(state: PoolState, token: str) -> str:
    return state.token1 if token_index(state.token0, state.token1, token) == 0 else state.token0


def native_prices(
    states: Iterable[PoolState], native: str | None, tokens: Iterable[str]
) -> dict[str, Fraction]:
    """Units of each token that one native wei buys at spot, through the deepest route.

    A token that is the native one is worth 1. Otherwise the deepest pool
    pairing it with ``native`` gives the price; failing that, the deepest
    route through one intermediate token (depth: the smaller of the two
    pools' holdings, in native terms). Tokens with no route are left out.
    """
    wanted = set(tokens)
    if native is None:
        return {}
    prices: dict[str, Fraction] = {native: Fraction(1)} if native in wanted else {}
    # token -> (depth in native wei, token units per native wei), over pools paired with native
    first: dict[str, tuple[int, Fraction]] = {}
    touching: dict[str, list[PoolState]] = {}
    for state in states:
        for token in (state.token0, state.token1):
            if token in wanted:
                touching.setdefault(token, []).append(state)
        if native not in (state.token0, state.token1):
            continue
        try:
            price = spot_price(state, native)
        except (ValueError, ZeroDivisionError):
            continue  # an empty pool has no price
        depth = _holding(state, native)
        other = _other(state, native)
        if price > 0 and depth > 0 and (other not in first or depth > first[other][0]):
            first[other] = (depth, price)
    for token in wanted - prices.keys():
        if token in first:
            prices[token] = first[token][1]
            continue
        best: tuple[Fraction, Fraction] | None = None
        for state in touching.get(token, ()):
            middle = _other(state, token)
            if middle not in first or middle == native:
                continue
            depth_first, price_first = first[middle]
            try:
                price_second = spot_price(state, middle)
            except (ValueError, ZeroDivisionError):
                continue
            if price_second <= 0:
                continue
            depth = min(Fraction(depth_first), _holding(state, middle) / price_first)
            if best is None or depth > best[0]:
                best = (depth, price_first * price_second)
        if best is not None and best[0] > 0:
            prices[token] = best[1]
    return prices


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


type Ceiling = tuple[Fraction, Fraction]


def hop_ceiling(state: PoolState, token_in: str) -> Ceiling:
    """``(slope, slack)`` with ``out(x) <= slope * x + slack`` for every input ``x``.

    Every family's output is concave in its input (the price only worsens as
    it moves) and rounds down, so the marginal rate at the current price,
    fee included, bounds it: V2 ``(1 - fee) * r_out / r_in``; V3 the pool
    price times ``(1 - fee)``. Solidly rounds the fee down, keeping up to one
    unit more than ``(1 - fee) * x``: that unit's worth is the slack (and two
    more output units for the stable curve's Newton rounding).
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


# A hop line as integers, (slope num, slope den, slack num, slack den): composing them
# needs no gcd, which is what makes ruling out hundreds of thousands of cycles cheap.
type Line = tuple[int, int, int, int]


def _line(state: PoolState, token_in: str) -> Line:
    slope, slack = hop_ceiling(state, token_in)
    return slope.numerator, slope.denominator, slack.numerator, slack.denominator


def _ceiling_ratio(
    cycle: Cycle,
    states: Mapping[str, PoolState],
    max_amount_in: int,
    lines: dict[tuple[str, str], Line] | None,
) -> tuple[int, int]:
    """The profit ceiling as ``(numerator, denominator)``, denominator positive."""
    a, b, c, d = 1, 1, 0, 1  # out(x) <= (a/b) x + c/d
    for hop in cycle.hops:
        key = (hop.pool, hop.token_in)
        line = lines.get(key) if lines is not None else None
        if line is None:
            line = _line(states[hop.pool], hop.token_in)
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

    The hops' lines compose into ``out(x) <= slope * x + slack``; when the
    pools' marginal prices after fees multiply to at most 1 (the usual case
    in a market that is roughly in line) nothing can pay, and no quote is
    needed to know it. ``lines`` caches the hop lines across cycles.
    """
    numerator, denominator = _ceiling_ratio(cycle, states, max_amount_in, lines)
    return Fraction(numerator, denominator)


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
    for hop in cycle.hops:
        if hop.pool not in states:
            return Rejection(cycle.key, f"pool {hop.pool} has no readable state")
    if terms.max_amount_in < 1:
        return Rejection(cycle.key, "the maximum trade size is below one unit of the start token")
    try:
        top, scale = _ceiling_ratio(cycle, states, terms.max_amount_in, lines)
        if top < terms.min_net_profit * scale:
            # Most cycles end here: not even the minimum profit, gas aside.
            return Rejection(
                cycle.key,
                f"prices after fees allow at most {max(0, top // scale)} gross profit, "
                f"below the minimum {terms.min_net_profit}",
            )
        l1_fee = gas.l1_fee(len(cycle))
        # Gross profit must cover at least the cheapest gas and the minimum net profit.
        floor_cost = convert_cost(
            gas_floor(cycle, states, gas_model) * gas.gas_price_wei + l1_fee,
            terms.native_to_start,
        )
        needed = terms.min_net_profit + floor_cost
        if top < needed * scale:
            return Rejection(
                cycle.key,
                f"prices after fees allow at most {top // scale} gross profit, below the "
                f"{needed} that gas and the minimum net profit need",
            )
        sized = size_cycle(cycle, states, terms.max_amount_in, min_profit=needed)
        if sized is None:
            return Rejection(
                cycle.key, f"gross profit below {needed} (gas plus the minimum net profit)"
            )
        evaluation = evaluate(
            sized, gas.gas_price_wei, l1_fee, terms.native_to_start, gas_model=gas_model
        )
    except (AmmError, ValueError, ZeroDivisionError) as exc:
        return Rejection(cycle.key, f"cannot be quoted: {exc}")
    if evaluation.net < terms.min_net_profit:
        return Rejection(
            cycle.key,
            f"net profit {evaluation.net} below the minimum {terms.min_net_profit}",
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
    rejections: dict[str, str] = {}
    lines: dict[tuple[str, str], Line] = {}
    for cycle in cycles:
        token_terms = terms.get(cycle.start_token)
        if token_terms is None:
            rejections[cycle.key] = (
                f"no pool prices the native token in {cycle.start_token}: gas cannot be priced"
            )
            continue
        verdict = evaluate_cycle(cycle, states, token_terms, gas, gas_model, lines)
        if isinstance(verdict, Finding):
            findings.append(verdict)
        else:
            rejections[verdict.key] = verdict.reason
    findings.sort(key=lambda f: (-f.evaluation.net, f.key))
    return Analysis(tuple(findings), rejections)


def representative_transaction(hops: int, chain_id: int) -> bytes:
    """An unsigned EIP-1559 executor transaction with ``hops`` hops, for L1 fee estimates.

    The L1 data fee depends on the transaction's (compressed) size, so the
    fields are shaped like a real one: incompressible addresses and amounts.
    """

    def address(label: str) -> bytes:
        return keccak(text=label)[:20]

    hop_list = [
        (
            address(f"pool {i}"),
            0,
            bool(i % 2),
            30,
            address(f"token {i}"),
            address(f"token {(i + 1) % hops}"),
        )
        for i in range(hops)
    ]
    data = EXECUTE_SELECTOR + encode(
        [f"{HOP_ABI_TYPE}[]", "uint256", "uint256", "bool", "uint256"],
        [hop_list, 1_234_567_891_234_567_891, 1_234_567_891_234, True, 12_345_678],
    )
    fields = [chain_id, 1_234, 1_000_000, 2_000_000_000, 600_000, address("executor"), 0, data, []]
    return b"\x02" + rlp.encode(fields)


# ---------------------------------------------------------------------------- I/O layer


@dataclass(frozen=True)
class ScanResult:
    """One pass of the analyzer at ``block_number``.

    ``full`` passes evaluated every indexed cycle; the others only cycles
    through changed pools. ``rejections`` maps each evaluated cycle that does
    not pay to the reason.
    """

    block_number: int
    full: bool
    findings: tuple[Finding, ...]
    rejections: Mapping[str, str]
    gas: GasTerms
    pools_watched: int
    pools_read: int
    pools_failed: Mapping[str, str]
    cycles_indexed: int
    refresh_ms: float = 0.0
    analysis_ms: float = 0.0

    @property
    def cycles_evaluated(self) -> int:
        return len(self.findings) + len(self.rejections)

    @property
    def evaluated_keys(self) -> frozenset[str]:
        return frozenset(self.rejections) | {f.key for f in self.findings}


class MarketScanner(Component):
    """Pool states, the cycle index and gas prices for one network; runs the analysis."""

    name = "analysis"

    def __init__(
        self,
        client: ChainClient,
        inputs: AnalysisInputs,
        *,
        dex: DexManager | None = None,
        gas: GasOracle | None = None,
        gas_model: GasModel = DEFAULT_GAS_MODEL,
    ) -> None:
        super().__init__()
        self.client = client
        self.inputs = inputs
        self.dex = dex if dex is not None else DexManager(client, inputs.pools)
        self.gas = gas if gas is not None else GasOracle(client, op_stack=inputs.is_op_stack)
        self.gas_model = gas_model
        self.index = CycleIndex(inputs.pools, inputs.base_tokens, inputs.max_hops)
        self._gas_terms: GasTerms | None = None

    async def _initialize(self) -> None:
        await self.gas.initialize()

    def set_inputs(self, inputs: AnalysisInputs) -> None:
        """Take new settings or pools; the index changes only where it must."""
        old = self.inputs
        self.inputs = inputs
        self.dex.set_pools(inputs.pools)
        if (old.base_tokens, old.max_hops) != (inputs.base_tokens, inputs.max_hops):
            self.index.max_hops = inputs.max_hops
            self.index.rebuild(inputs.pools, inputs.base_tokens)
            return
        new = {spec.address: spec for spec in inputs.pools}
        for address in self.index.pool_addresses - new.keys():
            self.index.remove_pool(address)
        for spec in new.values():
            self.index.add_pool(spec)

    async def gas_terms(self, block_number: int) -> GasTerms:
        """Gas price and L1 fees for the block after ``block_number`` (read once per block)."""
        if self._gas_terms is not None and self._gas_terms.block_number == block_number:
            return self._gas_terms
        suggestion = await self.gas.suggest()
        price = suggestion.normal.effective_price(suggestion.base_fee)
        l1_fees: dict[int, int] = {}
        if self.inputs.is_op_stack:
            for hops in range(2, self.inputs.max_hops + 1):
                transaction = representative_transaction(hops, self.inputs.chain_id)
                l1_fees[hops] = await self.gas.l1_fee(transaction)
        self._gas_terms = GasTerms(price, l1_fees, suggestion.base_fee, block_number)
        return self._gas_terms

    def terms(self) -> dict[str, StartTerms]:
        """Start-token terms for every base token, at the current pool prices."""
        prices = native_prices(
            self.dex.states.values(), self.inputs.wrapped_native, self.inputs.base_tokens
        )
        return {
            token: start_terms(
                token, price, self.inputs.max_trade_size_wei, self.inputs.min_net_profit_wei
            )
            for token, price in prices.items()
        }

    async def scan_full(self) -> ScanResult:
        """Read every pool, then evaluate every indexed cycle."""
        started = time.perf_counter()
        batch = await self.dex.refresh_all()
        refreshed = time.perf_counter()
        return await self._analyze(
            list(self.index), batch.block_number, True, len(batch.states), started, refreshed
        )

    async def scan_changed(
        self, pools_changed: Iterable[str], block_number: int | None = None
    ) -> ScanResult:
        """Evaluate only the cycles through ``pools_changed`` on the states held now.

        The caller has brought those states up to date (``dex.update``); with
        no ``block_number`` the DEX manager's last block is used.
        """
        started = time.perf_counter()
        changed = list(pools_changed)
        block = block_number if block_number is not None else (self.dex.last_block or 0)
        cycles = self.index.cycles_through(changed)
        return await self._analyze(cycles, block, False, len(changed), started, started)

    async def scan_block(self, block_number: int) -> ScanResult:
        """Re-read the pools block ``block_number`` touched, then evaluate their cycles."""
        started = time.perf_counter()
        changed = await self.dex.update(block_number)
        result = await self.scan_changed(changed, block_number)
        return _replace_timing(result, started)

    async def _analyze(
        self,
        cycles: Sequence[Cycle],
        block_number: int,
        full: bool,
        pools_read: int,
        started: float,
        refreshed: float,
    ) -> ScanResult:
        try:
            gas = await self.gas_terms(block_number)
            begun = time.perf_counter()
            # Pure CPU work on immutable states: off the event loop, so the block
            # watcher, the dashboard and the keepalives stay responsive.
            analysis = await asyncio.to_thread(
                evaluate_cycles, cycles, dict(self.dex.states), self.terms(), gas, self.gas_model
            )
        except Exception as exc:
            self.record_error(exc)
            raise
        finished = time.perf_counter()
        self.record_success()
        self.count("full_scans" if full else "block_scans")
        self.count("cycles_evaluated", analysis.evaluated)
        self.count("findings", len(analysis.findings))
        return ScanResult(
            block_number=block_number,
            full=full,
            findings=analysis.findings,
            rejections=analysis.rejections,
            gas=gas,
            pools_watched=len(self.dex.pools),
            pools_read=pools_read,
            pools_failed=dict(self.dex.failed),
            cycles_indexed=len(self.index),
            refresh_ms=(refreshed - started) * 1000,
            analysis_ms=(finished - begun) * 1000,
        )


def _replace_timing(result: ScanResult, started: float) -> ScanResult:
    total = (time.perf_counter() - started) * 1000
    return replace(result, refresh_ms=max(0.0, total - result.analysis_ms))


# ----------------------------------------------------------------- synchronous entry points


class ScanSetupError(RuntimeError):
    """The network is not set up enough to scan (no DEX, no base token, no pools …)."""


@dataclass(frozen=True)
class ScanReport:
    """What :func:`scan_once` did: the inputs, the analysis and what was recorded."""

    inputs: AnalysisInputs
    result: ScanResult
    recorded: RecordResult


def scan_record(*, network: Network, result: ScanResult) -> RecordResult:
    """Store a scan's findings; a full scan also retires every other detected cycle."""
    return opportunities_record(
        network=network,
        block_number=result.block_number,
        evaluations=result.findings,
        evaluated_keys=None if result.full else result.evaluated_keys,
        reasons=result.rejections,
    )


def check_inputs(inputs: AnalysisInputs) -> None:
    """Refuse to scan a network that cannot produce a meaningful answer."""
    name = inputs.network_name
    if not inputs.enabled_dexes:
        raise ScanSetupError(
            f"No enabled DEX on {name}: register one with `manage.py add_dex NAME --kind KIND "
            "--factory ADDR` (or enable one in admin)."
        )
    if not inputs.base_tokens:
        raise ScanSetupError(
            f"{name} has no base tokens (where cycles start and end): set them with "
            "`manage.py add_network ... --base-tokens ADDR,ADDR` or in admin."
        )
    if not inputs.pools:
        raise ScanSetupError(
            f"No enabled pools on {name}: discover them with `manage.py sync_pools`."
        )
    if inputs.wrapped_native is None:
        raise ScanSetupError(
            f"{name} has no wrapped native token (WETH), so gas cannot be priced: set it in "
            "admin (Networks → wrapped native token)."
        )


def scan_once(
    *,
    network: Network | None = None,
    urls: Collection[str] | None = None,
    gas_model: GasModel = DEFAULT_GAS_MODEL,
) -> ScanReport:
    """One full scan of ``network`` (default: the active one): refresh, analyze, record.

    Raises ``ValidationError`` (no active network), :class:`ScanSetupError`,
    and the chain client's ``ChainMismatchError`` / ``RpcUnavailableError`` /
    ``RpcConfigurationError``.
    """
    network = network or active_network_required()
    inputs = analysis_inputs(network=network)
    check_inputs(inputs)
    session = ChainSession.for_network(network, urls=list(urls) if urls is not None else None)
    with session:
        scanner = MarketScanner(session.client, inputs, gas_model=gas_model)
        session.run(scanner.initialize())
        result = session.run(scanner.scan_full())
    # The ORM is used outside the session's event loop, on this thread.
    recorded = scan_record(network=network, result=result)
    return ScanReport(inputs, result, recorded)


__all__ = [
    "Analysis",
    "Finding",
    "GasTerms",
    "MarketScanner",
    "Rejection",
    "ScanReport",
    "ScanResult",
    "ScanSetupError",
    "StartTerms",
    "check_inputs",
    "evaluate_cycle",
    "evaluate_cycles",
    "gas_floor",
    "hop_ceiling",
    "native_prices",
    "pool_holdings",
    "profit_ceiling",
    "representative_transaction",
    "scan_once",
    "scan_record",
    "start_terms",
]
