"""The web process's own figures for the System page, written while that page is open.

Each event loop that serves dashboard sockets runs one reporter while at
least one System page is connected: every few seconds it stores this
process's memory, CPU, event-loop lag and socket count (the engine and the
worker write their own), which also sends the open pages their update. With
no System page open nobody is looking, and nothing is written.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async

from trading import metrics, vitals
from trading.services.system import process_vitals_save

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0


def websocket_clients() -> int:
    """Dashboard sockets open in this process (the Prometheus gauge's own value)."""
    for metric in metrics.WEBSOCKET_CLIENTS.collect():
        for sample in metric.samples:
            return int(sample.value)
    return 0


class Reporter:
    """Samples and stores this process's figures on a timer, while System pages are open."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.sockets = 0
        self.meter = vitals.ProcessMeter()
        self._task: asyncio.Task[None] | None = None

    def add(self) -> None:
        self.sockets += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="web-vitals")

    def remove(self) -> None:
        self.sockets = max(0, self.sockets - 1)
        if not self.sockets and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        lag = 0.0
        while True:
            await self.report(lag)
            started = loop.time()
            await asyncio.sleep(self.interval)
            # How late the loop woke this timer: the web side's event-loop lag.
            lag = max(0.0, loop.time() - started - self.interval)

    async def report(self, loop_lag: float = 0.0) -> None:
        figures = self.meter.sample()
        figures.update(
            event_loop_lag_ms=round(loop_lag * 1000, 2), websocket_clients=websocket_clients()
        )
        try:
            await database_sync_to_async(process_vitals_save)(
                role="web", instance=vitals.instance(), figures=figures
            )
        except Exception as exc:  # the page's figures must never break the socket
            logger.warning("web process figures not stored: %s", exc)


_reporters: dict[asyncio.AbstractEventLoop, Reporter] = {}


def reporter() -> Reporter:
    """The reporter of the running event loop."""
    loop = asyncio.get_running_loop()
    for old in [other for other in _reporters if other.is_closed()]:
        del _reporters[old]
    return _reporters.setdefault(loop, Reporter())
