"""The overview page: panels, empty states, and what the live socket needs."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from trading.addresses import normalize_address
from trading.models import (
    BotConfig,
    ComponentHealth,
    EngineState,
    GasSnapshot,
    SimulationBackoff,
)

from ..trading import factories as f
from .helpers import cycle


def test_it_shows_every_panel_with_data(operator_client, market):
    opp = cycle(market, net_profit=12_345 * 10**12, block=77)
    f.trade(opp, realized_profit=5 * 10**15, gas_cost_wei=21 * 10**13, tx_hash="0x" + "ab" * 32)
    GasSnapshot.objects.create(
        network=market["net"],
        block_number=99,
        base_fee_wei=5_000_000,
        priority_fee_slow_wei=1_000_000,
        priority_fee_normal_wei=2_000_000,
        priority_fee_urgent_wei=3_000_000,
        l1_fee_wei=12 * 10**9,
    )
    ComponentHealth.objects.create(
        name="chain",
        initialized=True,
        healthy=False,
        last_success_at=timezone.now(),
        last_error="RPC https://base.example/v2/SECRETKEY123 timed out",
        last_error_at=timezone.now(),
    )
    state = EngineState.load()
    state.running = True
    state.heartbeat_at = timezone.now()
    state.last_block = 1234
    state.market = [
        {
            "pair": "WETH/USDC",
            "prices": [
                {"dex": "UniswapV2", "pool": "0x1", "price": "2500.123456", "fee": "0.3%"},
                {"dex": "Aerodrome", "pool": "0x2", "price": "2510.5"},
            ],
            "best_spread_bps": "41.5",
        }
    ]
    state.last_retention_at = timezone.now() - dt.timedelta(hours=2)
    state.save()

    body = operator_client.get(reverse("dashboard:overview")).content.decode()

    assert 'id="opportunity-count">1<' in body and 'id="trade-count">1<' in body
    assert f'id="opp-{opp.pk}"' in body and "WETH → USDC → WETH" in body
    assert "0.012345 WETH" in body  # net profit in token units, never wei
    assert "12345000000000000" not in body
    assert "0.005 WETH" in body  # realized profit
    assert "0.005 gwei" in body  # base fee
    assert "UniswapV2" in body and "2510.5" in body and "41.5 bps" in body
    assert 'UniswapV2 <span class="fee">0.3%</span>' in body  # the fee tier tells pools apart
    assert "chain" in body and "timed out" in body
    assert "SECRETKEY123" not in body  # RPC paths can hold API keys
    assert "Engine running" in body and "1,234" in body
    assert 'ws-connect="/ws/dashboard/?page=overview"' in body
    assert "vendor/htmx-ext-ws/ws.js" in body and "htmx-2.min.js" in body
    assert "30 days" in body  # retention setting


def test_every_panel_has_an_empty_state(operator_client, db):
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert "No opportunities yet" in body and "sync_pools" in body
    assert "No trades yet" in body
    assert "No gas reading yet" in body
    assert "No market data yet" in body
    assert "No component has reported yet" in body
    assert "Nothing stored yet" in body
    assert "Engine not running" in body and "runbot" in body
    assert "<code>make run</code>" in body, "the demo's users started make run"
    assert "None active" in body


def test_it_shows_the_pause_control_or_the_resume_control(staff_client, db):
    body = staff_client.get(reverse("dashboard:overview")).content.decode()
    assert reverse("dashboard:bot_pause") in body and "Resume trading" not in body
    config = BotConfig.load()
    config.paused = True
    config.paused_reason = "maintenance"
    config.save()
    body = staff_client.get(reverse("dashboard:overview")).content.decode()
    assert reverse("dashboard:bot_resume") in body and "Paused: maintenance" in body


def test_the_resume_confirmation_tells_the_local_test_chain_from_real_funds(staff_client, db):
    config = BotConfig.load()
    config.mode, config.paused = "live", True
    config.save()
    network = f.network(active=True, chain_id=10, name="Production chain")
    body = staff_client.get(reverse("dashboard:overview")).text
    assert "Transactions will be sent with real funds." in body
    network.chain_id = 31337
    network.save()
    body = staff_client.get(reverse("dashboard:overview")).text
    assert "sent on the local test chain" in body and "with real funds" not in body


def test_the_resync_request_returns_only_the_live_panels(operator_client, market):
    cycle(market)
    response = operator_client.get(
        reverse("dashboard:overview") + "?panels=1", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    for panel in ("bot-status", "opportunity-feed", "trade-feed", "gas-panel", "memory-bank"):
        assert f'id="{panel}"' in body


def test_times_are_shown_in_the_operator_time_zone(operator_client, market, settings):
    settings.LISTONIAN_TIME_ZONE = "Asia/Tokyo"  # UTC+9, no DST
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    cycle(market, detected_at=moment)
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert "Jan 2, 12:04" in body  # an older row shows its date too


def test_the_overview_needs_few_queries_whatever_the_rows(
    operator_client, market, django_assert_max_num_queries
):
    for i in range(15):
        opp = cycle(market, block=i)
        f.trade(opp)
    # 30, plus 2 for the memory bank's net totals, plus 2 for a non-staff user's
    # permissions (whether to show the kill switch), plus 1 for the System panel,
    # plus 1 for the simulation back-offs, plus 2 for the last reorg and the
    # unconfirmed profit.
    with django_assert_max_num_queries(38):
        operator_client.get(reverse("dashboard:overview"))


def test_a_running_engine_with_a_component_down_says_so(operator_client, db):
    state = EngineState.load()
    state.running = True
    state.heartbeat_at = timezone.now()
    state.save()
    ComponentHealth.objects.create(name="dex", initialized=True, healthy=True)
    ComponentHealth.objects.create(
        name="chain",
        initialized=False,
        healthy=False,
        last_error="RpcUnavailableError: eth_getLogs: every RPC endpoint failed",
        last_error_at=timezone.now(),
    )
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert 'id="engine-degraded"' in body
    assert "chain" in body.split('id="engine-degraded"')[1].split("</span>")[0]
    assert "Engine running" not in body

    ComponentHealth.objects.filter(name="chain").update(initialized=True, healthy=True)
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert 'id="engine-degraded"' not in body and "Engine running" in body


def test_the_trades_card_counts_unsuccessful_trades_and_links_to_them(operator_client, market):
    opp = cycle(market)
    f.trade(opp)
    f.trade(cycle(market), status="reverted", realized_profit=None)
    f.trade(cycle(market), status="failed", realized_profit=None, gas_cost_wei=None)
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert "1 successful" in body
    assert "2 failed or reverted" in body
    assert f"{reverse('dashboard:trades')}?status=unsuccessful" in body


def test_the_memory_bank_expects_only_what_can_still_be_traded(operator_client, market):
    cycle(market, net_profit=5 * 10**15)  # detected: can still be traded
    cycle(market, net_profit=7 * 10**17, status="stale")
    cycle(market, net_profit=9 * 10**17, status="skipped")
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert '0.005 WETH<span class="sub">1 open</span>' in body
    assert "1.605 WETH" not in body  # the sum of every row, stale and skipped included


def test_backed_off_pools_and_tokens_are_shown(operator_client, staff, market):
    state = EngineState.load()
    state.last_block = 50
    state.save()
    address = normalize_address(market["pools"][0].address)
    SimulationBackoff.objects.create(
        network=market["net"],
        kind="pool",
        address=address,
        failures=4,
        until_block=58,
        last_reason="simulation reverted: K",
    )
    # Ended before the engine's block: no longer shown.
    SimulationBackoff.objects.create(
        network=market["net"], kind="token", address=f.address(), failures=3, until_block=49
    )
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    panel = body.split('id="backoffs-panel"')[1].split("</section>")[0]
    assert address in panel and "simulation reverted: K" in panel and ">58<" in panel
    assert panel.count("<tr>") == 2  # the header and one row
    assert "/admin/trading/simulationbackoff/" not in panel
    operator_client.force_login(staff)
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert "/admin/trading/simulationbackoff/" in body.split('id="backoffs-panel"')[1]


def test_it_shows_unconfirmed_profit_apart_and_the_last_reorg(operator_client, market):
    from trading.models import Reorg

    config = BotConfig.load()
    config.confirmations = 5
    config.save()
    state = EngineState.load()
    state.running = True
    state.heartbeat_at = timezone.now()
    state.last_block = 100
    state.save()
    opp = cycle(market, block=90)
    f.trade(opp, realized_profit=7 * 10**15, block_number=90)  # 10 blocks deep: final
    f.trade(cycle(market, block=98), realized_profit=3 * 10**15, block_number=98)
    Reorg.objects.create(
        network=market["net"],
        common_ancestor=95,
        depth=3,
        old_head=98,
        new_head=99,
        trades_reopened=[1],
    )

    body = operator_client.get(reverse("dashboard:overview")).content.decode()

    assert "0.01 WETH" in body  # everything realized
    assert "of which 0.003 WETH unconfirmed" in body
    assert 'id="last-reorg"' in body and "reorg of 3 block(s) above 95" in body
    assert "1 trade(s) settled again" in body


def test_the_live_feed_is_ordered_by_last_seen_and_shows_both_times(operator_client, market):
    from trading.models import Opportunity

    base = dt.datetime(2026, 3, 4, 10, 0, 0, tzinfo=dt.UTC)
    # Detected first, seen again last: it leads the feed.
    early = cycle(market, detected_at=base, block=10)
    middle = cycle(market, detected_at=base + dt.timedelta(minutes=1), block=11)
    late = cycle(market, detected_at=base + dt.timedelta(minutes=2), block=12)
    for opp, seen in ((early, 30), (middle, 10), (late, 20)):
        # auto_now would stamp "now": the engine's clock is set by hand here.
        Opportunity.objects.filter(pk=opp.pk).update(updated_at=base + dt.timedelta(minutes=seen))

    body = operator_client.get(reverse("dashboard:overview")).content.decode()

    feed = body[body.index('id="opportunity-feed-rows"') :]
    order = [int(pk) for pk in re.findall(r'<tr id="opp-(\d+)"', feed)]
    assert order == [early.pk, late.pk, middle.pk]
    row = feed[feed.index(f'id="opp-{early.pk}"') :]
    row = row[: row.index("</tr>")]
    # Last seen 10:30 (UTC, the default operator zone), first detected 10:00.
    assert re.search(r'class="last-seen"[^>]*>Mar 4, 10:30</a>', row), row
    assert '<span class="sub first-seen" title="First detected">first Mar 4, 10:00</span>' in row
