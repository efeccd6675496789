"""The per-process hub: one layer subscription for all sockets, and resilience."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer

from dashboard import broadcast, hub
from dashboard.events import GasEvent

from .helpers import connect


def _gas(block: int) -> GasEvent:
    return GasEvent("n", block, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")


def _members(layer) -> int:
    return len(layer.groups.get(broadcast.DASHBOARD_GROUP, {}))


@pytest.mark.django_db(transaction=True)
async def test_many_sockets_share_one_layer_subscription(isolated_layer, operator):
    layer = isolated_layer
    if not isinstance(layer, InMemoryChannelLayer):
        pytest.skip("inspects the in-memory layer's groups")
    sockets = [await connect(operator) for _ in range(5)]
    assert _members(layer) == 1  # not one per socket
    await broadcast.apublish(_gas(5))
    for socket in sockets:
        assert "gas-panel" in await socket.receive_from(timeout=3)
    for socket in sockets:
        await socket.disconnect()
    assert _members(layer) == 0  # the last socket out ends the subscription


@pytest.mark.django_db(transaction=True)
async def test_the_subscription_survives_layer_errors(isolated_layer, operator, monkeypatch):
    socket = await connect(operator)
    layer = isolated_layer
    real_receive = layer.receive
    failures = {"left": 2}

    async def flaky_receive(channel):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("read timed out")
        return await real_receive(channel)

    monkeypatch.setattr(layer, "receive", flaky_receive)
    # Wake the current receive so the flaky one is used from now on.
    await broadcast.apublish(_gas(1))
    assert "gas-panel" in await socket.receive_from(timeout=3)
    await broadcast.apublish(_gas(2))
    await broadcast.apublish(_gas(3))
    frames = [await socket.receive_from(timeout=5) for _ in range(2)]
    assert "block 2" in frames[0] and "block 3" in frames[1]
    assert failures["left"] == 0
    await socket.disconnect()


async def test_a_broken_subscriber_does_not_starve_the_others():
    class Broken:
        async def dispatch(self, message):
            raise RuntimeError("socket gone")

    class Recorder:
        def __init__(self):
            self.messages = []

        async def dispatch(self, message):
            self.messages.append(message)

    the_hub = hub.Hub("unused")
    ok = Recorder()
    the_hub.subscribers.update({Broken(), ok})
    await the_hub._fan_out({"type": "dashboard.gas"})
    assert ok.messages == [{"type": "dashboard.gas"}]


async def test_each_event_loop_has_its_own_hub():
    first = hub.hub_for("g")
    assert hub.hub_for("g") is first
    other = await asyncio.to_thread(lambda: asyncio.run(_hub_in_new_loop()))
    assert other is not first


async def _hub_in_new_loop():
    return hub.hub_for("g")
