"""The reconciliation job: live trades left pending are settled from the chain."""

from __future__ import annotations

import pytest

from trading import tasks
from trading.execution.reconcile import trades_reconcile
from trading.models import Trade

from .conftest import E18, make_opportunity, path, v2_gross

pytestmark = pytest.mark.chain


def test_nothing_pending_reads_no_chain(arb):
    assert trades_reconcile(network=arb.network) == []


# The manager writes from its own thread: the rows must be committed for it to see them.
def test_a_trade_that_never_reached_the_chain_is_dropped(transactional_db, arb, devnet):
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = make_opportunity(arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18))
    # Its nonce was taken by the executor's deployment: it can never be mined.
    lost = Trade.objects.create(
        opportunity=opportunity,
        mode="live",
        status="pending",
        tx_hash="0x" + "ab" * 32,
        tx_hashes=["0x" + "ab" * 32],
        nonce=0,
        l1_fee_wei=0,
    )
    assert tasks.reconcile_trades.apply().get() == {"settled": [(lost.pk, "dropped")]}
    lost.refresh_from_db()
    assert lost.status == "dropped"
    assert trades_reconcile(network=arb.network) == []  # a second run has nothing to do
