"""The engine under load: block -> decision latency on 2,000-5,000 pools while the market moves.

    .venv/bin/python benchmarks/engine.py [--market {arbitraged,gapped,both}] [--pools N ...]
                                          [--seconds 120] [--block-time 1] [--touch 0.05]
                                          [--watch {ws,poll}] [--seed 7] [--grace 60]
                                          [--database-url postgres://…/listonian_bench]

Two markets (``--market``, default ``both``; ``--pools`` takes one or more
sizes, default 2000; every market and size is its own run on a fresh node, in
a process of its own):

- ``arbitraged``: the engine trades LIVE on anvil, from anvil's first
  development key through its own executor (flash swaps: the executor needs no
  capital), and closes the gaps it finds, as on mainnet; the market maker's
  random swaps (0.5-3% of a V2 pair's reserves, 0.2-1% of a V3 pool's virtual
  reserves, i.e. price moves far above the gas of a trade) re-open them.
- ``gapped``: the engine runs in dry-run mode; nobody closes the gaps, so they
  stay open and every block has findings to record and simulate (a stress).

Each run starts a fresh anvil node (automine while deploying) and deploys a
market of real contracts in batches: a WETH and a USDC base token, long-tail
tokens (18, 8 and 6 decimals) priced between $0.05 and $50, Uniswap V2 pairs on
two factories (every token against WETH on both, against USDC on one, plus
token/token pairs) and Uniswap V3 pools (token/WETH and WETH/USDC). The market
is registered the way an operator registers one (network_add with the base
tokens, dex_add, pools_sync) in a throwaway SQLite database (or the database
of ``--database-url``, emptied first: PostgreSQL is what a busy engine runs
on, and only there are the pages' messages sent by a thread of their own),
and the executor is deployed from anvil's first development key.

Then anvil mines a block every ``--block-time`` seconds and the engine runs
(new blocks from a ``newHeads`` subscription, or ``--watch poll``) while the
market maker swaps on ``--touch`` of the pools every block: one JSON-RPC batch
of transactions per block. The maker runs in its OWN PROCESS (a ``spawn``
child): the engine's interpreter runs no maker code, so the figures are the
engine's alone. The direction of the maker's swaps leans back towards each
pool's starting price. For every block the engine reports, the script records:

- the time from the block's arrival (when the engine's block watcher yields it)
  to the decision (live: the trades sent; a busy block writes its other rows
  after it, which the wall time between reports includes); and from its
  first sight on the node (a separate thread polls the head every 50 ms), which
  includes any queueing before the watcher hands the block over, with how many
  blocks the node had beyond it at the decision;
- the engine's own latency (``BlockReport.latency_ms``) and its parts: the pool
  update (``dex.update``, timed here), analysis, record + execution;
- the wall time between consecutive reports, blocks skipped, pools changed,
  cycles evaluated and findings; trades sent and how they ended.

The first block is the full scan of every pool; it is reported apart. After
``--seconds`` the engine is asked to stop and finishes its block (cancelled
after ``--grace`` seconds). The machine's load average is printed before and
after: the numbers depend on what else runs. The last line of every run is
machine-readable::

    engine: market=arbitraged pools=2000 blocks=.. p50_ms=.. p95_ms=.. max_ms=..
        skipped_pct=.. trades=.. succeeded=.. simulated=.. load=..

(one line; wrapped here).

It prints numbers and never fails on timing; anvil, the market maker and the
temporary database are stopped and removed on exit, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trading.devchain.anvil import AnvilNode  # noqa: E402
from trading.devchain.devnet import Devnet, connect  # noqa: E402
from trading.devchain.market import (  # noqa: E402
    DexPlan,
    Market,
    MarketMaker,
    PoolPlan,
    TokenPlan,
    build_market,
    fund_maker,
)

logger = logging.getLogger("benchmarks.engine")

CHAIN_ID = 31337
NETWORK_NAME = "Engine benchmark"
WETH_USD = 3_000
# Block gas limit while the market runs: a full batch of swaps fits in one block.
BLOCK_GAS_LIMIT = 1_000_000_000


# ---- the market ---------------------------------------------------------------------------


def plan_sizes(pools: int) -> tuple[int, int, int]:
    """(long-tail tokens, V2 pairs, V3 pools) for a market of about ``pools`` pools."""
    n_v3 = max(2, pools // 10)
    n_v2 = max(4, pools - n_v3)
    n_tokens = max(4, pools // 8)
    return n_tokens, n_v2, n_v3


def _log_uniform(rng: random.Random, low: float, high: float) -> Fraction:
    return Fraction(math.exp(rng.uniform(math.log(low), math.log(high)))).limit_denominator(10**6)


def plan_market(
    pools: int, rng: random.Random
) -> tuple[list[TokenPlan], list[DexPlan], list[PoolPlan]]:
    """WETH, USDC and a long tail; two Uniswap V2 factories and Uniswap V3 (see the docstring)."""
    n_tokens, n_v2, n_v3 = plan_sizes(pools)
    tokens = [TokenPlan("WETH", 18, WETH_USD, "Wrapped Ether"), TokenPlan("USDC", 6, 1, "USD Coin")]
    by_decimals: dict[int, list[str]] = {}
    for i in range(n_tokens):
        by_decimals.setdefault(rng.choice((18, 18, 18, 8, 6)), []).append(f"T{i}")
    for decimals, symbols in sorted(by_decimals.items()):
        tokens += [TokenPlan(s, decimals, _log_uniform(rng, 0.05, 50)) for s in symbols]
    tail = [t.symbol for t in tokens[2:]]
    rng.shuffle(tail)

    # V2: hubs first, then every token against WETH (both DEXs) and USDC (one), then token pairs.
    v2_names = ("Uniswap V2", "SushiSwap")
    wanted = [(name, "WETH", "USDC") for name in v2_names]
    for i, symbol in enumerate(tail):
        wanted += [(v2_names[0], symbol, "WETH"), (v2_names[1], symbol, "WETH")]
        wanted.append((v2_names[i % 2], symbol, "USDC"))
    seen = {(name, *sorted((a, b))) for name, a, b in wanted}
    attempts = 0
    while len(wanted) < n_v2 and attempts < 50 * n_v2:
        attempts += 1
        name = rng.choice(v2_names)
        a, b = rng.sample(tail, 2)
        if (name, *sorted((a, b))) in seen:
            continue
        seen.add((name, *sorted((a, b))))
        wanted.append((name, a, b))
    plans = [
        # Small gaps between venues.
        PoolPlan(name, a, b, _log_uniform(rng, 100_000, 2_000_000), gap=_noise(rng))
        for name, a, b in wanted[:n_v2]
    ]

    # V3: WETH/USDC on two fee tiers, then tokens against WETH.
    v3_wanted = [("WETH", "USDC", 500), ("WETH", "USDC", 3000)]
    for tier in (3000, 500, 10000):
        v3_wanted += [(symbol, "WETH", tier) for symbol in tail]
    plans += [
        PoolPlan("Uniswap V3", a, b, _log_uniform(rng, 200_000, 2_000_000), fee=fee)
        for a, b, fee in v3_wanted[:n_v3]
    ]
    dexes = [DexPlan(name, "uniswap_v2", 30) for name in v2_names]
    dexes.append(DexPlan("Uniswap V3", "uniswap_v3"))
    return tokens, dexes, plans


def _noise(rng: random.Random) -> Fraction:
    return Fraction(1 + rng.uniform(-0.002, 0.002)).limit_denominator(10**6)


# ---- registration through the services ----------------------------------------------------


def setup_django(directory: Path, database_url: str = "") -> None:
    """Point Django at a fresh SQLite file in ``directory`` (or emptied ``database_url``)
    and migrate it."""
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{directory / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "engine-benchmark-throwaway-secret")
    for name in ("REDIS_URL", "LISTONIAN_RPC_URL", "LISTONIAN_PRIVATE_KEY_FILE"):
        os.environ.pop(name, None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if database_url:  # a database of the operator's: emptied for this run
        call_command("flush", verbosity=0, interactive=False)


def register(
    market: Market, node: AnvilNode, *, block_time: float, watch: str, live: bool
) -> dict[str, Any]:
    """Register network, DEXs and pools, deploy the executor; returns a summary.

    ``live``: BotConfig's mode is live (the arbitraged market), else dry run.
    """
    from trading.chain.signer import Signer
    from trading.models import BotConfig, Pool
    from trading.services.dexes import dex_add
    from trading.services.executor import executor_deploy
    from trading.services.networks import network_add
    from trading.services.pools import pools_sync

    # anvil's public development key: only meaningful on this local chain.
    os.environ["LISTONIAN_PRIVATE_KEY"] = node.private_keys[0]
    started = time.perf_counter()
    network, _ = network_add(
        name=NETWORK_NAME,
        chain_id=CHAIN_ID,
        rpc_urls=[node.rpc_url],
        base_tokens=[market.tokens["WETH"].address, market.tokens["USDC"].address],
        activate=True,
    )
    for dex in market.dexes.values():
        dex_add(
            name=dex.name, kind=dex.kind, factory=dex.factory, fee_bps=dex.fee_bps, network=network
        )
    report = pools_sync(network=network)
    errors = [d.error for d in report.dexes if d.error]
    if errors:
        raise RuntimeError(f"pool discovery failed: {errors}")
    deployment = executor_deploy(network=network, signer=Signer.from_environment())
    network.refresh_from_db()
    network.block_time_ms = int(block_time * 1000)
    network.wrapped_native_token = network.tokens.get(address=market.tokens["WETH"].address)
    if watch == "ws":
        network.rpc_urls = ",".join([node.rpc_url, node.ws_url])
    network.save()
    config = BotConfig.load()
    config.mode = "live" if live else "dry_run"
    config.min_gas_balance_wei = 0
    config.paused = False
    config.paused_reason = ""
    config.max_gas_price_wei = 100 * 10**9
    config.max_trade_size_wei = 50 * 10**18
    config.min_net_profit_wei = 0
    config.daily_loss_limit_wei = 10 * 10**18
    config.save()
    return {
        "pools": Pool.objects.filter(dex__network=network).count(),
        "skipped": sum(d.skipped_total for d in report.dexes),
        "executor": deployment.address,
        "seconds": time.perf_counter() - started,
    }


class HeadClock:
    """Notes when each block first shows up on the node (polled every ``interval`` s).

    Independent of the engine's watcher: it tells how old a block is when the
    engine decides on it, queueing included.
    """

    def __init__(self, head: Callable[[], int], interval: float = 0.05) -> None:
        self.head = head
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.latest = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                number = self.head()
            except Exception:  # the node is going away
                number = self.latest
            now = time.perf_counter()
            for missed in range(self.latest + 1, number + 1):
                self.seen.setdefault(missed, now)
            self.latest = max(self.latest, number)
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Start polling in a thread."""
        self._thread = threading.Thread(target=self._run, name="head-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# ---- the market maker, in its own process ------------------------------------------------


@dataclass(frozen=True)
class MakerFigures:
    """What the market maker did, sent back by its process when it stops."""

    per_block: int = 0
    swaps: int = 0
    batches: int = 0
    failures: int = 0
    reverted: int = 0
    blocks_with_swaps: int = 0
    busy_seconds: float = 0.0
    cpu_seconds: float = 0.0


def _maker_main(
    market: Market,
    rpc_url: str,
    account: str,
    swaps_per_block: int,
    seed: int,
    ready: Any,
    stop: Any,
    results: Any,
) -> None:
    """The maker process: swap every block until ``stop`` is set, then report the figures."""
    maker = MarketMaker(market, rpc_url, account, swaps_per_block=swaps_per_block, seed=seed)
    maker.start()
    ready.set()
    try:
        stop.wait()
    finally:
        maker.stop()
        results.put(
            MakerFigures(
                per_block=maker.per_block,
                swaps=maker.swaps,
                batches=maker.batches,
                failures=maker.failures,
                reverted=maker.reverted,
                blocks_with_swaps=len(maker.blocks_with_swaps),
                busy_seconds=maker.busy_seconds,
                cpu_seconds=time.process_time(),
            )
        )


class MakerProcess:
    """A :class:`MarketMaker` in a ``spawn`` child process: none of its work runs here."""

    def __init__(
        self, market: Market, rpc_url: str, account: str, *, swaps_per_block: int, seed: int
    ):
        context = multiprocessing.get_context("spawn")
        self._ready = context.Event()
        self._stop = context.Event()
        self._results: Any = context.Queue()
        self._process = context.Process(
            target=_maker_main,
            args=(
                market,
                rpc_url,
                account,
                swaps_per_block,
                seed,
                self._ready,
                self._stop,
                self._results,
            ),
            name="market-maker",
            daemon=True,
        )
        self.figures = MakerFigures(per_block=max(1, min(swaps_per_block, len(market.pools))))
        self._stopped = False

    def start(self, timeout: float = 120) -> None:
        """Start the process and wait until its maker runs."""
        self._process.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the market maker process did not start")

    def stop(self) -> MakerFigures:
        """Stop the maker (it finishes the batch in flight) and collect its figures."""
        if self._process.pid is None or self._stopped:
            return self.figures
        self._stopped = True
        self._stop.set()
        try:
            self.figures = self._results.get(timeout=60)
        except Exception:  # the child died: keep what is known
            logger.warning("the market maker process sent no figures")
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        return self.figures


# ---- the engine, timed --------------------------------------------------------------------


@dataclass
class Sample:
    """One engine report, with the benchmark's own clock readings."""

    block_number: int
    skipped_before: int
    pools_changed: int
    findings: int
    recorded: int
    simulated: int
    engine_ms: float
    arrival_ms: float | None
    since_previous_ms: float | None
    update_ms: float = 0.0
    analysis_ms: float = 0.0
    record_ms: float = 0.0
    recording_ms: float = 0.0  # of record_ms: the traded rows claimed (the engine's own stage)
    execution_ms: float = 0.0  # of record_ms: candidates chosen, simulated and sent
    cycles_evaluated: int = 0
    cycles_deferred: int = 0
    mined_ms: float | None = None  # from the block's first sight on the node to the report
    behind_head: int = 0  # blocks the node had beyond this one at the report
    outcomes: tuple[str, ...] = ()  # the block's execution outcomes


def make_engine(
    samples: list[Sample], first_report: asyncio.Event, clock: HeadClock, mode: str
) -> Any:
    """An Engine in ``mode`` whose block watcher notes when each block arrives."""
    from trading.engine.engine import BlockReport, Engine
    from trading.engine.watcher import BlockWatcher

    class TimedWatcher(BlockWatcher):
        """The engine's watcher, noting the moment each block is handed to the engine."""

        arrived_at: float | None = None

        async def blocks(self, stop: asyncio.Event) -> Any:
            async for number in super().blocks(stop):
                self.arrived_at = time.perf_counter()
                yield number

    class TimedEngine(Engine):
        async def _build(self) -> None:
            await super()._build()
            plain = self.watcher
            self.watcher = TimedWatcher(
                plain.client, ws_url=plain.ws_url, poll_interval=plain.poll_interval
            )
            update = self.dex.update

            async def timed_update(block_number: int, *, from_block: int | None = None) -> Any:
                started = time.perf_counter()
                try:
                    return await update(block_number, from_block=from_block)
                finally:
                    update_ms.append((time.perf_counter() - started) * 1000)

            self.dex.update = timed_update  # type: ignore[method-assign]

    last_report: list[float] = []
    update_ms: list[float] = []

    def on_block(report: BlockReport) -> None:
        reported = time.perf_counter()
        # The decision (trades sent), before the rows a busy block writes after it.
        now = report.decided_at or reported
        arrived = engine.watcher.arrived_at
        result = engine.last_scan[0] if engine.last_scan is not None else None
        refresh = update_ms[-1] if update_ms and not getattr(result, "full", True) else 0.0
        analysis = result.analysis_ms if result is not None else 0.0
        own_refresh = result.refresh_ms if result is not None else 0.0
        first_seen = clock.seen.get(report.block_number)
        samples.append(
            Sample(
                block_number=report.block_number,
                skipped_before=report.skipped_before,
                pools_changed=report.pools_changed,
                findings=report.findings,
                recorded=report.recorded,
                simulated=sum(1 for e in report.executions if e.outcome == "simulated"),
                engine_ms=report.latency_ms,
                arrival_ms=(now - arrived) * 1000 if arrived is not None else None,
                since_previous_ms=(reported - last_report[-1]) * 1000 if last_report else None,
                update_ms=refresh + own_refresh,
                analysis_ms=analysis,
                record_ms=report.latency_ms - own_refresh - analysis,
                recording_ms=report.stages.get("recording", 0.0) * 1000,
                execution_ms=report.stages.get("execution", 0.0) * 1000,
                cycles_evaluated=result.cycles_evaluated if result is not None else 0,
                cycles_deferred=getattr(result, "cycles_deferred", 0) if result else 0,
                mined_ms=(now - first_seen) * 1000 if first_seen is not None else None,
                behind_head=max(0, clock.latest - report.block_number),
                outcomes=tuple(e.outcome for e in report.executions),
            )
        )
        last_report.append(reported)
        first_report.set()

    engine = TimedEngine(mode=mode, on_block=on_block)
    return engine


@dataclass
class RunOutcome:
    """How the engine run went, beyond the per-block samples."""

    engine: Any
    wall: float  # from the first report to the stop request
    stop_seconds: float  # from the stop request until the engine returned
    cancelled: bool  # the engine did not finish its block within the grace period
    head_at_stop: int | None  # the chain's newest block when the stop was requested


async def run_engine(
    seconds: float, samples: list[Sample], grace: float, clock: HeadClock, mode: str
) -> RunOutcome:
    """Run the engine until ``seconds`` after its first block (or Ctrl+C).

    Then it is asked to stop; it finishes the block in hand, unless that takes
    longer than ``grace`` seconds, in which case it is cancelled.
    """
    first_report = asyncio.Event()
    engine = make_engine(samples, first_report, clock, mode)
    engine.install_signal_handlers()
    task = asyncio.create_task(engine.run(), name="engine")
    waiter = asyncio.create_task(first_report.wait())
    stopper = asyncio.create_task(engine.stop_event.wait())
    started = time.perf_counter()
    cancelled = False
    try:
        await asyncio.wait({task, waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if first_report.is_set() and not task.done():
            started = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stopper), timeout=seconds)
    finally:
        stop_requested = time.perf_counter()
        engine.request_stop()
        try:
            head_at_stop: int | None = await asyncio.to_thread(clock.head)
        except Exception:  # the node is gone: the report does without it
            head_at_stop = None
        for helper in (waiter, stopper):
            helper.cancel()
        if not task.done():
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                cancelled = True
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, timeout=60)
    if not cancelled and task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
    return RunOutcome(
        engine=engine,
        wall=stop_requested - started,
        stop_seconds=time.perf_counter() - stop_requested,
        cancelled=cancelled,
        head_at_stop=head_at_stop,
    )


