"""New blocks: a ``newHeads`` subscription on a websocket URL, else polling.

The watcher yields the newest block number each time it moves; it never
queues blocks, so a slow consumer simply sees a jump (the engine counts it as
skipped). Errors are logged and retried: the watcher does not end the engine.
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
        self.mode = "subscription" if ws_url else "polling"

    async def blocks(self, stop: asyncio.Event) -> AsyncIterator[int]:
        """Yield each newest block number (strictly increasing) until ``stop`` is set."""
        last = -1
        source = self._subscribe(stop) if self.ws_url else self._poll(stop)
        async for number in source:
            if number > last:
                last = number
                yield number

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def _poll(self, stop: asyncio.Event) -> AsyncIterator[int]:
        while not stop.is_set():
            try:
                yield await self.client.block_number()
            except Exception as exc:  # keep watching: the chain client reports the failure
                self.errors += 1
                logger.warning("cannot read the block number: %s", exc)
                await self._wait(stop, min(5.0, self.poll_interval * 4))
                continue
            await self._wait(stop, self.poll_interval)

    async def _subscribe(self, stop: asyncio.Event) -> AsyncIterator[int]:
        import websockets

        assert self.ws_url is not None
        while not stop.is_set():
            try:
                async with websockets.connect(self.ws_url, open_timeout=10) as socket:
                    await socket.send(
                        json.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": 1,
                                "method": "eth_subscribe",
                                "params": ["newHeads"],
                            }
                        )
                    )
                    answer = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
                    if "error" in answer:
                        raise ConnectionError(f"eth_subscribe refused: {answer['error']}")
                    # The head we may have missed while (re)connecting.
                    yield await self.client.block_number()
                    while not stop.is_set():
                        try:
                            message = await asyncio.wait_for(socket.recv(), timeout=1.0)
                        except TimeoutError:
                            continue
                        head = json.loads(message).get("params", {}).get("result", {})
                        if "number" in head:
                            yield int(head["number"], 16)
            except Exception as exc:
                self.errors += 1
                logger.warning("block subscription lost (%s); reconnecting", exc)
                await self._wait(stop, 1.0)
