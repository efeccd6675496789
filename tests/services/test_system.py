"""trading.services.system: each process's own figures, and the falling-behind alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trading import events
from trading.models import AlertDelivery, ProcessVitals, WebhookEndpoint
from trading.services.system import (
    behind_thresholds,
    falling_behind_alert,
    process_vitals_save,
)

pytestmark = pytest.mark.django_db


def test_a_process_keeps_one_row_with_its_latest_figures(django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    events.system_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            process_vitals_save(role="worker", instance="h:1", figures={"rss_bytes": 1})
            process_vitals_save(role="worker", instance="h:1", figures={"rss_bytes": 2})
            process_vitals_save(role="web", instance="h:1", figures={"rss_bytes": 3})
    finally:
        events.system_changed.disconnect(receiver)
    rows = {(r.role, r.instance): r.figures for r in ProcessVitals.objects.all()}
    assert rows == {("worker", "h:1"): {"rss_bytes": 2}, ("web", "h:1"): {"rss_bytes": 3}}
    assert len(received) == 3


def test_a_process_gone_for_a_day_is_forgotten():
    process_vitals_save(role="engine", instance="old:7", figures={})
    ProcessVitals.objects.update(updated_at=timezone.now() - dt.timedelta(days=2))
    process_vitals_save(role="engine", instance="new:8", figures={})
    assert list(ProcessVitals.objects.values_list("instance", flat=True)) == ["new:8"]


def test_thresholds_come_from_the_bot_configuration():
    assert behind_thresholds() == (3, 0, 10)


def test_behind_and_caught_up_reach_the_subscribed_endpoints(monkeypatch):
    monkeypatch.setattr("trading.services.alerts._schedule", lambda delivery_id: None)
    WebhookEndpoint.objects.create(
        name="ops", url="http://127.0.0.1:9/hook", events=["falling_behind", "caught_up"]
    )
    WebhookEndpoint.objects.create(
        name="trades", url="http://127.0.0.1:9/t", events=["trade_failed"]
    )
    falling_behind_alert(
        behind=True, block_number=120, head_lag=6, skipped=4, reasons=["head lag 6"], blocks=10
    )
    falling_behind_alert(
        behind=False, block_number=150, head_lag=0, skipped=0, reasons=[], blocks=10
    )
    behind, caught_up = AlertDelivery.objects.order_by("pk")
    assert behind.event == "falling_behind" and behind.endpoint.name == "ops"
    assert behind.payload["head_lag"] == 6 and behind.payload["reasons"] == ["head lag 6"]
    assert caught_up.event == "caught_up" and caught_up.payload["block"] == 150
    assert "reasons" not in caught_up.payload
