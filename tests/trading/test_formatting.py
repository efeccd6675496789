"""Text for people and for the database: exact amounts, no control characters."""

from __future__ import annotations

import pytest

from trading.formatting import printable
from trading.models import Opportunity, Trade
from trading.services.execution import opportunity_finish, trade_settle

from . import factories as f

# What a node may put in an error message: raw revert bytes decoded as text.
RAW = "execution reverted: \x00\x00\x00\x01Unprofitable\x07\x1b[31m\nsecond line\tend"


def test_printable_drops_control_characters_but_keeps_lines():
    assert printable(RAW) == "execution reverted: Unprofitable[31m\nsecond line\tend"
    assert printable(RAW, 10) == "execution "
    assert printable("") == ""


@pytest.mark.django_db
def test_reasons_with_nul_bytes_are_stored_on_every_database():
    # PostgreSQL refuses NUL in text columns: before, this failed there and the
    # execution path lost the outcome it was recording.
    start = f.token(f.network())
    opp = f.opportunity(start)
    opportunity_finish(opportunity_id=opp.pk, status="stale", reason=RAW)
    opp.refresh_from_db()
    assert opp.status == "stale" and "\x00" not in opp.status_reason
    assert "Unprofitable" in opp.status_reason

    trade = f.trade(f.opportunity(start, block=2), status="pending")
    trade_settle(trade_id=trade.pk, status="failed", error=RAW)
    trade = Trade.objects.get(pk=trade.pk)
    assert trade.status == "failed" and "\x00" not in trade.error
    assert "\x00" not in Opportunity.objects.get(pk=trade.opportunity_id).status_reason
