"""Reorgs: found from the block hashes, and every row of a dropped block corrected."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async

from tests.support.chain_truth import rows_disagreeing_with_chain
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import connect
from trading.engine.engine import Engine
from trading.engine.reorgs import HeadHistory
from trading.models import AlertDelivery, BotConfig, Reorg, Trade, WebhookEndpoint

pytestmark = [pytest.mark.chain]


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


@pytest.fixture
def own_anvil():
    """A node of this test's own: reorgs and the session node's snapshots do not mix."""
    node = AnvilNode(chain_id=31337)
    node.start()
    try:
        yield node
    finally:
        node.stop()


async def test_the_common_ancestor_of_a_reorg_is_found(own_anvil):
    anvil, w3 = own_anvil, connect(own_anvil.rpc_url)
    client = ChainClient([anvil.rpc_url], chain_id=31337)
    await client.initialize()
    heads = HeadHistory(client)
    try:
        # Blocks with a transaction each, so an empty replacement never hashes the same.
        sender, receiver = anvil.accounts[1], anvil.accounts[2]
        for _ in range(3):
            w3.eth.send_transaction({"from": sender, "to": receiver, "value": 1})
        head = w3.eth.block_number
        for number in range(head - 2, head + 1):
            assert await heads.observe(number) is None
        anvil.rpc("anvil_reorg", [2, []])
        anvil.mine(1)
        found = await heads.observe(head + 1)
        assert found is not None
        assert (found.common_ancestor, found.depth) == (head - 2, 2)
        assert (found.old_head, found.new_head) == (head, head + 1)
        anvil.mine(1)
        assert await heads.observe(head + 2) is None
        # After skipped blocks the newest remembered hash is checked instead.
        w3.eth.send_transaction({"from": sender, "to": receiver, "value": 1})
        assert await heads.observe(head + 3) is None
        anvil.rpc("anvil_reorg", [1, []])
        anvil.mine(3)
        found = await heads.observe(head + 6)
        assert found is not None
        assert (found.common_ancestor, found.depth) == (head + 2, 1)
    finally:
        await client.cleanup()


def _live() -> None:
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.save()


@pytest.mark.django_db(transaction=True)
async def test_trades_of_reorged_blocks_are_settled_again_and_alerted(
    arb, devnet, anvil, w3, monkeypatch
):
    monkeypatch.setattr("trading.services.alerts._schedule", lambda delivery_id: None)
    await WebhookEndpoint.objects.acreate(
        name="ops", url="http://127.0.0.1:9/hook", events=["reorg"]
    )
    await sync_to_async(_live)()
    mining = threading.Event()
    mining.set()

    def miner() -> None:
        while mining.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    # Blocks come from the miner alone: once it stops, a transaction the engine
    # sends waits in the pool, and the head read below is the head reorged.
    with anvil.automine_paused():
        engine = Engine(poll_interval=0.05)
        thread = threading.Thread(target=miner, daemon=True)
        thread.start()
        run = asyncio.create_task(engine.run())
        try:
            await _until(Trade.objects.filter(status="success").aexists, 30, "the first trade")
            mining.clear()
            thread.join()
            traded = await Trade.objects.filter(status="success").afirst()
            head = await asyncio.to_thread(lambda: w3.eth.block_number)
            depth = head - traded.block_number + 1
            # The engine has seen the trade's block: the reorg shows in the block hashes.
            await _until(lambda: (engine.heads.head or 0) >= head, 10, "the engine at the head")
            # The trade's block and everything after it are replaced by empty blocks.
            anvil.rpc("anvil_reorg", [depth, []])
            assert await asyncio.to_thread(lambda: w3.eth.block_number) == head
            mining.set()
            thread = threading.Thread(target=miner, daemon=True)
            thread.start()
            await _until(Reorg.objects.aexists, 20, "the reorg to be recorded")
            reorg = await Reorg.objects.aget()
            # Blocks the engine skipped have no remembered hash: the ancestor may be lower.
            assert head - depth - 3 <= reorg.common_ancestor <= traded.block_number - 1
            assert reorg.depth == head - reorg.common_ancestor
            assert traded.pk in reorg.trades_reopened

            async def settled_again() -> bool:
                row = await Trade.objects.aget(pk=traded.pk)
                return row.status != "success" or row.block_number != traded.block_number

            await _until(settled_again, 20, "the reorged trade to be settled again")
            # The gap is back on the new chain: the engine trades it again.
            await _until(
                Trade.objects.filter(status="success", block_number__gt=head - depth).aexists,
                30,
                "a trade on the new chain",
            )
        finally:
            mining.clear()
            engine.request_stop()
            await asyncio.wait_for(run, timeout=30)
            thread.join()
    wrong = await sync_to_async(rows_disagreeing_with_chain)(w3, arb.executor)
    assert wrong == []
    row = await Trade.objects.aget(pk=traded.pk)
    assert row.status == "dropped"
    assert [d.event async for d in AlertDelivery.objects.all()] == ["reorg"]
