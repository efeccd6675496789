"""The engine survives a database outage: no send it cannot record, heads followed, resumes.

PostgreSQL is reached through a TCP proxy that the test turns off: every
connection is cut and new ones are refused, as when the server restarts.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.execution.conftest import E18
from tests.support.chain_truth import rows_disagreeing_with_chain
from tests.support.tcp_proxy import FORWARD, REFUSE, TcpProxy
from trading.engine.engine import Engine
from trading.models import BotConfig, EngineState, Trade

from .test_reorgs import _until

pytestmark = [pytest.mark.chain, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _live() -> None:
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.save()


def _through(proxy: TcpProxy) -> tuple[str, str]:
    """Point the ORM (every thread's next connection) at the proxy; returns the old address."""
    database = connections["default"].settings_dict
    old = (database["HOST"], database["PORT"])
    database["HOST"], database["PORT"] = "127.0.0.1", str(proxy.port)
    connections.close_all()
    return old


@pytest.mark.parametrize(
    "outage_seconds", [8, pytest.param(60, marks=pytest.mark.slow)], ids=["8s", "60s"]
)
async def test_a_database_outage_is_survived_without_a_restart(
    arb, devnet, anvil, w3, outage_seconds
):
    await sync_to_async(_live)()
    database = connections["default"].settings_dict
    mining = threading.Event()
    mining.set()

    def miner() -> None:
        while mining.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    with TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)) as proxy:
        # The engine's ORM work runs on asgiref's one worker thread (as the test's does).
        old = await sync_to_async(_through)(proxy)
        engine = Engine(poll_interval=0.05)
        thread = threading.Thread(target=miner, daemon=True)
        thread.start()
        run = asyncio.create_task(engine.run())
        try:
            await _until(Trade.objects.filter(status="success").aexists, 30, "the first trade")
            outage_block = w3.eth.block_number
            proxy.set_mode(REFUSE)
            # A gap opens while the database is away: nothing may be sent for it.
            await asyncio.to_thread(devnet.swap_v2, arb.cheap.address, arb.weth.address, 30 * E18)
            heads_before = engine.heads.head
            await asyncio.sleep(outage_seconds)
            assert not run.done(), "the engine stopped during the outage"
            assert engine.heads.head > heads_before  # heads were followed
            assert proxy.refused > 0
            proxy.set_mode(FORWARD)
            gap_block = w3.eth.block_number
            await _until(
                Trade.objects.filter(status="success", block_number__gt=gap_block - 1).aexists,
                45,
                "the gap traded after the outage",
            )
            assert not run.done()
        finally:
            proxy.set_mode(FORWARD)
            mining.clear()
            engine.request_stop()
            await asyncio.wait_for(run, timeout=30)
            thread.join()
            database["HOST"], database["PORT"] = old
            await sync_to_async(connections.close_all)()
    # Every executor call sent around the outage was recorded first, and says what happened.
    wrong = await sync_to_async(rows_disagreeing_with_chain)(
        w3, arb.executor, from_block=outage_block
    )
    assert wrong == []
    state = await EngineState.objects.aget(pk=1)
    assert state.running is False  # stopped cleanly, and said so
    await sync_to_async(connections.close_all)()
