"""Celery application: background jobs run by `celery -A listonian_site worker`."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

from trading import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")

app = Celery("listonian_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
metrics.instrument_celery()


@worker_init.connect
def _serve_worker_metrics(**_: Any) -> None:
    # The worker's own metrics port; its prefork children's figures reach it
    # through PROMETHEUS_MULTIPROC_DIR (see the Procfile).
    from django.conf import settings

    if settings.LISTONIAN_WORKER_METRICS_PORT:
        metrics.serve(
            settings.LISTONIAN_WORKER_METRICS_PORT,
            settings.LISTONIAN_METRICS_HOST,
            token=settings.LISTONIAN_METRICS_TOKEN,
        )
