"""The reconciliation job: live trades left pending are settled from the chain."""

from __future__ import annotations

import datetime as dt

import pytest

from trading import tasks
from trading.execution.reconcile import trades_reconcile
from trading.models import Trade

from .conftest import E18, make_opportunity, path, v2_gross

pytestmark = pytest.mark.chain


def test_nothing_pending_reads_no_chain(arb):
    assert trades_reconcile(network=arb.network) == []


# The manager writes from its own thread: the rows must be committed for it to see them.
def test_a_trade_that_never_reached_the_chain_is_dropped(transactional_db, arb, devnet):
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = make_opportunity(arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18))
    # Its nonce was taken by the executor's deployment: it can never be mined.
    lost = Trade.objects.create(
        opportunity=opportunity,
        mode="live",
        status="pending",
        tx_hash="0x" + "ab" * 32,
        tx_hashes=["0x" + "ab" * 32],
        nonce=0,
        l1_fee_wei=0,
    )
    assert tasks.reconcile_trades.apply().get() == {"settled": [(lost.pk, "dropped")]}
    lost.refresh_from_db()
    assert lost.status == "dropped"
    assert trades_reconcile(network=arb.network) == []  # a second run has nothing to do


def test_a_trade_whose_send_is_in_progress_is_never_judged(transactional_db, arb, devnet):
    from trading.services.execution import (
        SEND_GRACE,
        pending_live_trades,
        trade_mark_sent,
        trade_record_pending,
    )

    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = make_opportunity(arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18))
    # Committed before the broadcast: the node has not seen the transaction yet.
    sending = trade_record_pending(
        opportunity_id=opportunity.pk,
        amount_in=5 * E18,
        tx_hash="0x" + "cd" * 32,
        nonce=10**6,
        max_fee_per_gas=10**9,
        max_priority_fee_per_gas=10**8,
        l1_fee_wei=0,
    )
    assert trades_reconcile(network=arb.network) == []
    sending.refresh_from_db()
    assert sending.status == "pending" and sending.sending
    # An engine that died mid-send: judged once the grace has passed.
    later = sending.sent_at + SEND_GRACE + dt.timedelta(seconds=1)
    assert [t.pk for t in pending_live_trades(now=later)] == [sending.pk]
    # Once the broadcast is answered the row is fair game.
    trade_mark_sent(trade_id=sending.pk)
    assert trades_reconcile(network=arb.network) == [(sending.pk, "dropped")]


@pytest.mark.django_db(transaction=True)
async def test_a_receipt_a_reorg_took_away_reopens_its_trade(arb, devnet, anvil, w3):
    from asgiref.sync import sync_to_async

    from tests.execution.test_manager import limits, manager_for, v2_requote

    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
        assert result.outcome == "success"
        # The engine never looked at this block; the receipt re-check still sees it go.
        anvil.rpc("anvil_reorg", [1, []])
        head = w3.eth.block_number
        # Buried under enough blocks the trade is final: its receipt is not read again.
        assert await manager.reconcile_unconfirmed(head=head + 10, confirmations=5) == []
        changed = await manager.reconcile_unconfirmed(head=head, confirmations=5)
    finally:
        await client.cleanup()
    assert changed == [(result.trade_id, "dropped")]
    trade = await Trade.objects.select_related("opportunity").aget(pk=result.trade_id)
    assert trade.status == "dropped" and trade.realized_profit is None
    assert trade.opportunity.status == "failed"


@pytest.mark.django_db(transaction=True)
async def test_a_sent_trade_whose_row_could_not_be_written_is_settled_without_the_grace(
    arb, devnet, anvil, monkeypatch
):
    """The database went away around a send: its own engine knows the send is over."""
    from asgiref.sync import sync_to_async
    from django.db import OperationalError

    from tests.execution.test_manager import limits, manager_for, v2_requote
    from trading.services import execution as services

    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    failing = {"trade_mark_sent", "trade_settle"}
    for name in failing:
        real = getattr(services, name)

        def once(*args, _name=name, _real=real, **kwargs):
            if _name in failing:
                failing.discard(_name)
                raise OperationalError("server closed the connection unexpectedly")
            return _real(*args, **kwargs)

        monkeypatch.setattr(services, name, once)
    client, manager = await manager_for(arb, anvil)
    manager.wait_for_receipt = False
    try:
        result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
        assert result.outcome == "pending"
        await manager.wait_for_trackers(timeout=20)
        row = await Trade.objects.aget(pk=result.trade_id)
        # Neither the end of the send nor the receipt could be written.
        assert not failing and row.status == "pending" and row.sending
        settled = await manager.reconcile_pending()
    finally:
        await manager.cleanup()
        await client.cleanup()
    assert settled == [(result.trade_id, "success")]
    row = await Trade.objects.aget(pk=result.trade_id)
    assert row.status == "success" and not row.sending and row.realized_profit == gross
