"""A trade that reverts on chain says why: its transaction replayed with eth_call, decoded."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.support.rpc_proxy import unused_port
from trading.chain.client import ChainClient
from trading.execution.calldata import encode_execute
from trading.execution.hops import encode_hops
from trading.execution.manager import ExecutionManager
from trading.formatting import format_amount
from trading.gas.oracle import GasOracle
from trading.models import Opportunity, Trade
from trading.services.execution import execution_context, trade_settle

from .conftest import E18, make_opportunity, path, v2_gross
from .test_manager import manager_for

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


async def _send_demanding_too_much(arb, devnet, w3) -> tuple[Trade, int, int]:
    """Send a trade whose minimum profit is above what the route earns: mined, reverted.

    Returns the pending trade row, the route's gross profit and the minimum asked.
    """
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    assert gross > 0
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    context = await sync_to_async(execution_context)(opportunity_id=opportunity.pk)
    hops = encode_hops(context.path, context.pools)
    needed = 2 * gross
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    raw, tx_hash = arb.signer.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": nonce,
            "to": arb.executor,
            "value": 0,
            "data": "0x" + encode_execute(hops, 5 * E18, needed).hex(),
            "gas": 600_000,  # no estimate: it would refuse a call that reverts
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    w3.eth.send_raw_transaction(raw)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
    trade = await Trade.objects.acreate(
        opportunity=opportunity,
        mode="live",
        status="pending",
        tx_hash=tx_hash,
        tx_hashes=[tx_hash],
        nonce=nonce,
        l1_fee_wei=0,
    )
    return trade, gross, needed


async def test_a_revert_on_chain_is_said_in_words_with_amounts_in_units(arb, devnet, anvil, w3):
    trade, gross, needed = await _send_demanding_too_much(arb, devnet, w3)
    client, manager = await manager_for(arb, anvil)
    try:
        settled = dict(await manager.reconcile_pending())
    finally:
        await client.cleanup()
    assert settled == {trade.pk: "reverted"}
    await trade.arefresh_from_db()
    earned, asked = format_amount(gross, 18, "WETH"), format_amount(needed, 18, "WETH")
    assert trade.status == "reverted" and trade.reason_code == "reverted_on_chain"
    assert trade.error.startswith(
        f"reverted on chain: unprofitable: would have earned {earned}, needed {asked} (gas used "
    ), trade.error
    assert " WETH" in earned and earned != asked
    opportunity = await Opportunity.objects.aget(pk=trade.opportunity_id)
    assert opportunity.status == "failed" and opportunity.reason_code == "reverted_on_chain"
    assert f"needed {asked}" in opportunity.status_reason


async def test_a_replay_the_node_cannot_answer_still_settles_the_trade(arb, devnet, anvil, w3):
    trade, _, _ = await _send_demanding_too_much(arb, devnet, w3)
    receipt = await sync_to_async(w3.eth.get_transaction_receipt)(trade.tx_hash)
    # The receipt was read; then the node goes away before the replay.
    gone = ChainClient([f"http://127.0.0.1:{unused_port()}"], chain_id=31337)
    manager = ExecutionManager(
        gone, GasOracle(gone), executor_address=arb.executor, chain_id=31337, signer=arb.signer
    )
    settled = await manager.settlement_of(trade.pk, _rpc(receipt), 0)
    await sync_to_async(trade_settle)(trade_id=trade.pk, **settled)
    await trade.arefresh_from_db()
    assert trade.status == "reverted" and trade.reason_code == "reverted_on_chain"
    assert trade.error.startswith("reverted on chain (reason unavailable: "), trade.error
    assert "(gas used " in trade.error


def _rpc(receipt) -> dict:
    """A web3 receipt as the JSON-RPC answer the manager reads (hex quantities)."""
    return {
        "transactionHash": receipt["transactionHash"].to_0x_hex(),
        "blockNumber": hex(receipt["blockNumber"]),
        "gasUsed": hex(receipt["gasUsed"]),
        "effectiveGasPrice": hex(receipt["effectiveGasPrice"]),
        "status": hex(receipt["status"]),
        "logs": [],
    }
