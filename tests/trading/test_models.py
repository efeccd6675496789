import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from trading.models import BotConfig, Network, Opportunity, Trade

from . import factories as f


@pytest.fixture
def market(db):
    net = f.network(active=True)
    weth = f.token(net, "WETH", 18)
    usdc = f.token(net, "USDC", 6)
    dex_a = f.dex(net, "DexA")
    dex_b = f.dex(net, "DexB")
    pool_a = f.pool(dex_a, weth, usdc)
    pool_b = f.pool(dex_b, weth, usdc)
    return {"net": net, "weth": weth, "usdc": usdc, "pool_a": pool_a, "pool_b": pool_b}


def test_bot_config_is_one_row(db):
    first = BotConfig.load()
    first.mode = "live"
    first.save()
    again = BotConfig(mode="dry_run")
    again.save()  # saving another instance overwrites the one row
    assert BotConfig.objects.count() == 1
    assert BotConfig.load().mode == "dry_run"
    with pytest.raises(ValidationError):
        BotConfig.load().delete()


def test_bot_config_refuses_non_positive_limits(db):
    config = BotConfig.load()
    config.max_trade_size_wei = 0
    config.slippage_bps = 10_001
    with pytest.raises(ValidationError) as excinfo:
        config.full_clean()
    assert "max_trade_size_wei" in excinfo.value.message_dict
    assert "slippage_bps" in excinfo.value.message_dict


