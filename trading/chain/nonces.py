"""One nonce manager per signing account.

Nonces are handed out locally (so several transactions can be prepared without
a round trip each) and resynchronised from the node's pending count after any
error, because after a failed send nobody knows which nonces the node saw.

The counter can still run ahead of the chain without any error: a reorg takes
back mined nonces, a node forgets a transaction. Every later transaction then
waits in the node's queue behind a nonce that never comes. ``gap`` detects it
(the local counter above the node's pending count) so the sender can fill it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class _Requester(Protocol):
    async def request(self, method: str, params: list[Any] | None = None) -> Any: ...


class NonceManager:
    def __init__(self, client: _Requester, address: str) -> None:
        self.client = client
        self.address = address
        self._lock = asyncio.Lock()
        self._next: int | None = None
        self.resyncs = 0

    async def _pending_count(self) -> int:
        return int(
            await self.client.request("eth_getTransactionCount", [self.address, "pending"]), 16
        )

    async def next_nonce(self) -> int:
        """The next nonce to use (fetched from the node the first time)."""
        async with self._lock:
            if self._next is None:
                self._next = await self._pending_count()
            nonce = self._next
            self._next += 1
            return nonce

    async def resync(self) -> int:
        """Forget local state and read the pending count again; returns it."""
        async with self._lock:
            self._next = await self._pending_count()
            self.resyncs += 1
            return self._next

    def forget(self) -> None:
        """Drop the local counter; the next nonce is read from the node again.

        For a send whose answer was lost: nobody knows whether the node saw it,
        and a counter left ahead of the chain would queue every later transaction
        behind a nonce that never arrives.
        """
        self._next = None

    def give_back(self, nonce: int) -> None:
        """``nonce`` was taken but never sent: the next transaction uses it.

        Only the newest nonce can be given back; for any other the counter is
        dropped (``forget``) rather than left ahead of what the node will see.
        """
        if self._next == nonce + 1:
            self._next = nonce
        else:
            self._next = None

    async def gap(self) -> tuple[int, int] | None:
        """``(first missing, local next)`` when the counter is ahead of the node, else None."""
        async with self._lock:
            if self._next is None:
                return None
            pending = await self._pending_count()
            if self._next <= pending:
                return None
            return pending, self._next

    async def mined_count(self) -> int:
        """Transactions of this account included in the latest block."""
        return int(
            await self.client.request("eth_getTransactionCount", [self.address, "latest"]), 16
        )
