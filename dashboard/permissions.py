"""Who may do what on the dashboard beyond reading it."""

from __future__ import annotations

from typing import Any

# The kill switch is part of the bot configuration: the same right changes both.
CONTROL_PERMISSION = "trading.change_botconfig"


def can_control_bot(user: Any) -> bool:
    """Whether ``user`` may pause and resume trading (staff, or the bot config change right)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_staff or user.has_perm(CONTROL_PERMISSION))
