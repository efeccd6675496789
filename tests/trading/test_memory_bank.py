"""The memory bank's statistics equal direct ORM aggregates (exact, per token)."""

import datetime as dt

import pytest
from django.db.models import Max, Min
from django.utils import timezone

from trading.fields import AmountSum
from trading.jobs.retention import history_apply_retention
from trading.models import Opportunity, Trade
from trading.selectors import memory_bank

from . import factories as f

pytestmark = pytest.mark.django_db


def test_statistics_match_direct_aggregates():
    net = f.network()
    weth, usdc = f.token(net, "WETH"), f.token(net, "USDC", 6)
    for i, (token, profit, status) in enumerate(
        [
            (weth, 2**80 + 1, "success"),
            (weth, -7, "reverted"),
            (weth, 10**18, "success"),
            (usdc, 1_234_567, "success"),
            (usdc, 0, "pending"),
        ]
    ):
        opportunity = f.opportunity(token, net_profit=profit * 3 + i)
        f.trade(opportunity, realized_profit=profit, status=status, gas_cost_wei=10**15 + i)
    f.opportunity(usdc, net_profit=5)
    Opportunity.objects.filter(pk=Opportunity.objects.first().pk).update(
        detected_at=timezone.now() - dt.timedelta(days=2)
    )
    history_apply_retention()  # nothing is past the limits; records the clean-up time

    bank = memory_bank()

    assert bank.opportunities == Opportunity.objects.count() == 6
    assert bank.trades == Trade.objects.count() == 5
    assert bank.successful_trades == Trade.objects.successful().count() == 3
    assert bank.pending_trades == 1 and bank.settled_trades == 4
    assert str(bank.success_rate) == "0.75"
    times = Opportunity.objects.aggregate(oldest=Min("detected_at"), newest=Max("detected_at"))
    assert (bank.oldest_opportunity_at, bank.newest_opportunity_at) == (
        times["oldest"],
        times["newest"],
    )
    assert bank.last_retention_at is not None
    for totals in bank.totals:
        trades = Trade.objects.filter(opportunity__start_token_id=totals.token_id)
        direct = trades.aggregate(p=AmountSum("realized_profit"), g=AmountSum("gas_cost_wei"))
        assert totals.realized_profit == direct["p"]
        assert totals.gas_cost_wei == direct["g"]
        assert totals.trades == trades.count()
        opportunities = Opportunity.objects.filter(start_token_id=totals.token_id)
        assert totals.opportunities == opportunities.count()
        assert totals.net_profit == opportunities.aggregate(n=AmountSum("net_profit"))["n"]
    weth_totals = next(t for t in bank.totals if t.symbol == "WETH")
    assert weth_totals.realized_profit == 2**80 + 1 - 7 + 10**18
    assert bank.gas_cost_wei == Trade.objects.aggregate(g=AmountSum("gas_cost_wei"))["g"]
