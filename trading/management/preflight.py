"""Checks a command makes before it writes: a migrated database, a reachable chain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import connection

from trading.chain.client import ChainMismatchError, RpcConfigurationError, RpcUnavailableError
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


def validation_message(exc: ValidationError) -> str:
    """A ValidationError as one line for the terminal."""
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


@contextmanager
def registration_errors() -> Iterator[None]:
    """Turn what registering a network or a DEX can raise into one-line command errors."""
    try:
        yield
    except ValidationError as exc:
        raise CommandError(validation_message(exc)) from None
    except RpcUnavailableError as exc:
        raise CommandError(unreachable_message(exc)) from None
    except (ChainMismatchError, RpcConfigurationError) as exc:
        raise CommandError(" ".join(str(exc).split())) from None
