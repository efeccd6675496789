"""Continuous reconciliation: the engine keeps Trade rows matching the chain.

Every few seconds, while the engine runs: a nonce gap (the local counter
ahead of the node) is filled before the next send has to wait behind it;
pending live trades (not in the
middle of their send) are settled from their receipts or marked dropped;
trades not yet final (fewer than ``BotConfig.confirmations`` blocks on top)
have their receipts read again, so a reorg the head history did not see (a
block the engine never looked at) is still corrected; recent settled trades
whose opportunity says otherwise, or that were dropped but mined after all,
are corrected. Runs beside the block pipeline, never on
it; a failing round is logged and retried on the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from trading.services.execution import confirmations_required

logger = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        execution: Callable[[], Any],
        head: Callable[[], int],
        *,
        interval: float = 2.0,
        window: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        # A getter: the engine may replace its execution manager.
        self._execution = execution
        self._head = head
        self.interval = interval
        self.window = window
        self.rounds = 0
        self._checked_head = -1
        self.corrected: list[tuple[int, str]] = []
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Run a round now (after a reorg, a lost send answer)."""
        self._wake.set()

    async def once(self) -> list[tuple[int, str]]:
        """One round; returns ``(trade id, status)`` for every row it changed."""
        execution = self._execution()
        if execution is None or not execution.initialized:
            return []
        await execution.check_nonces()
        await execution.release_claims()
        changed = list(await execution.reconcile_pending())
        head = self._head()
        if head >= 0:
            confirmations = await sync_to_async(confirmations_required)()
            # Counted from the previous round's head: a trade leaves the check
            # only after a round that ran with it buried under enough blocks,
            # however many blocks pass between two rounds.
            checked = min(head, self._checked_head) if self._checked_head >= 0 else head
            changed += await execution.reconcile_unconfirmed(
                head=checked, confirmations=confirmations
            )
            self._checked_head = head
        changed += await execution.reconcile_disagreeing(since=timezone.now() - self.window)
        self.rounds += 1
        if changed:
            logger.info("reconciled trade rows with the chain: %s", changed)
            self.corrected.extend(changed)
            del self.corrected[:-1000]
        return changed

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.once()
            except Exception as exc:  # the chain or the database is away: next tick
                logger.warning("trade reconciliation failed (retrying): %s", exc)
                with contextlib.suppress(Exception):
                    await sync_to_async(close_old_connections)()
            self._wake.clear()
            waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED), self.interval
                )
            for waiter in waits:
                waiter.cancel()
