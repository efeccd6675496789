import datetime as dt
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from trading.models import AlertDelivery, WebhookEndpoint
from trading.services.alerts import alert_attempt, alert_raise, backoff_seconds


class _Endpoint(BaseHTTPRequestHandler):
    status = 500
    delay = 0.0
    hits = 0

    def do_POST(self):
        type(self).hits += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(type(self).delay)
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        return


@pytest.fixture
def endpoint_server():
    _Endpoint.status, _Endpoint.delay, _Endpoint.hits = 500, 0.0, 0
    server = HTTPServer(("127.0.0.1", 0), _Endpoint)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_backoff_doubles_up_to_a_ceiling():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff_seconds(50) == 300


@pytest.mark.django_db
def test_only_subscribed_active_endpoints_get_the_alert(endpoint_server):
    WebhookEndpoint.objects.create(name="a", url=endpoint_server, events=["low_balance"])
    WebhookEndpoint.objects.create(name="b", url=endpoint_server, events=["trade_failed"])
    WebhookEndpoint.objects.create(
        name="c", url=endpoint_server, events=["low_balance"], active=False
    )
    ids = alert_raise(event="low_balance", payload={"balance_wei": "1"})
    assert [AlertDelivery.objects.get(pk=i).endpoint.name for i in ids] == ["a"]
    with pytest.raises(ValueError):
        alert_raise(event="nonsense", payload={})