# ---- report -------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _line(label: str, values: Sequence[float], digits: int = 1) -> str:
    if not values:
        return f"  {label:<40} n/a"
    return (
        f"  {label:<40} p50 {percentile(values, 0.5):>9.{digits}f}"
        f"  p95 {percentile(values, 0.95):>9.{digits}f}  max {max(values):>9.{digits}f}"
        f"  mean {statistics.fmean(values):>9.{digits}f}"
    )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def trade_tally() -> dict[str, int]:
    """Trades in the database by status (live) or simulations (dry run)."""
    from django.db.models import Count

    from trading.models import Trade

    rows = Trade.objects.values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def print_report(
    samples: list[Sample],
    outcome: RunOutcome,
    maker: MakerFigures,
    *,
    cpu: float,
    chain_blocks: int,
    market: str,
    pools: int,
    load_before: str,
    load_after: str,
) -> None:
    """Print the run's numbers; the last line is machine-readable."""
    engine = outcome.engine
    print()
    if not samples:
        print("the engine reported no block")
        print(f"engine: market={market} pools={pools} blocks=0 error=no-report")
        return
    first, steady = samples[0], samples[1:]
    print(
        f"first block: full scan of {first.pools_changed} pools, "
        f"{first.cycles_evaluated} cycles: {first.engine_ms:.1f} ms "
        f"(refresh {first.update_ms:.1f}, analysis {first.analysis_ms:.1f}, "
        f"record + execute {first.record_ms:.1f})"
    )
    processed = len(steady)
    skipped = sum(s.skipped_before for s in steady)
    seen = processed + skipped
    skipped_pct = (skipped / seen * 100) if seen else 0.0
    block_time = engine_block_time(engine)
    print()
    print(
        f"run: {outcome.wall:.1f} s after the first block; the engine returned "
        f"{outcome.stop_seconds:.1f} s after the stop request"
        + (" (cancelled: its block outlasted the grace period)" if outcome.cancelled else "")
    )
    print(f"  blocks mined since the engine started    {chain_blocks}")
    print(f"  blocks processed after the first         {processed}")
    print(
        f"  blocks skipped                           {skipped} "
        f"(skip share {skipped_pct:.1f}% of the {seen} blocks up to "
        f"the last one processed; engine.blocks_skipped = {engine.blocks_skipped})"
    )
    if outcome.head_at_stop is not None:
        mined = outcome.head_at_stop - first.block_number
        unseen = max(0, mined - processed)
        print(
            f"  blocks mined from the first to the stop  {mined}, of which not processed "
            f"{unseen} ({(unseen / mined * 100) if mined else 0:.1f}%)"
        )
    decisions = [s.arrival_ms or 0.0 for s in steady]
    if steady:
        slow = sum(1 for s in steady if (s.arrival_ms or 0) > 1000 * block_time)
        print(f"  blocks slower than the block time        {slow} of {processed}")
        print("per-block latency, ms")
        print(_line("arrival -> decision (wall clock)", decisions))
        print(
            _line(
                "block seen on the node -> decision",
                [s.mined_ms for s in steady if s.mined_ms is not None],
            )
        )
        print(_line("BlockReport.latency_ms", [s.engine_ms for s in steady]))
        print(_line("  pool update (dex.update)", [s.update_ms for s in steady]))
        print(_line("  analysis", [s.analysis_ms for s in steady]))
        print(_line("  record + execution", [s.record_ms for s in steady]))
        print(_line("    recording", [s.recording_ms for s in steady]))
        print(_line("    execution", [s.execution_ms for s in steady]))
        print(_line("between consecutive reports", [s.since_previous_ms or 0.0 for s in steady]))
        print("per block")
        print(_line("skipped before it", [s.skipped_before for s in steady], 0))
        print(_line("blocks behind the head at decision", [s.behind_head for s in steady], 0))
        print(_line("pools changed", [s.pools_changed for s in steady], 0))
        print(_line("cycles evaluated", [s.cycles_evaluated for s in steady], 0))
        print(_line("cycles left for later blocks", [s.cycles_deferred for s in steady], 0))
        print(_line("findings", [s.findings for s in steady], 0))
        print(_line("opportunities recorded", [s.recorded for s in steady], 0))
        print(_line("executions", [len(s.outcomes) for s in steady], 0))
    outcomes: dict[str, int] = {}
    for sample in samples:
        for name in sample.outcomes:
            outcomes[name] = outcomes.get(name, 0) + 1
    tally = trade_tally()
    sent = sum(n for status, n in tally.items() if status != "simulated")
    succeeded = tally.get("success", 0)
    print(
        "execution outcomes at decision: "
        + (", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "none")
    )
    print(
        "trades in the database at the end: "
        + (", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "none")
        + f" (sent {sent}, succeeded {succeeded})"
    )
    watcher = engine.watcher
    print(f"block watcher: {watcher.mode}, {watcher.errors} error(s)")
    print(
        f"market maker (own process): {maker.swaps} swaps in {maker.batches} "
        f"batches of {maker.per_block} pools, {maker.failures} refused batches, "
        f"{maker.reverted} reverted transactions, swaps in {maker.blocks_with_swaps} blocks "
        f"({maker.busy_seconds / max(maker.batches, 1):.2f} s per batch, mining included; "
        f"{maker.cpu_seconds:.1f} CPU s)"
    )
    print(
        f"engine process: {cpu:.1f} CPU s, "
        f"{cpu / max(outcome.wall + outcome.stop_seconds, 1e-9) * 100:.0f}% of one core"
    )
    print(f"load average before the run: {load_before}")
    print(f"load average after the run:  {load_after}")
    if decisions:
        figures = (
            f"p50_ms={percentile(decisions, 0.5):.1f} p95_ms={percentile(decisions, 0.95):.1f} "
            f"max_ms={max(decisions):.1f}"
        )
    else:
        figures = "p50_ms=nan p95_ms=nan max_ms=nan"
    print(
        f"engine: market={market} pools={pools} blocks={processed} {figures} "
        f"skipped_pct={skipped_pct:.1f} trades={sent} succeeded={succeeded} "
        f"simulated={tally.get('simulated', 0)} "
        f"load={load_before.split()[0]}/{load_after.split()[0]}"
    )


def engine_block_time(engine: Any) -> float:
    """The network's block time in seconds (1 s when unknown)."""
    network = getattr(engine, "network", None)
    return (network.block_time_ms / 1000) if network is not None else 1.0


# ---- main ---------------------------------------------------------------------------------


@contextlib.contextmanager
def rpc_timed() -> Iterator[dict[str, list[float]]]:
    """The engine process's RPC round trips, in ms by method (a batch counts as one)."""
    from trading.chain.client import ChainClient

    times: dict[str, list[float]] = {}
    original = ChainClient._post

    async def timed(self: ChainClient, endpoint: Any, payload: Any) -> Any:
        method = payload.get("method", "?") if isinstance(payload, dict) else "batch"
        started = time.perf_counter()
        try:
            return await original(self, endpoint, payload)
        finally:
            times.setdefault(method, []).append((time.perf_counter() - started) * 1000)

    ChainClient._post = timed  # type: ignore[method-assign]
    try:
        yield times
    finally:
        ChainClient._post = original  # type: ignore[method-assign]


# Helpers of the services that make no query (a label per priced pool, thousands a block).
NOT_DATABASE_CALLS = {"fee_label"}


@contextlib.contextmanager
def db_timed() -> Iterator[dict[str, list[float]]]:
    """The execution path's database calls (services) in the engine process, in ms by name,
    the thread hand-over included."""
    import functools

    from trading.engine import engine as engine_module
    from trading.services import engine_state, execution

    times: dict[str, list[float]] = {}
    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times.setdefault(name, []).append((time.perf_counter() - started) * 1000)

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    for module in (execution, engine_state):
        for name in dir(module):
            value = getattr(module, name)
            if (
                callable(value)
                and not name.startswith("_")
                and getattr(value, "__module__", None) == module.__name__
                and not isinstance(value, type)
                and name not in NOT_DATABASE_CALLS
            ):
                wrap(module, name)
    wrap(engine_module, "backoff_note")
    try:
        yield times
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def print_db_times(times: dict[str, list[float]]) -> None:
    print("database calls of the execution path, by service (ms, in the worker thread)")
    ranked = sorted(times.items(), key=lambda item: -sum(item[1]))
    for name, values in ranked[:14]:
        print(_line(f"  {name} x{len(values):,}", values))


def print_rpc_times(times: dict[str, list[float]]) -> None:
    print("RPC round trips of the engine process, by method (ms; the most total time first)")
    ranked = sorted(times.items(), key=lambda item: -sum(item[1]))
    for method, values in ranked[:12]:
        print(_line(f"  {method} x{len(values):,}", values))


@contextlib.contextmanager
def profiled(directory: str | None) -> Any:
    """cProfile the engine process's event loop; the analysis runs inline on it meanwhile.

    One profiler at a time per interpreter (Python 3.12), so the analysis is
    not sent to its worker thread while profiling: its cost shows in the same
    profile, and the figures of a profiled run are not comparable with others.
    """
    if directory is None:
        yield
        return
    import cProfile
    import pstats
    import types

    from trading.engine import scan

    async def inline(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    original = scan.asyncio
    scan.asyncio = types.SimpleNamespace(  # type: ignore[assignment]
        **{name: getattr(asyncio, name) for name in dir(asyncio) if not name.startswith("__")}
    )
    scan.asyncio.to_thread = inline  # type: ignore[attr-defined]
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        scan.asyncio = original
        Path(directory).mkdir(parents=True, exist_ok=True)
        path = Path(directory) / "engine.prof"
        profile.dump_stats(path)
        for order in ("tottime", "cumulative"):
            print(f"---- engine profile ({path}), top 40 by {order} ----")
            pstats.Stats(str(path)).sort_stats(order).print_stats(40)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--market",
        choices=("arbitraged", "gapped", "both"),
        default="both",
        help="arbitraged: the engine trades live and closes gaps; gapped: dry run, gaps stay "
        "open; both (default): one run of each",
    )
    parser.add_argument(
        "--pools",
        type=int,
        nargs="+",
        default=[2000],
        help="pools to deploy; several sizes make several runs (default 2000)",
    )
    parser.add_argument(
        "--seconds", type=float, default=120, help="engine run after its first block (default 120)"
    )
    parser.add_argument("--block-time", type=int, default=1, help="seconds per block (default 1)")
    parser.add_argument(
        "--touch", type=float, default=0.05, help="share of pools swapped per block (default 0.05)"
    )
    parser.add_argument(
        "--watch",
        choices=("ws", "poll"),
        default="ws",
        help="new blocks by newHeads subscription (default) or by polling",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--database-url",
        default="",
        help="a database to use instead of a throwaway SQLite file, emptied before each run "
        "(e.g. postgres://postgres@127.0.0.1:5432/listonian_bench)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile the engine (analysis inline on its event loop); write engine.prof in "
        "DIR and print the top functions",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=60,
        help="seconds the engine may take to finish its block after the stop (default 60)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """One run per market and size; several runs each get a process and a database."""
    args = parse_args(argv)
    markets = ["arbitraged", "gapped"] if args.market == "both" else [args.market]
    runs = [(market, pools) for pools in args.pools for market in markets]
    if len(runs) == 1:
        run_one(args, *runs[0])
        return
    common = [
        f"--seconds={args.seconds}",
        f"--block-time={args.block_time}",
        f"--touch={args.touch}",
        f"--watch={args.watch}",
        f"--seed={args.seed}",
        f"--grace={args.grace}",
    ]
    if args.database_url:
        common.append(f"--database-url={args.database_url}")
    if args.profile:
        common.append(f"--profile={args.profile}")
    failed = 0
    for market, pools in runs:
        print(f"==== market {market}, {pools} pools ====", flush=True)
        command = [sys.executable, __file__, f"--market={market}", f"--pools={pools}", *common]
        try:
            failed += subprocess.run(command, check=False).returncode != 0
        except KeyboardInterrupt:
            sys.exit(130)
        print(flush=True)
    if failed:
        sys.exit(1)


def run_one(args: argparse.Namespace, market_name: str, pools: int) -> None:
    """Deploy, register, run the engine under a moving market, print the numbers."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    live = market_name == "arbitraged"
    print(f"market {market_name}, {pools} pools; load average at start: {_load()}")
    rng = random.Random(args.seed)
    maker: MakerProcess | None = None
    clock: HeadClock | None = None
    interrupted = False
    node = AnvilNode(chain_id=CHAIN_ID, accounts=4, gas_limit=BLOCK_GAS_LIMIT)
    with tempfile.TemporaryDirectory(prefix="listonian-bench-", ignore_cleanup_errors=True) as tmp:
        try:
            setup_django(Path(tmp), args.database_url)
            node.start()
            devnet = Devnet(connect(node.rpc_url, timeout=120), node.accounts[0])
            started = time.perf_counter()
            market = build_market(devnet, *plan_market(pools, rng))
            fund_maker(devnet, market, node.accounts[1])
            n_v2 = sum(1 for p in market.pools if p.kind == "uniswap_v2")
            print(
                f"deployed {len(market.pools)} pools ({n_v2} Uniswap V2 on 2 factories, "
                f"{len(market.pools) - n_v2} Uniswap V3) over {len(market.tokens)} tokens "
                f"in {time.perf_counter() - started:.1f} s (batched)"
            )
            summary = register(
                market, node, block_time=args.block_time, watch=args.watch, live=live
            )
            print(
                f"registered {summary['pools']} pools ({summary['skipped']} skipped), executor "
                f"{summary['executor']}, in {summary['seconds']:.1f} s"
            )
            node.rpc("evm_setAutomine", [False])
            node.rpc("evm_setIntervalMining", [args.block_time])
            maker = MakerProcess(
                market,
                node.rpc_url,
                node.accounts[1],
                swaps_per_block=round(args.touch * len(market.pools)),
                seed=args.seed,
            )
            maker.start()
            mode = "live" if live else "dry_run"
            print(
                f"running the engine ({mode}, {args.watch}) for {args.seconds:.0f} s: "
                f"{args.block_time} s blocks, {maker.figures.per_block} pools swapped per block "
                f"by the market maker's own process"
            )
            load_before = _load()
            print(f"load average before the run: {load_before}")
            samples: list[Sample] = []
            first_chain_block = int(node.rpc("eth_blockNumber"), 16)
            clock = HeadClock(lambda: int(node.rpc("eth_blockNumber", timeout=5), 16))
            clock.start()
            cpu_before = time.process_time()
            with profiled(args.profile), rpc_timed() as rpc_times, db_timed() as db_times:
                outcome = asyncio.run(
                    run_engine(args.seconds, samples, grace=args.grace, clock=clock, mode=mode)
                )
            cpu = time.process_time() - cpu_before
            clock.stop()
            figures = maker.stop()
            chain_blocks = int(node.rpc("eth_blockNumber"), 16) - first_chain_block
            load_after = _load()
            print_rpc_times(rpc_times)
            print_db_times(db_times)
            print_report(
                samples,
                outcome,
                figures,
                cpu=cpu,
                chain_blocks=chain_blocks,
                market=market_name,
                pools=len(market.pools),
                load_before=load_before,
                load_after=load_after,
            )
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            interrupted = True
        except Exception:
            state = "running" if node.running else "not running"
            print(f"failed; anvil is {state}, its last lines:", file=sys.stderr)
            print(node.output()[-2000:], file=sys.stderr)
            raise
        finally:
            if clock is not None:
                clock.stop()
            if maker is not None:
                maker.stop()
            node.stop()
            if "django.db" in sys.modules:
                from django.db import connections

                connections.close_all()
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
