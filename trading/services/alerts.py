"""Alerts to operators' webhooks: recorded first, delivered in the background.

Delivery never runs on the caller's path: with Celery it is a task with
retries and backoff; in the embedded process (no broker) a daemon thread does
the same. A slow or failing endpoint therefore never slows the engine. Every
attempt (time, status code or error, duration) is kept on the delivery row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from trading.models import AlertDelivery, AlertDeliveryStatus, AlertEvent, WebhookEndpoint

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0
# A delivery still unqueued this long after it was raised is queued again.
REQUEUE_AFTER = dt.timedelta(minutes=1)
REQUEUE_LIMIT = 100
# A hand-over that meets a busy database (SQLite while another connection writes)
# is tried this many times, a moment apart.
BUSY_ATTEMPTS = 3
# Publishing gives up after about a second: the requeue job tries again later.
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}


def backoff_seconds(attempt: int) -> float:
    """Delay before retry number ``attempt`` (1-based): 2, 4, 8 … seconds, capped."""
    return min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)


def alert_raise(*, event: str, payload: dict[str, Any]) -> list[int]:
    """Record one delivery per subscribed endpoint and schedule them; returns their ids."""
    if event not in AlertEvent.values:
        raise ValueError(f"unknown alert event {event!r}")
    body = {"event": event, "at": timezone.now().isoformat(), **payload}
    ids: list[int] = []
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if event not in (endpoint.events or []):
            continue
        delivery = AlertDelivery.objects.create(endpoint=endpoint, event=event, payload=body)
        ids.append(delivery.pk)
        transaction.on_commit(partial(_schedule, delivery.pk))
    return ids


def _schedule(delivery_id: int) -> None:
    """Hand one delivery to its sender, after the caller's commit, on a thread of its own.

    A broker that is down or hangs must cost whatever raised the alert (a
    settled trade, a recorded reorg) nothing: no error, no wait. The delivery
    row stays pending when the hand-over fails.
    """
    threading.Thread(
        target=_hand_over_in_thread, args=(delivery_id,), name="alert", daemon=True
    ).start()


def _hand_over(delivery_id: int) -> bool:
    """Queue one delivery unless it is queued already; False when the queue refused it."""
    try:
        # Claim first: the requeue job and the first hand-over never both queue it.
        claimed = AlertDelivery.objects.filter(
            pk=delivery_id, status=AlertDeliveryStatus.PENDING, queued_at__isnull=True
        ).update(queued_at=timezone.now())
        if not claimed:
            return False
        if settings.CELERY_TASK_ALWAYS_EAGER:
            _deliver_with_retries(delivery_id)
            return True
        from trading.tasks import deliver_alert

        try:
            deliver_alert.apply_async(args=[delivery_id], retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:
            AlertDelivery.objects.filter(pk=delivery_id).update(queued_at=None)
            logger.warning("alert %s not queued (delivery stays pending): %s", delivery_id, exc)
            return False
        return True
    except Exception as exc:  # a database outage: the row stays as it was
        if _busy(exc):
            # Released for the next try (the hand-over may have claimed it already).
            with contextlib.suppress(Exception):
                AlertDelivery.objects.filter(
                    pk=delivery_id, status=AlertDeliveryStatus.PENDING
                ).update(queued_at=None)
            raise
        logger.warning("alert %s not queued: %s", delivery_id, exc)
        return False


def _busy(exc: BaseException) -> bool:
    """SQLite's answer while another connection writes: worth another try in a moment."""
    return isinstance(exc, OperationalError) and "locked" in str(exc)


def _hand_over_in_thread(delivery_id: int) -> None:
    from django.db import close_old_connections

    try:
        for attempt in range(BUSY_ATTEMPTS):
            try:
                _hand_over(delivery_id)
                return
            except OperationalError as exc:
                if attempt + 1 == BUSY_ATTEMPTS:
                    logger.warning("alert %s not queued: %s", delivery_id, exc)
                    return
                time.sleep(0.2 * (attempt + 1))
    finally:
        # The thread's own connection; the database may be gone by now.
        with contextlib.suppress(Exception):
            close_old_connections()


def alerts_requeue(*, limit: int = REQUEUE_LIMIT) -> int:
    """Queue again the pending deliveries whose hand-over failed over a minute ago.

    Bounded to ``limit`` per run, oldest first; returns how many were queued.
    """
    cutoff = timezone.now() - REQUEUE_AFTER
    ids = list(
        AlertDelivery.objects.filter(
            status=AlertDeliveryStatus.PENDING, queued_at__isnull=True, created_at__lte=cutoff
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # In-process delivery waits out its backoff: one thread each, as on first raise.
        for pk in ids:
            _schedule(pk)
        return len(ids)
    return sum(_hand_over(pk) for pk in ids)


def _deliver_with_retries(delivery_id: int) -> None:
    from django.db import close_old_connections

    try:
        while True:
            outcome = alert_attempt(delivery_id=delivery_id)
            if outcome != "retry":
                return
            attempts = len(AlertDelivery.objects.get(pk=delivery_id).attempts)
            time.sleep(backoff_seconds(attempts))
    finally:
        close_old_connections()


def alert_attempt(*, delivery_id: int) -> str:
    """POST the alert once; returns ``delivered``, ``retry`` or ``failed`` (attempts used up)."""
    delivery = AlertDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status != AlertDeliveryStatus.PENDING:
        return delivery.status
    endpoint = delivery.endpoint
    data = json.dumps(delivery.payload).encode()
    request = urllib.request.Request(
        endpoint.url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Listonian alerts"},
    )
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=endpoint.timeout_seconds) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error = str(getattr(exc, "reason", exc)) or type(exc).__name__
    attempt = {
        "at": timezone.now().isoformat(),
        "status_code": status_code,
        "error": error,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    delivery.attempts = [*delivery.attempts, attempt]
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        delivery.status = AlertDeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
    elif len(delivery.attempts) >= endpoint.max_attempts:
        delivery.status = AlertDeliveryStatus.FAILED
    # The POST is over: its outcome is written even if the database is busy a moment
    # (a delivery left pending after its claim would never be sent or recorded).
    for busy in range(BUSY_ATTEMPTS):
        try:
            delivery.save(update_fields=["attempts", "status", "delivered_at"])
            break
        except OperationalError:
            if busy + 1 == BUSY_ATTEMPTS:
                raise
            time.sleep(0.2 * (busy + 1))
    if ok:
        return "delivered"
    logger.info("alert %s to %s failed: %s", delivery.event, endpoint.name, error or status_code)
    return "failed" if delivery.status == AlertDeliveryStatus.FAILED else "retry"
