"""Login lockout: per (username, address) as django-axes does, plus per address.

Axes counts one limit over its lockout parameters, so a rule per address alone
would lock a shared office out after a few typos. This handler adds a separate,
higher limit on the failures from one address across every username, which
stops spraying many usernames from one place.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def address_failures(request: HttpRequest) -> int:
    """Failed logins from the request's address within the cool-off time, any username."""
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)  # type: ignore[attr-defined]
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a per-address limit on top."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if address_failures(request) >= settings.LISTONIAN_LOGIN_IP_FAILURE_LIMIT:
            # Axes compares this count with its own limit: report the address as
            # past it so the lockout (and its page) works the same way.
            return max(failures, get_failure_limit(request, credentials))
        return failures
