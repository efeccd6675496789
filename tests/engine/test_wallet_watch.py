"""Below the minimum gas balance the engine sends nothing live, alerts once, and
resumes by itself once the account is funded."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from asgiref.sync import sync_to_async

from tests.execution.conftest import E18
from trading.devchain.devnet import Devnet
from trading.engine.engine import Engine
from trading.models import AlertDelivery, BotConfig, Trade, WebhookEndpoint

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        return


@pytest.fixture
def hook_server():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()
    server.server_close()


def _setup(url):
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 5 * E18
    config.save()
    WebhookEndpoint.objects.create(name="ops", url=url, events=["low_balance", "trade_executed"])


async def test_low_balance_stops_live_sends_alerts_once_and_resumes_when_funded(
    arb, devnet, anvil, w3, hook_server, in_process_alerts
):
    await sync_to_async(_setup)(hook_server)
    signer = arb.signer.address
    anvil.rpc("anvil_setBalance", [signer, hex(E18)])  # below the 5 ETH minimum
    nonce = w3.eth.get_transaction_count(signer)
    engine = Engine(poll_interval=0.05)
    funded = threading.Event()
    # Market activity comes from another account, so the signer's nonce counts only the bot.
    other = Devnet(devnet.w3, anvil.accounts[2])

    def chain_activity():
        for i in range(80):
            if i == 8:
                anvil.rpc("anvil_setBalance", [signer, hex(50 * E18)])
                funded.set()
            if i in (4, 12):  # reopen a gap, so there is something to trade
                other.swap_v2(arb.cheap.address, arb.weth.address, 20 * E18)
            else:
                anvil.mine(1)
            time.sleep(0.1)

    activity = threading.Thread(target=chain_activity, daemon=True)
    activity.start()
    try:
        sent_while_low = None

        async def watch_low():
            nonlocal sent_while_low
            while not funded.is_set():
                await asyncio.sleep(0.05)
            sent_while_low = w3.eth.get_transaction_count(signer) - nonce

        watcher = asyncio.create_task(watch_low())
        await asyncio.wait_for(engine.run(blocks=16), timeout=90)
        await watcher
    finally:
        activity.join()
    assert sent_while_low == 0
    low = [a for a in _Hook.received if a["event"] == "low_balance"]
    assert len(low) == 1 and low[0]["account"] == signer
    assert await Trade.objects.filter(mode="live", status="success").acount() >= 1
    for _ in range(50):
        if any(a["event"] == "trade_executed" for a in _Hook.received):
            break
        await asyncio.sleep(0.05)
    assert any(a["event"] == "trade_executed" for a in _Hook.received)
    assert await AlertDelivery.objects.filter(event="low_balance", status="delivered").acount() == 1
