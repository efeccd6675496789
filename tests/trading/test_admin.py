import pytest
from django.urls import reverse

from trading.models import BotConfig, ControlChange, Dex, Network
from trading.units import amount_to_units

from . import factories as f


def test_botconfig_list_goes_straight_to_the_single_row(staff_client):
    response = staff_client.get(reverse("admin:trading_botconfig_changelist"))
    assert response.status_code == 302
    assert response.url == reverse("admin:trading_botconfig_change", args=[1])


def _config_form(**overrides):
    """The admin form as it comes with the default configuration, amounts in units."""
    config = BotConfig.load()
    data = {
        "mode": config.mode,
        "paused_reason": "",
        "min_net_profit_wei": "0",
        "max_trade_size_wei": "1",
        "max_gas_price_wei": "1",
        "daily_loss_limit_wei": "0.01",
        "slippage_bps": "10",
        "max_hops": "3",
        "confirmations": "5",
        "retention_days": "30",
        "retention_max_rows": "100000",
        "reinvest_bps": "0",
        "distribution_interval_minutes": "60",
        "min_gas_balance_wei": "0.001",
        "alert_head_lag_blocks": "3",
        "alert_skipped_blocks": "0",
        "alert_after_blocks": "10",
        "recipients-TOTAL_FORMS": "0",
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "0",
        "recipients-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_staff_edits_botconfig(staff_client):
    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    big = amount_to_units(2**256 - 1, 18)
    response = staff_client.post(
        url, _config_form(mode="live", paused="on", max_trade_size_wei=big)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    config = BotConfig.load()
    assert config.mode == "live" and config.paused is True
    assert config.max_trade_size_wei == 2**256 - 1


def test_falling_behind_thresholds_are_set_in_admin_and_empty_switches_them_off(staff_client):
    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    form = _config_form(alert_head_lag_blocks="", alert_skipped_blocks="2", alert_after_blocks="5")
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    config = BotConfig.load()
    assert (config.alert_head_lag_blocks, config.alert_skipped_blocks) == (None, 2)
    assert config.alert_after_blocks == 5
    response = staff_client.post(url, _config_form(alert_after_blocks="0"))
    assert response.status_code == 200 and "greater than or equal to 1" in response.content.decode()


def test_botconfig_amounts_are_typed_and_shown_in_units(staff_client):
    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    response = staff_client.post(
        url,
        _config_form(
            max_trade_size_wei="50",
            max_gas_price_wei="100",
            min_net_profit_wei="0.000000000000000001",
            daily_loss_limit_wei="0.25",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    config = BotConfig.load()
    assert config.max_trade_size_wei == 50 * 10**18
    assert config.max_gas_price_wei == 100 * 10**9
    assert config.min_net_profit_wei == 1
    assert config.daily_loss_limit_wei == 25 * 10**16
    body = staff_client.get(url).content.decode()
    assert "Maximum trade size (ETH)" in body and "Maximum gas price (gwei)" in body
    assert 'value="50"' in body and 'value="100"' in body and 'value="0.25"' in body
    assert "50000000000000000000" not in body and "100000000000" not in body


def test_botconfig_changes_in_admin_are_recorded(staff_client):
    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    staff_client.post(url, _config_form(max_gas_price_wei="3", mode="live"))
    changes = {c.setting: c for c in ControlChange.objects.all()}
    assert set(changes) == {"mode", "max_gas_price_wei"}
    gas = changes["max_gas_price_wei"]
    assert (gas.old_value, gas.new_value, gas.actor, gas.source) == (
        "1 gwei",
        "3 gwei",
        "boss",
        "admin",
    )
    assert (changes["mode"].old_value, changes["mode"].new_value) == ("Dry run", "Live")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slippage_bps", "10001", "less than or equal to 10000"),
        ("max_trade_size_wei", "0", "must be positive"),
        ("max_gas_price_wei", "1.0000000001", "at most 9 decimal places"),
        ("max_gas_price_wei", "lots", "Enter an amount in gwei"),
        ("max_gas_price_wei", "-3", "cannot be negative"),
    ],
)
def test_botconfig_validation_messages(staff_client, field, value, message):
    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    response = staff_client.post(url, _config_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert BotConfig.load().slippage_bps == 10


def test_staff_adds_a_dex_and_bad_input_is_explained(staff_client):
    net = f.network()
    url = reverse("admin:trading_dex_add")
    base = {
        "network": net.pk,
        "name": "Fork",
        "kind": "uniswap_v2",
        "router": "",
        "fee_bps": "25",
        "enabled": "on",
        "start_block": "0",
        "discovery_cursor": "0",
    }
    bad = staff_client.post(
        url, {**base, "factory": "0x8909Dc15e40173Ff4699343b6eB8132c65e18ec6", "fee_bps": "20000"}
    )
    body = bad.content.decode()
    assert "wrong checksum" in body
    assert "less than or equal to 10000" in body
    assert not Dex.objects.filter(name="Fork").exists()

    ok = staff_client.post(url, {**base, "factory": "0x8909dc15e40173ff4699343b6eb8132c65e18ec6"})
    assert ok.status_code == 302
    dex = Dex.objects.get(name="Fork")
    assert dex.factory == "0x8909Dc15e40173Ff4699343b6eB8132c65e18eC6" and dex.fee_bps == 25


def test_history_is_read_only_in_admin(staff_client):
    net = f.network()
    opp = f.opportunity(f.token(net, "WETH"))
    trade = f.trade(opp)
    assert staff_client.get(reverse("admin:trading_opportunity_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:trading_trade_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:trading_trade_add")).status_code == 403
    response = staff_client.post(
        reverse("admin:trading_trade_change", args=[trade.pk]), {"status": "failed"}
    )
    trade.refresh_from_db()
    assert response.status_code == 403 or trade.status == "success"
    assert trade.status == "success"


def test_every_admin_page_renders(staff_client):
    for model in ("network", "token", "dex", "pool", "opportunity", "trade"):
        assert staff_client.get(reverse(f"admin:trading_{model}_changelist")).status_code == 200
    base = Network.objects.get(chain_id=8453)
    assert (
        staff_client.get(reverse("admin:trading_network_change", args=[base.pk])).status_code == 200
    )


def test_operators_without_staff_rights_cannot_open_admin(operator_client):
    response = operator_client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response.url


def _recipients_form(rows, **config):
    data = _config_form(**config)
    data.update(
        {
            "recipients-TOTAL_FORMS": str(len(rows)),
            "recipients-INITIAL_FORMS": "0",
            "recipients-MIN_NUM_FORMS": "0",
            "recipients-MAX_NUM_FORMS": "1000",
        }
    )
    for i, (address, share, active) in enumerate(rows):
        data[f"recipients-{i}-label"] = f"r{i}"
        data[f"recipients-{i}-address"] = address
        data[f"recipients-{i}-share_bps"] = str(share)
        if active:
            data[f"recipients-{i}-active"] = "on"
    return data


def test_recipient_shares_must_sum_to_100_percent(staff_client):
    from trading.models import ProfitRecipient

    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    a, b, c = f.address(), f.address(), f.address()
    bad = staff_client.post(url, _recipients_form([(a, 6000, True), (b, 3000, True)]))
    assert bad.status_code == 200
    assert "must sum to 10000 bps (100%), not 9000" in bad.content.decode()
    assert not ProfitRecipient.objects.exists()

    # An inactive recipient does not count toward the 100%.
    ok = staff_client.post(
        url, _recipients_form([(a, 6000, True), (b, 4000, True), (c, 5000, False)])
    )
    assert ok.status_code == 302
    assert sorted(
        ProfitRecipient.objects.filter(active=True).values_list("share_bps", flat=True)
    ) == [
        4000,
        6000,
    ]


def test_webhook_events_are_checkboxes_of_known_events(staff_client):
    from trading.models import WebhookEndpoint

    response = staff_client.post(
        reverse("admin:trading_webhookendpoint_add"),
        {
            "name": "ops",
            "url": "http://127.0.0.1:9/hook",
            "events": ["low_balance", "trade_failed"],
            "active": "on",
            "timeout_seconds": "5",
            "max_attempts": "3",
        },
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().events == ["low_balance", "trade_failed"]


def test_the_zero_address_is_refused_as_a_recipient(staff_client):
    from trading.models import ProfitRecipient

    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    zero = "0x" + "0" * 40
    response = staff_client.post(url, _recipients_form([(zero, 10000, True)]))
    assert response.status_code == 200
    assert "the zero address burns what is sent to it" in response.content.decode()
    assert not ProfitRecipient.objects.exists()


def test_a_kill_switch_change_in_admin_is_recorded(staff_client):
    from trading.models import ControlChange

    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    response = staff_client.post(url, _config_form(paused="on", paused_reason="exploit suspected"))
    assert response.status_code == 302
    change = ControlChange.objects.get()
    assert (change.action, change.actor, change.source, change.reason) == (
        "pause",
        "boss",
        "admin",
        "exploit suspected",
    )
    # Saving again without touching the switch records nothing new.
    staff_client.post(url, _config_form(paused="on", paused_reason="exploit suspected"))
    assert ControlChange.objects.count() == 1
    history = staff_client.get(reverse("admin:trading_controlchange_changelist"))
    assert history.status_code == 200 and "exploit suspected" in history.text
    assert staff_client.get(reverse("admin:trading_controlchange_add")).status_code == 403


def test_the_pools_list_names_each_pools_network(staff_client):
    base, other = f.network(name="Base-like"), f.network(name="Other chain")
    for net in (base, other):
        dex = f.dex(net, "Aerodrome", kind="solidly")
        f.pool(dex, f.token(net, "WETH"), f.token(net, "USDC", 6))
    body = staff_client.get(reverse("admin:trading_pool_changelist")).text
    assert "column-network" in body
    assert body.count('class="field-network">Base-like<') == 1
    assert body.count('class="field-network">Other chain<') == 1
    assert "Aerodrome (Base-like)" in body and "Aerodrome (Other chain)" in body
    only = staff_client.get(
        reverse("admin:trading_pool_changelist"), {"dex__network__id__exact": other.pk}
    )
    assert "Other chain" in only.text and 'class="field-network">Base-like<' not in only.text


def test_the_read_gas_budget_is_set_per_network_and_bounded(staff_client):
    net = f.network(name="Budget net")
    url = reverse("admin:trading_network_change", args=[net.pk])
    page = staff_client.get(url).content.decode()
    # The help names what really bounds it: the node's eth_call gas cap.
    assert "rpc.gascap" in page and "read_gas_budget" in page
    form = {
        "name": net.name,
        "chain_id": str(net.chain_id),
        "rpc_urls": net.rpc_urls,
        "block_time_ms": "2000",
        "multicall_address": net.multicall_address,
        "explorer_url": "",
        "token_allowlist": "",
    }
    low = staff_client.post(url, {**form, "read_gas_budget": "100000"})
    assert "greater than or equal to 2000000" in low.content.decode()
    high = staff_client.post(url, {**form, "read_gas_budget": str(2 * 10**9)})
    assert "less than or equal to 1000000000" in high.content.decode()
    net.refresh_from_db()
    assert net.read_gas_budget == 25_000_000
    ok = staff_client.post(url, {**form, "read_gas_budget": "45000000"})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    net.refresh_from_db()
    assert net.read_gas_budget == 45_000_000
