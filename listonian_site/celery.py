"""Celery application: background jobs run by `celery -A listonian_site worker`."""

import logging
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_init

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


@setup_logging.connect
def use_django_logging(loglevel: Any = None, **kwargs: Any) -> None:
    """Log through Django's LOGGING (with its secret redaction filter) in workers and beat.

    Without this receiver Celery replaces the root handlers with its own, which
    do not redact, so a key logged in a task would come out in the clear.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
