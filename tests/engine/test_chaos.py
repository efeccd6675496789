"""The long run: trade on anvil while faults land at random, then check the books.

For a couple of minutes the market keeps opening gaps while RPC outages, lost
send answers, reorgs, a refusing alert queue and (on PostgreSQL) database
outages are injected at random. At the end every live Trade row must match its
receipt on the final chain, every executor call on the chain must have its
row, no opportunity may have two transactions, and the engine must still trade.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from listonian_site.celery import app as celery_app
from tests.execution.conftest import E18
from tests.support.chain_truth import rows_disagreeing_with_chain
from tests.support.rpc_proxy import RpcProxy, unused_port
from tests.support.tcp_proxy import FORWARD, REFUSE, TcpProxy
from trading.devchain.devnet import Devnet, DevnetError
from trading.engine.engine import Engine
from trading.models import BotConfig, Trade

from .test_reorgs import _until

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

RUN_SECONDS = float(os.environ.get("LISTONIAN_CHAOS_SECONDS", "120"))


def _live() -> None:
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.confirmations = 3
    config.save()


async def test_the_books_match_the_chain_after_random_faults(
    arb, devnet, anvil, w3, settings, monkeypatch
):
    await sync_to_async(_live)()
    seed = int(os.environ.get("LISTONIAN_CHAOS_SEED", time.time()))
    print(f"chaos seed {seed}")  # rerun a failure with LISTONIAN_CHAOS_SEED
    rng = random.Random(seed)
    start_block = w3.eth.block_number + 1
    # The market moves from an account of its own, so the bot's nonces are its own.
    trader = Devnet(w3, anvil.accounts[5])
    on_postgres = connections["default"].vendor == "postgresql"
    database = connections["default"].settings_dict
    pause = threading.Event()  # held while a reorg is made
    mining = threading.Event()
    mining.set()

    def miner() -> None:
        while mining.is_set():
            if not pause.is_set():
                anvil.mine(1)
            time.sleep(0.3)

    db_proxy = TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    faults: list[str] = []
    async with RpcProxy(anvil.rpc_url) as rpc:
        old_address = None
        if on_postgres:
            db_proxy.__enter__()

            def through() -> tuple[str, str]:
                old = (database["HOST"], database["PORT"])
                database["HOST"], database["PORT"] = "127.0.0.1", str(db_proxy.port)
                connections.close_all()
                return old

            old_address = await sync_to_async(through)()
        engine = Engine(urls=[rpc.url], poll_interval=0.05)
        thread = threading.Thread(target=miner, daemon=True)
        thread.start()
        run = asyncio.create_task(engine.run())
        try:
            await _until(Trade.objects.filter(status="success").aexists, 60, "the first trade")
            loop = asyncio.get_running_loop()
            ends = loop.time() + RUN_SECONDS
            while loop.time() < ends:
                pool = rng.choice([arb.cheap, arb.dear])
                with contextlib.suppress(DevnetError):  # the bot moved the pool first
                    await asyncio.to_thread(
                        trader.swap_v2, pool.address, arb.weth.address, rng.randint(5, 30) * E18
                    )
                fault = rng.choice(
                    ["none", "rpc", "lost_send", "reorg", "alerts"]
                    + (["database"] if on_postgres else [])
                )
                faults.append(fault)
                if fault == "rpc":
                    method = rng.choice(["eth_getLogs", "eth_blockNumber", "eth_call"])
                    rpc.arm_outage(method, rng.uniform(1, 4))
                elif fault == "lost_send":
                    rpc.lose_next_answer("eth_sendRawTransaction", rng.randint(1, 3))
                elif fault == "reorg":
                    pause.set()
                    await asyncio.sleep(rng.uniform(0.3, 1.5))
                    anvil.rpc("anvil_reorg", [rng.randint(1, 3), []])
                    pause.clear()
                elif fault == "alerts":
                    settings.CELERY_TASK_ALWAYS_EAGER = False
                    monkeypatch.setattr(
                        celery_app.conf, "broker_url", f"redis://127.0.0.1:{unused_port()}/0"
                    )
                    # The pools made for the dead port are dropped after the test (and
                    # ones made before would keep using the real broker).
                    monkeypatch.setattr(celery_app, "_pool", None)
                    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
                elif fault == "database":
                    db_proxy.set_mode(REFUSE)
                    await asyncio.sleep(rng.uniform(1, 6))
                    db_proxy.set_mode(FORWARD)
                await asyncio.sleep(rng.uniform(1, 4))
                assert not run.done(), f"the engine stopped (faults so far: {faults})"
            # Quiet: the last gap is traded and every row settles.
            gap_block = w3.eth.block_number
            await asyncio.to_thread(trader.swap_v2, arb.cheap.address, arb.weth.address, 30 * E18)
            await _until(
                Trade.objects.filter(status="success", block_number__gt=gap_block).aexists,
                60,
                f"a trade after the faults {faults}",
            )

            async def settled() -> bool:
                return not await Trade.objects.filter(status="pending").aexists()

            try:
                await _until(settled, 60, "no trade pending")
            except AssertionError:
                pending = [
                    (t.pk, t.nonce, t.sending, t.error, t.tx_hashes)
                    async for t in Trade.objects.filter(status="pending")
                ]
                raise AssertionError(f"pending: {pending}, faults {faults}") from None
            await asyncio.sleep(3)  # one more reconciliation round over the final chain
        finally:
            mining.clear()
            engine.request_stop()
            await asyncio.wait_for(run, timeout=60)
            thread.join()
            if on_postgres:
                db_proxy.set_mode(FORWARD)
                database["HOST"], database["PORT"] = old_address
                await sync_to_async(connections.close_all)()
                db_proxy.__exit__(None, None, None)
    wrong = await sync_to_async(rows_disagreeing_with_chain)(
        w3, arb.executor, from_block=start_block
    )
    assert wrong == [], f"seed {seed}, faults {faults}"
    await sync_to_async(connections.close_all)()
