import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from trading import tasks
from trading.fields import AmountSum
from trading.models import DailyPerformance, GasSnapshot, Network, Trade
from trading.schedules import PREFIX, SCHEDULES, install_schedules

from . import factories as f

pytestmark = pytest.mark.django_db


def test_schedules_are_installed_by_migrate_with_expiry():
    installed = {t.name: t for t in PeriodicTask.objects.filter(name__startswith=PREFIX)}
    assert set(installed) == {PREFIX + s.name for s in SCHEDULES}
    for schedule in SCHEDULES:
        task = installed[PREFIX + schedule.name]
        assert task.task == schedule.task
        assert task.interval.every == schedule.every_seconds
        assert task.expire_seconds == schedule.every_seconds


def test_installing_again_keeps_the_operators_edits():
    task = PeriodicTask.objects.get(name=PREFIX + "gas snapshot")
    task.enabled = False
    task.save()
    assert install_schedules() == []
    assert PeriodicTask.objects.get(name=PREFIX + "gas snapshot").enabled is False
    PeriodicTask.objects.filter(name=PREFIX + "sync pools").delete()
    assert install_schedules() == [PREFIX + "sync pools"]


def test_every_scheduled_task_is_registered():
    from listonian_site.celery import app

    for schedule in SCHEDULES:
        assert schedule.task in app.tasks


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
