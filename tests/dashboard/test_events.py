"""Dashboard event payloads and their wire format."""

from __future__ import annotations

import msgpack
import pytest

from dashboard import events, presenters
from trading.fields import UINT256_MAX
from trading.models import EngineState

from .helpers import cycle


def test_a_message_survives_msgpack_and_comes_back_typed(market):
    state = EngineState.load()
    state.market = [{"pair": "WETH/USDC", "prices": [{"dex": "A", "price": "1.5"}]}]
    state.save()
    original = presenters.status_event()
    message = events.to_message(original)
    # channels_redis serialises with msgpack: no int above 2**64 may travel.
    wire = msgpack.unpackb(msgpack.packb(message), raw=False)
    assert events.from_message(wire) == original

    opp = cycle(market, amount_in=UINT256_MAX)
    event = presenters.opportunity_event(opp)
    wire = msgpack.unpackb(msgpack.packb(events.to_message(event)), raw=False)
    assert events.from_message(wire) == event


def test_unknown_keys_are_ignored_and_missing_required_ones_rejected():
    message = events.to_message(
        events.GasEvent("n", 1, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
    )
    message["payload"]["added_in_a_later_version"] = 1
    assert events.from_message(message).block_number == 1
    del message["payload"]["block_number"]
    with pytest.raises(events.MalformedEvent):
        events.from_message(message)
    with pytest.raises(events.MalformedEvent):
        events.from_message({"type": "dashboard.nope", "payload": {}})
