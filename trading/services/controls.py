"""The bot's controls that operators (and the bot's own limits) work: the kill switch
and the main limits."""

from __future__ import annotations

import copy
import logging
from typing import Any

from django.db import transaction

from trading import events
from trading.models import BOT_CONFIG_SETTINGS, BotConfig, ControlChange
from trading.services.control_log import (
    control_change_record,
    control_change_record_settings,
)

logger = logging.getLogger(__name__)

# BotConfig.paused_reason is a CharField of this length.
_REASON_MAX = 255


@transaction.atomic
def bot_config_set_paused(*, paused: bool, reason: str = "", user: Any = None) -> BotConfig:
    """Turn the kill switch on (``paused=True``) or off, and announce the new status.

    The row is locked while it changes so that two operators clicking at once
    leave a consistent state; the status event goes out only after commit, so no
    one is ever told of a state the database does not hold.
    """
    BotConfig.load()  # make sure the one row exists before locking it
    config = BotConfig.objects.select_for_update().get(pk=1)
    who = getattr(user, "get_username", lambda: "")() or "an operator"
    if paused:
        text = (reason or "").strip() or f"Paused from the dashboard by {who}"
        config.paused_reason = text[:_REASON_MAX]
    else:
        config.paused_reason = ""
    config.paused = paused
    config.save(update_fields=["paused", "paused_reason", "updated_at"])
    control_change_record(paused=paused, reason=config.paused_reason, user=user)
    logger.info("Kill switch %s by %s", "on" if paused else "off", who)
    events.status_changed_after_commit()
    return config


@transaction.atomic
def bot_config_update(
    *, values: dict[str, Any], user: Any = None, source: str = "dashboard"
) -> list[ControlChange]:
    """Change settings of the bot (``values``: field name -> new value) and record each change.

    Only settings that are recorded may change here; the row is locked and
    validated like the admin does, and the status is announced after commit
    (the top bar shows the mode).
    """
    unknown = set(values) - set(BOT_CONFIG_SETTINGS)
    if unknown:
        raise ValueError(f"not a recorded setting: {', '.join(sorted(unknown))}")
    BotConfig.load()
    config = BotConfig.objects.select_for_update().get(pk=1)
    before = copy.copy(config)
    for name, value in values.items():
        setattr(config, name, value)
    config.full_clean()
    config.save()
    changes = control_change_record_settings(before=before, after=config, user=user, source=source)
    for change in changes:
        logger.info(
            "%s changed from %s to %s by %s",
            change.setting_label,
            change.old_value,
            change.new_value,
            change.actor,
        )
    if changes:
        events.status_changed_after_commit()
    return changes
