"""The top bar's pill on every page, from the context processor rather than each view."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trading.models import BotConfig

from ..trading import factories as f
from .helpers import cycle

PAGES = [
    "dashboard:overview",
    "dashboard:opportunities",
    "dashboard:trades",
    "dashboard:performance",
    "dashboard:distributions",
    "dashboard:system",
    "dashboard:settings",
]


@pytest.fixture
def live_and_paused(db):
    config = BotConfig.load()
    config.mode = "live"
    config.paused = True
    config.save()
    return config


def _pill(body: str) -> str:
    start = body.index('id="bot-pill"')
    return body[start : body.index("</span>", start)]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_shows_the_mode_and_the_kill_switch(operator_client, live_and_paused, name):
    pill = _pill(operator_client.get(reverse(name)).content.decode())
    assert "Live · Paused" in pill and "paused" in pill


def test_detail_pages_show_the_pill_too(operator_client, live_and_paused, market):
    trade = f.trade(cycle(market))
    for url in [
        reverse("dashboard:opportunity_detail", args=[trade.opportunity_id]),
        reverse("dashboard:trade_detail", args=[trade.pk]),
    ]:
        assert "Live · Paused" in _pill(operator_client.get(url).content.decode())


def test_the_pill_follows_the_kill_switch(operator_client, live_and_paused):
    live_and_paused.paused = False
    live_and_paused.save()
    pill = _pill(operator_client.get(reverse("dashboard:trades")).content.decode())
    assert "Live · Active" in pill and "running" in pill


def test_pages_without_the_top_bar_pay_no_query_for_it(operator_client, live_and_paused):
    # The login page and htmx fragments never render the pill: it must stay unloaded.
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(reverse("login")).status_code == 200
        fragment = operator_client.get(
            reverse("dashboard:trades"), headers={"HX-Request": "true", "HX-Target": "results"}
        )
    assert 'id="bot-pill"' not in fragment.content.decode()
    assert not [q for q in queries if "botconfig" in q["sql"].lower()]
