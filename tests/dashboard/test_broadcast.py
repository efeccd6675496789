"""The broadcaster: payloads, messages, delivery and the after-commit helpers."""

from __future__ import annotations

import asyncio

import msgpack
import pytest

from dashboard import broadcast, frames
from dashboard.redaction import scrub
from tests.support.scrape import scrape, value
from trading.fields import UINT256_MAX
from trading.models import EngineState, GasSnapshot

from ..trading import factories as f
from .helpers import connect, cycle


def test_opportunity_payload_carries_exact_and_formatted_amounts(market):
    opp = cycle(market, amount_in=UINT256_MAX, net_profit=-(10**15), block=5)
    event = broadcast.opportunity_event(opp)
    assert event.amount_in == str(UINT256_MAX)
    assert event.net_profit == str(-(10**15)) and event.net_negative
    assert event.net_profit_display == "-0.001 WETH"
    assert event.route == "WETH → USDC → WETH"
    assert [h.dex for h in event.hops] == ["UniswapV2", "Aerodrome"]
    assert event.hops[0].fee == "0.3%"


def test_a_message_survives_msgpack_and_comes_back_typed(market):
    state = EngineState.load()
    state.market = [{"pair": "WETH/USDC", "prices": [{"dex": "A", "price": "1.5"}]}]
    state.save()
    original = broadcast.status_event()
    message = broadcast.to_message(original)
    # channels_redis serialises with msgpack: no int above 2**64 may travel.
    wire = msgpack.unpackb(msgpack.packb(message), raw=False)
    assert broadcast.from_message(wire) == original

    opp = cycle(market, amount_in=UINT256_MAX)
    event = broadcast.opportunity_event(opp)
    wire = msgpack.unpackb(msgpack.packb(broadcast.to_message(event)), raw=False)
    assert broadcast.from_message(wire) == event


