"""Celery application: background jobs run by `celery -A listonian_site worker`."""

import logging
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_init, worker_ready

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


# How often the worker stores its own figures for the System page.
WORKER_VITALS_SECONDS = 15.0


@worker_ready.connect
def _report_worker_vitals(**_: Any) -> None:
    # The main worker process (its prefork children are not counted) writes its
    # memory and CPU from a daemon thread, like the web and the engine do.
    import threading

    threading.Thread(target=_worker_vitals_forever, name="worker-vitals", daemon=True).start()


def _worker_vitals_forever() -> None:
    import time

    from trading import vitals

    meter = vitals.ProcessMeter()
    while True:
        store_worker_vitals(meter)
        time.sleep(WORKER_VITALS_SECONDS)


def store_worker_vitals(meter: Any) -> bool:
    """Store the worker process's figures once; False (logged) when that failed."""
    from django.db import close_old_connections

    from trading import vitals
    from trading.services.system import process_vitals_save

    try:
        process_vitals_save(role="worker", instance=vitals.instance(), figures=meter.sample())
    except Exception as exc:  # the figures must never stop the worker
        logging.getLogger(__name__).warning("worker figures not stored: %s", exc)
        return False
    finally:
        close_old_connections()
    return True


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
