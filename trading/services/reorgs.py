"""Writes after a reorg: reopen the trades and stale the opportunities of dropped blocks."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from trading import events
from trading.models import (
    Network,
    Opportunity,
    OpportunityStatus,
    Reorg,
    Trade,
    TradeMode,
    TradeStatus,
)
from trading.reasons import ReasonCode
from trading.services.execution import trade_reopen


def reorg_record(
    *, network_id: int, common_ancestor: int, depth: int, old_head: int, new_head: int
) -> Reorg:
    """Record a reorg and correct every row that relied on a dropped block.

    Live trades settled in a dropped block go back to pending: their receipts
    on the new chain decide again (reconciliation). Opportunities still
    waiting to be executed from a dropped block are stale. One alert is raised.
    """
    from trading.services.alerts import alert_raise

    network = Network.objects.get(pk=network_id)
    dropped = f"block(s) above {common_ancestor} were reorganised away"
    reopened = [
        pk
        for pk in Trade.objects.filter(
            mode=TradeMode.LIVE,
            opportunity__network=network,
            block_number__gt=common_ancestor,
        )
        .exclude(status=TradeStatus.PENDING)
        .values_list("pk", flat=True)
        if trade_reopen(trade_id=pk, reason=f"reorg: {dropped}; settling again")
    ]
    with transaction.atomic():
        staled = Opportunity.objects.filter(
            network=network,
            status=OpportunityStatus.DETECTED,
            block_number__gt=common_ancestor,
        ).update(
            status=OpportunityStatus.STALE,
            status_reason=f"reorg: {dropped}",
            reason_code=ReasonCode.REORG,
            updated_at=timezone.now(),
        )
        reorg = Reorg.objects.create(
            network=network,
            common_ancestor=common_ancestor,
            depth=depth,
            old_head=old_head,
            new_head=new_head,
            trades_reopened=reopened,
            opportunities_staled=staled,
        )
        alert_raise(
            event="reorg",
            payload={
                "network": network.name,
                "common_ancestor": common_ancestor,
                "depth": depth,
                "old_head": old_head,
                "new_head": new_head,
                "trades_reopened": reopened,
            },
        )
        events.status_changed_after_commit()
    return reorg