def test_only_one_network_can_be_active(db):
    f.network(active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.network(active=True)
    assert Network.objects.active() is not None


def test_network_validates_rpc_urls_and_allowlist(db):
    net = Network(name="x", chain_id=1, rpc_urls="ftp://nope")
    with pytest.raises(ValidationError) as excinfo:
        net.full_clean()
    assert "rpc_urls" in excinfo.value.message_dict
    net = Network(name="y", chain_id=1, rpc_urls="http://a:1, ws://b:2", token_allowlist="0x123")
    with pytest.raises(ValidationError) as excinfo:
        net.full_clean()
    assert "token_allowlist" in excinfo.value.message_dict
    assert net.rpc_url_list == ["http://a:1", "ws://b:2"]


def test_addresses_are_stored_checksummed(market):
    lower = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"
    token = f.token(market["net"], "USDC2", 6, address=lower)
    token.refresh_from_db()
    assert token.address == "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


def test_a_wrong_checksum_is_refused_with_the_right_one_suggested(market):
    token = f.token(market["net"], "T", 18)
    token.address = "0x833589FCD6eDb6E08f4c7C32D4f71b54bdA02913"
    with pytest.raises(
        ValidationError, match="did you mean 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    ):
        token.full_clean()


def test_only_one_detected_row_per_cycle(market):
    f.opportunity(market["weth"], cycle_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        f.opportunity(market["weth"], cycle_key="k1")
    Opportunity.objects.update(status="executed")
    f.opportunity(market["weth"], cycle_key="k1")  # a new sighting after execution is fine
    assert Opportunity.objects.filter(cycle_key="k1").count() == 2


def test_trade_history_querysets(market):
    weth, usdc = market["weth"], market["usdc"]
    opp_weth = f.opportunity(weth, pools=[market["pool_a"], market["pool_b"]])
    opp_usdc = f.opportunity(usdc, pools=[market["pool_a"]])
    old = timezone.now() - dt.timedelta(days=3)
    f.trade(opp_weth, realized_profit=5 * 10**17, gas_cost_wei=10**15)
    f.trade(opp_weth, realized_profit=2**70, gas_cost_wei=3)
    f.trade(opp_weth, status="reverted", realized_profit=-(10**15), gas_cost_wei=7)
    f.trade(opp_usdc, realized_profit=1_500_000, created_at=old)
    f.trade(opp_usdc, mode="dry_run", status="simulated", realized_profit=1)

    since = timezone.now() - dt.timedelta(days=1)
    assert Trade.objects.successful().count() == 3
    assert Trade.objects.successful().since(since).count() == 2
    assert Trade.objects.live().count() == 4
    assert Trade.objects.dry_run().count() == 1

    by_token = {
        row["opportunity__start_token__symbol"]: row for row in Trade.objects.totals_by_token()
    }
    assert by_token["WETH"]["count"] == 3
    assert by_token["WETH"]["realized_profit"] == 5 * 10**17 + 2**70 - 10**15
    assert by_token["WETH"]["gas_cost_wei"] == 10**15 + 3 + 7
    assert by_token["USDC"]["realized_profit"] == 1_500_001

    by_dex = {
        row["opportunity__pools__dex__name"]: row["count"] for row in Trade.objects.totals_by_dex()
    }
    assert by_dex == {"DexA": 5, "DexB": 3}


def test_opportunity_querysets(market):
    weth = market["weth"]
    f.opportunity(weth, pools=[market["pool_b"]], net_profit=10)
    f.opportunity(weth, pools=[market["pool_a"]], net_profit=2**80, status="stale")
    assert Opportunity.objects.detected().count() == 1
    assert Opportunity.objects.with_net_profit_at_least(11).count() == 1
    assert Opportunity.objects.through_dex("DexB").count() == 1
    assert Opportunity.objects.status_counts() == {"detected": 1, "stale": 1}
    (row,) = Opportunity.objects.totals_by_token()
    assert row["net_profit"] == 10 + 2**80 and row["count"] == 2


def test_history_filters_are_the_same_on_opportunities_and_trades(market):
    weth, usdc = market["weth"], market["usdc"]
    both = [market["pool_a"], market["pool_b"]]
    old = timezone.now() - dt.timedelta(days=3)
    rich = f.opportunity(weth, pools=both, net_profit=2 * 10**16, status="executed")
    poor = f.opportunity(weth, pools=[market["pool_a"]], net_profit=10**15, detected_at=old)
    cents = f.opportunity(usdc, pools=[market["pool_b"]], net_profit=15_000)  # 0.015 USDC
    rich_trade = f.trade(rich, realized_profit=2 * 10**16)
    poor_trade = f.trade(poor, realized_profit=10**15, created_at=old, mode="dry_run")
    cents_trade = f.trade(cents, realized_profit=15_000, status="reverted")
    dex_b = market["pool_b"].dex
    for qs, rows in [
        (Opportunity.objects, (rich, poor, cents)),
        (Trade.objects, (rich_trade, poor_trade, cents_trade)),
    ]:
        rich_row, poor_row, cents_row = rows
        assert set(qs.starting_with(weth)) == {rich_row, poor_row}
        assert set(qs.starting_with(usdc.pk)) == {cents_row}
        # Through two pools of which one is DexB's: listed once, by Dex, id or name.
        assert list(qs.through_dex(dex_b).order_by("pk")) == [rich_row, cents_row]
        assert qs.through_dex(dex_b.pk).count() == qs.through_dex("DexB").count() == 2
        assert set(qs.since(old + dt.timedelta(hours=1))) == {rich_row, cents_row}
        assert set(qs.until(old + dt.timedelta(hours=1))) == {poor_row}
        # Exact smallest units: the same number means different amounts per token.
        assert set(qs.with_profit_between(15_000, 10**15)) == {poor_row, cents_row}
        assert set(qs.with_profit_between(low=10**15 + 1)) == {rich_row}
        # Token units: each start token's decimals, never beyond what was typed.
        assert set(qs.with_profit_in_units("0.01")) == {rich_row, cents_row}
        assert set(qs.with_profit_in_units(high="0.001")) == {poor_row}
        assert set(qs.with_profit_in_units("0.015", "0.015")) == {cents_row}
        assert not qs.with_profit_in_units("0.0150001", "0.0150009").exists()
        assert set(qs.starting_with(usdc).with_profit_in_units("0.01")) == {cents_row}
    assert set(Opportunity.objects.with_status("executed")) == {rich}
    assert set(Trade.objects.with_status("reverted")) == {cents_trade}
    assert set(Trade.objects.in_mode("dry_run")) == {poor_trade}


def test_seeded_base_network_is_disabled_and_complete(db):
    base = Network.objects.get(chain_id=8453)
    assert base.active is False
    assert base.is_op_stack
    assert {t.symbol for t in base.base_tokens.all()} == {"WETH", "USDC"}
    assert base.wrapped_native_token.address == "0x4200000000000000000000000000000000000006"
    dexes = {d.name: d for d in base.dexes.all()}
    assert set(dexes) >= {
        "Uniswap V2",
        "Uniswap V3",
        "Aerodrome",
        "BaseSwap",
        "SushiSwap V2",
        "PancakeSwap V3",
    }
    assert not any(d.enabled for d in dexes.values())
    assert dexes["Aerodrome"].kind == "solidly"
    assert dexes["Aerodrome Slipstream"].kind == "slipstream"
    assert dexes["Aerodrome Slipstream"].factory == "0x5e7BB104d84c7CB9B682AaC2F3d509f5F406809A"
    assert dexes["PancakeSwap V3"].kind == "pancakeswap_v3"
    for dex in dexes.values():
        dex.full_clean()  # every seeded address carries a valid checksum
    for token in base.tokens.all():
        token.full_clean()


@pytest.mark.django_db
def test_a_recipient_cannot_be_the_zero_address():
    from django.core.exceptions import ValidationError

    from trading.models import BotConfig, ProfitRecipient

    recipient = ProfitRecipient(config=BotConfig.load(), address="0x" + "0" * 40, share_bps=10000)
    with pytest.raises(ValidationError, match="zero address"):
        recipient.full_clean()
