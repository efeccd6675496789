"""The Settings page: the main limits in units, going live, the record of changes, the key."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from dashboard import broadcast
from trading.models import BotConfig, ControlChange

from ..trading import factories as f

DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    events = []
    monkeypatch.setattr(broadcast, "publish", lambda event: events.append(event) or True)
    return events


@pytest.fixture
def controller(django_user_model):
    """A dashboard user with the bot config right but no admin access."""
    user = django_user_model.objects.create_user(username="controller", password="ctl-pass-12345")
    user.user_permissions.add(Permission.objects.get(codename="change_botconfig"))
    return user


def _limits(**overrides):
    data = {
        "mode": "dry_run",
        "min_net_profit_wei": "0",
        "max_trade_size_wei": "1",
        "max_gas_price_wei": "1",
        "daily_loss_limit_wei": "0.01",
    }
    data.update(overrides)
    return data


def test_the_limits_are_shown_in_units_in_the_form(staff_client):
    config = BotConfig.load()
    config.max_trade_size_wei = 50 * 10**18
    config.max_gas_price_wei = 100 * 10**9
    config.save()
    body = staff_client.get(reverse("dashboard:settings")).text
    assert 'id="limits-form"' in body
    assert 'name="max_trade_size_wei"' in body and 'value="50"' in body
    assert 'name="max_gas_price_wei"' in body and 'value="100"' in body
    assert "Maximum gas price (gwei)" in body and "Maximum trade size (ETH)" in body
    assert "50000000000000000000" not in body


def test_staff_change_the_limits_and_every_change_is_recorded(
    staff_client, sent, django_capture_on_commit_callbacks
):
    url = reverse("dashboard:settings_limits")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            url,
            _limits(max_trade_size_wei="2.5", max_gas_price_wei="0.5", min_net_profit_wei="0.001"),
        )
    assert response.status_code == 302
    config = BotConfig.load()
    assert config.max_trade_size_wei == 25 * 10**17
    assert config.max_gas_price_wei == 5 * 10**8
    assert config.min_net_profit_wei == 10**15
    changes = {c.setting: c for c in ControlChange.objects.all()}
    assert set(changes) == {"max_trade_size_wei", "max_gas_price_wei", "min_net_profit_wei"}
    trade = changes["max_trade_size_wei"]
    assert (trade.old_value, trade.new_value) == ("1 ETH", "2.5 ETH")
    assert (trade.actor, trade.source, trade.user.username) == ("boss", "dashboard", "boss")
    assert changes["max_gas_price_wei"].new_value == "0.5 gwei"
    assert sent, "the top bar learns of the change"
    body = staff_client.get(reverse("dashboard:settings")).text
    assert "Saved:" in body
    history = body[body.index('id="control-changes"') :]
    assert "Maximum trade size" in history and "1 ETH" in history and "2.5 ETH" in history
    assert "Maximum gas price" in history and "0.5 gwei" in history


def test_saving_unchanged_limits_records_nothing(
    staff_client, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("dashboard:settings_limits"), _limits(), follow=True)
    assert "Nothing changed." in response.text
    assert not ControlChange.objects.exists() and not sent


def test_going_live_needs_a_confirmation(staff_client):
    url = reverse("dashboard:settings_limits")
    refused = staff_client.post(url, _limits(mode="live"))
    assert refused.status_code == 400
    assert "Tick this box to switch to live trading." in refused.text
    assert "with real funds" in refused.text
    assert BotConfig.load().mode == "dry_run" and not ControlChange.objects.exists()
    accepted = staff_client.post(url, _limits(mode="live", confirm_live="on"))
    assert accepted.status_code == 302
    change = ControlChange.objects.get()
    assert (change.setting, change.old_value, change.new_value) == ("mode", "Dry run", "Live")
    # Once live, saving other limits needs no new confirmation.
    again = staff_client.post(url, _limits(mode="live", max_gas_price_wei="2"))
    assert again.status_code == 302 and BotConfig.load().max_gas_price_wei == 2 * 10**9


def test_the_live_confirmation_names_the_local_test_chain(staff_client):
    f.network(active=True, chain_id=31337, name="Local demo")
    body = staff_client.get(reverse("dashboard:settings")).text
    assert "sent on the local test chain" in body and "with real funds" not in body


def test_bad_amounts_are_explained_and_nothing_is_saved(staff_client):
    response = staff_client.post(
        reverse("dashboard:settings_limits"),
        _limits(max_gas_price_wei="0.0000000001", max_trade_size_wei="0"),
    )
    assert response.status_code == 400
    assert "at most 9 decimal places" in response.text
    assert BotConfig.load().max_gas_price_wei == 10**9
    assert not ControlChange.objects.exists()


def test_the_bot_config_right_is_enough(client, controller):
    client.force_login(controller)
    assert 'id="limits-form"' in client.get(reverse("dashboard:settings")).text
    response = client.post(reverse("dashboard:settings_limits"), _limits(max_gas_price_wei="3"))
    assert response.status_code == 302 and BotConfig.load().max_gas_price_wei == 3 * 10**9


def test_readers_see_the_limits_but_cannot_change_them(operator_client):
    body = operator_client.get(reverse("dashboard:settings")).text
    assert 'id="limits-form"' not in body and 'id="current-config"' in body
    response = operator_client.post(reverse("dashboard:settings_limits"), _limits(mode="live"))
    assert response.status_code == 403
    assert BotConfig.load().mode == "dry_run" and not ControlChange.objects.exists()


def test_it_requires_login(client, db):
    response = client.post(reverse("dashboard:settings_limits"), _limits())
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("variable", "value", "told"),
    [
        (None, None, "not configured"),
        (
            "LISTONIAN_PRIVATE_KEY",
            "0x" + "cd" * 32,
            "the LISTONIAN_PRIVATE_KEY environment variable",
        ),
        ("LISTONIAN_PRIVATE_KEY", DEV_KEY, "the local test chain&#x27;s public development key"),
        ("LISTONIAN_PRIVATE_KEY_FILE", "file", "the file named by LISTONIAN_PRIVATE_KEY_FILE"),
    ],
)
def test_it_says_where_the_signing_key_comes_from(
    operator_client, monkeypatch, tmp_path, variable, value, told
):
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY_FILE", raising=False)
    key = "0x" + "ef" * 32
    if variable == "LISTONIAN_PRIVATE_KEY_FILE":
        path = tmp_path / "key"
        path.write_text(key)
        value = str(path)
    if variable:
        monkeypatch.setenv(variable, value)
    body = operator_client.get(reverse("dashboard:settings")).text
    line = body[body.index('id="signing-key"') :].split("</dd>")[0]
    assert told in line
    for secret in (key, value or "", DEV_KEY):
        if secret.startswith("0x"):
            assert secret[2:] not in body
