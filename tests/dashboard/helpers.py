"""Helpers of the dashboard tests: row builders and authenticated websockets."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from listonian_site.asgi import application

from ..trading import factories as f

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def cycle(market, start="weth", pools=None, **kwargs):
    """An opportunity WETH → USDC → WETH (or starting from ``start``) through two pools."""
    pools = pools if pools is not None else market["pools"][:2]
    token = market[start]
    opp = f.opportunity(token, pools=pools, **kwargs)
    # Rewrite the path so it reads start → other → start, whatever the pool order.
    other = market["usdc"] if start == "weth" else market["weth"]
    hops = [(token, other), (other, token)]
    opp.path = [
        {"pool": pool.address, "token_in": a.address, "token_out": b.address}
        for pool, (a, b) in zip(pools, hops, strict=False)
    ]
    opp.save(update_fields=["path"])
    return opp


@sync_to_async
def session_cookie(user) -> bytes:
    """A Cookie header value for a session of ``user`` (logged in through Django's auth)."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(user, page: str = "overview") -> WebsocketCommunicator:
    """A websocket to the real ASGI application, authenticated by session cookie."""
    path = "/ws/dashboard/" + (f"?page={page}" if page else "")
    communicator = WebsocketCommunicator(
        application, path, headers=[*ORIGIN, (b"cookie", await session_cookie(user))]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_frame(socket: WebsocketCommunicator, needle: str, timeout: float = 3) -> str:
    """The next frame containing ``needle``, skipping others (such as follow-up counts)."""
    while True:
        frame = await socket.receive_from(timeout=timeout)
        if needle in frame:
            return frame
