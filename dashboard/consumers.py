"""The dashboard websocket: authenticated operators receive live updates."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import broadcast

# Closed with this code when the socket has no logged-in user (4000-4999 are
# application codes; 4401 mirrors HTTP 401).
CLOSE_UNAUTHENTICATED = 4401


class DashboardConsumer(AsyncWebsocketConsumer):
    groups: list[str] = []

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(broadcast.DASHBOARD_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(broadcast.DASHBOARD_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page sends nothing we act on yet; ignore input rather than fail.
        return

    async def dashboard_status(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event.get("html", ""))
