"""Changing the bot's settings through the service: validated, locked, recorded."""

import pytest
from django.core.exceptions import ValidationError

from trading.models import BotConfig, ControlChange
from trading.services.controls import bot_config_update


def test_it_records_each_changed_setting_in_units(db, django_user_model):
    user = django_user_model.objects.create_user(username="ann", password="ann-pass-123456")
    changes = bot_config_update(
        values={"max_gas_price_wei": 25 * 10**8, "max_hops": 4, "mode": "dry_run"}, user=user
    )
    assert [(c.setting, c.old_value, c.new_value) for c in changes] == [
        ("max_gas_price_wei", "1 gwei", "2.5 gwei"),
        ("max_hops", "3", "4"),
    ]
    assert ControlChange.objects.filter(action="setting", actor="ann").count() == 2


def test_a_change_by_the_engine_names_the_engine(db):
    (change,) = bot_config_update(values={"daily_loss_limit_wei": 10**17})
    assert (change.actor, change.source, change.user) == ("the engine", "engine", None)
    assert (change.old_value, change.new_value) == ("0.01 ETH", "0.1 ETH")


def test_it_refuses_invalid_values_and_unknown_settings(db):
    with pytest.raises(ValidationError):
        bot_config_update(values={"max_trade_size_wei": 0})
    with pytest.raises(ValueError, match="paused"):
        bot_config_update(values={"paused": True})
    assert BotConfig.load().max_trade_size_wei == 10**18
    assert not ControlChange.objects.exists()
