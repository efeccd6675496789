import datetime as dt

import pytest
from django.utils import timezone

from tests.trading import factories as f
from trading.jobs.retention import history_apply_retention
from trading.models import BotConfig, EngineState, Opportunity, Trade

pytestmark = pytest.mark.django_db


@pytest.fixture
def weth(db):
    return f.token(f.network(), "WETH")


def _aged(model_obj, field, days):
    moment = timezone.now() - dt.timedelta(days=days)
    type(model_obj).objects.filter(pk=model_obj.pk).update(**{field: moment})


def test_age_limit_removes_only_old_settled_history(weth):
    config = BotConfig.load()
    config.retention_days = 7
    config.save()
    old_lonely = f.opportunity(weth)
    old_traded = f.opportunity(weth)
    old_trade = f.trade(old_traded)
    old_pending_opp = f.opportunity(weth, status="executing")
    old_pending_trade = f.trade(old_pending_opp, status="pending", realized_profit=None)
    recent = f.opportunity(weth)
    recent_trade = f.trade(recent)
    for obj in (old_lonely, old_traded, old_pending_opp):
        _aged(obj, "detected_at", 8)
    for obj in (old_trade, old_pending_trade):
        _aged(obj, "created_at", 8)

    result = history_apply_retention()

    assert result.trades_deleted == 1 and result.opportunities_deleted == 2
    assert set(Opportunity.objects.values_list("pk", flat=True)) == {old_pending_opp.pk, recent.pk}
    assert set(Trade.objects.values_list("pk", flat=True)) == {
        old_pending_trade.pk,
        recent_trade.pk,
    }
    assert EngineState.load().last_retention_at is not None


def test_row_limit_keeps_the_newest_rows(weth):
    config = BotConfig.load()
    config.retention_max_rows = 100
    config.save()
    opportunities = [f.opportunity(weth) for _ in range(130)]
    for age, opportunity in enumerate(reversed(opportunities)):
        Opportunity.objects.filter(pk=opportunity.pk).update(
            detected_at=timezone.now() - dt.timedelta(minutes=age)
        )
    traded = opportunities[0]  # the oldest, but a kept trade refers to it
    f.trade(traded)

    history_apply_retention()

    kept = set(Opportunity.objects.values_list("pk", flat=True))
    assert len(kept) == 101
    assert {o.pk for o in opportunities[30:]} <= kept
    assert traded.pk in kept
    # A second run with nothing past the limits deletes nothing.
    again = history_apply_retention()
    assert again.trades_deleted == 0 and again.opportunities_deleted == 0
