"""One engine per network and signer: a lease, a hot standby, a takeover."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from tests.execution.conftest import E18
from trading.engine.engine import Engine
from trading.models import BotConfig, EngineLease, Trade
from trading.services.leases import lease_acquire, lease_release

from .test_reorgs import _until


def test_a_held_lease_is_refused_until_it_expires_or_is_released(db):
    assert lease_acquire(key="k", holder="a", ttl_seconds=10)[0]
    held, row = lease_acquire(key="k", holder="b", ttl_seconds=10)
    assert not held and row.holder == "a"
    assert lease_acquire(key="k", holder="a", ttl_seconds=10)[0]  # renewed
    EngineLease.objects.filter(key="k").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert lease_acquire(key="k", holder="b", ttl_seconds=10)[0]  # a stopped renewing
    assert not lease_acquire(key="k", holder="a", ttl_seconds=10)[0]
    assert not lease_release(key="k", holder="a")
    assert lease_release(key="k", holder="b")
    assert lease_acquire(key="k", holder="a", ttl_seconds=10)[0]


def _live() -> None:
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.save()


@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
async def test_a_second_engine_stands_by_and_takes_over(arb, devnet, anvil, w3):
    await sync_to_async(_live)()
    mining = threading.Event()
    mining.set()

    def miner() -> None:
        while mining.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    first = Engine(poll_interval=0.05, lease_ttl=3)
    second = Engine(poll_interval=0.05, lease_ttl=3)
    thread = threading.Thread(target=miner, daemon=True)
    thread.start()
    run_first = asyncio.create_task(first.run())
    second_run: asyncio.Task[int] | None = None
    try:
        await _until(Trade.objects.filter(status="success").aexists, 30, "the first trade")
        second_run = asyncio.create_task(second.run())
        await _until(lambda: second.lease is not None and second.lease.other, 20, "a standby")
        assert second.lease.other == first.lease.holder
        await asyncio.sleep(2)
        assert second.blocks_processed == 0 and not second.lease.held
        first.request_stop()
        await asyncio.wait_for(run_first, timeout=30)
        stopped_at = asyncio.get_running_loop().time()
        await _until(lambda: second.lease.held, 10, "the standby to take over")
        took = asyncio.get_running_loop().time() - stopped_at
        assert took < 3
        gap_block = w3.eth.block_number
        await asyncio.to_thread(devnet.swap_v2, arb.cheap.address, arb.weth.address, 30 * E18)
        await _until(
            Trade.objects.filter(status="success", block_number__gt=gap_block).aexists,
            30,
            "the new engine to trade",
        )
    finally:
        mining.clear()
        for engine in (first, second):
            engine.request_stop()
        await asyncio.wait_for(run_first, timeout=30)
        if second_run is not None:
            await asyncio.wait_for(second_run, timeout=30)
        thread.join()
    # Never two engines sending: no send was refused for a nonce the other used.
    assert not await Trade.objects.filter(error__contains="nonce").aexists()
