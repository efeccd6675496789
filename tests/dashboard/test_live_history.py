"""Live history pages: the cursor a page keeps, and what its URL answers on new or changed rows."""

from __future__ import annotations

import html
import re

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from dashboard import live
from trading import events
from trading.models import Opportunity, Trade

from ..trading import factories as f
from .helpers import connect, cycle, receive_frame


def _live_url(body: str) -> str:
    match = re.search(r'data-live-url="([^"]+)"', body)
    assert match, "the page has no live box"
    return html.unescape(match.group(1))


def _answer(client, url: str, **extra: str):
    if extra:
        url += "&" + "&".join(f"{k}={v}" for k, v in extra.items())
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content
    body = response.content.decode()
    count = int(re.search(r'data-new-count="(\d+)"', body).group(1))
    new, changed = body.split('data-live="changed"')
    return count, re.findall(r'<tr id="(\w+-\d+)"', new), re.findall(r'<tr id="(\w+-\d+)"', changed)


def test_the_page_remembers_the_newest_id_and_keeps_its_filters(operator_client, market):
    opp = cycle(market)
    trade = f.trade(opp)
    body = operator_client.get(reverse("dashboard:trades") + "?status=pending&mode=").content
    url = _live_url(body.decode())
    assert url == f"/trades/?status=pending&mode=&page=1&live={trade.pk}"
    assert 'ws-connect="/ws/dashboard/?page=trades"' in body.decode()
    assert 'data-first-page="1"' in body.decode()
    body = operator_client.get(reverse("dashboard:opportunities")).content.decode()
    assert _live_url(body) == f"/opportunities/?page=1&live={opp.pk}"
    assert "js/history_live.js" in body


def test_new_trades_that_the_filters_keep_come_newest_first_with_their_count(
    operator_client, market
):
    old = f.trade(cycle(market), status="success")
    url = _live_url(operator_client.get("/trades/").content.decode())
    pending_url = _live_url(operator_client.get("/trades/?status=pending").content.decode())
    assert _answer(operator_client, url) == (0, [], [])

    first = f.trade(cycle(market), status="pending")
    second = f.trade(cycle(market), status="success")
    third = f.trade(cycle(market), status="pending")

    count, new, changed = _answer(operator_client, url)
    assert (count, new, changed) == (
        3,
        [f"trade-{third.pk}", f"trade-{second.pk}", f"trade-{first.pk}"],
        [],
    )
    assert f"trade-{old.pk}" not in new
    # The filtered page gets only what its filter keeps, counted as such.
    assert _answer(operator_client, pending_url) == (
        2,
        [f"trade-{third.pk}", f"trade-{first.pk}"],
        [],
    )
    # A filter that excludes every new row: nothing to add, nothing to count.
    reverted_url = _live_url(operator_client.get("/trades/?status=reverted").content.decode())
    assert _answer(operator_client, reverted_url) == (0, [], [])


def test_a_later_page_only_counts(operator_client, market):
    for _ in range(3):
        f.trade(cycle(market))
    url = "/trades/?page=2&live=0"
    assert _answer(operator_client, url) == (3, [], [])


def test_a_changed_row_on_the_page_is_sent_back_whatever_the_filters(operator_client, market):
    trade = f.trade(cycle(market), status="pending")
    url = _live_url(operator_client.get("/trades/?status=pending").content.decode())
    Trade.objects.filter(pk=trade.pk).update(status="success")
    count, new, changed = _answer(operator_client, url, changed=str(trade.pk))
    assert (count, new, changed) == (0, [], [f"trade-{trade.pk}"])
    response = operator_client.get(url + f"&changed={trade.pk}")
    assert "Success" in response.content.decode()


def test_opportunities_seen_again_are_not_new(operator_client, market):
    seen_before = cycle(market)
    url = _live_url(operator_client.get("/opportunities/").content.decode())
    Opportunity.objects.filter(pk=seen_before.pk).update(block_number=99)
    fresh = cycle(market, net_profit=10**15)
    count, new, changed = _answer(operator_client, url, changed=str(seen_before.pk))
    assert (count, new, changed) == (1, [f"opp-{fresh.pk}"], [f"opp-{seen_before.pk}"])
    # A profit filter the new row misses keeps the page as it is.
    high = _live_url(
        operator_client.get("/opportunities/?min_profit=0.005").content.decode()
    ).replace(f"live={fresh.pk}", f"live={seen_before.pk}")
    assert _answer(operator_client, high) == (0, [], [])


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("live=abc", "live: expected a row id"),
        ("live=-1", "never negative"),
        # Beyond a 64-bit primary key: the database driver would overflow (a 500 on SQLite).
        ("live=0&changed=99999999999999999999", "no row has that id"),
        ("live=99999999999999999999", "no row has that id"),
        ("live=0&changed=1,x", "changed: expected a row id"),
        ("live=0&changed=" + ",".join(str(i) for i in range(live.MAX_CHANGED + 1)), "at most"),
    ],
)
def test_a_malformed_question_gets_a_clear_error(operator_client, db, query, error):
    response = operator_client.get(f"/trades/?{query}")
    assert response.status_code == 400
    assert error in response.content.decode()


def test_the_answer_takes_few_queries(operator_client, market, django_assert_max_num_queries):
    opps = [cycle(market) for _ in range(10)]
    for opp in opps:
        f.trade(opp)
    changed = ",".join(str(t.pk) for t in Trade.objects.all()[:5])
    # Session and user, the count, the new rows and their presenter, the changed rows and theirs.
    with django_assert_max_num_queries(20):
        count, new, _ = _answer(operator_client, "/trades/?page=1&live=0", changed=changed)
    assert count == 10 and len(new) == 10


@pytest.mark.django_db(transaction=True)
async def test_history_pages_get_a_signal_per_row_of_their_kind(isolated_layer, operator, market):
    trades_page = await connect(operator, page="trades")
    opportunities_page = await connect(operator, page="opportunities")

    @sync_to_async
    def publish():
        opp = cycle(market)
        trade = f.trade(opp)
        events.send(events.trade_changed, trade_id=trade.pk)
        events.send(events.opportunity_changed, opportunity_id=opp.pk)
        return opp, trade

    opp, trade = await publish()
    frame = await receive_frame(trades_page, "history-signal")
    assert f'<span data-row="trade-{trade.pk}"></span>' in frame
    assert 'hx-swap-oob="beforeend:#history-signal"' in frame
    frame = await receive_frame(opportunities_page, "history-signal")
    assert f'<span data-row="opp-{opp.pk}"></span>' in frame
    # Each page hears only of its own rows (the counts go to the overview alone).
    assert await trades_page.receive_nothing(timeout=0.3)
    # The status pill still follows every page.
    await sync_to_async(lambda: events.send(events.status_changed))()
    assert 'id="bot-pill"' in await receive_frame(trades_page, "bot-pill")
    await trades_page.disconnect()
    await opportunities_page.disconnect()
