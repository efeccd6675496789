"""The engine: components in dependency order and the per-block pipeline.

chain → storage → dex → gas → analysis → execution → wallet (the wallet
watch) are initialized in that order and cleaned up in reverse. For every new
block: update the pools its logs touched → re-evaluate the cycles through them
→ execute the best findings within the operator's limits (their rows written
claimed, in one call) → record the other opportunities → publish. A block
whose work outlasts the next block is not queued: the engine jumps to the
newest block (reading the skipped blocks' logs too, so pool states
stay exact) and counts the skip. A failing component is restarted with backoff;
the engine never dies silently, and on SIGINT/SIGTERM it finishes the current
block, records its state, cleans up and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections

from trading import events, metrics, orm, vitals
from trading.amm import AmmError, quote
from trading.chain.client import ChainClient, close_quietly, resolve_rpc_urls
from trading.chain.erc20 import balance_of
from trading.chain.signer import Signer, SignerNotConfigured
from trading.dex.manager import DexManager
from trading.engine.behind import BehindChange, BehindThresholds, BehindWatch
from trading.engine.lease import EngineLease
from trading.engine.reconciler import Reconciler
from trading.engine.reorgs import HeadHistory, ReorgFound
from trading.engine.scan import MarketScanner, ScanResult, check_inputs
from trading.engine.watcher import BlockWatcher
from trading.execution.manager import (
    DEADLINE_BLOCKS,
    ExecutionManager,
    ExecutionResult,
    Limits,
    simulation_failed,
)
from trading.gas.oracle import GasOracle
from trading.lifecycle import Backoff, Component, Lifecycle
from trading.reasons import ReasonCode
from trading.services import engine_state as state_services
from trading.services import execution as execution_services
from trading.services import reorgs as reorg_services
from trading.services.backoff import backed_off_until, backoff_note
from trading.services.opportunities import AnalysisInputs, RecordResult, analysis_inputs

logger = logging.getLogger(__name__)

# Findings not traded by the block that found them stay candidates this many
# blocks (at most this many, the newest first), unless a later block judges
# their cycle again.
UNTRADED_BLOCKS = 10
UNTRADED_ROWS = 256


def disjoint_routes[K](
    ranked: Iterable[tuple[K, str, frozenset[str]]], count: int, taken: Iterable[str] = ()
) -> list[tuple[K, str]]:
    """The first ``count`` of ``ranked`` routes (id, start token, pools) that share no pool
    with an earlier one chosen or with ``taken`` (the pools of trades in flight).

    Routes chosen together run side by side: none moves a pool another was
    simulated on, and none goes through a pool a trade in flight may still move
    (it could revert on chain).
    """
    chosen: list[tuple[K, str]] = []
    used = set(taken)
    for route_id, start_token, pools in ranked:
        if len(chosen) == count:
            break
        if not pools & used:
            chosen.append((route_id, start_token))
            used |= pools
    return chosen


def native_value_key(
    native_to_start: Mapping[str, Fraction],
) -> Callable[[Any, int], tuple[bool, int, int]]:
    """A sort key of (finding, block): its net profit in native terms (units of 2**-64
    native wei, so integer keys sort fast), the newer first among equals; a start
    token without a native price ranks below every priced one, by its raw profit."""
    scales: dict[str, tuple[int, int] | None] = {}

    def key(finding: Any, block: int) -> tuple[bool, int, int]:
        token = finding.cycle.start_token
        if token not in scales:
            price = native_to_start.get(token)
            scales[token] = (
                (price.denominator << 64, price.numerator)
                if price is not None and price > 0
                else None
            )
        scale = scales[token]
        net = finding.evaluation.net
        if scale is None:
            return (False, net, block)
        return (True, net * scale[0] // scale[1], block)

    return key


@dataclass
class BlockReport:
    """What the engine did with one block."""

    block_number: int
    skipped_before: int
    pools_changed: int
    findings: int
    recorded: int
    executions: list[ExecutionResult] = field(default_factory=list)
    latency_ms: float = 0.0
    # time.perf_counter() when the block's trades were decided (sent), before the
    # rows written after the decision.
    decided_at: float = 0.0
    # Seconds per pipeline stage (trading.metrics.STAGES) that ran for this block.
    stages: dict[str, float] = field(default_factory=dict)


class StorageComponent(Component):
    """The memory bank's engine side: records opportunities, keeps engine state current.

    A block's opportunities are written in bulk after its decision (the rows of
    the trades it decided on are written claimed, before them: ``decide``).
    Engine state and component health are coalesced and flushed by a
    background task, off the hot path.
    """

    name = "storage"

    def __init__(
        self, network_id: int, *, flush_interval: float = 1.0, market_interval: float = 5.0
    ) -> None:
        super().__init__()
        self.network_id = network_id
        self.flush_interval = flush_interval
        self._pending_state: dict[str, Any] = {}
        # The market panel (every pool priced) is written at most this often.
        self.market_interval = market_interval
        self._market_at = -float("inf")
        self._pending_health: list[Any] = []
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # Returns the engine's own figures (System page) and its process's; sampled
        # by the flusher, off the block path.
        self.figures: Callable[[], tuple[dict[str, Any], dict[str, Any]]] | None = None

    async def _initialize(self) -> None:
        # After a database outage the worker thread's connection is broken for
        # good: drop it so this (re)start connects afresh.
        await reset_database_connections()
        await sync_to_async(state_services.engine_started)()
        self._flusher = asyncio.create_task(self._flush_loop(), name="memory-bank-flush")

    async def _cleanup(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush()
        finally:
            await sync_to_async(state_services.engine_stopped)()

    def _record(self, result: ScanResult) -> Any:
        from trading.engine.scan import scan_record
        from trading.models import Network

        network = Network.objects.get(pk=self.network_id)
        return scan_record(network=network, result=result)

    async def record(self, result: ScanResult) -> Any:
        # The network and the rows in one hop to the ORM thread.
        recorded = await sync_to_async(self._record)(result)
        self.count("opportunities_recorded", len(recorded.created) + len(recorded.updated))
        detected = len(recorded.created) + len(recorded.updated)
        if detected:
            metrics.OPPORTUNITIES_RECORDED.labels("detected").inc(detected)
        if recorded.staled:
            metrics.OPPORTUNITIES_RECORDED.labels("stale").inc(len(recorded.staled))
        self.record_success()
        return recorded

    def note(self, *, health: list[Any] | None = None, **state: Any) -> None:
        """Queue engine state / health for the next flush (latest values win)."""
        self._pending_state.update(state)
        if health is not None:
            self._pending_health = health
        self._wake.set()

    async def flush(self) -> None:
        state, health = self._pending_state, self._pending_health
        self._pending_state, self._pending_health = {}, []
        if not state and not health:
            return
        market = state.get("market")
        if callable(market):
            # The market panel prices every pool: in a thread of its own (not the
            # ORM's, which the block path uses), and at most every market_interval.
            now = time.monotonic()
            if now - self._market_at >= self.market_interval:
                self._market_at = now
                state["market"] = await orm.after_decision(market)
            else:
                del state["market"]
        process = None
        if self.figures is not None:
            state["system"], process = self.figures()
        # Off the ORM thread (PostgreSQL), once the block being decided is: the
        # block's own queries never wait behind it.
        await orm.behind(
            state_services.engine_state_save, state=state, health=health, process=process
        )

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # the flusher must outlive a database hiccup
                self.record_error(exc)
                logger.warning("engine state flush failed: %s", exc)
            await asyncio.sleep(self.flush_interval)


class WalletWatch(Component):
    """Watches balances: the signing account's gas money and the executor's tokens.

    Read every few blocks. Below BotConfig's minimum gas balance, live sends stop
    (with one alert and a log line saying why) and resume by themselves once the
    account is funded.
    """

    name = "wallet"

    def __init__(
        self,
        client: ChainClient,
        address: str | None,
        *,
        executor: str = "",
        tokens: tuple[Any, ...] = (),
        every_blocks: int = 5,
    ):
        super().__init__()
        self.client = client
        self.address = address
        self.executor = executor
        self.tokens = tokens  # TokenFacts of the tokens to watch in the executor
        self.every_blocks = every_blocks
        self.balance: int | None = None
        self.token_balances: dict[str, int] = {}
        self.minimum = 0
        self.low = False
        self._last_block = -(10**9)

    async def refresh(self, block_number: int, *, force: bool = False) -> bool:
        """Re-read the balances if due; True when they were read."""
        if not force and block_number - self._last_block < self.every_blocks:
            return False
        self._last_block = block_number
        if self.address is not None:
            self.balance = int(
                await self.client.request("eth_getBalance", [self.address, "latest"]), 16
            )
        if self.executor and self.tokens:
            for token in self.tokens:
                self.token_balances[token.address] = await balance_of(
                    self.client, token.address, self.executor
                )
        self.record_success()
        return True

    async def check(self, block_number: int, minimum: int) -> bool:
        """True when live transactions may be sent; alerts once when the balance runs low."""
        if self.address is None:
            return True
        self.minimum = minimum
        await self.refresh(block_number, force=self.balance is None)
        assert self.balance is not None
        low = self.balance < minimum
        if low and not self.low:
            logger.warning(
                "signing account balance %s wei is below the minimum %s: live trading stops",
                self.balance,
                minimum,
            )
            await sync_to_async(state_services.low_balance_alert)(
                address=self.address, balance=self.balance, minimum=minimum
            )
        elif self.low and not low:
            logger.info("signing account funded again (%s wei): live trading resumes", self.balance)
        self.low = low
        return not low

    def snapshot(self) -> dict[str, Any]:
        """The balances for the dashboard (amounts as decimal strings of the smallest unit)."""
        return {
            "block": self._last_block if self._last_block >= 0 else None,
            "signer": {
                "address": self.address or "",
                "balance_wei": "" if self.balance is None else str(self.balance),
                "minimum_wei": str(self.minimum),
                "low": self.low,
            },
            "executor": {
                "address": self.executor,
                "tokens": [
                    {
                        "symbol": token.symbol,
                        "address": token.address,
                        "decimals": token.decimals,
                        "balance": str(self.token_balances[token.address]),
                    }
                    for token in self.tokens
                    if token.address in self.token_balances
                ],
            },
        }


class Engine:
    """Runs the bot on the active network."""

    def __init__(
        self,
        *,
        mode: str | None = None,
        urls: list[str] | None = None,
        max_executions_per_block: int = 2,
        max_recorded_per_block: int = 100,
        poll_interval: float | None = None,
        on_block: Callable[[BlockReport], None] | None = None,
        supervise_interval: float = 0.5,
        down_alert_after: float = 15.0,
        lease_ttl: float = 10.0,
    ) -> None:
        self.mode_override = mode
        self.urls = urls
        self.max_executions_per_block = max_executions_per_block
        self.max_recorded_per_block = max_recorded_per_block
        self.poll_interval = poll_interval
        self.on_block = on_block
        self.stop_event = asyncio.Event()
        self.blocks_processed = 0
        self.blocks_skipped = 0
        self.last_block: int | None = None
        self.reports: list[BlockReport] = []
        self.lifecycle: Lifecycle | None = None
        self.inputs: AnalysisInputs | None = None
        self._needs_full_scan = True
        # The latest scan and what was recorded from it.
        self.last_scan: tuple[ScanResult, Any] | None = None
        # Failed components are restarted on this timer, whether blocks arrive or not.
        self.supervise_interval = supervise_interval
        # One engine per network and signer: the lease's lifetime in seconds.
        self.lease_ttl = lease_ttl
        self.lease: EngineLease | None = None
        # run()'s supervisor, while it runs: it renews the lease off the block path.
        self._supervisor: asyncio.Task[None] | None = None
        # A component down this long raises one alert (and one more when it is back).
        self.down_alert_after = down_alert_after
        self._down_since: dict[str, float] = {}
        self._down_alerted: set[str] = set()
        # Held while a block is processed and while components restart, so a
        # restart never swaps a component out from under a running block.
        self._work_lock = asyncio.Lock()
        # Between blocks the supervisor keeps the heartbeat fresh at this pace.
        self.heartbeat_interval = 2.0
        self._last_health_at = 0.0
        # Stage timings of the last blocks, for the System page's percentiles.
        self.recent: deque[BlockReport] = deque(maxlen=100)
        self.head_lag = 0
        self.process_meter = vitals.ProcessMeter()
        self.engine_meter = vitals.EngineMeter()
        # Falling behind the chain: alerts go out from the supervisor, off the block path.
        self.behind = BehindWatch()
        self.behind_changes: list[BehindChange] = []
        self.thresholds_interval = 10.0
        self._thresholds_at = -float("inf")
        # Live trades sent and tracked in the background: their start token's terms,
        # for the profit metric once settled; and whether a settled one moved balances.
        self._sent_terms: dict[int, Any] = {}
        self._wallet_due = False
        # The findings the engine decides from, in memory: cycle key -> (finding, the
        # block that judged it). A finding not traded by its block (a pool in
        # flight, the per-block limit) stays a candidate for a few blocks, since a
        # cycle whose pools do not change is not judged again.
        self._candidates: dict[str, tuple[Any, int]] = {}
        # Pools and tokens backed off (lower case) -> the last block they are left
        # out at; read after each decision (refresh_backoff), never before one.
        self._backed_off: dict[str, int] = {}
        # The last block's back-off notes, written after its decision (write_backoff).
        self._backoff_due: tuple[int, list[tuple[int, bool, str]]] | None = None
        # Open from a block's arrival to its decision (_deciding).
        self._decision = contextlib.ExitStack()

    # --- set-up ---------------------------------------------------------------------

    async def _build(self) -> None:
        from trading.services.networks import active_network_required

        network = await sync_to_async(active_network_required)()
        inputs = await sync_to_async(analysis_inputs)(network=network)
        check_inputs(inputs)
        self.inputs = inputs
        self.network = network
        urls = self.urls or resolve_rpc_urls(network.rpc_urls)
        self.client = ChainClient(urls, chain_id=network.chain_id)
        self.storage = StorageComponent(network.pk)
        self.storage.figures = self.figures
        self.dex = DexManager(self.client, inputs.pools, gas_budget=inputs.read_gas_budget)
        self.gas = GasOracle(self.client, op_stack=network.is_op_stack)
        self.scanner = MarketScanner(self.client, inputs, dex=self.dex, gas=self.gas)
        try:
            self.signer: Signer | None = Signer.from_environment()
        except SignerNotConfigured:
            self.signer = None
        components: list[Component] = [self.client, self.storage, self.dex, self.gas, self.scanner]
        self.execution: ExecutionManager | None = None
        if network.executor_address:
            self.execution = ExecutionManager(
                self.client,
                self.gas,
                executor_address=network.executor_address,
                chain_id=network.chain_id,
                signer=self.signer,
                # A live trade's receipt is followed by a task of its own: the
                # block that sent it is decided without waiting a block for it.
                # Until it settles, no other trade goes through its pools, its
                # worst gas cost counts against the daily loss limit, and the
                # nonce repair leaves the account alone (see ExecutionManager).
                wait_for_receipt=False,
                on_settled=self._trade_settled,
            )
            components.append(self.execution)
        watched = tuple(inputs.tokens[a] for a in inputs.base_tokens if a in inputs.tokens)
        self.wallet = WalletWatch(
            self.client,
            self.signer.address if self.signer else None,
            executor=network.executor_address,
            tokens=watched,
        )
        components.append(self.wallet)
        # Restarts come quickly at first (an RPC blip should cost a block or two)
        # and back off to a few seconds for a dependency that stays down.
        self.lifecycle = Lifecycle(components, backoff=Backoff(initial=0.5, maximum=8.0))
        ws_urls = [
            u for u in (self.urls or network.rpc_url_list) if u.startswith(("ws://", "wss://"))
        ]
        interval = self.poll_interval or max(0.05, network.block_time_ms / 2000)
        # The watcher's own connection: the engine may tear its client down and
        # restart it; heads must keep coming meanwhile.
        self.watch_client = ChainClient(urls, chain_id=network.chain_id)
        self.watcher = BlockWatcher(
            self.watch_client, ws_url=ws_urls[0] if ws_urls else None, poll_interval=interval
        )
        self.heads = HeadHistory(self.watch_client)
        self.reconciler = Reconciler(
            lambda: self.execution if self._leading() else None, lambda: self.watcher.latest
        )
        self.lease = EngineLease(
            network_id=network.pk,
            signer=self.signer.address if self.signer else None,
            ttl=self.lease_ttl,
        )
        # Reorgs seen but not written yet (the database was away): retried every head.
        self._reorgs_to_record: list[ReorgFound] = []

    async def start(self) -> None:
        """Build and initialize every component; reconcile trades a crash left pending."""
        await self._build()
        assert self.lifecycle is not None
        # The pages' messages are built and published by a thread of their own,
        # never on the block path.
        events.deliver_apart()
        try:
            await self.lifecycle.initialize()
        except BaseException:
            # A failed start (a wrong key, no executor) must not leave the engine
            # shown as running: release what started, which records it stopped.
            with contextlib.suppress(Exception):
                await self.lifecycle.cleanup()
            await close_quietly(self.watch_client)
            await asyncio.to_thread(events.deliver_inline)
            raise
        assert self.lease is not None
        await self.lease.refresh(force=True)
        await self.refresh_thresholds()
        if self.execution is not None:
            await self.refresh_backoff(0)
        if self.execution is not None and self.lease.valid:
            settled = await self.execution.reconcile_pending()
            if settled:
                logger.info("reconciled %d pending trade(s): %s", len(settled), settled)
        self._publish_health(running=True)

    async def stop(self) -> None:
        if self.lifecycle is not None:
            if self.execution is not None and self.execution.initialized:
                # Trades sent and still tracked settle first, so the state left
                # behind (balances included) says how they ended.
                with contextlib.suppress(Exception):
                    await self.execution.wait_for_trackers()
            if self._wallet_due and self.wallet.initialized:
                with contextlib.suppress(Exception):
                    await self.wallet.refresh(self.last_block or 0, force=True)
                self._wallet_due = False
            self._publish_health(running=False)
            # The database may be away: releasing the chain and the rest must not wait on it.
            with contextlib.suppress(Exception):
                await self.send_behind_alerts()
            with contextlib.suppress(Exception):
                await reset_database_connections()
            if self.lease is not None:
                await self.lease.release()
            await self.lifecycle.cleanup()
            await close_quietly(self.watch_client)
            await asyncio.to_thread(events.deliver_inline)

    # --- the pipeline -------------------------------------------------------------------

    def limits_from(self, config: Any) -> Limits:
        """The operator's limits in ``config`` (a BotConfig), the engine's mode applied."""
        live = (self.mode_override or config.mode) == "live"
        return Limits(
            paused=config.paused,
            paused_reason=config.paused_reason,
            live=live,
            max_trade_size=2**256 - 1,  # set per start token below
            max_gas_price_wei=config.max_gas_price_wei,
            daily_loss_limit_wei=config.daily_loss_limit_wei,
            slippage_bps=config.slippage_bps,
            min_gas_balance_wei=config.min_gas_balance_wei,
        )

    async def requote(self, path: list[dict[str, str]], amount_in: int) -> int | None:
        """Gross profit of ``path`` on the newest pool states (exact), None if unquotable."""
        amount = amount_in
        for step in path:
            state = self.dex.state(step["pool"])
            if state is None:
                return None
            try:
                amount = quote(state, step["token_in"], amount)
            except AmmError:
                return None
        return amount - amount_in

    def _leading(self) -> bool:
        """True while this engine holds the lease (a standby sends nothing)."""
        return self.lease is None or self.lease.valid

    def remember(self, result: ScanResult) -> None:
        """Bring the candidates up to ``result``: the cycles it judged drop their older
        findings, its findings join, and findings past their blocks leave."""
        block = result.block_number
        if result.full:
            self._candidates.clear()
        else:
            judged = result.evaluated_keys
            for key in [k for k in self._candidates if k in judged]:
                del self._candidates[key]
        for finding in result.findings:
            self._candidates[finding.key] = (finding, block)
        oldest = block - UNTRADED_BLOCKS
        if len(self._candidates) > UNTRADED_ROWS or any(
            b <= oldest for _, b in self._candidates.values()
        ):
            kept = sorted(
                ((b, k) for k, (_, b) in self._candidates.items() if b > oldest), reverse=True
            )[:UNTRADED_ROWS]
            self._candidates = {k: self._candidates[k] for _, k in reversed(kept)}

    def ranked_routes(
        self, native_to_start: Mapping[str, Fraction], block: int
    ) -> Iterator[tuple[str, str, frozenset[str]]]:
        """The candidates, worth the most in native terms first, as (key, start token,
        pools); cycles through a pool or token backed off at ``block`` are left out."""
        blocked = {a for a, until in self._backed_off.items() if until >= block}
        value = native_value_key(native_to_start)
        ordered = sorted(self._candidates.items(), key=lambda c: value(*c[1]), reverse=True)
        for key, (finding, _) in ordered:
            cycle = finding.cycle
            pools = frozenset(p.lower() for p in cycle.pools)
            if blocked and (
                not pools.isdisjoint(blocked) or any(t.lower() in blocked for t in cycle.tokens)
            ):
                continue
            yield key, cycle.start_token, pools

    async def decide(
        self, result: ScanResult, stages: dict[str, float] | None = None
    ) -> tuple[list[ExecutionResult], dict[str, int]]:
        """Choose the block's trades from the findings in memory and run them.

        Only the chosen findings' rows are written before the trades go, claimed,
        in one call that also reads the operator's limits (and, trading live,
        today's loss); every other row is written after the decision. Returns the
        executions and the rows claimed (cycle key -> id).
        """
        self.remember(result)
        supervised = self._supervisor is not None and not self._supervisor.done()
        if self.lease is not None and not supervised:
            # The supervisor renews it off the block path; without one, here.
            await self.lease.refresh()
        if self.execution is None or not self._leading():
            return [], {}
        block = result.block_number
        terms = self.scanner.terms_at(block)
        native_to_start = {token: t.native_to_start for token, t in terms.items()}
        flying = self.execution.in_flight_pools(block)
        chosen = disjoint_routes(
            self.ranked_routes(native_to_start, block), self.max_executions_per_block, flying
        )
        if not chosen:
            return [], {}
        # Chosen, they are no longer candidates, whatever comes of them.
        items = [self._candidates.pop(key) for key, _ in chosen]
        began = time.perf_counter()
        live = None if self.mode_override is None else self.mode_override == "live"
        claim = await sync_to_async(execution_services.decision_claim)(
            network=self.network,
            items=items,
            native_prices=result.native_prices,
            native_usd_price=result.native_usd_price,
            live=live,
        )
        if stages is not None:
            stages["recording"] = time.perf_counter() - began
        limits = self.limits_from(claim.config)
        mode = "live" if limits.live else "dry_run"
        claimed = [(claim.contexts[key], token) for key, token in chosen if key in claim.contexts]
        if len(claimed) < len(chosen):
            self.execution.count("not_claimed", len(chosen) - len(claimed))
        deadline = block + DEADLINE_BLOCKS

        def limits_for(start_token: str) -> Limits:
            start = terms.get(start_token)
            per_token = limits if start is None else _with_max(limits, start.max_amount_in)
            return replace(per_token, deadline_block=deadline)

        wallet_checked = limits.live and self.wallet.address is not None
        if wallet_checked and not await self.wallet.check(block, limits.min_gas_balance_wei):
            results: list[ExecutionResult | BaseException] = list(
                await asyncio.gather(
                    *(
                        self.execution.refuse_claimed(
                            context,
                            "skipped",
                            "signing account balance below the minimum: live trading stopped",
                            ReasonCode.ACCOUNT,
                        )
                        for context, _ in claimed
                    ),
                    return_exceptions=True,
                )
            )
        else:
            # The fee suggestion and today's loss are read once for the block's trades;
            # the loss is checked again right before each send (one send at a time).
            self.execution.begin_block(block, loss=claim.loss)
            try:
                results = await asyncio.gather(
                    *(
                        self.execution.execute_claimed(context, limits_for(token), self.requote)
                        for context, token in claimed
                    ),
                    return_exceptions=True,
                )
            finally:
                self.execution.end_block()
        outcomes: list[ExecutionResult] = []
        failure: BaseException | None = None
        notes: list[tuple[int, bool, str]] = []
        for (context, start_token), outcome in zip(claimed, results, strict=True):
            if isinstance(outcome, BaseException):
                failure = failure or outcome
                continue
            outcomes.append(outcome)
            sent = outcome.outcome == "pending" and outcome.trade_id is not None
            failed = simulation_failed(outcome)
            if failed or sent or outcome.outcome in {"simulated", "success"}:
                notes.append((context.opportunity_id, failed, outcome.reason))
            start = terms.get(start_token)
            if sent:
                # Counted when its receipt settles it (_trade_settled).
                self._sent_terms[context.opportunity_id] = start
                continue
            self._count_trade(outcome, mode, start)
        # Written after the decision (write_backoff), before the next block's.
        self._backoff_due = (block, notes)
        if failure is not None:
            raise failure
        return outcomes, {key: claim.contexts[key].opportunity_id for key in claim.contexts}

    async def write_backoff(self) -> None:
        """Note the last block's simulation failures and trades for the back-off."""
        due, self._backoff_due = self._backoff_due, None
        if due is None:
            return
        block, notes = due
        traded: set[str] = set()  # pools this block's trades moved
        for opportunity_id, failed, reason in notes:
            moved = await sync_to_async(backoff_note)(
                opportunity_id=opportunity_id,
                block=block,
                failed=failed,
                reason=reason,
                traded_pools=traded,
            )
            if not failed:
                traded.update(moved)

    async def refresh_backoff(self, block: int) -> None:
        """Read the pools and tokens backed off from ``block`` on (after a decision)."""
        self._backed_off = await sync_to_async(backed_off_until)(
            network_ids=[self.network.pk], block=block
        )

    def _count_trade(self, outcome: ExecutionResult, mode: str, start: Any) -> None:
        metrics.TRADES.labels(outcome.outcome, mode).inc()
        if outcome.outcome == "success" and outcome.profit and start is not None:
            # Start-token units back to native wei, for graphs only.
            profit_wei = int(outcome.profit / start.native_to_start)
            metrics.REALIZED_PROFIT_NATIVE.inc(max(0, metrics.native(profit_wei)))

    def _trade_settled(self, outcome: ExecutionResult) -> None:
        """A live trade tracked in the background has its outcome."""
        self._wallet_due = True  # the balances moved: read them with the next block
        start = self._sent_terms.pop(outcome.opportunity_id, None)
        self._count_trade(outcome, "live", start)

    async def full_scan(self) -> BlockReport:
        started = asyncio.get_running_loop().time()
        with self._deciding():
            result = await self.scanner.scan_full()
            self._needs_full_scan = False
            return await self._finish_block(
                result,
                skipped=0,
                changed=result.pools_read,
                started=started,
                stages={"pool_update": result.refresh_ms / 1000},
            )

    @contextlib.contextmanager
    def _deciding(self) -> Iterator[None]:
        """From a block's arrival to its decision (``_decided``, or the block's end):
        the process's work that can wait holds back (``orm.deciding``)."""
        self._decision.enter_context(orm.deciding())
        try:
            yield
        finally:
            self._decision.close()

    def _decided(self) -> None:
        self._decision.close()

    async def process_block(self, block_number: int) -> BlockReport:
        """Bring the pools to ``block_number`` and act on what changed."""
        started = asyncio.get_running_loop().time()
        skipped = 0
        if self.last_block is not None and block_number > self.last_block + 1:
            skipped = block_number - self.last_block - 1
        from_block = self.last_block + 1 if self.last_block is not None else None
        with self._deciding():
            # Gas terms do not depend on the logs: fetched beside them, not after.
            changed, _ = await asyncio.gather(
                self.dex.update(block_number, from_block=from_block),
                self.scanner.gas_terms(block_number),
            )
            logs, pool_update = self.dex.last_update_seconds
            result = await self.scanner.scan_changed(changed, block_number)
            return await self._finish_block(
                result,
                skipped=skipped,
                changed=len(changed),
                started=started,
                stages={"logs": logs, "pool_update": pool_update},
            )

    async def _finish_block(
        self,
        result: ScanResult,
        *,
        skipped: int,
        changed: int,
        started: float,
        stages: dict[str, float],
    ) -> BlockReport:
        stages["analysis"] = result.analysis_ms / 1000
        if len(result.findings) > self.max_recorded_per_block:
            # Findings come best first; the rest are left for later blocks rather
            # than written every block (their rows, if any, stay as they are).
            result = replace(result, findings=result.findings[: self.max_recorded_per_block])
        began = time.perf_counter()
        stages["recording"] = 0.0
        executions, claimed = await self.decide(result, stages)
        decided_at = time.perf_counter()
        self._decided()
        stages["execution"] = decided_at - began - stages["recording"]
        # From the block's arrival (before the pool update) to the decision.
        latency_ms = (asyncio.get_running_loop().time() - started) * 1000
        try:
            await self.write_backoff()
            if self.execution is not None:
                await self.refresh_backoff(result.block_number + 1)
        except DatabaseError as exc:
            # The trades are sent: the block stands; a failure only goes unnoted.
            logger.warning("block %s: back-off notes not written: %s", result.block_number, exc)
            self.storage.record_error(exc)
        # The rows of every other finding, and of the cycles that no longer pay, for
        # the pages and later blocks: after the decision. The claimed rows are the
        # executions' own.
        rest = result
        if claimed:
            others = tuple(f for f in result.findings if f.key not in claimed)
            rest = replace(result, findings=others)
        recorded = RecordResult(created=tuple(claimed.values()))
        try:
            later = await self.storage.record(rest)
        except Exception as exc:
            # The trades are sent: the block stands. The next block judges every
            # cycle again (a full scan), so the rows catch up with the chain.
            logger.warning(
                "block %s: rows after the decision not written: %s", result.block_number, exc
            )
            self.storage.record_error(exc)
            self._needs_full_scan = True
        else:
            recorded = RecordResult(
                created=recorded.created + later.created,
                updated=later.updated,
                staled=later.staled,
            )
        stages["recording_after"] = time.perf_counter() - decided_at
        try:
            # A trade just moved the balances: read them now rather than in a few blocks.
            traded = self._wallet_due or any(
                r.outcome in {"success", "reverted"} for r in executions
            )
            self._wallet_due = False
            await self.wallet.refresh(result.block_number, force=traded)
        except Exception as exc:  # balances are for display; never fail a block on them
            self.wallet.record_error(exc)
        self.last_scan = (result, recorded)
        self.last_block = result.block_number
        self.blocks_processed += 1
        self.blocks_skipped += skipped
        report = BlockReport(
            block_number=result.block_number,
            skipped_before=skipped,
            pools_changed=changed,
            findings=len(result.findings),
            recorded=len(recorded.created) + len(recorded.updated),
            executions=executions,
            latency_ms=latency_ms,
            decided_at=decided_at,
            stages=stages,
        )
        began = time.perf_counter()
        self._publish_health(running=True)
        if self.on_block is not None:
            self.on_block(report)
        stages["publishing"] = time.perf_counter() - began
        self._record_metrics(result, report)
        self.recent.append(report)
        return report

    def _record_metrics(self, result: ScanResult, report: BlockReport) -> None:
        metrics.observe_stages(report.stages)
        metrics.BLOCK_DECISION_SECONDS.observe(report.latency_ms / 1000)
        metrics.BLOCKS_PROCESSED.inc()
        if report.skipped_before:
            metrics.BLOCKS_SKIPPED.inc(report.skipped_before)
        self.head_lag = max(0, self.watcher.latest - report.block_number)
        metrics.HEAD_LAG.set(self.head_lag)
        metrics.CYCLES_INDEXED.set(result.cycles_indexed)
        metrics.CYCLES_AFFECTED.inc(result.cycles_evaluated)
        metrics.CYCLES_SIZED.inc(cycles_sized(result))
        change = self.behind.observe(report.block_number, self.head_lag, report.skipped_before)
        if change is not None:
            self.behind_changes.append(change)

    def figures(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The engine's figures for the System page, and its process's (JSON-ready)."""
        system = vitals.stage_figures((r.block_number, r.stages) for r in self.recent)
        system.update(self.engine_meter.sample())
        system.update(
            head_lag=self.head_lag,
            last_block=self.last_block,
            skipped_recent=sum(r.skipped_before for r in self.recent),
            skipped_last_10=sum(r.skipped_before for r in list(self.recent)[-10:]),
            block_time_ms=getattr(getattr(self, "network", None), "block_time_ms", None),
            behind=self.behind.behind,
        )
        process = self.process_meter.sample()
        process.update(instance=vitals.instance(), event_loop_lag_ms=system["event_loop_lag_ms"])
        return system, process

    async def refresh_thresholds(self) -> None:
        """Reload the falling-behind thresholds from BotConfig."""
        from trading.services.system import behind_thresholds

        self._thresholds_at = asyncio.get_running_loop().time()
        lag, skipped, blocks = await sync_to_async(behind_thresholds)()
        self.behind.thresholds = BehindThresholds(lag, skipped, blocks)

    async def send_behind_alerts(self) -> None:
        """Record the falling-behind alerts the last blocks raised (oldest first)."""
        from trading.services.system import falling_behind_alert

        while self.behind_changes:
            change = self.behind_changes[0]
            try:
                await sync_to_async(falling_behind_alert)(
                    behind=change.behind,
                    block_number=change.block_number,
                    head_lag=change.head_lag,
                    skipped=change.skipped,
                    reasons=list(change.reasons),
                    blocks=change.blocks,
                )
            except Exception as exc:  # a database hiccup: the next tick tries again
                logger.warning("falling-behind alert not recorded yet: %s", exc)
                return
            self.behind_changes.pop(0)

    def _publish_health(self, *, running: bool) -> None:
        if self.lifecycle is None:
            return
        with contextlib.suppress(RuntimeError):  # no loop: a synchronous caller
            self._last_health_at = asyncio.get_running_loop().time()
        market: Callable[[], list[dict[str, Any]]] | list[Any] = []
        if self.inputs is not None:
            # Priced by the flusher, off the block path: only a snapshot of the
            # (immutable) states is taken here.
            market = functools.partial(
                state_services.market_panel,
                dict(self.dex.states),
                dict(self.dex.pools),
                self.inputs.base_tokens,
                self.inputs.tokens,
            )
        health = self.lifecycle.health()
        metrics.set_components(health)
        self.storage.note(
            health=health,
            running=running,
            last_block=self.last_block,
            blocks_processed=self.blocks_processed,
            blocks_skipped=self.blocks_skipped,
            market=market,
            balances=self.wallet.snapshot(),
        )

    # --- running ------------------------------------------------------------------------

    def request_stop(self) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)

    async def run_once(self) -> BlockReport:
        """Start, one full scan (record and execute), stop."""
        await self.start()
        try:
            report = await self.full_scan()
            self.reports.append(report)
            return report
        finally:
            await self.stop()

    async def run(self, *, blocks: int | None = None) -> int:
        """Run block by block until stopped (or ``blocks`` blocks); returns blocks processed."""
        await self.start()
        assert self.lifecycle is not None
        processed = 0
        supervisor = asyncio.create_task(self._supervise(), name="engine-supervisor")
        self._supervisor = supervisor
        lag = asyncio.create_task(metrics.watch_event_loop_lag(), name="event-loop-lag")
        reconciler = asyncio.create_task(self.reconciler.run(self.stop_event), name="reconcile")
        try:
            async for block_number in self.watcher.blocks(self.stop_event):
                if self.stop_event.is_set():
                    break
                if not self._leading():
                    continue  # a hot standby: another engine trades; the supervisor retries
                # The reorg check reads one header beside the block's work, not before it.
                heads = asyncio.create_task(self._follow_head(block_number))
                try:
                    async with self._work_lock:
                        if not all(c.initialized for c in self.lifecycle):
                            continue  # a component is down: the supervisor is restarting it
                        if not await self._process(block_number):
                            continue
                finally:
                    if await heads:
                        # Pool states may hold what the dropped blocks did.
                        self._needs_full_scan = True
                processed += 1
                if blocks is not None and processed >= blocks:
                    break
        finally:
            lag.cancel()
            for task in (supervisor, reconciler):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._supervisor = None
            await self.stop()
        return processed

    async def _follow_head(self, block_number: int) -> bool:
        """Check the head for a reorg and correct the rows; True when one was found."""
        try:
            found = await self.heads.observe(block_number)
        except Exception as exc:  # the next head checks again
            logger.warning("cannot check block %s for a reorg: %s", block_number, exc)
            found = None
        if found is not None:
            logger.warning(
                "reorg: %d block(s) above %d replaced (head %d -> %d)",
                found.depth,
                found.common_ancestor,
                found.old_head,
                found.new_head,
            )
            metrics.REORGS.inc()
            if self.execution is not None and self.execution.nonces is not None:
                # Mined nonces may have been taken back: read the count again.
                self.execution.nonces.forget()
            self._reorgs_to_record.append(found)
        while self._reorgs_to_record:
            reorg = self._reorgs_to_record[0]
            try:
                await sync_to_async(reorg_services.reorg_record)(
                    network_id=self.network.pk,
                    common_ancestor=reorg.common_ancestor,
                    depth=reorg.depth,
                    old_head=reorg.old_head,
                    new_head=reorg.new_head,
                )
            except Exception as exc:  # the database is away: kept for the next head
                logger.warning("cannot record the reorg yet: %s", exc)
                break
            self._reorgs_to_record.pop(0)
            self.reconciler.wake()
        return found is not None

    async def _process(self, block_number: int) -> bool:
        """Run the pipeline for one block; on failure release the culprit and say False."""
        assert self.lifecycle is not None
        try:
            if self._needs_full_scan:
                report = await self.full_scan()
            else:
                report = await self.process_block(block_number)
        except Exception as exc:
            failed = _culprit(self.lifecycle, exc)
            logger.exception("block %s failed in %s", block_number, failed.name)
            await self.lifecycle.mark_failed(failed, exc)
            self._down_since.setdefault(failed.name, asyncio.get_running_loop().time())
            # The pools may already hold this block's logs (a failure after the
            # update): re-reading them would apply liquidity changes twice, so
            # the next block reads every pool afresh.
            self._needs_full_scan = True
            self._publish_health(running=True)
            return False
        self.reports.append(report)
        del self.reports[:-1000]
        return True

    async def _supervise(self) -> None:
        """Restart failed components on a timer and keep the dashboard's view truthful.

        Independent of block arrival: a component torn down after a failure comes
        back as soon as its dependency answers, even if no head arrives meanwhile.
        Every tick refreshes the heartbeat, so a live engine never looks frozen.
        """
        assert self.lifecycle is not None
        while not self.stop_event.is_set():
            try:
                await self.supervise_once()
            except Exception as exc:  # the supervisor itself must never die
                logger.warning("engine supervisor tick failed: %s", exc)
                with contextlib.suppress(Exception):
                    await reset_database_connections()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=self.supervise_interval)

    async def supervise_once(self) -> list[str]:
        """One supervisor tick: restart what is down, alert on long outages; names restarted."""
        assert self.lifecycle is not None
        now = asyncio.get_running_loop().time()
        if self.lease is not None:
            leading = self.lease.valid
            if await self.lease.refresh() and not leading:
                # Taking over (or back): the pool states are not to be trusted.
                self._needs_full_scan = True
        down = [c for c in self.lifecycle if not c.initialized]
        for component in down:
            self._down_since.setdefault(component.name, now)
        restarted: list[str] = []
        if down:
            async with self._work_lock:
                restarted = await self.lifecycle.restart_failed()
            if "chain" in restarted or "dex" in restarted:
                self._needs_full_scan = True
        for name in restarted:
            since = self._down_since.pop(name, now)
            logger.info("%s is back after %.1fs", name, now - since)
            if name in self._down_alerted:
                self._down_alerted.discard(name)
                await sync_to_async(state_services.component_recovered_alert)(
                    name=name, down_seconds=int(now - since)
                )
        watcher = getattr(self, "watcher", None)
        if watcher is not None and watcher.failing_for(now) > self.down_alert_after:
            # No head for a while and the RPC refusing: no block fails meanwhile,
            # so no component is released; the outage is the watcher's to report.
            self._down_since.setdefault("rpc", now - watcher.failing_for(now))
        elif "rpc" in self._down_since:
            since = self._down_since.pop("rpc")
            if "rpc" in self._down_alerted:
                self._down_alerted.discard("rpc")
                await sync_to_async(state_services.component_recovered_alert)(
                    name="rpc", down_seconds=int(now - since)
                )
        for name, since in list(self._down_since.items()):
            if name in self._down_alerted or now - since < self.down_alert_after:
                continue
            error = (
                watcher.last_error
                if name == "rpc" and watcher is not None
                else self.lifecycle.by_name(name).health().last_error
            )
            # Marked alerted only once written: a database that is down too
            # (the storage component's outage) gets its alert when it is back.
            await sync_to_async(state_services.component_down_alert)(
                name=name, error=error or "not initialized", down_seconds=int(now - since)
            )
            self._down_alerted.add(name)
        if now - self._thresholds_at >= self.thresholds_interval:
            await self.refresh_thresholds()
        await self.send_behind_alerts()
        if down or now - self._last_health_at >= self.heartbeat_interval:
            self._publish_health(running=True)
        return restarted


def cycles_sized(result: ScanResult) -> int:
    """Cycles of ``result`` that reached the optimal sizing (findings included)."""
    return result.cycles_sized


def _with_max(limits: Limits, max_trade_size: int) -> Limits:
    return replace(limits, max_trade_size=max_trade_size)


def _culprit(lifecycle: Lifecycle, exc: BaseException) -> Component:
    """The component to restart for ``exc``: chain errors blame the chain client."""
    from trading.chain.client import RpcError, RpcUnavailableError

    if isinstance(exc, (RpcUnavailableError, RpcError, ConnectionError, TimeoutError)):
        return lifecycle.by_name("chain")
    if isinstance(exc, DatabaseError):
        # Down until the database answers again: no block is decided, nothing sent.
        return lifecycle.by_name("storage")
    return lifecycle.by_name("analysis")


async def reset_database_connections() -> None:
    """Close the ORM worker thread's connections that an error left unusable."""
    await sync_to_async(close_old_connections)()
