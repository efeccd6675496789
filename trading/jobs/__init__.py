"""Periodic jobs and their schedules.

- :mod:`trading.jobs.schedules`: what runs how often, installed into
  django-celery-beat after every migrate (operators edit them in admin).
- :mod:`trading.jobs.scheduler`: runs those schedules inside the embedded
  process when there is no Celery worker and beat.
- :mod:`trading.jobs.snapshots`: gas snapshots and daily performance roll-ups.
- :mod:`trading.jobs.retention`: trims old history.

``trading.tasks`` stays the Celery interface (its task names are what the
schedules name); reconciling trades lives in :mod:`trading.execution.reconcile`
and profit sweeps in :mod:`trading.services.distribution`.
"""
