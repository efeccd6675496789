"""The periodic jobs' schedules, installed into django-celery-beat."""

import pytest
from django_celery_beat.models import PeriodicTask

from trading.jobs.schedules import PREFIX, SCHEDULES, install_schedules

pytestmark = pytest.mark.django_db


def test_schedules_are_installed_by_migrate_with_expiry():
    installed = {t.name: t for t in PeriodicTask.objects.filter(name__startswith=PREFIX)}
    assert set(installed) == {PREFIX + s.name for s in SCHEDULES}
    for schedule in SCHEDULES:
        task = installed[PREFIX + schedule.name]
        assert task.task == schedule.task
        assert task.interval.every == schedule.every_seconds
        assert task.expire_seconds == schedule.every_seconds


def test_installing_again_keeps_the_operators_edits():
    task = PeriodicTask.objects.get(name=PREFIX + "gas snapshot")
    task.enabled = False
    task.save()
    assert install_schedules() == []
    assert PeriodicTask.objects.get(name=PREFIX + "gas snapshot").enabled is False
    PeriodicTask.objects.filter(name=PREFIX + "sync pools").delete()
    assert install_schedules() == [PREFIX + "sync pools"]


def test_every_scheduled_task_is_registered():
    from listonian_site.celery import app

    # What a worker does at start: import every installed app's tasks module.
    app.loader.import_default_modules()

    for schedule in SCHEDULES:
        assert schedule.task in app.tasks
