"""One subscription to the dashboard group per process, fanned out to its sockets.

With each socket in the channel-layer group, every event becomes one layer
message per socket: 100 dashboards at 50 events a second are 5,000 messages a
second through Redis (or through the in-memory layer, whose receive scans every
channel, which makes it quadratic). Instead, each event loop that serves
dashboards keeps one channel in the constant group and hands each message to
its local consumers, which render it (once per process, see
:mod:`dashboard.frames`) and send it. Layer traffic is one message per event
per web process, whatever the number of open pages.

The subscription survives layer errors (it re-subscribes after a pause) and
refreshes its group membership, which layers expire after a day.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# Layers forget group members after group_expiry (a day by default): re-join
# well before that, even when no event arrives.
REJOIN_SECONDS = 600.0
RETRY_SECONDS = 1.0
SUBSCRIBE_TIMEOUT = 5.0
RECEIVE_RETRIES = 5


class Subscriber(Protocol):
    async def dispatch(self, message: dict[str, Any]) -> None: ...


class Hub:
    """The subscription of one event loop, and the local consumers it serves."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def subscribed(self) -> bool:
        return self._ready.is_set() and self._task is not None and not self._task.done()

    async def add(self, subscriber: Subscriber) -> None:
        """Serve ``subscriber``; returns once this process receives the group's events."""
        self.subscribers.add(subscriber)
        task = self._task
        if task is None or task.done() or task.cancelling():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._run(self._ready), name="dashboard-hub")
        try:
            await asyncio.wait_for(self._ready.wait(), SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            # The layer is unreachable: the socket opens anyway and starts
            # receiving as soon as the subscription succeeds.
            logger.warning("Dashboard events not subscribed yet; retrying in the background")

    async def remove(self, subscriber: Subscriber) -> None:
        """Stop serving ``subscriber``; the last one out ends the subscription."""
        self.subscribers.discard(subscriber)
        task = self._task
        if not self.subscribers and task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, ready: asyncio.Event) -> None:
        layer = get_channel_layer()
        while True:
            channel = ""
            try:
                channel = await layer.new_channel(prefix="dashboard.")
                await layer.group_add(self.group, channel)
                ready.set()
                await self._receive_forever(layer, channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Dashboard event subscription failed (%s); re-subscribing", exc)
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                if channel:
                    try:
                        await layer.group_discard(self.group, channel)
                    except Exception:  # the layer may be what failed
                        logger.debug("Could not leave the dashboard group", exc_info=True)

    async def _receive_forever(self, layer: Any, channel: str) -> None:
        failures = 0
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), REJOIN_SECONDS)
            except TimeoutError:
                await layer.group_add(self.group, channel)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A read that timed out or a dropped connection: messages wait
                # in the layer for this channel, so receive again before
                # giving up the subscription.
                failures += 1
                if failures > RECEIVE_RETRIES:
                    raise
                logger.debug("Dashboard receive failed (%s); retrying", exc)
                await asyncio.sleep(0.05 * failures)
                continue
            failures = 0
            await self._fan_out(message)

    async def _fan_out(self, message: dict[str, Any]) -> None:
        for subscriber in list(self.subscribers):
            try:
                await subscriber.dispatch(message)
            except Exception:
                # One broken socket must not cost the others their update.
                logger.exception("Dashboard event not delivered to one socket")


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub_for(group: str) -> Hub:
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    for old in [other for other in _hubs if other.is_closed()]:
        del _hubs[old]
    hub = _hubs.get(loop)
    if hub is None or hub.group != group:
        hub = _hubs[loop] = Hub(group)
    return hub
