"""Periodic jobs inside the embedded process (no Celery worker, no beat).

Reads the same django-celery-beat schedules an operator edits in admin and runs
each due task in a worker thread. A job still running when it comes due again
is not started twice: that run is skipped (no backlog), as with Celery's expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueJob:
    pk: int
    name: str
    task: str
    every: dt.timedelta


def _due_jobs(now: dt.datetime) -> list[DueJob]:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    factor = {
        IntervalSchedule.DAYS: 86_400,
        IntervalSchedule.HOURS: 3_600,
        IntervalSchedule.MINUTES: 60,
        IntervalSchedule.SECONDS: 1,
        IntervalSchedule.MICROSECONDS: 1e-6,
    }
    due = []
    for task in PeriodicTask.objects.filter(enabled=True, interval__isnull=False).select_related(
        "interval"
    ):
        every = dt.timedelta(seconds=task.interval.every * factor[task.interval.period])
        if task.last_run_at is None or task.last_run_at + every <= now:
            due.append(DueJob(task.pk, task.name, task.task, every))
    return due


def _mark_run(pk: int, now: dt.datetime) -> None:
    from django.db.models import F
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(pk=pk).update(
        last_run_at=now, total_run_count=F("total_run_count") + 1
    )


def _run_task(name: str) -> object:
    import trading.tasks  # noqa: F401 - registers the tasks with the app
    from listonian_site.celery import app

    task = app.tasks[name]
    return task.apply().get(propagate=True)


class EmbeddedScheduler:
    def __init__(self, *, tick: float = 1.0) -> None:
        self.tick = tick
        self.running: dict[int, asyncio.Task[None]] = {}
        self.completed = 0
        self.failed = 0

    async def _run(self, job: DueJob) -> None:
        try:
            result = await sync_to_async(_run_task, thread_sensitive=False)(job.task)
            self.completed += 1
            logger.info("job %s done: %s", job.name, result)
        except Exception as exc:
            self.failed += 1
            logger.warning("job %s failed: %s", job.name, exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Run due jobs until ``stop`` is set."""
        while not stop.is_set():
            now = timezone.now()
            try:
                due = await sync_to_async(_due_jobs)(now)
            except Exception as exc:  # a database hiccup must not end the scheduler
                logger.warning("cannot read schedules: %s", exc)
                due = []
            for job in due:
                current = self.running.get(job.pk)
                if current is not None and not current.done():
                    continue  # still running: skip this run rather than queue it
                await sync_to_async(_mark_run)(job.pk, now)
                self.running[job.pk] = asyncio.create_task(self._run(job), name=f"job:{job.name}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.tick)
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
