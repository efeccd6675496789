"""Nonce gaps are found and filled at once, and a stale trade is never mined late.

A reorg takes back mined nonces without any error answer; the local counter
then runs ahead of the chain and every later transaction would wait in the
node's queue behind a nonce that never comes.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async

from trading.engine.reconciler import Reconciler
from trading.models import Opportunity, Trade

from .conftest import E18, make_opportunity, path, v2_gross
from .test_manager import limits, manager_for, v2_requote

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _sent_to(w3, block_number: int) -> list[str]:
    block = w3.eth.get_block(block_number, full_transactions=True)
    return [tx["to"] for tx in block["transactions"]]


async def test_a_nonce_a_reorg_took_back_is_filled_before_the_next_send(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    first = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    client, manager = await manager_for(arb, anvil)
    manager.receipt_timeout = 5
    try:
        assert (await manager.execute(first.pk, limits(), v2_requote(devnet))).outcome == "success"
        # The block holding the trade is replaced: its nonce is free again.
        anvil.rpc("anvil_reorg", [1, []])
        assert w3.eth.get_transaction_count(arb.signer.address) == nonce
        # The engine's reconciliation finds the gap between sends and fills it.
        reconciler = Reconciler(lambda: manager, lambda: w3.eth.block_number)
        await reconciler.once()
        second = await sync_to_async(make_opportunity)(
            arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18), block=2
        )
        result = await manager.execute(second.pk, limits(), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "success", result
    assert manager.health().counters["nonce_gaps"] == 1
    trade = await Trade.objects.aget(pk=result.trade_id)
    assert trade.nonce == nonce + 1
    # The hole was filled by a self-transfer, not left for the trade to wait behind.
    filler = next(
        tx
        for n in range(trade.block_number, 0, -1)
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]
        if tx["from"] == arb.signer.address and tx["nonce"] == nonce
    )
    assert filler["to"] == arb.signer.address and filler["value"] == 0


async def test_a_trade_stuck_past_its_deadline_is_cancelled_never_mined(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    head = w3.eth.block_number
    client, manager = await manager_for(arb, anvil)
    manager.bump_after = 60  # no fee bump: the deadline decides here
    await manager.nonces.next_nonce()
    # A nonce lost since the last gap check (the node forgot the transaction):
    # the trade goes out one nonce ahead of the chain and waits in the queue.
    manager.nonces._next = nonce + 1

    mining = threading.Event()
    mining.set()

    def miner() -> None:
        while mining.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    thread = threading.Thread(target=miner, daemon=True)
    thread.start()
    try:
        result = await asyncio.wait_for(
            manager.execute(opportunity.pk, limits(deadline_block=head + 3), v2_requote(devnet)),
            timeout=25,
        )
    finally:
        mining.clear()
        thread.join()
        await client.cleanup()
    assert result.outcome == "dropped", result
    trade = await Trade.objects.aget(pk=result.trade_id)
    assert trade.status == "dropped" and "nonce" in trade.error
    await opportunity.arefresh_from_db()
    assert opportunity.status == "failed"
    # Both nonces went to self-transfers; the executor call was never mined.
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce + 2
    sent = [to for n in range(head + 1, w3.eth.block_number + 1) for to in _sent_to(w3, n)]
    assert arb.executor not in sent
    assert sent.count(arb.signer.address) == 2
    assert not await Opportunity.objects.filter(status="executing").aexists()
