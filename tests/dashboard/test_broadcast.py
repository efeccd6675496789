"""Delivery: publishing to every open page, best effort, from any thread."""

from __future__ import annotations

import asyncio

import pytest

from dashboard import broadcast, events, frames, presenters
from tests.support.scrape import scrape, value
from trading.models import GasSnapshot

from ..trading import factories as f
from .helpers import connect


def test_stats_are_due_at_most_once_a_second_and_flushed_by_a_status(fresh_stats_throttle):
    assert [broadcast.stats_due() for _ in range(5)] == [True, False, False, False, False]
    # What the throttle held back goes out with the next status.
    assert broadcast.stats_due(flush=True) is True
    assert broadcast.stats_due(flush=True) is False  # nothing pending


def test_a_broken_channel_layer_is_logged_not_raised(db, monkeypatch, caplog):
    class Broken:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: Broken())
    snapshot = GasSnapshot(
        network=f.network(),
        block_number=1,
        base_fee_wei=1,
        priority_fee_slow_wei=1,
        priority_fee_normal_wei=1,
        priority_fee_urgent_wei=1,
    )
    failures = "listonian_channel_layer_send_failures_total"
    before = value(scrape(), failures)
    # A shared layer is written by the sender thread: queued now, the failure logged there.
    assert broadcast.publish(presenters.gas_event(snapshot)) is True
    assert broadcast.wait_sent()
    assert "not delivered" in caplog.text and "redis is down" in caplog.text
    assert asyncio.run(broadcast.apublish(presenters.gas_event(snapshot))) is False
    assert value(scrape(), failures) - before == 2


def test_a_frame_is_rendered_once_per_event_whatever_the_sockets(monkeypatch):
    calls = []
    real = frames.render_to_string

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(frames, "render_to_string", counting)
    message = events.to_message(
        events.GasEvent("n", 1, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
    )
    outputs = {frames.render_frame(message, frames.OVERVIEW) for _ in range(100)}
    assert len(outputs) == 1 and calls == ["dashboard/frames.html#gas"]
    assert frames.render_frame(message, frames.OTHER) == ""  # gas is not shown elsewhere


@pytest.mark.django_db(transaction=True)
async def test_sync_publish_from_a_plain_thread_reaches_the_sockets(isolated_layer, operator):
    """An eager task or a script thread publishes with the sync API into the in-memory layer."""
    socket = await connect(operator)
    event = events.GasEvent("n", 31337, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
    assert await asyncio.to_thread(broadcast.publish, event)
    assert "31,337" in await socket.receive_from(timeout=3)
    await socket.disconnect()


@pytest.mark.redis
def test_a_hanging_redis_costs_the_publisher_nothing(settings):
    """Publishing hands the event to a sender thread: a frozen Redis never blocks the caller."""
    import os
    import time
    from urllib.parse import urlparse

    from tests.support.tcp_proxy import FORWARD, HANG, TcpProxy

    redis = urlparse(os.environ["REDIS_URL"])
    with TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379) as proxy:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [f"redis://127.0.0.1:{proxy.port}{redis.path or ''}"]},
            }
        }
        proxy.set_mode(HANG)
        started = time.monotonic()
        for _ in range(20):
            assert broadcast.publish(
                events.GasEvent("n", 1, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
            )
        assert time.monotonic() - started < 0.5
        proxy.set_mode(FORWARD)
        assert broadcast.wait_sent(timeout=30)
