import pytest
from channels.testing import WebsocketCommunicator

from dashboard.consumers import CLOSE_UNAUTHENTICATED
from listonian_site.asgi import application


@pytest.mark.django_db(transaction=True)
async def test_anonymous_socket_is_closed_with_a_clear_code():
    communicator = WebsocketCommunicator(
        application,
        "/ws/dashboard/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")],
    )
    connected, code = await communicator.connect()
    assert connected is False
    assert code == CLOSE_UNAUTHENTICATED
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application,
        "/ws/dashboard/",
        headers=[(b"origin", b"http://evil.example"), (b"host", b"127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()
