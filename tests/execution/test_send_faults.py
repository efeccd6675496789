"""Faults around a send never record an outcome the chain contradicts.

The answer to a send lost after the node took it, and an alert queue that
refuses: the trade is mined with profit, and the rows must say so.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from listonian_site.celery import app as celery_app
from tests.support.rpc_proxy import RpcProxy, unused_port
from trading.chain.client import ChainClient
from trading.engine.reconciler import Reconciler
from trading.execution.manager import ExecutionManager
from trading.gas.oracle import GasOracle
from trading.models import AlertDelivery, Opportunity, Trade, WebhookEndpoint

from .conftest import E18, make_opportunity, path, v2_gross
from .test_manager import limits, manager_for, v2_requote

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


async def _manager_behind(proxy: RpcProxy, arb) -> tuple[ChainClient, ExecutionManager]:
    client = ChainClient([proxy.url], chain_id=31337)
    await client.initialize()
    manager = ExecutionManager(
        client, GasOracle(client), executor_address=arb.executor, chain_id=31337, signer=arb.signer
    )
    await manager.initialize()
    return client, manager


async def test_a_retried_send_refused_as_known_is_tracked_not_failed(arb, devnet, anvil):
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    async with RpcProxy(anvil.rpc_url) as proxy:
        client, manager = await _manager_behind(proxy, arb)
        # The first attempt is mined; the client's retry hears "nonce too low".
        proxy.lose_next_answer("eth_sendRawTransaction")
        try:
            result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
        finally:
            await client.cleanup()
    assert proxy.answers_lost == 1
    assert result.outcome == "success", result
    trade = await Trade.objects.aget()
    assert trade.status == "success" and trade.realized_profit == gross
    await opportunity.arefresh_from_db()
    assert opportunity.status == "executed"


async def test_a_lost_send_answer_leaves_the_outcome_to_the_receipt(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    async with RpcProxy(anvil.rpc_url) as proxy:
        client, manager = await _manager_behind(proxy, arb)
        # Every attempt reaches the node; no answer comes back.
        proxy.lose_next_answer("eth_sendRawTransaction", times=client.retries + 1)
        try:
            result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
            assert proxy.answers_lost == client.retries + 1
            # The transaction was mined; nothing may call the opportunity failed.
            assert result.outcome == "pending"
            await opportunity.arefresh_from_db()
            assert opportunity.status == "executing"
            trade = await Trade.objects.aget()
            assert trade.status == "pending" and not trade.sending
            # The engine's reconciliation settles it from the receipt.
            reconciler = Reconciler(lambda: manager, lambda: w3.eth.block_number)
            assert await reconciler.once() == [(trade.pk, "success")]
        finally:
            await client.cleanup()
    await trade.arefresh_from_db()
    await opportunity.arefresh_from_db()
    assert trade.status == "success" and trade.realized_profit == gross
    assert opportunity.status == "executed"


async def test_a_refusing_alert_queue_does_not_touch_a_settled_trade(
    arb, devnet, anvil, settings, monkeypatch
):
    # A real broker connection to a port where nothing listens.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{unused_port()}/0")
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)  # none kept for the dead port
    await WebhookEndpoint.objects.acreate(
        name="ops", url="http://127.0.0.1:9/hook", events=["trade_executed"]
    )
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "success", result
    await opportunity.arefresh_from_db()
    assert opportunity.status == "executed" and opportunity.status_reason == ""
    # The alert is recorded and waits for the queue to come back.
    delivery = await AlertDelivery.objects.aget()
    assert delivery.event == "trade_executed" and delivery.status == "pending"
    assert await Opportunity.objects.filter(status="failed").acount() == 0


async def test_a_failed_tracker_is_reported_once_not_again_as_never_retrieved() -> None:
    import gc

    from trading.execution.manager import _seen

    loop = asyncio.get_running_loop()
    unretrieved: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:

        async def fails() -> None:
            raise RuntimeError("ChainClient is not initialized")

        for marked in (False, True):
            task = asyncio.create_task(fails())
            if marked:
                task.add_done_callback(_seen)
            await asyncio.wait({task})
            del task
            gc.collect()
            await asyncio.sleep(0)
            # Unmarked, asyncio complains when the task is collected; marked, it does not.
            assert len(unretrieved) == 1, unretrieved
    finally:
        loop.set_exception_handler(previous)
