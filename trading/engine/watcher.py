"""New blocks: a ``newHeads`` subscription on a websocket URL, else polling.

A reader task keeps only the newest head it has seen; the consumer always gets
the newest one when it asks. Heads that arrive while the engine is busy are
therefore never queued: the next block it sees is the newest (the engine
counts the ones in between as skipped). Errors are logged and retried: the
watcher does not end the engine.

The engine gives the watcher a chain client of its own, so tearing down the
engine's client after an RPC failure never leaves the watcher without one (heads
keep coming, and they drive nothing but the pipeline: restarts run on a timer).
The watcher (re)initializes that client itself whenever it is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger(__name__)


class BlockWatcher:
    def __init__(self, client: Any, *, ws_url: str | None = None, poll_interval: float = 1.0):
        self.client = client
        self.ws_url = ws_url
        self.poll_interval = poll_interval
        self.errors = 0
        self.heads_seen = 0
        self.mode = "subscription" if ws_url else "polling"
        self._latest = -1
        self._moved = asyncio.Event()
        # Loop time of the first failure since the last good read (None while fine).
        self._failing_since: float | None = None
        self.last_error = ""

    @property
    def latest(self) -> int:
        """The newest head seen (-1 before the first)."""
        return self._latest

    def failing_for(self, now: float) -> float:
        """Seconds the watcher has failed to read a head (0 while it reads them)."""
        return 0.0 if self._failing_since is None else now - self._failing_since

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if self._failing_since is None:
            self._failing_since = asyncio.get_running_loop().time()

    def _saw(self, number: int) -> None:
        self._failing_since = None
        self.heads_seen += 1
        if number > self._latest:
            self._latest = number
            self._moved.set()

    async def blocks(self, stop: asyncio.Event) -> AsyncIterator[int]:
        """Yield the newest block number each time it moves, until ``stop`` is set."""
        reader = asyncio.create_task(
            self._subscribe(stop) if self.ws_url else self._poll(stop), name="block-watcher"
        )
        stopping = asyncio.create_task(stop.wait())
        last = -1
        try:
            while not stop.is_set():
                moved = asyncio.create_task(self._moved.wait())
                await asyncio.wait({moved, stopping}, return_when=asyncio.FIRST_COMPLETED)
                moved.cancel()
                if stop.is_set():
                    break
                self._moved.clear()
                if self._latest > last:
                    last = self._latest
                    yield last
        finally:
            for task in (reader, stopping):
                task.cancel()
            await asyncio.gather(reader, stopping, return_exceptions=True)

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def _poll(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.client.initialize()  # no-op while it is up
                self._saw(await self.client.block_number())
            except Exception as exc:  # keep watching: the chain client reports the failure
                self._failed(exc)
                logger.warning("cannot read the block number: %s", exc)
                await self._wait(stop, min(5.0, self.poll_interval * 4))
                continue
            await self._wait(stop, self.poll_interval)

    async def _subscribe(self, stop: asyncio.Event) -> None:
        import websockets

        assert self.ws_url is not None
        request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
        while not stop.is_set():
            try:
                async with websockets.connect(self.ws_url, open_timeout=10) as socket:
                    await socket.send(json.dumps(request))
                    answer = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
                    if "error" in answer:
                        raise ConnectionError(f"eth_subscribe refused: {answer['error']}")
                    # The head we may have missed while (re)connecting.
                    await self.client.initialize()
                    self._saw(await self.client.block_number())
                    # Read every message as it comes (this also keeps the
                    # connection's keepalive answered while the engine works).
                    async for message in socket:
                        head = json.loads(message).get("params", {}).get("result", {})
                        if "number" in head:
                            self._saw(int(head["number"], 16))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                logger.warning("block subscription lost (%s); reconnecting", exc)
                await self._wait(stop, 1.0)
