"""The engine on anvil: real pools, real executor, block by block."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from fractions import Fraction

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, OperationalError
from django.utils import timezone

from tests.execution.conftest import E18
from trading.engine.engine import Engine
from trading.models import (
    BotConfig,
    ComponentHealth,
    EngineState,
    Opportunity,
    SimulationBackoff,
    Trade,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _live():
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.save()


async def test_one_scan_finds_records_and_trades_the_gap(arb, devnet, anvil):
    await sync_to_async(_live)()
    engine = Engine()
    report = await engine.run_once()
    assert report.findings >= 1
    trade = await Trade.objects.select_related("opportunity__start_token").aget()
    assert trade.status == "success" and trade.mode == "live"
    # The cycle worth most in native terms was traded, whichever token it starts in.
    start = trade.opportunity.start_token.address
    assert devnet.balance_of(start, arb.executor) == trade.realized_profit > 0
    assert trade.opportunity.status == "executed"
    # Every component reported, and all were cleaned up.
    names = {h.name async for h in ComponentHealth.objects.all()}
    assert names >= {"chain", "storage", "dex", "gas", "analysis", "execution", "wallet"}
    assert not any(c.initialized for c in engine.lifecycle)
    state = await EngineState.objects.aget(pk=1)
    assert state.running is False
    # The wallet watch recorded what the chain holds, exactly.
    tokens = {t["symbol"]: t for t in state.balances["executor"]["tokens"]}
    symbol = trade.opportunity.start_token.symbol
    assert int(tokens[symbol]["balance"]) == trade.realized_profit
    assert state.balances["signer"]["address"] == arb.signer.address
    assert int(state.balances["signer"]["balance_wei"]) > 0


async def test_backed_off_pools_are_not_traded(arb, devnet, anvil):
    await sync_to_async(_live)()
    for pool in (arb.cheap, arb.dear, arb.v3):
        await SimulationBackoff.objects.acreate(
            network=arb.network, kind="pool", address=pool.address, failures=9, until_block=10**9
        )
    report = await Engine().run_once()
    assert report.findings >= 1
    assert not await Trade.objects.aexists()
    assert await Opportunity.objects.filter(status="detected").aexists()


async def test_dry_run_override_sends_nothing(arb, devnet, anvil, w3):
    await sync_to_async(_live)()
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    await Engine(mode="dry_run").run_once()
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce
    trades = [t async for t in Trade.objects.all()]
    assert trades and all(t.mode == "dry_run" and t.status == "simulated" for t in trades)


def _mine_with_a_gap(arb, devnet, anvil, stop: threading.Event, gap_at: int) -> threading.Thread:
    """Blocks keep coming (one per 0.1 s); at block ``gap_at`` someone opens a gap on the
    dear pool. Returns the started thread; set ``stop`` to end it."""

    def chain_activity():
        for i in range(60):
            if stop.is_set():
                return
            if i == gap_at:
                devnet.swap_v2(arb.cheap.address, arb.weth.address, 30 * E18)
            else:
                anvil.mine(1)
            time.sleep(0.1)

    miner = threading.Thread(target=chain_activity, daemon=True)
    miner.start()
    return miner


async def test_block_by_block_a_new_gap_is_traded(arb, devnet, anvil):
    await sync_to_async(_live)()
    engine = Engine(poll_interval=0.05)
    stop_mining = threading.Event()
    miner = _mine_with_a_gap(arb, devnet, anvil, stop_mining, gap_at=6)
    try:
        processed = await asyncio.wait_for(engine.run(blocks=12), timeout=60)
    finally:
        stop_mining.set()
        miner.join()
    assert processed == 12
    assert await Trade.objects.filter(status="success").acount() >= 2
    state = await EngineState.objects.aget(pk=1)
    assert state.blocks_processed == 12 and state.last_block == engine.last_block
    assert state.market and state.market[0]["pair"] == "WETH/USDC"
    assert all(float(p["price"]) > 1000 for p in state.market[0]["prices"])


async def test_a_slow_block_skips_to_the_newest_and_keeps_states_exact(arb, devnet, anvil):
    engine = Engine(poll_interval=0.05)
    slow_once = {"done": False}

    def on_block(report):
        if not slow_once["done"]:
            slow_once["done"] = True
            # The work of this block outlasts the next ones: 3 blocks arrive, one swaps.
            anvil.mine(1)
            devnet.swap_v2(arb.cheap.address, arb.weth.address, 5 * E18)
            anvil.mine(1)

    engine.on_block = on_block

    async def keep_mining():
        for _ in range(30):
            await asyncio.sleep(0.1)
            await asyncio.to_thread(anvil.mine, 1)

    miner = asyncio.create_task(keep_mining())
    try:
        await asyncio.wait_for(engine.run(blocks=3), timeout=60)
    finally:
        miner.cancel()
    assert engine.blocks_skipped >= 1
    # The swap in a skipped block is in the engine's state: it matches the chain.
    pair = devnet.v2_pair(arb.cheap.address)
    r0, r1, _ = pair.functions.getReserves().call(block_identifier=engine.last_block)
    state = engine.dex.state(arb.cheap.address)
    assert (state.reserve0, state.reserve1) == (r0, r1)


async def test_stop_finishes_the_block_and_cleans_up(arb, devnet, anvil):
    engine = Engine(poll_interval=0.05)

    async def stop_soon():
        await asyncio.sleep(1.0)
        engine.request_stop()

    stopper = asyncio.create_task(stop_soon())
    await asyncio.wait_for(engine.run(), timeout=30)
    await stopper
    assert engine.blocks_processed >= 1
    assert not any(c.initialized for c in engine.lifecycle)
    assert not await Opportunity.objects.filter(status="executing").aexists()


async def test_the_engine_publishes_its_own_figures_for_the_system_page(arb, devnet, anvil):
    from trading.models import ProcessVitals

    engine = Engine(poll_interval=0.05)

    async def keep_mining():
        while True:
            await asyncio.sleep(0.1)
            await asyncio.to_thread(anvil.mine, 1)

    miner = asyncio.create_task(keep_mining())
    try:
        await asyncio.wait_for(engine.run(blocks=4), timeout=60)
    finally:
        miner.cancel()
    system = (await EngineState.objects.aget(pk=1)).system
    stages = {s["stage"]: s for s in system["stages"]}
    assert stages["analysis"]["blocks"] == 4 and stages["analysis"]["p95_ms"] > 0
    assert stages["logs"]["blocks"] == 3  # the first block is a full scan
    assert system["series"]["blocks"] == [r.block_number for r in engine.recent]
    assert system["last_block"] == engine.last_block and system["head_lag"] >= 0
    (rpc0,) = [e for e in system["rpc"] if e["endpoint"] == "rpc0"]
    assert rpc0["round_trips_recent"] > 0 and rpc0["latency_ms"] > 0
    assert "://" not in str(system)  # endpoints by name, never by URL
    assert any(lock["lock"] == "chain.initialize" for lock in system["locks"])
    row = await ProcessVitals.objects.aget(role="engine")
    assert row.figures["rss_bytes"] > 0 and row.figures["pid"] > 0


async def test_the_market_panel_is_priced_by_the_flusher_off_the_loop_and_not_every_block():
    from trading.engine.engine import StorageComponent

    storage = StorageComponent(network_id=1, market_interval=60)
    threads = []
    row = {"pair": "WETH/USDC", "prices": [], "best_spread_bps": 7}

    def panel():
        threads.append(threading.get_ident())
        return [row]

    for block in (1, 2, 3):
        storage.note(running=True, last_block=block, market=panel)
        await storage.flush()
    # Priced once for three blocks (the interval), in a thread that is not the loop's.
    assert len(threads) == 1 and threads[0] != threading.get_ident()
    state = await EngineState.objects.aget(pk=1)
    assert state.market == [row] and state.last_block == 3


async def test_a_busy_block_decides_from_memory_and_writes_only_its_trades_rows_before(
    arb, devnet, anvil, monkeypatch
):
    # One trade per block, chosen among every finding in memory: only its row is
    # written before the decision, every other one after it.
    from trading.services import execution as execution_services

    claim = execution_services.decision_claim
    claimed: list[list[str]] = []

    def claiming(**kwargs):
        claimed.append([finding.key for finding, _ in kwargs["items"]])
        return claim(**kwargs)

    monkeypatch.setattr(execution_services, "decision_claim", claiming)
    engine = Engine(mode="dry_run", poll_interval=0.05, max_executions_per_block=1)
    stop_mining = threading.Event()
    miner = _mine_with_a_gap(arb, devnet, anvil, stop_mining, gap_at=4)
    try:
        await asyncio.wait_for(engine.run(blocks=10), timeout=60)
    finally:
        stop_mining.set()
        miner.join()
    busy = [r for r in engine.recent if r.findings >= 2 and r.executions]
    assert busy, [(r.block_number, r.findings) for r in engine.recent]
    assert claimed and all(len(keys) == 1 for keys in claimed)
    for report in busy:
        # Every finding has its row: the one traded before the decision, the rest after it.
        assert report.recorded == report.findings
        assert len(report.executions) == 1
    # The one decided on is worth the most of its block in native terms.
    report = busy[0]
    (decided,) = report.executions
    rows = [
        o
        async for o in Opportunity.objects.filter(block_number=report.block_number).select_related(
            "start_token"
        )
    ]
    assert len(rows) == report.findings
    best = max(rows, key=lambda o: Fraction(o.net_profit, o.native_price))
    assert decided.opportunity_id == best.pk
    assert (await Opportunity.objects.aget(pk=best.pk)).cycle_key == claimed[0][0]


async def test_rows_that_cannot_be_written_after_the_decision_leave_the_block_standing(
    arb, devnet, anvil, monkeypatch
):
    engine = Engine(mode="dry_run", poll_interval=0.05, max_executions_per_block=1)
    await engine.start()
    try:
        await engine.full_scan()
        devnet.swap_v2(arb.cheap.address, arb.weth.address, 30 * E18)
        calls = []

        async def failing(result):
            calls.append(len(result.findings))
            raise DatabaseError("the database went away")

        monkeypatch.setattr(engine.storage, "record", failing)
        report = await engine.process_block(await engine.client.block_number())
    finally:
        await engine.stop()
    # The traded row was claimed before the decision; the others' write failed after it.
    assert calls == [report.findings - 1], (calls, report.findings)
    assert len(report.executions) == 1 and report.executions[0].outcome == "simulated"
    assert "recording_after" in report.stages
    assert engine._needs_full_scan  # the next block judges every cycle again


async def test_work_that_can_wait_holds_back_from_a_blocks_arrival_to_its_decision(
    arb, devnet, anvil, monkeypatch
):
    from trading import orm
    from trading.services import execution as execution_services

    engine = Engine(mode="dry_run", poll_interval=0.05, max_executions_per_block=1)
    await engine.start()
    decided: list[tuple[str, bool]] = []  # at each write: no decision under way?
    try:
        record = engine.storage.record
        claim = execution_services.decision_claim

        async def recording(result):
            decided.append(("rows", orm.wait_for_decision(0)))
            return await record(result)

        def claiming(**kwargs):
            decided.append(("claim", orm.wait_for_decision(0)))
            return claim(**kwargs)

        monkeypatch.setattr(engine.storage, "record", recording)
        monkeypatch.setattr(execution_services, "decision_claim", claiming)
        first = await engine.full_scan()
        # The traded rows are claimed before the decision, the rest written after it.
        assert decided == [("claim", False)] * bool(first.executions) + [("rows", True)]
        assert orm.wait_for_decision(0)
        devnet.swap_v2(arb.cheap.address, arb.weth.address, 30 * E18)
        decided.clear()
        report = await engine.process_block(await engine.client.block_number())
        assert report.executions and decided == [("claim", False), ("rows", True)]
        assert orm.wait_for_decision(0)

        async def broken(*args):
            raise RuntimeError("the analysis failed")

        monkeypatch.setattr(engine.scanner, "scan_changed", broken)
        with pytest.raises(RuntimeError):
            await engine.process_block(await engine.client.block_number())
        assert orm.wait_for_decision(0)  # a failed block closes its window
    finally:
        await engine.stop()


async def test_a_claim_whose_answer_is_lost_sends_nothing_until_the_grace_releases_it(
    arb, devnet, anvil, w3, monkeypatch
):
    """The claim commits, then its answer never reaches the engine (the connection
    dropped after the commit). Nothing is sent for the claimed rows, no later block
    claims them again while they may be in flight, and once the send grace has
    passed they are released and the gap is traded once."""
    from trading.services import execution as execution_services

    await sync_to_async(_live)()
    claim = execution_services.decision_claim
    lost: list[list[str]] = []

    def committed_then_lost(**kwargs):
        answer = claim(**kwargs)
        if not lost:
            lost.append(sorted(answer.contexts))
            raise OperationalError("server closed the connection unexpectedly")
        return answer

    monkeypatch.setattr(execution_services, "decision_claim", committed_then_lost)
    signer = arb.signer.address
    nonce = w3.eth.get_transaction_count(signer)
    engine = Engine()
    await engine.start()
    try:
        with pytest.raises(OperationalError):
            await engine.full_scan()
        assert lost and lost[0]
        held = [o async for o in Opportunity.objects.filter(status="executing")]
        assert sorted(o.cycle_key for o in held) == lost[0]
        assert w3.eth.get_transaction_count(signer) == nonce
        assert not await Trade.objects.aexists()

        # The gap is still there, but its row is claimed: the next scan leaves it alone.
        report = await engine.full_scan()
        assert report.findings >= 1 and not report.executions
        assert w3.eth.get_transaction_count(signer) == nonce

        # Within the grace the claim stands; after it, it is released as abandoned.
        release = sync_to_async(execution_services.claims_release_abandoned)
        assert await release() == []
        later = timezone.now() + execution_services.SEND_GRACE + dt.timedelta(seconds=1)
        assert sorted(await release(now=later)) == sorted(o.pk for o in held)
        for row in [o async for o in Opportunity.objects.filter(pk__in=[o.pk for o in held])]:
            assert row.status == "failed" and "claim abandoned" in row.status_reason

        # Released, the gap is traded, once.
        report = await engine.full_scan()
        assert len(report.executions) == 1
    finally:
        await engine.stop()
    trade = await Trade.objects.select_related("opportunity__start_token").aget()
    assert trade.status == "success" and trade.mode == "live"
    assert w3.eth.get_transaction_count(signer) == nonce + 1
    start = trade.opportunity.start_token.address
    assert devnet.balance_of(start, arb.executor) == trade.realized_profit > 0
