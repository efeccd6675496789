"""Celery tasks: thin interfaces that load what they need and call a service.

Periodic ones are scheduled by django-celery-beat (see ``trading.jobs.schedules``);
each expires before its next run so a backlog is dropped, not run late.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from trading.models import Network

logger = logging.getLogger(__name__)

_RETRY = {"autoretry_for": (ConnectionError, TimeoutError), "retry_backoff": True, "max_retries": 3}


def _network() -> Network | None:
    network = Network.objects.active()
    if network is None:
        logger.info("no active network: nothing to do")
    return network


@shared_task(name="trading.tasks.sync_pools", **_RETRY)
def sync_pools(dex_name: str | None = None) -> dict[str, Any]:
    """Discover new pools of the enabled DEXs of the active network."""
    from trading.services.pools import pools_sync

    network = _network()
    if network is None:
        return {"skipped": "no active network"}
    report = pools_sync(network=network, dex_name=dex_name)
    return {
        "added": report.added,
        "skipped": report.skipped,
        "failed": report.failed,
        "unread": report.unread,
    }


@shared_task(name="trading.tasks.gas_snapshot", **_RETRY)
def gas_snapshot() -> dict[str, Any]:
    from trading.jobs.snapshots import gas_snapshot_take

    network = _network()
    if network is None:
        return {"skipped": "no active network"}
    snapshot = gas_snapshot_take(network=network)
    return {"id": snapshot.pk, "block": snapshot.block_number}


@shared_task(name="trading.tasks.reconcile_trades", **_RETRY)
def reconcile_trades() -> dict[str, Any]:
    from trading.execution.reconcile import trades_reconcile

    network = _network()
    if network is None:
        return {"skipped": "no active network"}
    return {"settled": trades_reconcile(network=network)}


@shared_task(name="trading.tasks.apply_retention")
def apply_retention() -> dict[str, Any]:
    from trading.jobs.retention import history_apply_retention

    result = history_apply_retention()
    return {"trades": result.trades_deleted, "opportunities": result.opportunities_deleted}


@shared_task(name="trading.tasks.rollup_performance")
def rollup_performance() -> dict[str, Any]:
    from trading.jobs.snapshots import performance_rollup

    result = performance_rollup()
    return {"day": result.day.isoformat(), "rows": result.rows}


@shared_task(name="trading.tasks.requeue_alerts")
def requeue_alerts() -> dict[str, Any]:
    """Queue again the alerts left pending while the broker was unreachable."""
    from trading.services.alerts import alerts_requeue

    return {"queued": alerts_requeue()}


@shared_task(name="trading.tasks.deliver_alert", bind=True, max_retries=None)
def deliver_alert(self: Any, delivery_id: int) -> str:
    """One delivery attempt; retried with exponential backoff until the endpoint's limit."""
    from trading.services.alerts import alert_attempt, backoff_seconds

    outcome = alert_attempt(delivery_id=delivery_id)
    if outcome == "retry":
        raise self.retry(countdown=backoff_seconds(self.request.retries + 1))
    return outcome


@shared_task(name="trading.tasks.distribute_profit")
def distribute_profit() -> dict[str, Any]:
    """Sweep profit over its thresholds to the recipients (or resume a sweep)."""
    from trading.services.distribution import profit_distribute

    network = _network()
    if network is None or not network.executor_address:
        return {"skipped": "no active network with an executor"}
    sweeps = profit_distribute(network=network)
    return {s.symbol: s.action for s in sweeps}
