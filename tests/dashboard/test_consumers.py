"""The dashboard websocket, tested through the real ASGI application and middleware."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from dashboard import broadcast, presenters
from dashboard.consumers import CLOSE_UNAUTHENTICATED
from dashboard.events import GasEvent
from listonian_site.asgi import application
from trading import events

from ..trading import factories as f
from .helpers import ORIGIN, cycle, receive_frame, session_cookie
from .helpers import connect as _connect

ROOT = Path(__file__).resolve().parents[2]


def _gas_event(block: int = 7) -> GasEvent:
    return GasEvent(
        network="Localnet",
        block_number=block,
        base_fee="0.005 gwei",
        priority_slow="0.001 gwei",
        priority_normal="0.002 gwei",
        priority_urgent="0.003 gwei",
        l1_fee="",
        created_at="2026-01-02T03:04:05+00:00",
    )


@pytest.mark.django_db(transaction=True)
async def test_anonymous_socket_is_closed_with_a_clear_code(isolated_layer):
    communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=ORIGIN)
    connected, code = await communicator.connect()
    assert connected is False
    assert code == CLOSE_UNAUTHENTICATED
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused(isolated_layer, operator):
    communicator = WebsocketCommunicator(
        application,
        "/ws/dashboard/",
        headers=[
            (b"origin", b"http://evil.example"),
            (b"host", b"127.0.0.1"),
            (b"cookie", await session_cookie(operator)),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_event_reaches_every_connected_dashboard(isolated_layer, operator, staff):
    sockets = [await _connect(operator), await _connect(operator), await _connect(staff)]
    await broadcast.apublish(_gas_event(block=4242))
    for socket in sockets:
        frame = await socket.receive_from(timeout=3)
        assert 'id="gas-panel"' in frame and "4,242" in frame
    for socket in sockets:
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_opportunity_and_trade_frames_prepend_rows(isolated_layer, operator, market):
    socket = await _connect(operator)

    @sync_to_async
    def publish_rows():
        opp = cycle(market, net_profit=3 * 10**15)
        trade = f.trade(opp, realized_profit=2 * 10**15)
        # Domain events, sent from a worker thread as services and tasks do.
        events.send(events.opportunities_recorded, created=(opp.pk,))
        events.send(events.trade_changed, trade_id=trade.pk)
        return opp, trade

    opp, trade = await publish_rows()
    first = await receive_frame(socket, "opportunity-feed-rows")
    second = await receive_frame(socket, "trade-feed-rows")
    assert 'hx-swap-oob="afterbegin:#opportunity-feed-rows"' in first
    assert f'id="opp-{opp.pk}"' in first and "0.003 WETH" in first
    assert "WETH → USDC → WETH" in first and "UniswapV2, Aerodrome" in first
    assert 'hx-swap-oob="afterbegin:#trade-feed-rows"' in second
    assert f'id="trade-{trade.pk}"' in second and "0.0019 WETH" in second  # net of gas
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_status_and_stats_frames_replace_panels(isolated_layer, operator, market):
    socket = await _connect(operator)
    await sync_to_async(cycle)(market)
    await broadcast.apublish(await sync_to_async(presenters.status_event)())
    status = await socket.receive_from(timeout=3)
    for panel in ("bot-status", "network-card", "market-panel", "components-panel", "bot-pill"):
        assert f'id="{panel}"' in status
    await broadcast.apublish(await sync_to_async(presenters.stats_event)())
    stats = await socket.receive_from(timeout=3)
    assert 'id="opportunity-count">1<' in stats and 'id="memory-bank"' in stats
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_status_frame_has_controls_only_for_users_with_the_right(
    isolated_layer, operator, staff
):
    reader, admin = await _connect(operator), await _connect(staff)
    await broadcast.apublish(await sync_to_async(presenters.status_event)())
    frame = await receive_frame(reader, 'id="bot-status"')
    assert 'id="pause-button"' not in frame and "/bot/pause/" not in frame
    assert 'id="pause-button"' in await receive_frame(admin, 'id="bot-status"')
    await reader.disconnect()
    await admin.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_other_pages_get_only_the_status_pill(isolated_layer, operator):
    socket = await _connect(operator, page="")
    await broadcast.apublish(_gas_event())
    await broadcast.apublish(await sync_to_async(presenters.status_event)())
    frame = await socket.receive_from(timeout=3)
    assert 'id="bot-pill"' in frame and 'id="bot-status"' not in frame
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_malformed_client_input_is_ignored(isolated_layer, operator):
    socket = await _connect(operator)
    await socket.send_input({"type": "websocket.receive", "text": ""})
    for junk in ("not json", "{", json.dumps({"type": "dashboard.status"}), "x" * 100_000):
        await socket.send_to(text_data=junk)
    await socket.send_to(bytes_data=b"\x00\xff\xfe")
    assert await socket.receive_nothing(timeout=0.2)
    await broadcast.apublish(_gas_event(block=11))
    assert "gas-panel" in await socket.receive_from(timeout=3)
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_malformed_or_unknown_events_do_not_break_the_socket(isolated_layer, operator):
    socket = await _connect(operator)
    layer = get_channel_layer()
    for bad in (
        {"type": "dashboard.trade", "payload": "garbage"},
        {"type": "dashboard.opportunity", "payload": {"id": 1}},
        {"type": "dashboard.something_new", "payload": {}},
    ):
        await layer.group_send(broadcast.DASHBOARD_GROUP, bad)
    await broadcast.apublish(_gas_event(block=12))
    frame = await socket.receive_from(timeout=3)
    assert "gas-panel" in frame
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_disconnected_socket_leaves_the_group(isolated_layer, operator):
    socket = await _connect(operator)
    await socket.disconnect()
    other = await _connect(operator)
    await broadcast.apublish(_gas_event())
    assert "gas-panel" in await other.receive_from(timeout=3)
    await other.disconnect()


PUBLISHER = textwrap.dedent(
    """
    import django
    django.setup()
    from dashboard import broadcast, presenters
    from trading.models import GasSnapshot, Network

    # Unsaved rows: the payload is built from them without touching a database.
    network = Network(name="Elsewhere", chain_id=8453)
    snapshot = GasSnapshot(
        network=network, block_number=987654, base_fee_wei=7 * 10**9,
        priority_fee_slow_wei=1, priority_fee_normal_wei=2, priority_fee_urgent_wei=3,
    )
    assert broadcast.publish(presenters.gas_event(snapshot))
    """
)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_an_event_published_by_another_process_arrives(operator, settings):
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": prefix},
        }
    }
    socket = await _connect(operator)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "listonian_site.settings",
        "LISTONIAN_CHANNEL_PREFIX": prefix,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", PUBLISHER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    frame = await socket.receive_from(timeout=5)
    assert 'id="gas-panel"' in frame and "987,654" in frame and "7 gwei" in frame
    await socket.disconnect()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_an_idle_socket_still_receives_on_redis(isolated_layer, operator):
    """Minutes without events must not end the subscription (Redis reads time out)."""
    socket = await _connect(operator)
    await asyncio.sleep(7)  # longer than the Redis client's default read timeout
    await broadcast.apublish(_gas_event(block=77))
    assert "gas-panel" in await socket.receive_from(timeout=5)
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_sockets_and_frames_are_counted_in_the_metrics(isolated_layer, operator):
    from tests.support.scrape import scrape, value

    before = scrape()
    sockets = [await _connect(operator), await _connect(operator)]
    connected = scrape()
    await broadcast.apublish(_gas_event(block=99))
    for socket in sockets:
        await socket.receive_from(timeout=3)
    for socket in sockets:
        await socket.disconnect()
    await asyncio.sleep(0.05)
    after = scrape()

    clients = "listonian_websocket_clients"
    assert value(connected, clients) - value(before, clients) == 2
    assert value(after, clients) == value(before, clients)
    frames = "listonian_websocket_frames_sent_total"
    assert value(after, frames) - value(before, frames) == 2
