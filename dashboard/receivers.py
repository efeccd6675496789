"""Domain events in, dashboard events out.

The domain (:mod:`trading.events`) announces what happened after each commit;
the receivers here build the view models (:mod:`dashboard.presenters`) and
publish them to every open page (:mod:`dashboard.broadcast`). They run in the
process that sent the event (the engine, a worker, the web process), so with
``REDIS_URL`` set a scan in the engine process reaches the pages of every web
process. They are connected once, in ``DashboardConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dashboard import broadcast, presenters
from trading import events
from trading.models import GasSnapshot, Opportunity, Trade

# The live feed shows this many opportunities: more rows from one block would
# only push each other out of it, so a busy block costs at most this many messages.
LIVE_OPPORTUNITIES = 20


def _follow_with_stats(*, flush: bool = False) -> None:
    # Counts follow row events, throttled (see broadcast.stats_due).
    if broadcast.stats_due(flush=flush):
        broadcast.publish(presenters.stats_event())


def publish_opportunities(ids: Iterable[int]) -> int:
    """Publish the opportunities ``ids`` (first ones first kept), then the counts.

    They go out oldest first by the time they were last seen or changed, so the
    live feed, which puts each arriving row on top, ends newest first.

    Payloads are built in a constant number of queries; returns how many went out.
    """
    chosen = list(dict.fromkeys(ids))[:LIVE_OPPORTUNITIES]
    if not chosen:
        return 0
    # The feed is ordered by the time each row was last seen or changed, and
    # prepends what it receives: the newest goes out last so it ends on top.
    rows = Opportunity.objects.filter(pk__in=chosen).order_by("updated_at", "id")
    sent = 0
    for event in presenters.opportunity_events(rows):
        if broadcast.publish(event):
            sent += 1
    _follow_with_stats()
    return sent


def on_opportunities_recorded(
    sender: Any,
    *,
    created: Iterable[int] = (),
    updated: Iterable[int] = (),
    staled: Iterable[int] = (),
    **kwargs: Any,
) -> None:
    publish_opportunities([*created, *updated, *staled])


def on_opportunity_changed(sender: Any, *, opportunity_id: int, **kwargs: Any) -> None:
    publish_opportunities([opportunity_id])


def on_trade_changed(sender: Any, *, trade_id: int, **kwargs: Any) -> None:
    for event in presenters.trade_events(Trade.objects.filter(pk=trade_id)):
        broadcast.publish(event)
    _follow_with_stats()


def on_status_changed(sender: Any, **kwargs: Any) -> None:
    broadcast.publish(presenters.status_event())
    # The engine announces its status every block: stats held back go out with it.
    _follow_with_stats(flush=True)


def on_gas_recorded(sender: Any, *, snapshot_id: int, **kwargs: Any) -> None:
    snapshot = GasSnapshot.objects.select_related("network").filter(pk=snapshot_id).first()
    if snapshot is not None:
        broadcast.publish(presenters.gas_event(snapshot))


def on_balances_changed(sender: Any, **kwargs: Any) -> None:
    # Balances are part of the status panel.
    on_status_changed(sender)


def on_system_changed(sender: Any, **kwargs: Any) -> None:
    broadcast.publish(presenters.system_event())


RECEIVERS = (
    (events.opportunities_recorded, on_opportunities_recorded),
    (events.opportunity_changed, on_opportunity_changed),
    (events.trade_changed, on_trade_changed),
    (events.status_changed, on_status_changed),
    (events.gas_recorded, on_gas_recorded),
    (events.balances_changed, on_balances_changed),
    (events.system_changed, on_system_changed),
)


def connect() -> None:
    """Subscribe the dashboard to the domain events (idempotent)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, dispatch_uid=f"dashboard.{receiver.__name__}")
