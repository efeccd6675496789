"""History retention: keep the memory bank within the operator's limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from trading.models import (
    BotConfig,
    EngineState,
    Opportunity,
    OpportunityStatus,
    Trade,
    TradeStatus,
)

# Rows that are still in flight are never deleted, however old.
_LIVE_TRADE_STATUSES = [TradeStatus.PENDING]
_LIVE_OPPORTUNITY_STATUSES = [OpportunityStatus.EXECUTING]


@dataclass(frozen=True)
class RetentionResult:
    trades_deleted: int
    opportunities_deleted: int
    cutoff: dt.datetime


def _delete_opportunities(queryset) -> int:
    # Opportunities referenced by a kept trade stay (the trade's history needs them).
    doomed = (
        queryset.exclude(status__in=_LIVE_OPPORTUNITY_STATUSES)
        .annotate(kept_trades=Count("trades"))
        .filter(kept_trades=0)
        .values_list("pk", flat=True)
    )
    ids = list(doomed)
    deleted = 0
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        deleted += (
            Opportunity.objects.filter(pk__in=chunk).delete()[1].get("trading.Opportunity", 0)
        )
    return deleted


def _beyond_newest(model, time_field: str, keep: int):
    """Rows of ``model`` older than its ``keep`` newest rows."""
    boundary = model.objects.order_by(f"-{time_field}", "-pk").values_list("pk", time_field)[
        keep : keep + 1
    ]
    row = next(iter(boundary), None)
    if row is None:
        return model.objects.none()
    pk, moment = row
    older = model.objects.filter(**{f"{time_field}__lt": moment})
    same_time = model.objects.filter(**{time_field: moment, "pk__lte": pk})
    return older | same_time


@transaction.atomic
def history_apply_retention(*, now: dt.datetime | None = None) -> RetentionResult:
    """Delete history past BotConfig's age and row limits; return what went.

    Trades go first (settled ones only), then opportunities that no remaining
    trade refers to. In-flight rows (pending trades, executing opportunities)
    are kept whatever their age.
    """
    config = BotConfig.load()
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=config.retention_days)

    trades = Trade.objects.exclude(status__in=_LIVE_TRADE_STATUSES)
    old_trades = trades.filter(created_at__lt=cutoff)
    extra_trades = _beyond_newest(Trade, "created_at", config.retention_max_rows).exclude(
        status__in=_LIVE_TRADE_STATUSES
    )
    trade_ids = set(old_trades.values_list("pk", flat=True)) | set(
        extra_trades.values_list("pk", flat=True)
    )
    trades_deleted = Trade.objects.filter(pk__in=trade_ids).delete()[0] if trade_ids else 0

    opportunities_deleted = _delete_opportunities(
        Opportunity.objects.filter(detected_at__lt=cutoff)
    )
    opportunities_deleted += _delete_opportunities(
        _beyond_newest(Opportunity, "detected_at", config.retention_max_rows)
    )
    state = EngineState.load()
    state.last_retention_at = now
    state.save(update_fields=["last_retention_at", "updated_at"])
    return RetentionResult(trades_deleted, opportunities_deleted, cutoff)
