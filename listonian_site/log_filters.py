"""Logging helpers: no secret ever reaches a log line."""

from __future__ import annotations

import logging

from listonian_site.env import ConfigurationError, envsecret

_REDACTED = "[redacted]"


def _secrets() -> list[str]:
    values = []
    for name in ("LISTONIAN_PRIVATE_KEY", "DJANGO_SECRET_KEY"):
        try:
            value = envsecret(name)
        except ConfigurationError:
            continue
        if value:
            values.append(value)
            # A key may be logged with or without its 0x prefix.
            values.append(value.removeprefix("0x"))
    return [v for v in values if len(v) >= 16]


class RedactSecretsFilter(logging.Filter):
    """Replace any configured secret found in a record's message with a marker."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _secrets()
        if not secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in secrets:
            redacted = redacted.replace(secret, _REDACTED)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
