"""The Celery worker stores its own figures for the System page."""

from __future__ import annotations

import pytest

from listonian_site.celery import store_worker_vitals
from trading import vitals
from trading.models import ProcessVitals


@pytest.mark.django_db(transaction=True)
def test_the_worker_stores_its_memory_and_cpu() -> None:
    meter = vitals.ProcessMeter()
    assert store_worker_vitals(meter)
    assert store_worker_vitals(meter)
    row = ProcessVitals.objects.get(role="worker")
    assert row.instance == vitals.instance()
    assert row.figures["rss_bytes"] > 0 and row.figures["cpu_percent"] is not None


@pytest.mark.django_db
def test_a_database_outage_does_not_stop_the_worker(monkeypatch) -> None:
    from django.db import OperationalError

    def down(**_: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("trading.services.system.process_vitals_save", down)
    assert store_worker_vitals(vitals.ProcessMeter()) is False
