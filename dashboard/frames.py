"""Turn dashboard events into the HTML frames the websocket sends.

Each frame is a handful of elements that htmx's ws extension swaps out of band
(by id, or with the position given in ``hx-swap-oob``). A process renders an
event once, whatever the number of open sockets: the frame is cached by the
event's id and page kind, so 100 dashboards cost one template render.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.events import from_message
from trading.selectors import operator_zone

logger = logging.getLogger(__name__)

OVERVIEW = "overview"
# The overview of a user who may not pause or resume: the same frames, no controls.
OVERVIEW_READ_ONLY = "overview-read-only"
SYSTEM = "system"
# The history pages: each changed row of theirs is signalled; the page asks for
# the rows its own filters keep (see dashboard.live).
OPPORTUNITIES = "opportunities"
TRADES = "trades"
PERFORMANCE = "performance"
OTHER = "other"
PAGES = {OVERVIEW, SYSTEM, PERFORMANCE, OPPORTUNITIES, TRADES, OTHER}

# (event type, page kind) -> the partial that renders its frame. A page kind
# without an entry gets nothing for that event.
FRAME_TEMPLATES = {
    ("dashboard.opportunity", OVERVIEW): "dashboard/frames.html#opportunity",
    ("dashboard.trade", OVERVIEW): "dashboard/frames.html#trade",
    ("dashboard.status", OVERVIEW): "dashboard/frames.html#status",
    ("dashboard.status", OTHER): "dashboard/frames.html#status-pill",
    ("dashboard.gas", OVERVIEW): "dashboard/frames.html#gas",
    ("dashboard.stats", OVERVIEW): "dashboard/frames.html#stats",
    ("dashboard.system", OVERVIEW): "dashboard/frames.html#system-summary",
    ("dashboard.system", SYSTEM): "dashboard/frames.html#system",
    ("dashboard.status", SYSTEM): "dashboard/frames.html#status-pill",
    # A trade recorded or settled: the performance page fetches its figures again.
    ("dashboard.trade", PERFORMANCE): "dashboard/frames.html#performance-changed",
    ("dashboard.status", PERFORMANCE): "dashboard/frames.html#status-pill",
    ("dashboard.opportunity", OPPORTUNITIES): "dashboard/frames.html#history-signal",
    ("dashboard.status", OPPORTUNITIES): "dashboard/frames.html#status-pill",
    ("dashboard.trade", TRADES): "dashboard/frames.html#history-signal",
    ("dashboard.status", TRADES): "dashboard/frames.html#status-pill",
}

_CACHE_SIZE = 1024
_cache: OrderedDict[tuple[str, str], str] = OrderedDict()


def render_frame(message: dict[str, Any], page: str) -> str:
    """The HTML frame of ``message`` for a page kind ("" when that page shows nothing).

    Raises :class:`dashboard.events.MalformedEvent` for a message that is not
    a dashboard event.
    """
    event_id = str(message.get("event_id") or "")
    key = (event_id, page)
    if event_id and key in _cache:
        return _cache[key]
    event = from_message(message)
    name = FRAME_TEMPLATES.get((event.type, OVERVIEW if page == OVERVIEW_READ_ONLY else page))
    html = ""
    if name:
        published_at = message.get("published_at")
        # Times show in the operator's zone, as on the pages (the HTTP side
        # does this in OperatorTimezoneMiddleware).
        with timezone.override(operator_zone()):
            html = render_to_string(
                name,
                {
                    "event": event,
                    "event_id": event_id,
                    "published_at": published_at if isinstance(published_at, float) else "",
                    "can_control": page == OVERVIEW,
                },
            )
    if event_id:
        _cache[key] = html
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return html
