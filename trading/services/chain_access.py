"""Run the async chain client from synchronous services and commands.

Services are synchronous (they write through the ORM); the chain client is
async. :class:`ChainSession` keeps one private event loop for the duration of
a service call, so ORM work happens between ``run()`` calls, never inside the
loop. Async callers (the engine) wrap the service in ``sync_to_async``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from trading.chain.client import ChainClient, resolve_rpc_urls

T = TypeVar("T")


class ChainSession:
    """A :class:`ChainClient` plus the event loop it runs on, as a context manager."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self._runner: asyncio.Runner | None = None

    @classmethod
    def for_network(
        cls, network: Any, *, urls: Sequence[str] | None = None, **options: Any
    ) -> Self:
        """A session on ``network`` (its RPC URLs, or ``LISTONIAN_RPC_URL``; or ``urls``)."""
        endpoints = list(urls) if urls is not None else resolve_rpc_urls(network.rpc_urls)
        return cls(ChainClient(endpoints, chain_id=network.chain_id, **options))

    def __enter__(self) -> Self:
        self._runner = asyncio.Runner()
        try:
            self._runner.run(self.client.initialize())
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine to completion on the session's loop."""
        if self._runner is None:
            coroutine.close()
            raise RuntimeError("ChainSession is not open: use it as a context manager")
        return self._runner.run(coroutine)

    def _close(self) -> None:
        if self._runner is None:
            return
        try:
            self._runner.run(self.client.cleanup())
        finally:
            self._runner.close()
            self._runner = None
