"""Domain events delivered apart from the process's own work, in commit order."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest
from django.db import connections

from trading import events


def test_events_queued_together_go_out_once_each() -> None:
    items = [
        (events.opportunities_recorded, {"created": (1, 2), "updated": (), "staled": ()}),
        (events.status_changed, {}),
        (events.trade_changed, {"trade_id": 7}),
        (events.opportunities_recorded, {"created": (3,), "updated": (1,), "staled": (4,)}),
        (events.status_changed, {}),
        (events.trade_changed, {"trade_id": 8}),
        (events.trade_changed, {"trade_id": 7}),
    ]
    assert events.coalesced(items) == [
        (events.opportunities_recorded, {"created": (1, 2, 3), "updated": (1,), "staled": (4,)}),
        (events.status_changed, {}),
        (events.trade_changed, {"trade_id": 7}),
        (events.trade_changed, {"trade_id": 8}),
    ]


def test_a_courier_delivers_on_its_own_thread_and_everything_before_it_closes() -> None:
    seen: list[tuple[str, int, str]] = []
    gate = threading.Event()

    def receiver(sender: object, *, trade_id: int, **kwargs: object) -> None:
        gate.wait(5)  # the first delivery waits: the rest queue up behind it
        seen.append(("trade", trade_id, threading.current_thread().name))

    events.trade_changed.connect(receiver, dispatch_uid="test-courier")
    try:
        courier = events._Courier()
        for trade_id in (1, 2, 3, 2):
            courier.put(events.trade_changed, {"trade_id": trade_id})
        gate.set()
        courier.close(timeout=5)
    finally:
        events.trade_changed.disconnect(dispatch_uid="test-courier")
    # In order, each once per batch, none on the caller's thread.
    # (the second 2 goes out again only when it came in a batch of its own)
    assert [t for _, t, _ in seen][:3] == [1, 2, 3] and len(seen) <= 4
    assert {name for _, _, name in seen} == {"event-courier"}


@pytest.mark.django_db
def test_delivery_stays_at_commit_on_sqlite(monkeypatch) -> None:
    if connections["default"].vendor != "sqlite":
        pytest.skip("the SQLite case")
    assert events.deliver_apart() is False
    assert events._courier is None


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_engine_s_events_leave_from_their_own_thread() -> None:
    if connections["default"].vendor == "sqlite":
        pytest.skip("the PostgreSQL case")
    threads: list[str] = []

    def receiver(sender: object, **kwargs: object) -> None:
        threads.append(threading.current_thread().name)

    events.status_changed.connect(receiver, dispatch_uid="test-apart")
    try:
        assert events.deliver_apart() is True
        events.status_changed_after_commit()
        events.deliver_inline(timeout=5)
        events.status_changed_after_commit()  # back at commit, on this thread
    finally:
        events.status_changed.disconnect(dispatch_uid="test-apart")
        events.deliver_inline()
    assert threads == ["event-courier", threading.current_thread().name]


def test_the_courier_holds_back_while_a_block_is_being_decided() -> None:
    from trading import orm

    delivered = threading.Event()

    def receiver(sender: object, **kwargs: object) -> None:
        delivered.set()

    events.status_changed.connect(receiver, dispatch_uid="test-deciding")
    try:
        with orm.deciding():
            courier = events._Courier()
            courier.put(events.status_changed, {})
            assert not delivered.wait(0.3)  # the decision is not made yet
        assert delivered.wait(5)  # made: the event goes out
        courier.close(timeout=5)
    finally:
        events.status_changed.disconnect(dispatch_uid="test-deciding")


async def test_a_decision_window_closes_with_the_last_of_them_and_holds_for_at_most_the_limit():
    import time

    from trading import orm

    assert orm.wait_for_decision(0)  # none under way
    with orm.deciding():
        with orm.deciding():  # two engines of one process
            assert not orm.wait_for_decision(0)
        assert not orm.wait_for_decision(0)  # the other is still deciding
        began = time.monotonic()
        ran = await orm.after_decision(threading.current_thread)
        assert orm.HOLD_LIMIT <= time.monotonic() - began < orm.HOLD_LIMIT + 1  # the limit
        assert ran.name.startswith("after-decision")  # not the loop's default threads
    assert orm.wait_for_decision(0)
    with pytest.raises(RuntimeError), orm.deciding():
        raise RuntimeError("a failed block closes its window too")
    assert orm.wait_for_decision(0)


async def test_work_behind_a_decision_runs_as_soon_as_it_is_made() -> None:
    import time

    from trading import orm

    with orm.deciding():
        waiting = asyncio.ensure_future(orm.after_decision(time.monotonic))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        decided = time.monotonic()
    ran = await waiting
    assert decided <= ran < decided + 0.5


def test_a_block_arriving_while_a_batch_goes_out_holds_back_the_rest_of_it() -> None:
    from trading import orm

    window = contextlib.ExitStack()
    second = threading.Event()

    def first_receiver(sender: object, **kwargs: object) -> None:
        window.enter_context(orm.deciding())  # a block arrives while the batch goes out

    def second_receiver(sender: object, **kwargs: object) -> None:
        second.set()

    events.status_changed.connect(first_receiver, dispatch_uid="test-mid-batch-1")
    events.system_changed.connect(second_receiver, dispatch_uid="test-mid-batch-2")
    try:
        courier = events._Courier()
        with orm.deciding():  # both queue up as one batch
            courier.put(events.status_changed, {})
            courier.put(events.system_changed, {})
        assert not second.wait(0.3)  # the block being decided goes first
        window.close()
        assert second.wait(5)
        courier.close(timeout=5)
    finally:
        window.close()
        events.status_changed.disconnect(dispatch_uid="test-mid-batch-1")
        events.system_changed.disconnect(dispatch_uid="test-mid-batch-2")
