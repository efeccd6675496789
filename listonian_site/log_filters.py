"""Logging helpers: no secret ever reaches a log line."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable

from listonian_site.env import ConfigurationError, envsecret

_REDACTED = "[redacted]"
# Shorter values (a test key, a typo) would redact ordinary words.
_MIN_SECRET_LENGTH = 16
SECRET_VARIABLES = ("LISTONIAN_PRIVATE_KEY", "DJANGO_SECRET_KEY")


def configured_secrets() -> list[str]:
    """The secrets of this process's environment, each also without its 0x prefix.

    A secret whose ``NAME_FILE`` this process cannot read is skipped: a process
    that may not read the key cannot log it either.
    """
    values: set[str] = set()
    for name in SECRET_VARIABLES:
        try:
            value = envsecret(name)
        except ConfigurationError:
            continue
        if value:
            values.update({value, value.removeprefix("0x").removeprefix("0X")})
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for ``secrets`` (a hex key may be logged in upper case)."""
    ordered = sorted(set(secrets), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE)


class RedactSecretsFilter(logging.Filter):
    """Replace any configured secret in a record's message, args and traceback with a marker.

    The secrets are read once, when logging is configured at start, never per
    record: reading a key file on every line would make every process need it.
    """

    def __init__(self, name: str = "", secrets: Iterable[str] | None = None) -> None:
        super().__init__(name)
        self._pattern = secret_pattern(configured_secrets() if secrets is None else secrets)

    def redact(self, text: str) -> str:
        """``text`` with every configured secret replaced."""
        if self._pattern is None:
            return text
        return self._pattern.sub(_REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it as usual
            return True
        redacted = self.redact(message)
        if redacted != message:
            # The args are merged into the message, so none of them is kept.
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            redacted = self.redact(record.exc_text)
            if redacted != record.exc_text:
                # Formatters print exc_text as is; without exc_info no handler can
                # format the original (unredacted) traceback again.
                record.exc_text = redacted
                record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True
