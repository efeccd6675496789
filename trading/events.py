"""Domain events: what happened in the bot, announced once it is committed.

Services send these; whoever cares subscribes (the dashboard connects its
receivers in ``DashboardConfig.ready()``). The domain never knows who listens,
so nothing under ``trading/`` imports the UI.

Each event is a Django signal; the ``*_after_commit`` helpers send it once the
current transaction commits (at once when there is none) and never if it rolls
back, so a receiver only ever sees committed rows. Events carry ids, not rows:
a receiver reads what it needs. Receivers run robustly: one that raises is
logged and never breaks the service that sent the event.

- ``opportunities_recorded``: ``created``, ``updated``, ``staled`` (tuples of
  opportunity ids), one event per recording call (the engine records once per
  block), so a busy block is one event, not one per row;
- ``opportunity_changed``: ``opportunity_id`` (claimed, executed, failed …);
- ``trade_changed``: ``trade_id``;
- ``status_changed``: no arguments (bot config, kill switch, engine state,
  component health);
- ``gas_recorded``: ``snapshot_id``;
- ``balances_changed``: ``distribution_id`` (or ``None``) after profit moved;
- ``system_changed``: no arguments (a process stored its own figures: stage
  timings, RPC, memory, CPU …).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

opportunities_recorded = Signal()
opportunity_changed = Signal()
trade_changed = Signal()
status_changed = Signal()
gas_recorded = Signal()
balances_changed = Signal()
system_changed = Signal()


def send(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` now to every receiver; a receiver that raises is logged."""
    for receiver, result in signal.send_robust(sender=__name__, **kwargs):
        if isinstance(result, Exception):
            logger.warning(
                "Receiver %s of a domain event failed: %s",
                getattr(receiver, "__qualname__", receiver),
                result,
                exc_info=result,
            )


def send_after_commit(signal: Signal, *, using: str | None = None, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (now if there is none)."""
    transaction.on_commit(lambda: send(signal, **kwargs), using=using, robust=True)


def opportunities_recorded_after_commit(
    *, created: Iterable[int] = (), updated: Iterable[int] = (), staled: Iterable[int] = ()
) -> None:
    """Announce one recording call's rows; nothing is sent when no row changed."""
    ids: dict[str, Any] = {
        "created": tuple(created),
        "updated": tuple(updated),
        "staled": tuple(staled),
    }
    if any(ids.values()):
        send_after_commit(opportunities_recorded, **ids)


def opportunity_changed_after_commit(opportunity_id: int) -> None:
    send_after_commit(opportunity_changed, opportunity_id=opportunity_id)


def trade_changed_after_commit(trade_id: int) -> None:
    send_after_commit(trade_changed, trade_id=trade_id)


def status_changed_after_commit() -> None:
    send_after_commit(status_changed)


def gas_recorded_after_commit(snapshot_id: int) -> None:
    send_after_commit(gas_recorded, snapshot_id=snapshot_id)


def balances_changed_after_commit(distribution_id: int | None = None) -> None:
    send_after_commit(balances_changed, distribution_id=distribution_id)


def system_changed_after_commit() -> None:
    send_after_commit(system_changed)
