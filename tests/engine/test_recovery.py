"""The engine recovers from an RPC outage by itself, wherever the outage lands.

Every request through the proxy is refused for a few seconds, starting at the
first call of a chosen method: while a block is processed (its logs), in the
block watcher (the head poll), in the gas oracle (the fee history) and in the
send. Once the RPC answers again, the engine must trade a new gap within a few
blocks, without a restart.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async

from tests.execution.conftest import E18
from tests.support.rpc_proxy import RpcProxy
from trading.devchain.devnet import DevnetError
from trading.engine.engine import Engine, WalletWatch
from trading.lifecycle import Component, Lifecycle
from trading.models import (
    AlertDelivery,
    BotConfig,
    ComponentHealth,
    EngineState,
    Opportunity,
    Trade,
    WebhookEndpoint,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 3.0


def _live() -> None:
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.save()


async def _until(check: Callable[[], object], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _open_gap(devnet, arb, amount: int) -> None:
    """Swap ``amount`` WETH into the cheap pool. The helper quotes the pool, then swaps
    a block later: the running engine may trade the pool in between, and the stale
    quote reverts (the pair's K check). Then it is quoted again."""
    for attempt in range(3):
        try:
            await asyncio.to_thread(devnet.swap_v2, arb.cheap.address, arb.weth.address, amount)
            return
        except DevnetError:
            if attempt == 2:
                raise


async def _successes() -> int:
    return await Trade.objects.filter(status="success").acount()


@pytest.mark.parametrize(
    "trigger",
    ["eth_getLogs", "eth_blockNumber", "eth_feeHistory", "eth_sendRawTransaction"],
    ids=["block", "watcher", "gas", "send"],
)
async def test_an_rpc_outage_is_survived_without_a_restart(arb, devnet, anvil, trigger):
    await sync_to_async(_live)()
    mining = threading.Event()
    mining.set()

    def miner() -> None:
        # A block every 0.2 s for as long as the test needs.
        while mining.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    async with RpcProxy(anvil.rpc_url) as proxy:
        engine = Engine(urls=[proxy.url], poll_interval=0.05)
        thread = threading.Thread(target=miner, daemon=True)
        thread.start()
        run = asyncio.create_task(engine.run())
        try:
            # The start-up gap is traded first: the engine works end to end.
            await _until(_successes, 30, "the first trade")
            before = await _successes()
            proxy.arm_outage(trigger, OUTAGE_SECONDS)
            if trigger == "eth_sendRawTransaction":
                # Give the engine something to send into the outage.
                await _open_gap(devnet, arb, 20 * E18)
            await _until(lambda: proxy.outage_over, 30, "the outage to start and end")
            assert proxy.refused > 0
            assert not run.done(), "the engine stopped during the outage"

            # A new gap after the outage is traded within a few blocks.
            gap_block = await asyncio.to_thread(lambda: devnet.w3.eth.block_number)
            await _open_gap(devnet, arb, 30 * E18)
            try:
                await _until(
                    lambda: Trade.objects.filter(
                        status="success", block_number__gt=gap_block
                    ).aexists(),
                    45,  # generous: a loaded machine makes every block slower
                    "a trade of the new gap",
                )
            except AssertionError as exc:
                # Say what the engine was doing, for whoever reads the failure.
                rows = [
                    (o.pk, o.status, o.status_reason[:80], o.block_number)
                    async for o in Opportunity.objects.order_by("-pk")[:5]
                ]
                health = [
                    (h.name, h.initialized, h.last_error[:80]) for h in engine.lifecycle.health()
                ]
                raise AssertionError(
                    f"{exc}; engine at block {engine.last_block}, "
                    f"{engine.blocks_processed} processed, health {health}, latest rows {rows}"
                ) from None
            traded = await Trade.objects.filter(
                status="success", block_number__gt=gap_block
            ).afirst()
            # Blocks come every 0.2 s whatever the engine does: on a quiet machine
            # the gap is traded within a few of them.
            assert traded.block_number - gap_block <= 100
            assert await _successes() > before
            assert not run.done()
            assert all(c.initialized for c in engine.lifecycle)
        finally:
            mining.clear()
            engine.request_stop()
            await asyncio.wait_for(run, timeout=30)
            thread.join()
    if trigger == "eth_getLogs":
        # The block's failure tore the chain client down; the timer brought it back.
        # (An outage that starts elsewhere may pass with no block failing: the
        # watcher sees no head while the RPC refuses.)
        chain = await ComponentHealth.objects.aget(name="chain")
        assert chain.restarts >= 1


class _Flaky(Component):
    name = "gas"

    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    async def _initialize(self) -> None:
        if self.fail:
            raise ConnectionError("still down")


async def test_a_long_outage_alerts_once_and_once_more_on_recovery(db, monkeypatch):
    # The deliveries are what is checked here; sending them is tested elsewhere.
    monkeypatch.setattr("trading.services.alerts._schedule", lambda delivery_id: None)
    await WebhookEndpoint.objects.acreate(
        name="ops",
        url="http://127.0.0.1:9/hook",
        events=["component_down", "component_recovered"],
    )
    flaky = _Flaky()
    engine = Engine(down_alert_after=0.3)
    engine.lifecycle = Lifecycle([flaky])
    engine.storage = _NoStorage()
    engine.wallet = WalletWatch(None, None)
    await flaky.initialize()
    flaky.fail = True
    await engine.lifecycle.mark_failed(flaky, ConnectionError("refused"))

    await engine.supervise_once()  # down, not for long yet: no alert
    assert not await AlertDelivery.objects.aexists()
    await asyncio.sleep(0.35)
    for _ in range(3):  # still down: exactly one alert however many ticks
        await engine.supervise_once()
    events = [d.event async for d in AlertDelivery.objects.order_by("pk")]
    assert events == ["component_down"]

    flaky.fail = False
    await asyncio.sleep(1.1)  # past the restart backoff
    assert await engine.supervise_once() == ["gas"]
    await engine.supervise_once()
    events = [d.event async for d in AlertDelivery.objects.order_by("pk")]
    assert events == ["component_down", "component_recovered"]
    recovered = await AlertDelivery.objects.order_by("pk").alast()
    assert recovered.payload["component"] == "gas"


class _NoStorage:
    """Stands in for the storage component: the test looks at alerts, not engine state."""

    def note(self, **_: object) -> None:
        return None


async def test_an_rpc_outage_with_no_block_to_fail_alerts_too(arb, devnet, anvil, monkeypatch):
    # No head arrives during the outage, so no block fails and no component is
    # released: the block watcher's failing reads are what raise the alert.
    monkeypatch.setattr("trading.services.alerts._schedule", lambda delivery_id: None)
    await WebhookEndpoint.objects.acreate(
        name="ops",
        url="http://127.0.0.1:9/hook",
        events=["component_down", "component_recovered"],
    )
    async with RpcProxy(anvil.rpc_url) as proxy:
        engine = Engine(urls=[proxy.url], poll_interval=0.05, down_alert_after=1.0)
        run = asyncio.create_task(engine.run())
        try:
            await _until(lambda: engine.blocks_processed > 0, 30, "the first block")
            proxy.arm_outage("eth_blockNumber", 2.5)
            await _until(lambda: proxy.outage_over, 30, "the outage to start and end")
            await _until(
                lambda: AlertDelivery.objects.filter(event="component_recovered").aexists(),
                15,
                "the recovery alert",
            )
        finally:
            engine.request_stop()
            await asyncio.wait_for(run, timeout=30)
    deliveries = [d async for d in AlertDelivery.objects.order_by("pk")]
    assert [d.event for d in deliveries] == ["component_down", "component_recovered"]
    assert deliveries[0].payload["component"] == "rpc"
    assert "503" in deliveries[0].payload["error"]


async def test_a_failed_start_does_not_leave_the_engine_shown_running(arb, anvil, monkeypatch):
    # A key that does not own the executor: the execution component refuses to start.
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", anvil.private_keys[3])
    engine = Engine()
    with pytest.raises(RuntimeError, match="does not own the executor"):
        await engine.start()
    state = await EngineState.objects.aget(pk=1)
    assert state.running is False
    assert not any(c.initialized for c in engine.lifecycle)
