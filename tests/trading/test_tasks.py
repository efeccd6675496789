import datetime as dt

import pytest
from django.utils import timezone

from trading import tasks
from trading.fields import AmountSum
from trading.models import DailyPerformance, GasSnapshot, Network, Trade

from . import factories as f

pytestmark = pytest.mark.django_db


def test_tasks_without_an_active_network_do_nothing():
    Network.objects.update(active=False)
    assert tasks.gas_snapshot.apply().get() == {"skipped": "no active network"}
    assert tasks.reconcile_trades.apply().get() == {"skipped": "no active network"}


@pytest.mark.chain
def test_gas_snapshot_task_reads_the_chain(anvil, chain_snapshot, monkeypatch):
    monkeypatch.delenv("LISTONIAN_RPC_URL", raising=False)
    Network.objects.create(name="anvil", chain_id=31337, rpc_urls=anvil.rpc_url, active=True)
    result = tasks.gas_snapshot.apply().get()
    snapshot = GasSnapshot.objects.get(pk=result["id"])
    assert snapshot.base_fee_wei > 0
    assert (
        snapshot.priority_fee_slow_wei
        <= snapshot.priority_fee_normal_wei
        <= snapshot.priority_fee_urgent_wei
    )


def test_performance_rollup_matches_direct_aggregates():
    net = f.network()
    weth, usdc = f.token(net, "WETH"), f.token(net, "USDC", 6)
    for token, profits in ((weth, [2**70, -5, 10**18]), (usdc, [7])):
        for profit in profits:
            f.trade(f.opportunity(token), realized_profit=profit, gas_cost_wei=3)
    f.opportunity(weth)
    yesterday = f.trade(f.opportunity(weth), realized_profit=1)
    Trade.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - dt.timedelta(days=1))

    result = tasks.rollup_performance.apply().get()
    assert result["rows"] == 2
    today = timezone.now().date()
    row = DailyPerformance.objects.get(day=today, token=weth)
    direct = Trade.objects.filter(opportunity__start_token=weth, created_at__date=today).aggregate(
        p=AmountSum("realized_profit"), g=AmountSum("gas_cost_wei")
    )
    assert row.realized_profit == direct["p"] == 2**70 - 5 + 10**18
    assert row.gas_cost_wei == direct["g"] == 9
    assert row.trades == 3 and row.successful_trades == 3 and row.opportunities == 5
    tasks.rollup_performance.apply().get()  # idempotent
    assert DailyPerformance.objects.filter(day=today).count() == 2
