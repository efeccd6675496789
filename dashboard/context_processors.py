"""What every dashboard page shows around its content, in one place instead of each view."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from trading.models import BotConfig


def bot_pill(request: HttpRequest) -> dict[str, Any]:
    """The top bar's pill: trading mode and kill switch.

    Lazy, so that fragments, the login page and anything else that never shows
    the top bar cost no query.
    """

    def load() -> dict[str, Any]:
        config = BotConfig.load()
        return {"mode_label": config.get_mode_display(), "paused": config.paused}

    return {"pill": SimpleLazyObject(load)}
