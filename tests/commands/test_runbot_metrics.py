"""What `runbot` leaves in the metrics, scraped from ``/metrics`` with the client's parser."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.commands.test_runbot import E6, register, runbot, two_dex_market
from tests.support.scrape import Samples, parse, total, value
from trading import metrics
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.engine.engine import Engine
from trading.management.commands import runbot as runbot_command
from trading.models import Opportunity

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> list[Engine]:
    """The engines the command builds, kept for comparison with the scrape."""
    built: list[Engine] = []

    class Kept(Engine):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(runbot_command, "Engine", Kept)
    return built


def scrape(client: Any) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse(response.content.decode())


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_one_scan_moves_the_counters_by_what_it_did(
    client: Any, anvil: AnvilNode, devnet: Devnet, engines: list[Engine]
) -> None:
    market = two_dex_market(devnet, 300_000 * E6, 306_000 * E6)
    register(anvil, market, [market.weth.address, market.usdc.address])
    before = scrape(client)
    runbot("--once")
    after = scrape(client)
    (engine,) = engines

    assert moved(before, after, "listonian_blocks_processed_total") == 1
    assert moved(before, after, "listonian_blocks_skipped_total") == 0
    # Two pairs, two base tokens: four cycles indexed, all evaluated by the full scan.
    assert value(after, "listonian_cycles_indexed") == 4
    assert moved(before, after, "listonian_cycles_affected_total") == 4
    # The one paying cycle was sized; so was any other that passed the pre-filter.
    assert moved(before, after, "listonian_cycles_sized_total") >= 1
    # One row per paying cycle (the gap pays from either start token).
    rows = Opportunity.objects.count()
    assert rows >= 1
    assert moved(before, after, "listonian_opportunities_recorded_total", status="detected") == rows
    # Every round trip the run made, on the one endpoint, by name.
    assert moved(before, after, "listonian_rpc_round_trips_total") == engine.client.round_trips
    assert moved(before, after, "listonian_rpc_round_trips_total", endpoint="rpc0") > 0
    assert moved(before, after, "listonian_rpc_latency_seconds_count", endpoint="rpc0") == (
        engine.client.round_trips
    )
    assert moved(before, after, "listonian_rpc_errors_total") == 0
    # A full scan reads every pool instead of logs: the other stages ran once each.
    for stage in ("pool_update", "analysis", "recording", "execution", "publishing"):
        name = "listonian_block_stage_seconds_count"
        assert moved(before, after, name, stage=stage) == 1, stage
    assert moved(before, after, "listonian_block_stage_seconds_count", stage="logs") == 0
    assert moved(before, after, "listonian_block_decision_latency_seconds_count") == 1
    assert value(after, "listonian_component_up", component="analysis") == 1
    assert moved(before, after, "listonian_lock_wait_seconds_count", lock="chain.initialize") == 1


def test_no_rpc_url_or_address_appears_in_a_scrape(
    client: Any, anvil: AnvilNode, devnet: Devnet
) -> None:
    market = two_dex_market(devnet, 300_000 * E6, 306_000 * E6)
    register(anvil, market, [market.weth.address])
    runbot("--once")
    text = client.get("/metrics").content.decode()
    host_port = anvil.rpc_url.split("//", 1)[1].rstrip("/")
    assert "listonian_rpc_round_trips_total{" in text
    assert host_port not in text and "http://" not in text
    for address in (market.weth.address, *(p.address for p in market.pairs)):
        assert address.lower() not in text.lower()


def test_the_continuous_engine_times_every_stage_of_a_block(
    client: Any, anvil: AnvilNode, devnet: Devnet
) -> None:
    market = two_dex_market(devnet, 300_000 * E6, 306_000 * E6)
    register(anvil, market, [market.weth.address])
    before = scrape(client)
    stop = threading.Event()

    def mine() -> None:
        while not stop.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        runbot("--blocks", "3", "--dry-run")
    finally:
        stop.set()
        miner.join()
    after = scrape(client)

    assert moved(before, after, "listonian_blocks_processed_total") == 3
    # The first block is a full scan; the next two follow the logs. Every block writes
    # its rows after the decision.
    for stage in metrics.STAGES:
        expected = {"logs": 2}.get(stage, 3)
        name = "listonian_block_stage_seconds_count"
        assert moved(before, after, name, stage=stage) == expected, stage
    assert moved(before, after, "listonian_rpc_round_trips_total", method="eth_getLogs") >= 2
    assert value(after, "listonian_head_lag_blocks") >= 0
