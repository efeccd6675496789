"""Open sockets close when their session ends, through the real ASGI application."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from dashboard import broadcast, consumers, presenters
from dashboard.consumers import CLOSE_UNAUTHENTICATED
from listonian_site.asgi import application

from .helpers import ORIGIN


@sync_to_async
def _logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def _socket(client: Client) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, "/ws/dashboard/?page=overview", headers=[*ORIGIN, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _closed_with(socket: WebsocketCommunicator) -> int:
    while True:
        output = await socket.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output["code"]


@pytest.mark.django_db(transaction=True)
async def test_logout_closes_the_sockets_of_that_session_only(isolated_layer, operator):
    tab_client, other_client = await _logged_in_client(operator), await _logged_in_client(operator)
    tab, other = await _socket(tab_client), await _socket(other_client)
    response = await sync_to_async(tab_client.post)(reverse("logout"))
    assert response.status_code == 302
    assert await _closed_with(tab) == CLOSE_UNAUTHENTICATED
    # Another session of the same user (another browser) keeps its socket.
    await broadcast.apublish(await sync_to_async(presenters.status_event)())
    assert 'id="bot-status"' in await other.receive_from(timeout=5)
    await other.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_deactivating_a_user_closes_all_their_sockets(isolated_layer, operator, staff):
    first = await _socket(await _logged_in_client(operator))
    second = await _socket(await _logged_in_client(operator))
    admin = await _socket(await _logged_in_client(staff))
    operator.is_active = False
    await sync_to_async(operator.save)()
    assert await _closed_with(first) == CLOSE_UNAUTHENTICATED
    assert await _closed_with(second) == CLOSE_UNAUTHENTICATED
    await broadcast.apublish(await sync_to_async(presenters.status_event)())
    assert 'id="bot-status"' in await admin.receive_from(timeout=5)
    await admin.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_session_removed_behind_our_back_is_noticed(isolated_layer, operator, monkeypatch):
    monkeypatch.setattr(consumers, "SESSION_CHECK_SECONDS", 0.2)
    client = await _logged_in_client(operator)
    socket = await _socket(client)
    # No signal: the session simply disappears (expired and cleared, or deleted).
    await sync_to_async(Session.objects.all().delete)()
    assert await _closed_with(socket) == CLOSE_UNAUTHENTICATED
