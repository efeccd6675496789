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

A process on a latency budget (the engine) calls :func:`deliver_apart`: from
then on events are delivered in order by a thread of its own, so building and
publishing the pages' messages never holds up the block that wrote the rows
(on PostgreSQL; SQLite's table locks keep delivery at commit). That thread
waits while a block is being decided (``trading.orm.deciding``).
:func:`deliver_inline` delivers what is queued and goes back to sending at
commit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from typing import Any

from django.db import connections, transaction
from django.dispatch import Signal

from trading import orm

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


class _Courier:
    """One thread that sends queued events in the order they were committed."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Signal, dict[str, Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="event-courier", daemon=True)
        self._thread.start()

    def put(self, signal: Signal, kwargs: dict[str, Any]) -> None:
        self._queue.put((signal, kwargs))

    def _run(self) -> None:
        try:
            stop = False
            while not stop:
                batch = [self._queue.get()]
                # Not while the engine decides a block: the block's queries would
                # wait for this thread's turn after each round trip.
                orm.wait_for_decision()
                while True:  # whatever queued up meanwhile goes out together
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = None in batch
                for signal, kwargs in coalesced([item for item in batch if item is not None]):
                    orm.wait_for_decision()  # and between events: a block may arrive meanwhile
                    try:
                        send(signal, **kwargs)
                    except Exception:  # send_robust logs receivers; this is anything else
                        logger.exception("delivering a domain event failed")
        finally:
            connections.close_all()  # this thread's own database connections

    def close(self, timeout: float) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("domain events still queued after %.0f s: left undelivered", timeout)


def coalesced(
    items: Iterable[tuple[Signal, dict[str, Any]]],
) -> list[tuple[Signal, dict[str, Any]]]:
    """Events queued together, sent once each: recorded rows merged into one event, an
    event repeated with the same arguments sent once (receivers read the rows as they
    are when it is sent, so nothing is lost)."""
    merged: list[tuple[Signal, dict[str, Any]]] = []
    rows: dict[str, tuple[int, ...]] | None = None
    for signal, kwargs in items:
        if signal is opportunities_recorded:
            if rows is None:
                rows = {"created": (), "updated": (), "staled": ()}
                merged.append((signal, rows))
            for name in rows:
                rows[name] += tuple(kwargs.get(name, ()))
        elif not any(s is signal and k == kwargs for s, k in merged):
            merged.append((signal, kwargs))
    return merged


_courier: _Courier | None = None
_courier_lock = threading.Lock()


def deliver_apart() -> bool:
    """From now on, deliver events on a thread of their own (in commit order).

    Only on a database that lets a reader work beside a writer: on SQLite one
    writer locks the tables, so a second thread reading them would make the
    writer fail; events are then still sent at commit. Returns whether they
    are delivered apart.
    """
    global _courier
    if connections["default"].vendor == "sqlite":
        return False
    with _courier_lock:
        if _courier is None:
            _courier = _Courier()
    return True


def deliver_inline(timeout: float = 10.0) -> None:
    """Deliver what is queued (waiting up to ``timeout`` seconds), then send at commit again."""
    global _courier
    with _courier_lock:
        courier, _courier = _courier, None
    if courier is not None:
        courier.close(timeout)


def _deliver(signal: Signal, kwargs: dict[str, Any]) -> None:
    courier = _courier
    if courier is not None:
        courier.put(signal, kwargs)
    else:
        send(signal, **kwargs)


def send_after_commit(signal: Signal, *, using: str | None = None, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (now if there is none)."""
    transaction.on_commit(lambda: _deliver(signal, kwargs), using=using, robust=True)


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
