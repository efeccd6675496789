"""The record of every change to the bot's controls: the kill switch (who, when, why)
and the settings (who, when, old and new value)."""

from __future__ import annotations

from typing import Any

from trading.models import BOT_CONFIG_AMOUNTS, BOT_CONFIG_SETTINGS, BotConfig, ControlChange
from trading.units import amount_to_units

# ControlChange.reason, old_value and new_value are CharFields of this length.
_TEXT_MAX = 255


def _actor(user: Any, source: str) -> dict[str, Any]:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return {
        "user": user if authenticated else None,
        "actor": user.get_username() if authenticated else "the engine",
        "source": source if authenticated else "engine",
    }


def control_change_record(
    *, paused: bool, reason: str = "", user: Any = None, source: str = "dashboard"
) -> ControlChange:
    """Record that trading was paused (``paused=True``) or resumed, by ``user`` or the engine."""
    return ControlChange.objects.create(
        action=ControlChange.Action.PAUSE if paused else ControlChange.Action.RESUME,
        reason=(reason or "").strip()[:_TEXT_MAX],
        **_actor(user, source),
    )


def setting_value_text(config: BotConfig, name: str) -> str:
    """A setting's value as people read it, exactly: "0.05 ETH", "100 gwei", "Live"."""
    value = getattr(config, name)
    if name in BOT_CONFIG_AMOUNTS and value is not None:
        _, decimals, unit = BOT_CONFIG_AMOUNTS[name]
        return f"{amount_to_units(int(value), decimals)} {unit}"
    display = getattr(config, f"get_{name}_display", None)
    return str(display() if display else value)


def control_change_record_settings(
    *, before: BotConfig, after: BotConfig, user: Any = None, source: str = "dashboard"
) -> list[ControlChange]:
    """Record one entry for every recorded setting that differs between two states of the row."""
    changes = [
        ControlChange(
            action=ControlChange.Action.SETTING,
            setting=name,
            old_value=setting_value_text(before, name)[:_TEXT_MAX],
            new_value=setting_value_text(after, name)[:_TEXT_MAX],
            **_actor(user, source),
        )
        for name in BOT_CONFIG_SETTINGS
        if getattr(before, name) != getattr(after, name)
    ]
    return ControlChange.objects.bulk_create(changes)