@pytest.mark.django_db
def test_every_attempt_is_recorded_until_the_endpoint_limit(endpoint_server):
    endpoint = WebhookEndpoint.objects.create(
        name="flaky", url=endpoint_server, events=["trade_failed"], max_attempts=3
    )
    delivery = AlertDelivery.objects.create(endpoint=endpoint, event="trade_failed", payload={})
    assert alert_attempt(delivery_id=delivery.pk) == "retry"
    assert alert_attempt(delivery_id=delivery.pk) == "retry"
    _Endpoint.status = 204
    assert alert_attempt(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    assert [a["status_code"] for a in delivery.attempts] == [500, 500, 204]
    assert all(a["duration_ms"] >= 0 and a["at"] for a in delivery.attempts)
    assert alert_attempt(delivery_id=delivery.pk) == "delivered"  # nothing sent again
    assert _Endpoint.hits == 3


@pytest.mark.django_db
def test_a_dead_endpoint_fails_after_its_attempts():
    endpoint = WebhookEndpoint.objects.create(
        name="dead", url="http://127.0.0.1:9/hook", events=["trade_failed"], max_attempts=2
    )
    delivery = AlertDelivery.objects.create(endpoint=endpoint, event="trade_failed", payload={})
    assert alert_attempt(delivery_id=delivery.pk) == "retry"
    assert alert_attempt(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and all(a["error"] for a in delivery.attempts)


@pytest.mark.django_db(transaction=True)
def test_a_slow_endpoint_never_slows_the_caller(endpoint_server, in_process_alerts):
    _Endpoint.status, _Endpoint.delay = 200, 2.0
    WebhookEndpoint.objects.create(
        name="slow", url=endpoint_server, events=["component_down"], timeout_seconds=5
    )
    started = time.monotonic()
    with transaction.atomic():
        (delivery_id,) = alert_raise(event="component_down", payload={"component": "dex"})
    assert time.monotonic() - started < 0.5  # delivery happens in the background
    deadline = time.monotonic() + 10
    while AlertDelivery.objects.get(pk=delivery_id).status == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert AlertDelivery.objects.get(pk=delivery_id).status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_hand_over_that_meets_a_busy_database_is_tried_again(
    endpoint_server, in_process_alerts, monkeypatch
):
    from django.db import OperationalError

    from trading.services import alerts

    _Endpoint.status = 200
    WebhookEndpoint.objects.create(name="ok", url=endpoint_server, events=["component_down"])
    real = alerts._hand_over
    tries = []

    def busy_once(delivery_id):
        tries.append(delivery_id)
        if len(tries) == 1:
            raise OperationalError("database table is locked: trading_alertdelivery")
        return real(delivery_id)

    monkeypatch.setattr(alerts, "_hand_over", busy_once)
    with transaction.atomic():
        (delivery_id,) = alert_raise(event="component_down", payload={"component": "dex"})
    deadline = time.monotonic() + 10
    while AlertDelivery.objects.get(pk=delivery_id).status == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert AlertDelivery.objects.get(pk=delivery_id).status == "delivered"
    assert tries == [delivery_id, delivery_id]


@pytest.mark.django_db
def test_the_celery_task_delivers(endpoint_server):
    from trading.tasks import deliver_alert

    _Endpoint.status = 202
    endpoint = WebhookEndpoint.objects.create(
        name="ok", url=endpoint_server, events=["low_balance"]
    )
    delivery = AlertDelivery.objects.create(
        endpoint=endpoint, event="low_balance", payload={"x": 1}
    )
    assert deliver_alert.apply(args=[delivery.pk]).get() == "delivered"
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(delivery.attempts) == 1


@pytest.mark.django_db(transaction=True)
def test_an_alert_left_pending_by_a_dead_broker_is_delivered_by_the_requeue_job(
    endpoint_server, settings, monkeypatch, caplog
):
    from listonian_site.celery import app as celery_app
    from tests.support.rpc_proxy import unused_port
    from trading.tasks import requeue_alerts

    # A real broker connection to a port where nothing listens.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{unused_port()}/0")
    monkeypatch.setattr(celery_app, "_pool", None)
    # A producer pool made by an earlier test would still publish to the live broker.
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    _Endpoint.status = 204
    WebhookEndpoint.objects.create(name="ops", url=endpoint_server, events=["trade_failed"])
    with caplog.at_level(logging.WARNING, logger="trading"), transaction.atomic():
        (delivery_id,) = alert_raise(event="trade_failed", payload={"trade": 1})
    deadline = time.monotonic() + 15
    while "not queued" not in caplog.text:
        assert time.monotonic() < deadline, "the hand-over never gave up"
        time.sleep(0.1)
    delivery = AlertDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "pending" and delivery.queued_at is None

    # Too young to be queued again; once over a minute old, a still dead broker
    # refuses it within seconds and it stays for the next run.
    assert requeue_alerts.apply().get() == {"queued": 0}
    AlertDelivery.objects.filter(pk=delivery_id).update(
        created_at=timezone.now() - dt.timedelta(minutes=2)
    )
    started = time.monotonic()
    assert requeue_alerts.apply().get() == {"queued": 0}
    assert time.monotonic() - started < 10
    assert AlertDelivery.objects.get(pk=delivery_id).queued_at is None

    # The broker is back (here: in-process delivery): the next run delivers it, once.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert requeue_alerts.apply().get() == {"queued": 1}
    deadline = time.monotonic() + 10
    while AlertDelivery.objects.get(pk=delivery_id).status == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert AlertDelivery.objects.get(pk=delivery_id).status == "delivered"
    assert requeue_alerts.apply().get() == {"queued": 0}
    assert _Endpoint.hits == 1


@pytest.mark.django_db
def test_a_post_that_went_out_is_recorded_though_the_database_was_busy(
    endpoint_server, monkeypatch
):
    from django.db import OperationalError

    endpoint = WebhookEndpoint.objects.create(name="ops", url=endpoint_server, events=["reorg"])
    delivery = AlertDelivery.objects.create(endpoint=endpoint, event="reorg", payload={})
    _Endpoint.status = 200
    save = AlertDelivery.save
    refused = []

    def busy_once(self, *args, **kwargs):
        if not refused:
            refused.append(self.pk)
            raise OperationalError("database table is locked")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(AlertDelivery, "save", busy_once)
    # The endpoint has it: the outcome is written, not left pending (nor sent twice).
    assert alert_attempt(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert refused == [delivery.pk] and delivery.status == "delivered"
    assert [a["status_code"] for a in delivery.attempts] == [200] and _Endpoint.hits == 1
