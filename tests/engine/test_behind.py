"""Falling behind the chain: one alert when it starts, one when it clears."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from trading.engine.behind import BehindThresholds, BehindWatch
from trading.engine.engine import Engine
from trading.models import AlertDelivery, BotConfig, WebhookEndpoint


def _feed(watch: BehindWatch, rows: list[tuple[int, int]]) -> list[tuple[int, bool]]:
    changes = []
    for number, (lag, skipped) in enumerate(rows, start=100):
        change = watch.observe(number, lag, skipped)
        if change is not None:
            changes.append((number, change.behind))
    return changes


def test_a_lag_that_stays_above_the_threshold_alerts_once_then_clears_once() -> None:
    watch = BehindWatch(BehindThresholds(head_lag_blocks=2, skipped_blocks=None, blocks=3))
    rows = [(3, 0)] * 5 + [(0, 0)] * 2 + [(5, 0)] + [(0, 0)] * 3
    assert _feed(watch, rows) == [(102, True), (110, False)]
    assert not watch.behind


def test_one_slow_block_neither_raises_nor_clears() -> None:
    watch = BehindWatch(BehindThresholds(head_lag_blocks=2, blocks=3))
    assert _feed(watch, [(3, 0), (3, 0), (0, 0), (3, 0), (3, 0), (0, 0)]) == []
    assert _feed(watch, [(3, 0)] * 3 + [(0, 0), (0, 0), (4, 0), (0, 0)]) == [(102, True)]
    assert watch.behind


def test_skipped_blocks_alert_with_what_was_skipped() -> None:
    watch = BehindWatch(BehindThresholds(head_lag_blocks=None, skipped_blocks=0, blocks=2))
    assert watch.observe(1, 0, 1) is None
    change = watch.observe(2, 0, 2)
    assert change is not None and change.behind and change.skipped == 3
    assert change.reasons == ("2 blocks skipped (threshold 0)",)


def test_switched_off_checks_never_alert() -> None:
    watch = BehindWatch(BehindThresholds(head_lag_blocks=None, skipped_blocks=None, blocks=1))
    assert _feed(watch, [(50, 50)] * 5) == []


@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
async def test_the_engine_alerts_when_it_skips_blocks_and_when_it_keeps_up_again(
    arb, devnet, anvil, monkeypatch
):
    # The deliveries are what is checked here; sending them is tested elsewhere.
    monkeypatch.setattr("trading.services.alerts._schedule", lambda delivery_id: None)
    await WebhookEndpoint.objects.acreate(
        name="ops", url="http://127.0.0.1:9/hook", events=["falling_behind", "caught_up"]
    )

    def thresholds():
        config = BotConfig.load()
        config.alert_head_lag_blocks = None
        config.alert_skipped_blocks = 0
        config.alert_after_blocks = 2
        config.save()

    await sync_to_async(thresholds)()
    engine = Engine(poll_interval=0.05)
    slow = {"blocks": 3}

    def on_block(report):
        if slow["blocks"]:
            slow["blocks"] -= 1
            anvil.mine(2)  # this block "took" two more: the next one jumps over them

    engine.on_block = on_block

    async def keep_mining():
        while True:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(anvil.mine, 1)

    miner = asyncio.create_task(keep_mining())
    try:
        await asyncio.wait_for(engine.run(blocks=8), timeout=90)
    finally:
        miner.cancel()
    deliveries = [d async for d in AlertDelivery.objects.order_by("pk")]
    assert [d.event for d in deliveries] == ["falling_behind", "caught_up"]
    assert deliveries[0].payload["skipped"] >= 2
    assert "blocks skipped" in deliveries[0].payload["reasons"][0]


async def test_an_alert_the_database_refused_is_tried_again_on_the_next_tick(monkeypatch):
    recorded = []

    def record(**alert):
        if not recorded:
            recorded.append(None)
            raise ConnectionError("database away")
        recorded.append(alert)

    monkeypatch.setattr("trading.services.system.falling_behind_alert", record)
    engine = Engine()
    watch = BehindWatch(BehindThresholds(head_lag_blocks=0, blocks=1))
    engine.behind_changes.append(watch.observe(7, 2, 0))
    await engine.send_behind_alerts()
    assert len(engine.behind_changes) == 1  # kept for the next tick
    await engine.send_behind_alerts()
    assert engine.behind_changes == []
    assert recorded[1]["behind"] is True and recorded[1]["block_number"] == 7
