"""Periodic jobs, defined here and installed into django-celery-beat.

Installation is idempotent and never overrides an operator's edits in admin:
a schedule is created when missing and otherwise left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "listonian: "


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    description: str


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("gas snapshot", "trading.tasks.gas_snapshot", 30, "Fee levels for the dashboard."),
    Schedule(
        "reconcile trades", "trading.tasks.reconcile_trades", 60, "Settle trades left pending."
    ),
    Schedule("sync pools", "trading.tasks.sync_pools", 1800, "Discover new pools."),
    Schedule(
        "requeue alerts",
        "trading.tasks.requeue_alerts",
        60,
        "Queue again alerts left pending while the broker was down.",
    ),
    Schedule("apply retention", "trading.tasks.apply_retention", 3600, "Trim old history."),
    Schedule(
        "roll up performance", "trading.tasks.rollup_performance", 3600, "Daily totals per token."
    ),
    Schedule(
        "distribute profit",
        "trading.tasks.distribute_profit",
        3600,
        "Sweep profit over its thresholds to the recipients.",
    ),
)


def install_schedules() -> list[str]:
    """Create the missing periodic tasks; return the names created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created: list[str] = []
    for schedule in SCHEDULES:
        name = PREFIX + schedule.name
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(
            name=name,
            task=schedule.task,
            interval=interval,
            # Expire before the next run: a backlog is dropped, not run late.
            expire_seconds=schedule.every_seconds,
            description=schedule.description,
        )
        created.append(name)
    return created
