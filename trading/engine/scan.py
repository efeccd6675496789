"""The market analyzer: refresh pools → cycles → size → profit after gas → keep → record.

Orchestration only; the verdicts are pure and live in
:mod:`trading.analysis.evaluation` (native prices, operator limits per start
token, the profit ceiling, sizing and profit after gas).

:class:`MarketScanner` reads pool states through the DEX manager and gas
prices through the gas oracle, then runs the pure evaluation off the event
loop. ``scan_full()`` is one full pass; ``scan_changed(pools)`` re-evaluates
only the cycles through pools that changed (the per-block path);
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
from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from trading.analysis import (
    DEFAULT_GAS_MODEL,
    CycleIndex,
    EdgeRates,
    Finding,
    GasModel,
    GasTerms,
    NativePricer,
    Rejection,
    StartTerms,
    evaluate_ids,
    start_terms,
)
from trading.analysis.cycles import Ids, union_ids
from trading.analysis.evaluation import SIZING_BUDGET, EvaluatedKeys
from trading.analysis.valuation import (
    price_per_native_coin,
    reference_usd_price,
    usd_per_native_coin,
)
from trading.chain.client import ChainClient
from trading.dex.manager import DexManager
from trading.execution.calldata import representative_transaction
from trading.gas.oracle import GasOracle
from trading.lifecycle import Component
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

# Cycles sized exactly per block: a block with more candidates judges the most
# promising (estimated gross profit in native terms) and leaves the rest for the
# next blocks; a cycle left waiting OVERDUE_BLOCKS blocks is judged first.
MAX_SIZED_PER_BLOCK = SIZING_BUDGET
OVERDUE_BLOCKS = 5


@dataclass(frozen=True)
class ScanResult:
    """One pass of the analyzer at ``block_number``.

    ``full`` passes evaluated every indexed cycle; the others only cycles
    through changed pools. ``rejections`` maps each evaluated cycle that does
    not pay to its :class:`Rejection` (the reason).
    """

    block_number: int
    full: bool
    findings: tuple[Finding, ...]
    rejections: Mapping[str, Rejection]
    gas: GasTerms
    pools_watched: int
    pools_read: int
    pools_failed: Mapping[str, str]
    cycles_indexed: int
    refresh_ms: float = 0.0
    analysis_ms: float = 0.0
    # Reference prices at the block, stored with each row (trading.analysis.valuation).
    native_prices: Mapping[str, int] = field(default_factory=dict)
    native_usd_price: int | None = None
    cycles_sized: int = 0  # cycles that reached the optimal sizing, findings included
    cycles_deferred: int = 0  # cycles the sizing budget left for a later block

    @property
    def cycles_evaluated(self) -> int:
        return len(self.findings) + len(self.rejections)

    @property
    def evaluated_keys(self) -> Set[str]:
        """Keys of every evaluated cycle (rejections are not listed to answer ``in``)."""
        return EvaluatedKeys(self.rejections, self.findings)


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
        max_sized_per_block: int | None = MAX_SIZED_PER_BLOCK,
    ) -> None:
        super().__init__()
        self.client = client
        self.inputs = inputs
        # Cycles sized exactly per changed-pools pass (None: all); the rest wait.
        self.max_sized_per_block = max_sized_per_block
        self.dex = (
            dex
            if dex is not None
            else DexManager(client, inputs.pools, gas_budget=inputs.read_gas_budget)
        )
        self.gas = gas if gas is not None else GasOracle(client, op_stack=inputs.is_op_stack)
        self.gas_model = gas_model
        self.index = CycleIndex(inputs.pools, inputs.base_tokens, inputs.max_hops)
        # The pre-filter's float lines per pool, recomputed only for pools whose state changed.
        self.rates = EdgeRates()
        self._gas_terms: GasTerms | None = None
        self._terms: tuple[int, dict[str, StartTerms]] | None = None
        self._pricer: tuple[AnalysisInputs, NativePricer] | None = None
        # Cycles left unjudged by the sizing budget (ids ascending) and the block each
        # was first left at: arrays, as a block may leave tens of thousands waiting.
        self._deferred: Ids
        self._deferred_since: npt.NDArray[np.int64]
        self._forget_deferred()

    @property
    def deferred(self) -> int:
        """Cycles waiting for a verdict that a block's sizing budget left for later."""
        return len(self._deferred)

    @property
    def deferred_ids(self) -> Ids:
        """Ids of the cycles waiting for a verdict, ascending."""
        return self._deferred

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
            self._forget_deferred()  # the ids were renumbered
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

    def terms_at(self, block_number: int) -> dict[str, StartTerms]:
        """:meth:`terms` as the analysis of ``block_number`` used them (computed once)."""
        if self._terms is not None and self._terms[0] == block_number:
            return self._terms[1]
        return self.terms()

    def terms(self) -> dict[str, StartTerms]:
        """Start-token terms for every base token, at the current pool prices."""
        inputs = self.inputs
        if self._pricer is None or self._pricer[0] is not inputs:  # new settings or pools
            pricer = NativePricer(inputs.pools, inputs.wrapped_native, inputs.base_tokens)
            self._pricer = (inputs, pricer)
        prices = self._pricer[1](self.dex.states)
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
            self.index.alive_ids(), batch.block_number, True, len(batch.states), started, refreshed
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
        ids = self.index.ids_through(changed)
        owed = None
        if len(self._deferred):
            waiting = self._deferred
            ids = union_ids(ids, waiting[self.index.table.alive[waiting]])
            # Left waiting for OVERDUE_BLOCKS: the longest waiting are judged first
            # (a share of the budget, so new gaps are judged too), by id among equals.
            overdue = block - self._deferred_since >= OVERDUE_BLOCKS
            late, since = waiting[overdue], self._deferred_since[overdue]
            owed = late[np.lexsort((late, since))]
        return await self._analyze(
            ids, block, False, len(changed), started, started, budget=self.max_sized_per_block,
            first=owed,
        )  # fmt: skip

    async def scan_block(self, block_number: int) -> ScanResult:
        """Re-read the pools block ``block_number`` touched, then evaluate their cycles."""
        started = time.perf_counter()
        # The gas terms do not depend on the logs: read them in the same round trip time.
        changed, _ = await asyncio.gather(
            self.dex.update(block_number), self.gas_terms(block_number)
        )
        result = await self.scan_changed(changed, block_number)
        return _replace_timing(result, started)

    async def _analyze(
        self,
        ids: Ids,
        block_number: int,
        full: bool,
        pools_read: int,
        started: float,
        refreshed: float,
        *,
        budget: int | None = None,
        first: Ids | None = None,
    ) -> ScanResult:
        try:
            gas = await self.gas_terms(block_number)
            begun = time.perf_counter()
            terms = self.terms()
            self._terms = (block_number, terms)
            # Pure CPU work on immutable states: off the event loop, so the block
            # watcher, the dashboard and the keepalives stay responsive.
            analysis = await asyncio.to_thread(
                evaluate_ids,
                self.index,
                ids,
                dict(self.dex.states),
                terms,
                gas,
                self.gas_model,
                self.rates,
                budget=budget,
                first=first,
            )
            usd_price = self.usd_price(terms)
        except Exception as exc:
            self.record_error(exc)
            raise
        finished = time.perf_counter()
        self._keep_deferred(analysis.deferred, block_number)
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
            cycles_sized=analysis.sized,
            cycles_deferred=len(analysis.deferred),
            native_prices={
                t: price_per_native_coin(term.native_to_start) for t, term in terms.items()
            },
            native_usd_price=usd_price,
        )

    def _keep_deferred(self, ids: Ids, block_number: int) -> None:
        """``ids`` wait for a verdict: since when they first waited, else since now."""
        ids = np.sort(ids)
        old, since = self._deferred, self._deferred_since
        now = np.full(len(ids), block_number, dtype=np.int64)
        if len(old) and len(ids):
            at = np.minimum(np.searchsorted(old, ids), len(old) - 1)
            now = np.where(old[at] == ids, since[at], now)
        self._deferred, self._deferred_since = ids, now

    def _forget_deferred(self) -> None:
        self._deferred = np.zeros(0, dtype=np.intp)
        self._deferred_since = np.zeros(0, dtype=np.int64)

    def usd_price(self, terms: Mapping[str, StartTerms] | None = None) -> int | None:
        """Millionths of a dollar per native coin at the states held now (None: no reference).

        ``terms`` (this block's, from :meth:`terms`) already hold the deepest native
        pool's price of every base token: a stablecoin among them is not priced
        again by walking every pool. The operator's reference pool is read alone.
        """
        inputs = self.inputs
        states = self.dex.states
        if inputs.usd_pool is not None:
            chosen = states.get(inputs.usd_pool)
            candidates = [chosen] if chosen is not None else []
            price = reference_usd_price(
                candidates,
                inputs.wrapped_native,
                inputs.usd_token,
                inputs.usd_token_decimals,
                inputs.usd_pool,
            )
            if price is not None:
                return price
        elif terms is not None and inputs.usd_token is not None and inputs.usd_token in terms:
            return usd_per_native_coin(
                terms[inputs.usd_token].native_to_start, inputs.usd_token_decimals
            )
        return reference_usd_price(
            states.values(),
            inputs.wrapped_native,
            inputs.usd_token,
            inputs.usd_token_decimals,
            inputs.usd_pool,
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
        native_prices=result.native_prices,
        native_usd_price=result.native_usd_price,
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
    "MarketScanner",
    "ScanReport",
    "ScanResult",
    "ScanSetupError",
    "check_inputs",
    "scan_once",
    "scan_record",
]
