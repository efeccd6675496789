"""The dashboard websocket: authenticated operators receive live updates.

The consumer joins one constant group and turns each high-level event into an
HTML frame (see :mod:`dashboard.frames`) that htmx swaps into the page out of
band. Rendering needs no database query: events carry what they show.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import broadcast, frames

logger = logging.getLogger(__name__)

# Closed with this code when the socket has no logged-in user (4000-4999 are
# application codes; 4401 mirrors HTTP 401).
CLOSE_UNAUTHENTICATED = 4401


class DashboardConsumer(AsyncWebsocketConsumer):
    # Joined by hand after the login check, never before.
    groups: list[str] = []

    async def connect(self) -> None:
        self.joined = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.page = _page_kind(self.scope.get("query_string", b""))
        broadcast.bind_serving_loop(asyncio.get_running_loop())
        await self.channel_layer.group_add(broadcast.DASHBOARD_GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(broadcast.DASHBOARD_GROUP, self.channel_name)
            self.joined = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page only listens; whatever a client sends is ignored, so neither
        # a malformed nor a hostile message can disturb the socket.
        return

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = str(message.get("type", ""))
        if kind.startswith("dashboard.") and not hasattr(self, kind.replace(".", "_")):
            # An event type from a newer publisher: skip it rather than let
            # Channels fail the socket for a missing handler.
            logger.warning("Dashboard event type %r has no handler here", kind)
            return
        await super().dispatch(message)

    # One handler per event type ("dashboard.trade" -> dashboard_trade).

    async def dashboard_opportunity(self, event: dict[str, Any]) -> None:
        await self._send_frame(event)

    async def dashboard_trade(self, event: dict[str, Any]) -> None:
        await self._send_frame(event)

    async def dashboard_status(self, event: dict[str, Any]) -> None:
        await self._send_frame(event)

    async def dashboard_gas(self, event: dict[str, Any]) -> None:
        await self._send_frame(event)

    async def dashboard_stats(self, event: dict[str, Any]) -> None:
        await self._send_frame(event)

    async def _send_frame(self, event: dict[str, Any]) -> None:
        try:
            html = frames.render_frame(event, self.page)
        except Exception:
            # A malformed event (another version of the publisher, a bug) is
            # dropped; the socket and the other events carry on.
            logger.exception("Dashboard event could not be rendered: %r", event.get("type"))
            return
        if html:
            await self.send(text_data=html)


def _page_kind(query_string: bytes) -> str:
    try:
        values = parse_qs(query_string.decode("latin-1")).get("page", [])
    except Exception:
        return frames.OTHER
    page = values[0] if values else ""
    return page if page in frames.PAGES else frames.OTHER
