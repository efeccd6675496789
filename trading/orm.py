"""Where the engine's database calls run.

``sync_to_async`` runs every ORM call of the process on one thread, so a write
that is not on the block path (the engine's state for the pages, a receipt's
settlement) makes the block's own queries wait behind it. :func:`apart` runs
such a write on a worker thread with its own connection instead, closed when
the call ends, on a database that lets writers work side by side
(PostgreSQL). On SQLite one writer locks the tables, so it stays on the ORM
thread there.

Threads of one process share one interpreter lock: a thread building the
pages' messages or the engine's state takes it from the block's own queries,
which then wait for it after every round trip. While the engine decides a
block (:func:`deciding`), work that can wait (:func:`behind`,
:func:`after_decision`, the domain events' courier) waits until the decision
is made, at most ``HOLD_LIMIT`` seconds, so a block decided late never
starves the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections


def side_by_side() -> bool:
    """True when the database lets a second thread write beside the ORM thread."""
    return connections["default"].vendor != "sqlite"


def _closing[T](function: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()  # this worker thread's own connection


async def apart[T](function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` off the ORM thread where the database allows it."""
    if not side_by_side():
        return await sync_to_async(function)(*args, **kwargs)
    return await asyncio.to_thread(_closing, function, args, kwargs)


# Longest a piece of background work waits for a decision (seconds).
HOLD_LIMIT = 1.0

_windows = 0  # decisions under way in this process
_windows_lock = threading.Lock()
_decided = threading.Event()
_decided.set()


@contextlib.contextmanager
def deciding() -> Iterator[None]:
    """A block is being decided: work that can wait holds back until the block exits."""
    global _windows
    with _windows_lock:
        _windows += 1
        _decided.clear()
    try:
        yield
    finally:
        with _windows_lock:
            _windows -= 1
            if _windows == 0:
                _decided.set()


def wait_for_decision(limit: float = HOLD_LIMIT) -> bool:
    """Block this thread until no decision is under way (at most ``limit`` seconds).

    True when none is; never call it on the thread the decision itself uses.
    """
    return _decided.wait(limit)


def _once_decided[T](call: Callable[[], T]) -> T:
    wait_for_decision()
    return call()


# Threads of their own for work that waits for a decision: the loop's default
# executor (DNS lookups of new RPC connections among others) never waits behind it.
WAITING_THREADS = 4
_waiting_pool: ThreadPoolExecutor | None = None


def _waiting_threads() -> ThreadPoolExecutor:
    global _waiting_pool
    if _waiting_pool is None:
        _waiting_pool = ThreadPoolExecutor(WAITING_THREADS, thread_name_prefix="after-decision")
    return _waiting_pool


async def after_decision[T](function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` in a worker thread once no decision is under way
    (at most ``HOLD_LIMIT`` seconds later)."""
    call = functools.partial(function, *args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_waiting_threads(), _once_decided, call)


async def behind[T](function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """:func:`apart`, once the block being decided is decided (work that can wait).

    On SQLite it runs on the ORM thread at once, as :func:`apart` does: that
    thread is the decision's own.
    """
    if not side_by_side():
        return await sync_to_async(function)(*args, **kwargs)
    return await after_decision(_closing, function, args, kwargs)
