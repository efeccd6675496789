import pytest
from django.urls import reverse

from trading.models import BotConfig, Dex, Network

from . import factories as f


def test_botconfig_list_goes_straight_to_the_single_row(staff_client):
    response = staff_client.get(reverse("admin:trading_botconfig_changelist"))
    assert response.status_code == 302
    assert response.url == reverse("admin:trading_botconfig_change", args=[1])


def _config_form(**overrides):
    config = BotConfig.load()
    data = {
        "mode": config.mode,
        "paused_reason": "",
        "min_net_profit_wei": "0",
        "max_trade_size_wei": "1_000_000_000_000_000_000",
        "max_gas_price_wei": "2000000000",
        "daily_loss_limit_wei": "10000000000000000",
        "slippage_bps": "10",
        "max_hops": "3",
        "confirmations": "5",
        "retention_days": "30",
        "retention_max_rows": "100000",
        "reinvest_bps": "0",
        "distribution_interval_minutes": "60",
        "min_gas_balance_wei": "1000000000000000",
        "recipients-TOTAL_FORMS": "0",
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "0",
        "recipients-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_staff_edits_botconfig(staff_client):
    url = reverse("admin:trading_botconfig_change", args=[BotConfig.load().pk])
    big = str(2**256 - 1)
    response = staff_client.post(
        url, _config_form(mode="live", paused="on", max_trade_size_wei=big)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    config = BotConfig.load()
    assert config.mode == "live" and config.paused is True
    assert config.max_trade_size_wei == 2**256 - 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slippage_bps", "10001", "less than or equal to 10000"),
        ("max_trade_size_wei", "0", "must be positive"),
        ("max_gas_price_wei", "1.5", "whole number"),
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
