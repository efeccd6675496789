"""Typed helpers that read settings from the environment.

Every setting of Listonian comes from the environment; these helpers keep the
parsing in one place and fail with a message that names the variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigurationError(Exception):
    """An environment variable holds a value that cannot be used."""


def envstr(name: str, default: str = "") -> str:
    """Return the variable as a string (stripped), or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def envbool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean: 1/true/yes/on or 0/false/no/off."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def envint(name: str, default: int) -> int:
    """Return the variable as an integer."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None


def envlist(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    raw = os.environ.get(name, "")
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return items or list(default or [])


def envsecret(name: str) -> str:
    """Return a secret from ``NAME`` or from the file named by ``NAME_FILE``.

    The value is never logged. An unreadable ``NAME_FILE`` is an error rather
    than a silent fallback, because an operator who set it expects it to work.
    """
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = os.environ.get(f"{name}_FILE", "").strip()
    if not path:
        return ""
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigurationError(
            f"{name}_FILE points to an unreadable file: {exc.strerror}"
        ) from None


def persistent_secret(path: Path) -> str:
    """Return the secret kept in ``path``, creating it (mode 0600) on first use.

    Used for the development secret key so that sessions survive restarts
    without anyone committing a key.
    """
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    value = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
