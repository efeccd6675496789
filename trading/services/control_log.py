"""The record of every kill-switch change: who, when, why."""

from __future__ import annotations

from typing import Any

from trading.models import ControlChange

# ControlChange.reason is a CharField of this length.
_REASON_MAX = 255


def control_change_record(
    *, paused: bool, reason: str = "", user: Any = None, source: str = "dashboard"
) -> ControlChange:
    """Record that trading was paused (``paused=True``) or resumed, by ``user`` or the engine."""
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    actor = user.get_username() if authenticated else "the engine"
    return ControlChange.objects.create(
        action=ControlChange.Action.PAUSE if paused else ControlChange.Action.RESUME,
        user=user if authenticated else None,
        actor=actor,
        source=source if authenticated else "engine",
        reason=(reason or "").strip()[:_REASON_MAX],
    )
