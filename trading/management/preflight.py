"""Checks a command makes before it writes: a migrated database, a reachable chain."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import connection

from trading.models import Network

OFFLINE_HELP = "Register without checking the RPC endpoints (they are checked on first use)."
OFFLINE_WARNING = "Warning: --offline: the RPC endpoints were not checked against the chain."


def require_migrated() -> None:
    """Stop with one line when the database was never migrated."""
    if Network._meta.db_table not in connection.introspection.table_names():
        raise CommandError("The database has no tables yet: run `manage.py migrate` first.")


def unreachable_message(exc: Exception) -> str:
    """One line for an RPC that cannot be reached."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{text} (nothing was written; use --offline to register without checking)"
