"""Compare the Trade rows with the chain: what an operator's books must agree with."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from trading.execution.manager import executed_profit
from trading.models import Opportunity, Trade


def _receipt(w3: Web3, tx_hash: str) -> Any:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except Exception:  # web3 raises TransactionNotFound for an unknown hash
        return None


def rows_disagreeing_with_chain(w3: Web3, executor: str, *, from_block: int = 0) -> list[str]:
    """One line per live Trade row (or its opportunity) that says other than the chain.

    Every call of the executor mined from ``from_block`` on must have its row
    too: a transaction the bot could not record must never have been sent.
    """
    wrong: list[str] = []
    known = {h.lower() for t in Trade.objects.live() for h in (t.tx_hashes or [t.tx_hash])}
    if from_block:
        for number in range(from_block, w3.eth.block_number + 1):
            for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
                sent = "0x" + bytes(tx["hash"]).hex()
                if tx["to"] == executor and sent.lower() not in known:
                    wrong.append(f"executor call {sent} in block {number} has no trade row")
    opportunities: dict[int, int] = {}
    for trade in Trade.objects.live().select_related("opportunity"):
        opportunities[trade.opportunity_id] = opportunities.get(trade.opportunity_id, 0) + 1
        receipts = [r for r in (_receipt(w3, h) for h in trade.tx_hashes or [trade.tx_hash]) if r]
        label = f"trade {trade.pk} ({trade.status})"
        if trade.status == "pending":
            wrong.append(f"{label}: still pending")
            continue
        if trade.status in ("success", "reverted"):
            if len(receipts) != 1:
                wrong.append(f"{label}: {len(receipts)} receipts on the chain")
                continue
            receipt = receipts[0]
            on_chain = "success" if receipt["status"] == 1 else "reverted"
            raw = {"logs": [_log(log) for log in receipt["logs"]]}
            profit = executed_profit(raw, executor) or 0
            if on_chain != trade.status:
                wrong.append(f"{label}: the chain says {on_chain}")
            elif receipt["blockNumber"] != trade.block_number:
                mined = receipt["blockNumber"]
                wrong.append(f"{label}: mined in {mined}, row says {trade.block_number}")
            elif profit != (trade.realized_profit or 0):
                wrong.append(f"{label}: profit {profit} on chain, {trade.realized_profit} in row")
            expected = "executed" if trade.status == "success" else "failed"
            if trade.opportunity.status != expected:
                wrong.append(f"{label}: opportunity says {trade.opportunity.status}")
        elif receipts:  # dropped / failed: nothing of it may be on the chain
            wrong.append(f"{label}: mined in {receipts[0]['blockNumber']}")
    for opportunity_id, count in opportunities.items():
        if count > 1:
            status = Opportunity.objects.get(pk=opportunity_id).status
            wrong.append(f"opportunity {opportunity_id} ({status}) has {count} live trades")
    return wrong


def _log(log: Any) -> dict[str, Any]:
    return {
        "address": log["address"],
        "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
        "data": "0x" + bytes(log["data"]).hex(),
    }
