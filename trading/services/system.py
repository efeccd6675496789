"""The bot's own figures: each process stores its vitals; falling-behind alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from trading import events
from trading.models import AlertEvent, BotConfig, ProcessVitals

# A process that has not written for this long is gone (its row is removed).
FORGET_AFTER = dt.timedelta(days=1)


def process_vitals_save(
    *, role: str, instance: str, figures: Mapping[str, Any], announce: bool = True
) -> None:
    """Store this process's figures (latest wins) and tell dashboards."""
    now = timezone.now()
    ProcessVitals.objects.update_or_create(
        role=role, instance=instance, defaults={"figures": dict(figures), "updated_at": now}
    )
    ProcessVitals.objects.filter(updated_at__lt=now - FORGET_AFTER).delete()
    if announce:
        events.system_changed_after_commit()


def behind_thresholds() -> tuple[int | None, int | None, int]:
    """The operator's falling-behind thresholds: head lag, skipped blocks, blocks in a row."""
    config = BotConfig.load()
    return config.alert_head_lag_blocks, config.alert_skipped_blocks, config.alert_after_blocks


def falling_behind_alert(
    *, behind: bool, block_number: int, head_lag: int, skipped: int, reasons: list[str], blocks: int
) -> None:
    """One alert when the engine starts falling behind the chain, one when it caught up."""
    from trading.services.alerts import alert_raise

    payload: dict[str, Any] = {"block": block_number, "head_lag": head_lag, "blocks": blocks}
    if behind:
        payload.update(skipped=skipped, reasons=reasons)
    event = AlertEvent.FALLING_BEHIND if behind else AlertEvent.CAUGHT_UP
    alert_raise(event=event.value, payload=payload)
