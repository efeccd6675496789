"""Domain events become dashboard broadcasts: after commit, coalesced, live on open pages."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import broadcast, receivers
from tests.services.test_opportunities import finding
from trading import events
from trading.models import GasSnapshot, Opportunity, Pool, Token
from trading.services.controls import bot_config_set_paused
from trading.services.opportunities import opportunities_record

from ..trading import factories as f
from .helpers import connect, cycle, receive_frame


@pytest.fixture
def sent(monkeypatch, fresh_stats_throttle):
    out = []
    monkeypatch.setattr(broadcast, "publish", lambda event: out.append(event) or True)
    return out


def test_every_domain_event_is_published_only_after_commit(
    market, sent, django_capture_on_commit_callbacks
):
    opp = cycle(market)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.opportunities_recorded_after_commit(created=[opp.pk])
        events.trade_changed_after_commit(f.trade(opp).pk)
        events.status_changed_after_commit()
        snapshot = GasSnapshot.objects.create(
            network=market["net"],
            block_number=1,
            base_fee_wei=1,
            priority_fee_slow_wei=1,
            priority_fee_normal_wei=1,
            priority_fee_urgent_wei=1,
        )
        events.gas_recorded_after_commit(snapshot.pk)
        events.balances_changed_after_commit()
        assert sent == []  # nothing leaves before the commit
    assert len(callbacks) == 5
    rows = [e.type for e in sent if e.type != "dashboard.stats"]
    assert rows == [
        "dashboard.opportunity",
        "dashboard.trade",
        "dashboard.status",
        "dashboard.gas",
        "dashboard.status",
    ]
    assert sent[0].id == opp.pk


def test_nothing_is_published_when_the_transaction_rolls_back(
    market, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events.opportunities_recorded_after_commit(created=[cycle(market).pk])
    # Callbacks not executed stand for a rollback: Django drops them.
    assert len(callbacks) == 1 and sent == []


def test_counts_follow_row_events_at_most_once_a_second(market, sent):
    for _ in range(5):
        events.send(events.opportunities_recorded, created=(cycle(market).pk,))
    types = [e.type for e in sent]
    # The first row event brings the counts; the next four wait for the throttle.
    assert types.count("dashboard.stats") == 1 and types.count("dashboard.opportunity") == 5
    # The engine's next status event (every block) carries what was held back.
    events.send(events.status_changed)
    assert [e.type for e in sent[-2:]] == ["dashboard.status", "dashboard.stats"]
    events.send(events.status_changed)
    assert sent[-1].type == "dashboard.status"  # nothing pending: no extra stats


def test_a_block_of_rows_is_built_in_a_constant_number_of_queries_and_capped(
    market, sent, fresh_stats_throttle, monkeypatch
):
    ids = [cycle(market, block=i).pk for i in range(receivers.LIVE_OPPORTUNITIES + 10)]

    def queries(**kwargs) -> int:
        monkeypatch.setattr(broadcast, "_stats_last", 0.0)  # both calls include the counts
        with CaptureQueriesContext(connection) as captured:
            events.send(events.opportunities_recorded, **kwargs)
        return len(captured)

    queries(created=(ids[0],))  # warms the per-process caches (time zone, content types)
    one = queries(created=(ids[0],))
    sent.clear()
    assert queries(created=tuple(ids[:5]), staled=tuple(ids[5:])) == one
    rows = [e.id for e in sent if e.type == "dashboard.opportunity"]
    assert len(rows) == receivers.LIVE_OPPORTUNITIES
    # The first ids of the call are kept; the feed prepends, so they go out
    # oldest first by last seen, and the newest ends on top.
    assert rows == ids[: receivers.LIVE_OPPORTUNITIES]


def test_rows_go_out_oldest_first_by_last_seen_so_the_newest_ends_on_top(market, sent):
    import datetime as dt

    base = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)
    first, second, third = (cycle(market, block=i) for i in range(3))
    for opp, minutes in ((first, 9), (second, 1), (third, 5)):
        Opportunity.objects.filter(pk=opp.pk).update(
            updated_at=base + dt.timedelta(minutes=minutes)
        )
    events.send(events.opportunities_recorded, created=(third.pk,), updated=(first.pk, second.pk))
    published = [e for e in sent if e.type == "dashboard.opportunity"]
    assert [e.id for e in published] == [second.pk, third.pk, first.pk]
    # Each carries both times: the first detection and the last change.
    assert published[-1].updated_at == (base + dt.timedelta(minutes=9)).isoformat()
    assert published[-1].detected_at == first.detected_at.isoformat()


def test_the_kill_switch_announces_the_new_status(
    operator, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bot_config_set_paused(paused=True, reason="gas spike", user=operator)
    (status,) = [e for e in sent if e.type == "dashboard.status"]
    assert status.paused and status.paused_reason == "gas spike"


def test_a_failing_receiver_never_breaks_the_sender(db, monkeypatch, caplog):
    def broken():
        raise RuntimeError("database is gone")

    monkeypatch.setattr(receivers.presenters, "status_event", broken)
    events.send(events.status_changed)  # no exception
    assert "database is gone" in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_recorded_opportunities_reach_open_pages_through_the_channel_layer(
    isolated_layer, operator, market, fresh_stats_throttle
):
    # Without a fresh throttle, counts sent by a test less than a second earlier hold
    # this test's counts back.
    socket = await connect(operator)

    @sync_to_async
    def record():
        network = market["net"]
        weth = Token.objects.get(pk=market["weth"].pk)
        pools = list(Pool.objects.filter(dex__network=network).order_by("pk"))
        result = opportunities_record(
            network=network,
            block_number=42,
            evaluations=[finding(weth, pools[0], pools[1], gross=5 * 10**15, gas=10**14)],
        )
        return result.created[0]

    pk = await record()
    frame = await receive_frame(socket, "opportunity-feed-rows")
    assert f'id="opp-{pk}"' in frame and "0.0049 WETH" in frame
    counts = await receive_frame(socket, 'id="opportunity-count"')
    assert 'id="opportunity-count">1<' in counts
    assert await sync_to_async(Opportunity.objects.count)() == 1
    await socket.disconnect()
