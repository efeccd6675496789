"""Profit sweeps on anvil: exact shares, thresholds, resume without double pay."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command

from trading.chain.client import ChainClient
from trading.distribution.split import split_profit
from trading.execution.manager import ExecutionManager, Limits
from trading.gas.oracle import GasOracle
from trading.models import (
    BotConfig,
    Distribution,
    DistributionPayout,
    ProfitRecipient,
    WebhookEndpoint,
)
from trading.services.distribution import profit_distribute

from .conftest import E18, make_opportunity, path, v2_gross

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

RECIPIENTS = [
    ("0x1000000000000000000000000000000000000001", 5_000),
    ("0x2000000000000000000000000000000000000002", 3_333),
    ("0x3000000000000000000000000000000000000003", 1_667),
]


@pytest.fixture
def recipients(db):
    BotConfig.load()
    for address, share in RECIPIENTS:
        ProfitRecipient.objects.create(address=address, share_bps=share, label=address[-1])
    config = BotConfig.load()
    config.reinvest_bps = 2_000
    config.save()


def live_trade(arb, devnet, anvil) -> int:
    """Run one real live trade through the execution manager; return its profit."""
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = make_opportunity(arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18))

    async def run():
        client = ChainClient([anvil.rpc_url], chain_id=31337)
        await client.initialize()
        try:
            manager = ExecutionManager(
                client,
                GasOracle(client),
                executor_address=arb.executor,
                chain_id=31337,
                signer=arb.signer,
            )
            await manager.initialize()

            async def requote(s, a):
                return v2_gross(devnet, s, a)

            limits = Limits(False, "", True, 100 * E18, 10**12, 10**18, 10)
            return await manager.execute(opportunity.pk, limits, requote)
        finally:
            await client.cleanup()

    result = async_to_sync(run)()
    assert result.outcome == "success"
    return result.profit


def test_a_sweep_pays_each_recipient_exactly_its_share(arb, devnet, anvil, recipients, w3):
    profit = live_trade(arb, devnet, anvil)
    arb.weth.distribution_threshold = 1
    arb.weth.save()
    balance = devnet.balance_of(arb.weth.address, arb.executor)
    assert balance == profit
    before = {a: devnet.balance_of(arb.weth.address, a) for a, _ in RECIPIENTS}

    out = StringIO()
    call_command("distribute", stdout=out)

    expected = split_profit(balance, 2_000, RECIPIENTS)
    distribution = Distribution.objects.get()
    assert distribution.status == "sent" and distribution.total == expected.distributable
    assert distribution.reinvest == expected.reinvest
    for payout in distribution.payouts.all():
        received = devnet.balance_of(arb.weth.address, payout.recipient) - before[payout.recipient]
        assert received == payout.amount
        assert payout.status == "confirmed" and payout.tx_hash and payout.block_number
    assert devnet.balance_of(arb.weth.address, arb.executor) == expected.reinvest
    assert "paid" in out.getvalue()


def test_below_the_threshold_nothing_is_sent(arb, devnet, recipients, w3):
    devnet.mint(arb.weth.address, arb.executor, 10**15)
    arb.weth.distribution_threshold = 10**18
    arb.weth.save()
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    out = StringIO()
    call_command("distribute", stdout=out)
    assert "below the threshold" in out.getvalue()
    assert not Distribution.objects.exists()
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce


def test_dry_run_shows_the_split_and_sends_nothing(arb, devnet, recipients, w3):
    devnet.mint(arb.weth.address, arb.executor, 10**18)
    arb.weth.distribution_threshold = 1
    arb.weth.save()
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    out = StringIO()
    call_command("distribute", "--dry-run", stdout=out)
    assert "would pay" in out.getvalue() and RECIPIENTS[0][0] in out.getvalue()
    assert not Distribution.objects.exists()
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce


def test_invalid_shares_are_refused_by_the_command(arb, devnet, db):
    ProfitRecipient.objects.create(address=RECIPIENTS[0][0], share_bps=6_000)
    ProfitRecipient.objects.create(address=RECIPIENTS[1][0], share_bps=3_000)
    with pytest.raises(CommandError, match="must sum to 10000 bps"):
        call_command("distribute", stdout=StringIO())


def test_a_sweep_killed_after_the_first_payment_resumes_and_pays_only_the_rest(
    arb, devnet, recipients, w3
):
    devnet.mint(arb.weth.address, arb.executor, 10**18 + 7)
    arb.weth.distribution_threshold = 1
    arb.weth.save()

    class Killed(Exception):
        pass

    def die(payout):
        raise Killed(payout.recipient)

    with pytest.raises(Killed):
        profit_distribute(after_payment=die)
    distribution = Distribution.objects.get()
    assert distribution.status == "sending"
    statuses = list(distribution.payouts.order_by("id").values_list("status", flat=True))
    assert statuses == ["confirmed", "pending", "pending"]
    nonce = w3.eth.get_transaction_count(arb.signer.address)

    (sweep,) = profit_distribute()
    assert sweep.action == "sent"
    # Two more transactions: the first recipient was not paid again.
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce + 2
    for payout in DistributionPayout.objects.all():
        assert devnet.balance_of(arb.weth.address, payout.recipient) == payout.amount
    assert Distribution.objects.count() == 1


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        return


def test_a_sent_distribution_raises_an_alert_to_a_real_endpoint(
    arb, devnet, recipients, in_process_alerts
):
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        WebhookEndpoint.objects.create(
            name="ops",
            url=f"http://127.0.0.1:{server.server_port}/hook",
            events=["distribution_sent"],
        )
        devnet.mint(arb.weth.address, arb.executor, 10**18)
        arb.weth.distribution_threshold = 1
        arb.weth.save()
        profit_distribute()

        for _ in range(100):
            if _Hook.received:
                break
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    (alert,) = _Hook.received
    assert alert["event"] == "distribution_sent" and alert["token"] == "WETH"
    assert sum(int(p["amount"]) for p in alert["payouts"]) == Distribution.objects.get().total


def test_the_distributions_page_shows_sweeps_totals_and_balances(arb, devnet, recipients, client):
    from django.contrib.auth.models import User

    from trading.models import EngineState

    devnet.mint(arb.weth.address, arb.executor, 10**18)
    arb.weth.distribution_threshold = 1
    arb.weth.save()
    profit_distribute()
    state = EngineState.load()
    state.balances = {
        "block": 7,
        "signer": {"address": arb.signer.address, "balance_wei": str(3 * 10**18), "low": False},
        "executor": {
            "address": arb.executor,
            "tokens": [
                {
                    "symbol": "WETH",
                    "address": arb.weth.address,
                    "decimals": 18,
                    "balance": str(2 * 10**17),
                }
            ],
        },
    }
    state.save()
    client.force_login(User.objects.create_user("viewer", password="viewer-pass-123"))
    body = client.get("/distributions/").content.decode()
    distribution = Distribution.objects.get()
    assert "0.8 WETH" in body  # 80% paid out of 1 WETH
    assert "0.2 WETH" in body  # kept, and the executor balance
    assert "3 ETH" in body  # the signer's gas balance
    for payout in distribution.payouts.all():
        assert payout.recipient[:8] in body
    assert "Sent" in body
