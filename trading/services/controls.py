"""The bot's controls that operators (and the bot's own limits) work: the kill switch."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from trading import events
from trading.models import BotConfig
from trading.services.control_log import control_change_record

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
