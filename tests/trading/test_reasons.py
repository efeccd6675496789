"""Reason categories: from the words the project writes, and for rows written before them."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from tests.trading import factories as f
from trading.models import Opportunity, Trade
from trading.reasons import ReasonCode, reason_code_for, revert_code

fill = import_module("trading.migrations.0023_reason_code")

# Words as the project writes them (before and after amounts were said in units) -> category.
WORDS = {
    "": ReasonCode.NONE,
    "gross profit below 327564454100001 (gas plus the minimum net profit)": "below_threshold",
    "gross profit below the 0.000327 WETH needed (gas plus the minimum net profit)": (
        "below_threshold"
    ),
    "prices after fees allow at most 0 gross profit, below the minimum 1": "below_threshold",
    "net profit -5 below the minimum 1": "below_threshold",
    "profit 0.1 WETH below the minimum 0.2 WETH after slippage and gas": "below_threshold",
    "no longer profitable on the newest state": "stale",
    "no longer profitable at block 12": "stale",
    "cannot be quoted: empty pool": "unquotable",
    "pool 0xabc has no readable state": "unquotable",
    "no pool prices the native token in 0xabc: gas cannot be priced": "unquotable",
    "simulation reverted: unprofitable: would have earned 0.001 WETH, needed 0.002 WETH": (
        "revert_unprofitable"
    ),
    "simulated profit 5 below 6": "revert_unprofitable",
    "simulation reverted: hop 2 would return nothing": "revert_price_moved",
    "simulation reverted: a pool asked for 2 WETH, more than the 1 WETH allowed": (
        "revert_price_moved"
    ),
    "simulation reverted: expired: reached block 9 after its deadline block 8": "revert_expired",
    "simulation reverted: reverted: STF": "revert_error_string",
    "simulation reverted: panic 0x11: arithmetic overflow or underflow": "revert_panic",
    "simulation reverted: execution reverted (0xdeadbeef)": "revert_other",
    "gas price 12 gwei above the limit 10 gwei": "gas_price",
    "gas price 12000000000 wei above the limit 10000000000": "gas_price",
    "input above the maximum trade size": "trade_size",
    "kill switch on: paused by admin": "paused",
    "daily loss limit reached (123 wei lost today)": "daily_loss",
    "live mode needs a signing key (LISTONIAN_PRIVATE_KEY)": "account",
    "pool 0xabc is not known to its factory 0xdef: the pool is disabled": "pool_refused",
    "trade failed: send refused: nonce too low": "send_refused",
    "trade dropped: its nonce was used by another transaction": "dropped",
    "trade reverted: reverted on chain (gas used 50000)": "reverted_on_chain",
    "reorg: block 5 left the chain": "reorg",
    "claim abandoned: its execution never finished": "error",
    "RuntimeError: boom": "error",
    "dry run: simulated, nothing sent": "dry_run",
    "something nobody wrote": "other",
}


@pytest.mark.parametrize("words,code", list(WORDS.items()))
def test_it_names_the_category_of_words(words: str, code: str) -> None:
    assert reason_code_for(words) == code


@pytest.mark.parametrize("words,code", list(WORDS.items()))
def test_the_migration_names_the_same_categories(words: str, code: str) -> None:
    assert fill.code_for(words) == code


def test_it_names_the_category_of_a_decoded_revert() -> None:
    assert revert_code("Unprofitable") == ReasonCode.REVERT_UNPROFITABLE
    assert revert_code("ZeroOutput") == ReasonCode.REVERT_PRICE_MOVED
    assert revert_code("Error") == ReasonCode.REVERT_ERROR_STRING
    assert revert_code("Panic") == ReasonCode.REVERT_PANIC
    assert revert_code("NotOwner") == revert_code(None) == ReasonCode.REVERT_OTHER


@pytest.mark.django_db
def test_the_migration_fills_the_category_of_existing_rows() -> None:
    weth = f.token(f.network(name="Local"), "WETH")
    stale = f.opportunity(weth, status="stale", status_reason="gross profit below 5 (gas …)")
    odd = f.opportunity(weth, status="failed", status_reason="something nobody wrote")
    fresh = f.opportunity(weth, status="detected")
    reverted = f.trade(stale, mode="live", status="reverted", error="")
    refused = f.trade(odd, mode="live", status="failed", error="send refused: nonce too low")
    won = f.trade(fresh, mode="live", status="success")
    Opportunity.objects.update(reason_code="")
    Trade.objects.update(reason_code="")

    fill.fill_codes(apps, None)

    def code(row: Opportunity | Trade) -> str:
        row.refresh_from_db()
        return row.reason_code

    assert [code(stale), code(odd), code(fresh)] == ["below_threshold", "other", ""]
    assert [code(reverted), code(refused), code(won)] == ["reverted_on_chain", "send_refused", ""]


@pytest.mark.django_db
def test_the_migration_fills_a_table_of_distinct_words_in_batches(
    django_assert_max_num_queries,
) -> None:
    """Old words carry amounts, so nearly every row's words differ: one pass, by batches."""
    weth = f.token(f.network(name="Local"), "WETH")
    rows = [
        f.opportunity(weth, status="stale", status_reason=f"gross profit below {n} (gas …)")
        for n in range(1, 1201)
    ]
    rows += [
        f.opportunity(weth, status="failed", status_reason=f"odd words {n}") for n in range(40)
    ]
    Opportunity.objects.update(reason_code="")
    Trade.objects.update(reason_code="")

    # A query per distinct text would be 1,240 queries; batches of 500 rows take a handful.
    with django_assert_max_num_queries(20):
        fill.fill_codes(apps, None)

    codes = dict(Opportunity.objects.values_list("pk", "reason_code"))
    assert [codes[r.pk] for r in rows[:1200]] == ["below_threshold"] * 1200
    assert [codes[r.pk] for r in rows[1200:]] == ["other"] * 40
