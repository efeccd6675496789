"""Fixtures of the dashboard tests: a small market with history, and a clean channel layer."""

from __future__ import annotations

import uuid

import pytest
from channels.layers import channel_layers

from dashboard import broadcast

from ..trading import factories as f


@pytest.fixture
def fresh_stats_throttle(monkeypatch):
    """The counts' throttle as a new process has it (an earlier test may hold counts back)."""
    monkeypatch.setattr(broadcast, "_stats_last", 0.0)
    monkeypatch.setattr(broadcast, "_stats_pending", False)


@pytest.fixture
def isolated_layer(settings):
    """A fresh channel layer for the test (on Redis, under a prefix of its own).

    Other test runs may share the Redis server: a unique prefix keeps their
    groups and messages apart from ours.
    """
    layers = {name: dict(config) for name, config in settings.CHANNEL_LAYERS.items()}
    default = layers["default"]
    if "redis" in default["BACKEND"].lower():
        default["CONFIG"] = {**default.get("CONFIG", {}), "prefix": f"test-{uuid.uuid4().hex[:12]}"}
    settings.CHANNEL_LAYERS = layers  # the setting_changed signal resets channel_layers
    yield channel_layers["default"]
    channel_layers.backends.clear()


@pytest.fixture
def market(db):
    """A network with WETH (18 decimals) and USDC (6), two DEXs and three pools."""
    net = f.network(active=True, name="Localnet", explorer_url="https://explorer.test")
    weth = f.token(net, "WETH", 18)
    usdc = f.token(net, "USDC", 6)
    net.wrapped_native_token = weth
    net.save()
    uni = f.dex(net, "UniswapV2")
    aero = f.dex(net, "Aerodrome", kind="solidly")
    p1 = f.pool(uni, weth, usdc, fee=3000)
    p2 = f.pool(aero, usdc, weth, fee=500)
    p3 = f.pool(aero, weth, usdc, fee=100)
    return {"net": net, "weth": weth, "usdc": usdc, "uni": uni, "aero": aero, "pools": [p1, p2, p3]}
