"""Where the engine's database calls run.

``sync_to_async`` runs every ORM call of the process on one thread, so a write
that is not on the block path (the engine's state for the pages, a receipt's
settlement) makes the block's own queries wait behind it. :func:`apart` runs
such a write on a worker thread with its own connection instead, closed when
the call ends, on a database that lets writers work side by side
(PostgreSQL). On SQLite one writer locks the tables, so it stays on the ORM
thread there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
