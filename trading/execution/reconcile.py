"""Settle live trades left pending against the chain.

A periodic job (``trading.tasks.reconcile_trades``) calls this: a trade whose
transaction was sent but whose receipt the engine never saw (a restart, a lost
connection) is settled from its receipt, or marked dropped. Safe to run twice.
"""

from __future__ import annotations

from trading.chain.signer import Signer, SignerNotConfigured
from trading.execution.manager import ExecutionManager
from trading.gas.oracle import GasOracle
from trading.models import Network
from trading.services.chain_access import ChainSession
from trading.services.execution import pending_live_trades


def trades_reconcile(*, network: Network) -> list[tuple[int, str]]:
    """Settle the network's pending live trades; return ``(trade id, new status)`` pairs."""
    if not network.executor_address or not pending_live_trades():
        return []
    try:
        signer: Signer | None = Signer.from_environment()
    except SignerNotConfigured:
        signer = None
    with ChainSession.for_network(network) as session:
        manager = ExecutionManager(
            session.client,
            GasOracle(session.client, op_stack=network.is_op_stack),
            executor_address=network.executor_address,
            chain_id=network.chain_id,
            signer=signer,
        )
        session.run(manager.initialize())
        return session.run(manager.reconcile_pending())