def test_unknown_keys_are_ignored_and_missing_required_ones_rejected():
    message = broadcast.to_message(
        broadcast.GasEvent("n", 1, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
    )
    message["payload"]["added_in_a_later_version"] = 1
    assert broadcast.from_message(message).block_number == 1
    del message["payload"]["block_number"]
    with pytest.raises(broadcast.MalformedEvent):
        broadcast.from_message(message)
    with pytest.raises(broadcast.MalformedEvent):
        broadcast.from_message({"type": "dashboard.nope", "payload": {}})


def test_payloads_for_many_rows_take_a_constant_number_of_queries(
    market, django_assert_max_num_queries
):
    opps = [cycle(market, block=i) for i in range(30)]
    trades = [f.trade(o) for o in opps]
    from trading.models import Opportunity, Trade

    with django_assert_max_num_queries(5):
        events = broadcast.opportunity_events(Opportunity.objects.all())
    assert len(events) == 30
    # One more than opportunities: the networks, for the native currency of gas costs.
    with django_assert_max_num_queries(9):
        assert len(broadcast.trade_events(Trade.objects.all())) == len(trades)


def test_market_json_from_the_engine_is_sanitised(db):
    state = EngineState.load()
    state.market = [
        "junk",
        {
            "pair": "WETH/USDC",
            "prices": [{"dex": "A", "price": "2500"}, {"dex": "B", "price": "2525"}],
        },
        {"pair": "X/Y", "prices": [{"dex": "C", "price": "not a number"}, 5]},
    ]
    state.save()
    market = broadcast.status_event().market
    assert [p.pair for p in market] == ["WETH/USDC", "X/Y"]
    first = market[0]
    assert first.best_spread_bps == "100.0"  # computed when the engine gave none
    assert [p.is_high for p in first.prices] == [False, True]
    assert [p.is_low for p in first.prices] == [True, False]


def test_component_errors_are_scrubbed(db, monkeypatch):
    from trading.models import ComponentHealth

    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", "0x" + "1f" * 32)
    ComponentHealth.objects.create(
        name="chain",
        last_error=f"signing with {'1f' * 32} via https://user:pw@rpc.example/v2/KEY?x=1 failed",
    )
    error = broadcast.status_event().components[0].last_error
    assert "1f1f1f1f" not in error and "KEY" not in error and "pw@" not in error
    assert "[redacted]" in error and "https://rpc.example/…" in error


def test_scrub_cuts_long_text():
    assert scrub("x" * 1000, limit=10) == "x" * 9 + "…"
    assert scrub(None) == ""


@pytest.fixture
def fresh_stats_throttle(monkeypatch):
    monkeypatch.setattr(broadcast, "_stats_last", 0.0)
    monkeypatch.setattr(broadcast, "_stats_pending", False)


def test_on_commit_helpers_publish_only_after_commit(
    market, monkeypatch, django_capture_on_commit_callbacks, fresh_stats_throttle
):
    sent = []
    monkeypatch.setattr(broadcast, "publish", lambda event: sent.append(event) or True)
    opp = cycle(market)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        broadcast.publish_opportunity_on_commit(opp)
        broadcast.publish_trade_on_commit(f.trade(opp))
        broadcast.publish_status_on_commit()
        broadcast.publish_gas_on_commit(
            GasSnapshot.objects.create(
                network=market["net"],
                block_number=1,
                base_fee_wei=1,
                priority_fee_slow_wei=1,
                priority_fee_normal_wei=1,
                priority_fee_urgent_wei=1,
            )
        )
        assert sent == []  # nothing leaves before the commit
    assert len(callbacks) == 4
    rows = [e.type for e in sent if e.type != "dashboard.stats"]
    assert rows == ["dashboard.opportunity", "dashboard.trade", "dashboard.status", "dashboard.gas"]


def test_counts_follow_row_events_at_most_once_a_second(market, monkeypatch, fresh_stats_throttle):
    sent = []
    monkeypatch.setattr(broadcast, "publish", lambda event: sent.append(event.type) or True)
    for _ in range(5):
        broadcast.publish_opportunity(cycle(market))
    # The first row event brings the counts; the next four wait for the throttle.
    assert sent.count("dashboard.stats") == 1 and sent.count("dashboard.opportunity") == 5
    # The engine's next status event (every block) carries what was held back.
    broadcast.publish_status()
    assert sent[-2:] == ["dashboard.status", "dashboard.stats"]
    broadcast.publish_status()
    assert sent[-1] == "dashboard.status"  # nothing pending: no extra stats


def test_nothing_is_published_when_the_transaction_rolls_back(
    market, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(broadcast, "publish", lambda event: sent.append(event) or True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        broadcast.publish_opportunity_on_commit(cycle(market))
    # Callbacks not executed stand for a rollback: Django drops them.
    assert len(callbacks) == 1 and sent == []


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
    assert broadcast.publish_gas(snapshot) is False
    assert "not delivered" in caplog.text and "redis is down" in caplog.text
    assert asyncio.run(broadcast.apublish(broadcast.gas_event(snapshot))) is False
    assert value(scrape(), failures) - before == 2


def test_a_frame_is_rendered_once_per_event_whatever_the_sockets(monkeypatch):
    calls = []
    real = frames.render_to_string

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(frames, "render_to_string", counting)
    message = broadcast.to_message(
        broadcast.GasEvent("n", 1, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
    )
    outputs = {frames.render_frame(message, frames.OVERVIEW) for _ in range(100)}
    assert len(outputs) == 1 and calls == ["dashboard/frames.html#gas"]
    assert frames.render_frame(message, frames.OTHER) == ""  # gas is not shown elsewhere


@pytest.mark.django_db(transaction=True)
async def test_sync_publish_from_a_plain_thread_reaches_the_sockets(isolated_layer, operator):
    """An eager task or a script thread publishes with the sync API into the in-memory layer."""
    socket = await connect(operator)
    event = broadcast.GasEvent("n", 31337, "a", "b", "c", "d", "", "2026-01-01T00:00:00+00:00")
    assert await asyncio.to_thread(broadcast.publish, event)
    assert "31,337" in await socket.receive_from(timeout=3)
    await socket.disconnect()
