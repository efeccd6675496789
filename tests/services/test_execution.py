"""Trade records: each keeps its opportunity's reference prices and its profit after gas."""

from __future__ import annotations

import pytest

from tests.trading import factories as f
from trading.models import Trade, TradeStatus
from trading.services.execution import (
    trade_record_pending,
    trade_record_simulated,
    trade_settle,
)

pytestmark = pytest.mark.django_db

E18, E6 = 10**18, 10**6


@pytest.fixture
def usdc_opportunity():
    net = f.network(name="Local", active=True)
    usdc = f.token(net, "USDC", 6)
    return f.opportunity(usdc, native_price=3_000 * E6, native_usd_price=3_001 * E6)


def _simulated(opportunity, **given) -> Trade:
    return trade_record_simulated(
        opportunity_id=opportunity.pk,
        amount_in=10**9,
        profit=2 * E6,
        gas_used=200_000,
        gas_cost_wei=10**14,  # 0.3 USDC at 3,000 per ETH
        **given,
    )


def _pending(opportunity, **given) -> Trade:
    trade = trade_record_pending(
        opportunity_id=opportunity.pk,
        amount_in=10**9,
        tx_hash="0x" + "ab" * 32,
        nonce=1,
        max_fee_per_gas=10**9,
        max_priority_fee_per_gas=10**8,
        l1_fee_wei=0,
        **given,
    )
    assert trade is not None
    return trade


def test_a_simulated_trade_keeps_the_prices_and_its_net(usdc_opportunity) -> None:
    trade = _simulated(usdc_opportunity)
    trade.refresh_from_db()
    assert (trade.native_price, trade.native_usd_price) == (3_000 * E6, 3_001 * E6)
    assert trade.net_profit == 2 * E6 - 300_000


def test_a_reverted_trade_records_the_gas_it_burned_as_a_loss(usdc_opportunity) -> None:
    pending = _pending(usdc_opportunity)
    assert pending.net_profit is None  # nothing known before it settles
    trade = trade_settle(
        trade_id=pending.pk,
        status=TradeStatus.REVERTED,
        gas_used=50_000,
        gas_cost_wei=2 * 10**14,
        block_number=9,
        error="execution reverted",
    )
    assert Trade.objects.get(pk=trade.pk).net_profit == -600_000  # 0.6 USDC


def test_a_claim_reads_the_context_once_and_only_for_its_claimer(usdc_opportunity) -> None:
    from trading.services.execution import opportunity_claim_context

    context = opportunity_claim_context(opportunity_id=usdc_opportunity.pk)
    assert context is not None and context.opportunity_id == usdc_opportunity.pk
    assert context.reference_prices == (3_000 * E6, 3_001 * E6)
    usdc_opportunity.refresh_from_db()
    assert usdc_opportunity.status == "executing"
    assert opportunity_claim_context(opportunity_id=usdc_opportunity.pk) is None  # taken


@pytest.mark.parametrize("record", ["pending", "simulated"])
def test_a_trade_given_the_contexts_prices_keeps_them_without_reading_them(
    usdc_opportunity, record
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading.services.execution import execution_context

    context = execution_context(opportunity_id=usdc_opportunity.pk)

    write = _simulated if record == "simulated" else _pending

    with CaptureQueriesContext(connection) as read:
        write(usdc_opportunity)
    with CaptureQueriesContext(connection) as given:
        trade = write(usdc_opportunity, reference_prices=context.reference_prices)
    assert len(given.captured_queries) == len(read.captured_queries) - 1
    trade.refresh_from_db()
    assert (trade.native_price, trade.native_usd_price) == (3_000 * E6, 3_001 * E6)
