"""The engine's side of the lease: take it before trading, renew it, stand by without it.

An engine that does not hold the lease processes no block and sends nothing:
it follows heads and retries the lease every few seconds (a hot standby). The
holder renews it at a third of its lifetime; if renewing fails (the database
is away, or another engine took over after the lease expired) it stops
trading at once: nothing is sent on a lease it cannot prove.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

from asgiref.sync import sync_to_async

from trading.services import leases as services

logger = logging.getLogger(__name__)


class EngineLease:
    def __init__(self, *, network_id: int, signer: str | None, ttl: float = 10.0) -> None:
        self.key = services.lease_key(network_id=network_id, signer=signer)
        self.holder = f"{socket.gethostname()} pid {os.getpid()} run {uuid.uuid4().hex[:8]}"
        self.ttl = ttl
        self.held = False
        self.other = ""  # who holds it when we do not
        self._valid_until = 0.0
        self._last_try = -1e9

    @property
    def valid(self) -> bool:
        """Held, and renewed recently enough that nobody else can have taken it."""
        return self.held and asyncio.get_running_loop().time() < self._valid_until

    async def refresh(self, *, force: bool = False) -> bool:
        """Take or renew the lease when due (a third of its lifetime); True while held."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not force and now - self._last_try < self.ttl / 3:
            return self.valid
        self._last_try = now
        try:
            held, row = await sync_to_async(services.lease_acquire)(
                key=self.key, holder=self.holder, ttl_seconds=self.ttl
            )
        except Exception as exc:  # the database is away: the lease runs out by itself
            logger.warning("cannot renew the engine lease: %s", exc)
            return self.valid
        if held:
            if not self.held:
                logger.info("engine lease taken (%s): trading", self.key)
            # Measured from before the write: never trust the lease past its expiry.
            self._valid_until = now + self.ttl
            self.other = ""
        elif self.held or self.other != row.holder:
            logger.warning(
                "the engine for %s is running elsewhere (%s, until %s): standing by",
                self.key,
                row.holder,
                row.expires_at.isoformat(timespec="seconds"),
            )
            self.other = row.holder
        self.held = held
        return self.valid

    async def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            await sync_to_async(services.lease_release)(key=self.key, holder=self.holder)
        except Exception as exc:  # it expires by itself
            logger.warning("cannot release the engine lease: %s", exc)
