"""The dashboard websocket: authenticated operators receive live updates.

Events of the constant dashboard group reach the consumer through its
process's hub (one layer subscription per process, see :mod:`dashboard.hub`);
the consumer turns each into an HTML frame (see :mod:`dashboard.frames`) that
htmx swaps into the page out of band. Rendering needs no database query:
events carry what they show.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import broadcast, frames, hub, sessions, vitals
from dashboard.permissions import can_control_bot
from trading import metrics

logger = logging.getLogger(__name__)

# Closed with this code when the socket has no logged-in user (4000-4999 are
# application codes; 4401 mirrors HTTP 401).
CLOSE_UNAUTHENTICATED = 4401
# How often an open socket re-checks that its session and user are still valid.
SESSION_CHECK_SECONDS = 60.0


class DashboardConsumer(AsyncWebsocketConsumer):
    # No per-socket layer channel or group: the process's hub subscribes once
    # for all sockets (after each socket's login check) and hands events over.
    channel_layer_alias = None
    groups: list[str] = []

    async def connect(self) -> None:
        self.joined = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.page = _page_kind(self.scope.get("query_string", b""))
        if self.page == frames.OVERVIEW and not await database_sync_to_async(can_control_bot)(user):
            self.page = frames.OVERVIEW_READ_ONLY
        broadcast.bind_serving_loop(asyncio.get_running_loop())
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.session_hash = sessions.session_hash(self.session_key)
        self.user_id = user.pk
        self.hub = hub.hub_for(broadcast.DASHBOARD_GROUP)
        await self.hub.add(self)
        self.joined = True
        metrics.WEBSOCKET_CLIENTS.inc()
        if self.page == frames.SYSTEM:
            # Only the System page shows the web process's own figures.
            vitals.reporter().add()
        await self.accept()
        # Signals close the socket at logout or deactivation; this catches the
        # rest (an expired session, a change made straight in the database).
        self.session_check = asyncio.create_task(self._check_session_forever())

    async def disconnect(self, code: int) -> None:
        check = getattr(self, "session_check", None)
        if check is not None and check is not asyncio.current_task():
            check.cancel()
        if getattr(self, "joined", False):
            self.joined = False
            metrics.WEBSOCKET_CLIENTS.dec()
            if self.page == frames.SYSTEM:
                vitals.reporter().remove()
            await self.hub.remove(self)

    async def dashboard_session_ended(self, event: dict[str, Any]) -> None:
        payload = event.get("payload") or {}
        ours = (self.session_hash and payload.get("session_hash") == self.session_hash) or (
            payload.get("user_id") is not None and payload.get("user_id") == self.user_id
        )
        if ours:
            await self._end_session()

    async def _check_session_forever(self) -> None:
        while True:
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            try:
                valid = await database_sync_to_async(sessions.session_is_valid)(
                    self.session_key, self.user_id
                )
            except Exception:  # the database may be briefly away: check again later
                logger.warning("Dashboard session check failed", exc_info=True)
                continue
            if not valid:
                await self._end_session()
                return

    async def _end_session(self) -> None:
        # Leaving the hub happens in disconnect(): this may run inside the hub's
        # own task, which must not cancel itself.
        if not getattr(self, "ended", False):
            self.ended = True
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page only listens; whatever a client sends is ignored, so neither
        # a malformed nor a hostile message can disturb the socket.
        return

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = str(message.get("type", ""))
        if not kind.startswith("dashboard."):
            await super().dispatch(message)  # websocket.connect, .receive, .disconnect
            return
        handler = getattr(self, kind.replace(".", "_"), None)
        if handler is None:
            # An event type from a newer publisher: skip it rather than let
            # Channels fail the socket for a missing handler.
            logger.warning("Dashboard event type %r has no handler here", kind)
            return
        # Straight to the handler: Channels' dispatch would first hop to a
        # thread to close stale database connections, which these handlers
        # never open (events carry what they show).
        await handler(message)

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

    async def dashboard_system(self, event: dict[str, Any]) -> None:
        await self._send_frame(event)

    async def _send_frame(self, event: dict[str, Any]) -> None:
        if getattr(self, "ended", False):
            return
        try:
            html = frames.render_frame(event, self.page)
        except Exception:
            # A malformed event (another version of the publisher, a bug) is
            # dropped; the socket and the other events carry on.
            logger.exception("Dashboard event could not be rendered: %r", event.get("type"))
            return
        if html:
            await self.send(text_data=html)
            metrics.WEBSOCKET_FRAMES.inc()


def _page_kind(query_string: bytes) -> str:
    try:
        values = parse_qs(query_string.decode("latin-1")).get("page", [])
    except Exception:
        return frames.OTHER
    page = values[0] if values else ""
    return page if page in frames.PAGES else frames.OTHER
