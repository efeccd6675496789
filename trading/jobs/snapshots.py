"""Periodic snapshots: fee levels for the dashboard, daily performance roll-ups.

Celery tasks (``trading.tasks``) and the embedded scheduler call these; each is
safe to run twice (it rewrites, never duplicates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from trading import events
from trading.fields import AmountSum
from trading.gas.oracle import GasOracle
from trading.models import (
    DailyPerformance,
    GasSnapshot,
    Network,
    Opportunity,
    Token,
    Trade,
    TradeStatus,
)
from trading.services.chain_access import ChainSession

# Calldata size of a typical 3-hop execute() call, for the L1 fee shown on the dashboard.
_TYPICAL_CALLDATA = b"\x01" * 420


def gas_snapshot_take(*, network: Network) -> GasSnapshot:
    """Read the fee levels now and keep them for the dashboard."""
    with ChainSession.for_network(network) as session:
        oracle = GasOracle(session.client, op_stack=network.is_op_stack)
        session.run(oracle.initialize())
        suggestion = session.run(oracle.suggest())
        l1_fee = session.run(oracle.l1_fee(_TYPICAL_CALLDATA)) if network.is_op_stack else None
    with transaction.atomic():
        snapshot = GasSnapshot.objects.create(
            network=network,
            block_number=suggestion.block_number,
            base_fee_wei=suggestion.base_fee,
            priority_fee_slow_wei=suggestion.slow.max_priority_fee_per_gas,
            priority_fee_normal_wei=suggestion.normal.max_priority_fee_per_gas,
            priority_fee_urgent_wei=suggestion.urgent.max_priority_fee_per_gas,
            l1_fee_wei=l1_fee,
        )
        events.gas_recorded_after_commit(snapshot.pk)
    return snapshot


@dataclass(frozen=True)
class RollupResult:
    day: dt.date
    rows: int


def performance_rollup(*, day: dt.date | None = None) -> RollupResult:
    """Roll one day's opportunities and trades up per start token (UTC days)."""
    day = day or timezone.now().date()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    opportunities = {
        row["start_token"]: row["n"]
        for row in Opportunity.objects.filter(detected_at__gte=start, detected_at__lt=end)
        .order_by()
        .values("start_token")
        .annotate(n=Count("id"))
    }
    trades: dict[int, dict[str, Any]] = {
        row["opportunity__start_token"]: dict(row)
        for row in Trade.objects.live()
        .filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values("opportunity__start_token")
        .annotate(
            n=Count("id"),
            ok=Count("id", filter=Q(status=TradeStatus.SUCCESS)),
            profit=AmountSum("realized_profit"),
            gas=AmountSum("gas_cost_wei"),
        )
    }
    token_ids = set(opportunities) | set(trades)
    with transaction.atomic():
        for token in Token.objects.filter(pk__in=token_ids):
            row = trades.get(token.pk, {})
            DailyPerformance.objects.update_or_create(
                day=day,
                token=token,
                defaults={
                    "opportunities": opportunities.get(token.pk, 0),
                    "trades": row.get("n", 0),
                    "successful_trades": row.get("ok", 0),
                    "realized_profit": row.get("profit", 0),
                    "gas_cost_wei": row.get("gas", 0),
                },
            )
    return RollupResult(day, len(token_ids))
