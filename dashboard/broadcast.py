"""Delivery of dashboard events to every open page.

``publish(event)`` (sync) and ``apublish(event)`` (async) send a typed event
(:mod:`dashboard.events`) to the one dashboard group, through the channel layer:
in-memory in the embedded process, Redis when ``REDIS_URL`` is set, so an event
published by the engine or a worker reaches the pages of every web process.
What to publish and when is the receivers' business (:mod:`dashboard.receivers`,
driven by the domain events of :mod:`trading.events`). Publishing is best
effort: a channel layer that is down is logged, never raised into the engine.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import queue
import threading
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from dashboard.events import Event, to_message
from trading import metrics

logger = logging.getLogger(__name__)

# Every dashboard socket joins this one group; pages pick what they show.
DASHBOARD_GROUP = "dashboard"


# The loop the websocket consumers of this process run on. The in-memory layer
# keeps asyncio queues that belong to that loop, so a publisher on another
# thread (an eager Celery task, a test, a benchmark) hands its send over to it
# instead of touching the queues from a foreign loop.
_serving_loop: asyncio.AbstractEventLoop | None = None
# Fire-and-forget sends started from a loop thread, kept so they are not
# garbage-collected before they finish.
_pending: set[asyncio.Future[Any]] = set()


def bind_serving_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Remember the event loop websocket consumers run on (called by the consumer)."""
    global _serving_loop
    _serving_loop = loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _handoff_loop(layer: Any) -> asyncio.AbstractEventLoop | None:
    loop = _serving_loop
    if (
        isinstance(layer, InMemoryChannelLayer)
        and loop is not None
        and loop.is_running()
        and not loop.is_closed()
        and loop is not _running_loop()
    ):
        return loop
    return None


async def _group_send(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _handoff_loop(layer)
    if loop is not None:
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(layer.group_send(DASHBOARD_GROUP, message), loop)
        )
    else:
        await layer.group_send(DASHBOARD_GROUP, message)


def publish(event: Event) -> bool:
    """Send ``event`` to every open dashboard, from sync code. False if it failed."""
    message = to_message(event)
    try:
        layer = get_channel_layer()
        if layer is None:
            return False
        loop = _handoff_loop(layer)
        running = _running_loop()
        if loop is not None:
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(DASHBOARD_GROUP, message), loop
            )
            future.result(timeout=10)
        elif running is not None:
            # Sync code on an event loop thread cannot block on the loop it
            # runs on: schedule the send instead.
            task = running.create_task(layer.group_send(DASHBOARD_GROUP, message))
            _pending.add(task)
            task.add_done_callback(_pending.discard)
        elif isinstance(layer, InMemoryChannelLayer):
            async_to_sync(layer.group_send)(DASHBOARD_GROUP, message)
        else:
            _send_later(message)
    except Exception as exc:  # never let the dashboard break the bot
        metrics.CHANNEL_SEND_FAILURES.inc()
        logger.warning("Dashboard event %s not delivered: %s", event.type, exc)
        return False
    return True


# A shared layer (Redis) is written by one sender thread, never by the caller:
# a hanging Redis costs the engine nothing but the live updates, and pages catch
# up when it returns (they ask for every panel on reconnect). Each send has a
# short timeout; when the queue is full the oldest events go first.
SEND_TIMEOUT = 2.0
_outbox: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
_sender: threading.Thread | None = None
_sender_lock = threading.Lock()


def _send_later(message: dict[str, Any]) -> None:
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_forever, name="dashboard-publish", daemon=True)
            _sender.start()
            # A short-lived process (a command, a script) still delivers what it published.
            atexit.register(wait_sent)
    while True:
        try:
            _outbox.put_nowait(message)
            return
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                _outbox.get_nowait()
                _outbox.task_done()
                metrics.CHANNEL_SEND_FAILURES.inc()


async def _send_bounded(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await asyncio.wait_for(layer.group_send(DASHBOARD_GROUP, message), SEND_TIMEOUT)


def _send_forever() -> None:
    # A loop of its own for the thread's life: no executor is needed, so
    # sending still works while the interpreter exits (see ``wait_sent``).
    loop = asyncio.new_event_loop()
    while True:
        message = _outbox.get()
        try:
            loop.run_until_complete(_send_bounded(message))
        except Exception as exc:
            metrics.CHANNEL_SEND_FAILURES.inc()
            logger.warning("Dashboard event %s not delivered: %s", message.get("type"), exc)
        finally:
            _outbox.task_done()


def wait_sent(timeout: float = 5.0) -> bool:
    """Wait until every queued event was sent (or given up on); True if none is left."""
    deadline = time.monotonic() + timeout
    while _outbox.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _outbox.unfinished_tasks


async def apublish(event: Event) -> bool:
    """Send ``event`` to every open dashboard, from async code. False if it failed."""
    try:
        await _group_send(to_message(event))
    except Exception as exc:
        metrics.CHANNEL_SEND_FAILURES.inc()
        logger.warning("Dashboard event %s not delivered: %s", event.type, exc)
        return False
    return True


# Counts and the memory bank follow row events by themselves: at most once a
# second (a busy block does not cost a stats query per row), and whatever that
# throttle held back goes out with the next status event, which the engine
# sends every block.
STATS_INTERVAL = 1.0
_stats_lock = threading.Lock()
_stats_last = 0.0
_stats_pending = False


def stats_due(*, flush: bool = False) -> bool:
    """Whether stats should go out now: after a row event, or with ``flush`` after a status."""
    global _stats_last, _stats_pending
    with _stats_lock:
        now = time.monotonic()
        if flush and not _stats_pending:
            return False
        if not flush and now - _stats_last < STATS_INTERVAL:
            _stats_pending = True
            return False
        _stats_last, _stats_pending = now, False
        return True


def channel_layer_name() -> str:
    """ "Redis" or "in-memory": shown on the settings page."""
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return "Redis" if "redis" in backend.lower() else "in-memory"
