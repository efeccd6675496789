"""Opportunity and trade history: filters, exact profit ranges, pagination, CSV, detail pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from trading.fields import UINT256_MAX
from trading.selectors import HistoryFilters, amount_to_units, opportunity_history

from ..trading import factories as f
from .helpers import cycle


def _ids(response) -> list[int]:
    return [row.id for row in response.context["rows"]]


def _csv(response) -> list[dict[str, str]]:
    assert response.streaming  # sent as it is built, never held whole in memory
    return list(csv.DictReader(io.StringIO(response.getvalue().decode())))


# --- Opportunity filters ----------------------------------------------------------------------


@pytest.fixture
def history(market):
    weth, usdc = market["weth"], market["usdc"]
    uni_pool, aero_pool, aero_pool2 = market["pools"]
    base = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    rows = {
        "small_weth": cycle(market, net_profit=5 * 10**15, detected_at=base, pools=[uni_pool]),
        "big_weth": cycle(
            market,
            net_profit=2 * 10**16,
            status="executed",
            detected_at=base + dt.timedelta(days=1),
            pools=[aero_pool, aero_pool2],
        ),
        "usdc": cycle(
            market,
            start="usdc",
            net_profit=15_000,  # 0.015 USDC
            amount_in=10**9,
            detected_at=base + dt.timedelta(days=2),
            pools=[uni_pool, aero_pool],
        ),
        "loss": cycle(market, net_profit=-(10**15), status="skipped", detected_at=base),
    }
    assert weth and usdc
    return rows


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"small_weth", "big_weth", "usdc", "loss"}),
        ({"status": "executed"}, {"big_weth"}),
        ({"min_profit": "0.01"}, {"big_weth", "usdc"}),  # 0.01 of each start token
        ({"min_profit": "0.01", "max_profit": "0.0151"}, {"usdc"}),
        ({"max_profit": "0"}, {"loss"}),
        ({"min_profit": "0.005", "max_profit": "0.005"}, {"small_weth"}),
        ({"since": "2026-03-11"}, {"big_weth", "usdc"}),
        ({"until": "2026-03-11"}, {"small_weth", "big_weth", "loss"}),  # inclusive day
    ],
)
def test_opportunity_filters(operator_client, history, query, expected):
    response = operator_client.get(reverse("dashboard:opportunities"), query)
    assert set(_ids(response)) == {history[name].pk for name in expected}


def test_token_and_dex_filters(operator_client, history, market):
    response = operator_client.get(reverse("dashboard:opportunities"), {"token": market["usdc"].pk})
    assert _ids(response) == [history["usdc"].pk]
    response = operator_client.get(reverse("dashboard:opportunities"), {"dex": market["uni"].pk})
    # Through pools__dex, each opportunity once however many of its pools match.
    assert sorted(_ids(response)) == sorted(
        [history["small_weth"].pk, history["usdc"].pk, history["loss"].pk]
    )


def test_a_profit_range_with_a_token_uses_that_tokens_decimals(history, market):
    filters = HistoryFilters(token_id=market["usdc"].pk, min_profit=Decimal("0.015"))
    assert list(opportunity_history(filters)) == [history["usdc"]]
    filters = HistoryFilters(token_id=market["usdc"].pk, min_profit=Decimal("0.0150001"))
    assert list(opportunity_history(filters)) == []


def test_invalid_filters_are_shown_and_not_applied(operator_client, history):
    response = operator_client.get(
        reverse("dashboard:opportunities"), {"min_profit": "lots", "status": "executed"}
    )
    body = response.content.decode()
    assert "Enter a number" in body
    assert _ids(response) == [history["big_weth"].pk]
    response = operator_client.get(
        reverse("dashboard:opportunities"), {"min_profit": "1", "max_profit": "0.5"}
    )
    assert "below the lower bound" in response.content.decode()


def test_the_empty_state_depends_on_filters(operator_client, db):
    body = operator_client.get(reverse("dashboard:opportunities")).content.decode()
    assert "No opportunities yet" in body and "sync_pools" in body
    body = operator_client.get(
        reverse("dashboard:opportunities"), {"status": "failed"}
    ).content.decode()
    assert "No opportunity matches these filters" in body


def test_pagination_keeps_the_filters(operator_client, market):
    for i in range(120):
        cycle(market, block=i, status="stale" if i % 2 else "detected")
    response = operator_client.get(reverse("dashboard:opportunities"), {"status": "stale"})
    assert len(response.context["rows"]) == 50
    body = response.content.decode()
    assert "Page 1 of 2" in body and "?status=stale&amp;page=2" in body
    page2 = operator_client.get(reverse("dashboard:opportunities"), {"status": "stale", "page": 2})
    assert len(page2.context["rows"]) == 10
    assert set(_ids(response)).isdisjoint(_ids(page2))


def test_htmx_filtering_returns_only_the_results(operator_client, history):
    response = operator_client.get(
        reverse("dashboard:opportunities"),
        {"status": "executed"},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"') and "<html" not in body


def test_pages_show_token_units_never_wei(operator_client, history):
    body = operator_client.get(reverse("dashboard:opportunities")).content.decode()
    assert "0.02 WETH" in body and "0.015 USDC" in body
    assert "20000000000000000" not in body


# --- CSV --------------------------------------------------------------------------------------


def test_opportunity_csv_has_exact_integers_and_decimals(operator_client, history, market):
    huge = cycle(market, amount_in=UINT256_MAX, net_profit=2**200 + 1, status="executed")
    response = operator_client.get(reverse("dashboard:opportunities_csv"), {"status": "executed"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = {int(r["id"]): r for r in _csv(response)}
    assert set(rows) == {history["big_weth"].pk, huge.pk}  # the filtered set, every page
    row = rows[huge.pk]
    assert row["amount_in_wei"] == str(UINT256_MAX)
    assert row["net_profit_wei"] == str(2**200 + 1)
    assert row["net_profit"] == amount_to_units(2**200 + 1, 18)
    assert rows[history["big_weth"].pk]["net_profit"] == "0.02"
    assert row["route"] == "WETH → USDC → WETH" and row["start_token"] == "WETH"


def test_the_export_starts_with_a_small_chunk_then_sends_full_batches(market, monkeypatch):
    from asgiref.sync import async_to_sync

    from dashboard import exports
    from trading.selectors import trade_history

    monkeypatch.setattr(exports, "_FIRST_BATCH", 3)
    monkeypatch.setattr(exports, "_BATCH", 5)
    opps = [cycle(market, block=i) for i in range(12)]
    trades = [f.trade(opp) for opp in opps]

    async def chunks(response) -> list[str]:
        return [chunk.decode() async for chunk in response.streaming_content]

    for rows, written in (
        (exports.opportunity_rows(opportunity_history(HistoryFilters())), opps),
        (exports.trade_rows(trade_history(HistoryFilters())), trades),
    ):
        sent = async_to_sync(chunks)(exports.csv_response(rows, "x", asynchronous=True))
        # The header and three rows first, then batches of five: 13 lines in all.
        assert [chunk.count("\n") for chunk in sent] == [4, 5, 4]
        ids = [int(line.split(",")[0]) for line in "".join(sent).splitlines()[1:]]
        assert ids == [row.pk for row in reversed(written)]  # newest first, each once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_export_reads_through_a_cursor_that_streams(market, monkeypatch):
    from django.db import connection

    from dashboard import exports

    monkeypatch.setattr(exports, "_FIRST_BATCH", 1)
    monkeypatch.setattr(exports, "_BATCH", 2)
    for i in range(5):
        cycle(market, block=i)
    batches = exports._batches(opportunity_history(HistoryFilters()))
    assert len(next(batches)) == 1  # the cursor stays open for the rest
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        # A holdable cursor would have been built whole before its first row.
        assert cursor.fetchall() == [(False,)]
    batches.close()
    assert not connection.in_atomic_block


def test_csv_cells_cannot_become_formulas(operator_client, market):
    evil = f.token(market["net"], "=HYPERLINK(1)", 18)
    f.opportunity(evil)
    rows = _csv(operator_client.get(reverse("dashboard:opportunities_csv")))
    assert rows[0]["start_token"] == "'=HYPERLINK(1)"


# --- Trades -----------------------------------------------------------------------------------


@pytest.fixture
def trades(history, market):
    return {
        "win": f.trade(history["big_weth"], realized_profit=3 * 10**16, mode="live"),
        "dry": f.trade(
            history["small_weth"], realized_profit=4 * 10**15, mode="dry_run", status="simulated"
        ),
        "usdc": f.trade(history["usdc"], realized_profit=20_000, gas_cost_wei=7 * 10**13),
        "reverted": f.trade(
            history["loss"], realized_profit=-(10**14), status="reverted", tx_hash="0x" + "cd" * 32
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"win", "dry", "usdc", "reverted"}),
        ({"status": "reverted"}, {"reverted"}),
        ({"mode": "dry_run"}, {"dry"}),
        ({"min_profit": "0.02"}, {"win", "usdc"}),  # realized profit, per token decimals
        ({"max_profit": "0"}, {"reverted"}),
    ],
)
def test_trade_filters(operator_client, trades, query, expected):
    response = operator_client.get(reverse("dashboard:trades"), query)
    assert set(_ids(response)) == {trades[name].pk for name in expected}


def test_trade_dex_and_token_filters(operator_client, trades, market):
    response = operator_client.get(reverse("dashboard:trades"), {"token": market["usdc"].pk})
    assert _ids(response) == [trades["usdc"].pk]
    response = operator_client.get(reverse("dashboard:trades"), {"dex": market["aero"].pk})
    assert set(_ids(response)) == {trades["win"].pk, trades["usdc"].pk, trades["reverted"].pk}


def test_trade_csv(operator_client, trades):
    rows = _csv(operator_client.get(reverse("dashboard:trades_csv"), {"token": ""}))
    by_id = {int(r["id"]): r for r in rows}
    usdc = by_id[trades["usdc"].pk]
    assert usdc["realized_profit_wei"] == "20000" and usdc["realized_profit"] == "0.02"
    assert usdc["gas_cost_wei"] == str(7 * 10**13) and usdc["gas_cost_native"] == "0.00007"
    assert by_id[trades["reverted"].pk]["realized_profit_wei"] == str(-(10**14))


def test_trade_detail_page(operator_client, trades, market):
    trade = trades["reverted"]
    trade.gas_used = 150_000
    trade.block_number = 4321
    trade.save()
    response = operator_client.get(reverse("dashboard:trade_detail", args=[trade.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "WETH → USDC → WETH" in body
    assert "UniswapV2" in body and "Aerodrome" in body  # pool and DEX names per hop
    assert "-0.0001 WETH" in body  # realized profit in token units
    assert "150,000" in body and "4321" in body
    assert trade.tx_hash in body and f"https://explorer.test/tx/{trade.tx_hash}" in body
    assert "0.0001 ETH" in body  # gas cost in the native currency
    opp_url = reverse("dashboard:opportunity_detail", args=[trade.opportunity_id])
    assert f'href="{opp_url}"' in body


def test_opportunity_detail_lists_its_trades(operator_client, trades):
    trade = trades["win"]
    body = operator_client.get(
        reverse("dashboard:opportunity_detail", args=[trade.opportunity_id])
    ).content.decode()
    assert reverse("dashboard:trade_detail", args=[trade.pk]) in body
    assert "0.0299 WETH" in body  # 0.03 earned, less 0.0001 of gas


def test_missing_rows_are_404(operator_client, db):
    assert operator_client.get(reverse("dashboard:trade_detail", args=[999])).status_code == 404
    assert (
        operator_client.get(reverse("dashboard:opportunity_detail", args=[999])).status_code == 404
    )


def test_a_reverted_trade_shows_its_gas_as_a_red_loss(operator_client, trades):
    response = operator_client.get(reverse("dashboard:trades"), {"status": "reverted"})
    body = response.content.decode()
    # It lost 0.0001 WETH in the swaps and burned 0.0001 ETH of gas.
    assert '<td class="num neg">-0.0002 WETH' in body


def test_net_profit_is_shown_in_native_currency_and_dollars(operator_client, trades):
    trade = trades["win"]
    trade.native_usd_price = 2_000 * 10**6
    trade.save()
    body = operator_client.get(reverse("dashboard:trades"), {"mode": "live"}).content.decode()
    # 0.03 WETH earned, 0.0001 ETH of gas: 0.0299 ETH at $2,000.
    assert "0.0299 WETH" in body and "0.0299 ETH" in body and "59.8 USD" in body


def test_the_unsuccessful_filter_lists_failed_reverted_and_dropped_trades(
    operator_client, trades, history
):
    dropped = f.trade(history["usdc"], status="dropped", realized_profit=None, gas_cost_wei=None)
    response = operator_client.get(reverse("dashboard:trades"), {"status": "unsuccessful"})
    assert set(_ids(response)) == {trades["reverted"].pk, dropped.pk}


# --- Reasons ----------------------------------------------------------------------------------


@pytest.fixture
def reasons(history, trades):
    """Reasons on the rows, as the services write them: words and their category."""
    from trading.models import Opportunity, Trade

    below = "gross profit below the 0.0015 WETH needed (gas plus the minimum net profit)"
    Opportunity.objects.filter(pk=history["small_weth"].pk).update(
        status="stale", status_reason=below, reason_code="below_threshold"
    )
    Opportunity.objects.filter(pk=history["loss"].pk).update(
        status_reason="gas price 12 gwei above the limit 10 gwei", reason_code="gas_price"
    )
    reverted = (
        "reverted on chain: unprofitable: would have earned 0.0001 WETH, needed 0.0003 WETH "
        "(gas used 50,000 of 600,000)"
    )
    Trade.objects.filter(pk=trades["reverted"].pk).update(
        error=reverted, reason_code="reverted_on_chain"
    )
    return {"below": below, "reverted": reverted}


def test_the_histories_show_a_reason_column_with_the_whole_words_on_hover(
    operator_client, history, trades, reasons
):
    body = operator_client.get(reverse("dashboard:opportunities")).content.decode()
    assert "<th>Reason</th>" in body
    assert f'<td class="reason-cell" title="{reasons["below"]}">Below threshold</td>' in body
    assert (
        '<td class="reason-cell" title="gas price 12 gwei above the limit 10 gwei">'
        "Gas price above limit</td>"
    ) in body
    assert '<td class="reason-cell">—</td>' in body  # a row with no reason
    body = operator_client.get(reverse("dashboard:trades")).content.decode()
    assert "<th>Reason</th>" in body
    assert f'<td class="reason-cell" title="{reasons["reverted"]}">Reverted on chain</td>' in body


def test_the_reason_filter_offers_the_reasons_present_and_narrows_the_rows(
    operator_client, history, trades, reasons
):
    response = operator_client.get(reverse("dashboard:opportunities"))
    choices = [value for value, _ in response.context["form"].fields["reason"].choices]
    assert choices == ["", "below_threshold", "gas_price"]
    response = operator_client.get(reverse("dashboard:opportunities"), {"reason": "gas_price"})
    assert _ids(response) == [history["loss"].pk]
    response = operator_client.get(reverse("dashboard:trades"), {"reason": "reverted_on_chain"})
    assert _ids(response) == [trades["reverted"].pk]
    trade_choices = [v for v, _ in response.context["form"].fields["reason"].choices]
    assert trade_choices == ["", "reverted_on_chain"]


def test_a_reason_no_row_has_left_matches_nothing_and_an_unknown_one_is_refused(
    operator_client, history, reasons
):
    response = operator_client.get(reverse("dashboard:opportunities"), {"reason": "daily_loss"})
    assert _ids(response) == []
    response = operator_client.get(reverse("dashboard:opportunities"), {"reason": "bogus"})
    assert "Select a valid choice" in response.content.decode()
    assert len(_ids(response)) == len(history)  # shown, not applied


def test_both_exports_carry_the_reason_and_honour_its_filter(
    operator_client, history, trades, reasons
):
    rows = _csv(
        operator_client.get(reverse("dashboard:opportunities_csv"), {"reason": "below_threshold"})
    )
    assert [(int(r["id"]), r["reason_code"], r["reason"]) for r in rows] == [
        (history["small_weth"].pk, "below_threshold", reasons["below"])
    ]
    rows = _csv(operator_client.get(reverse("dashboard:trades_csv")))
    assert list(rows[0])[-2:] == ["reason_code", "reason"]
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[trades["reverted"].pk]["reason_code"] == "reverted_on_chain"
    assert by_id[trades["reverted"].pk]["reason"] == reasons["reverted"]
    assert by_id[trades["win"].pk]["reason_code"] == by_id[trades["win"].pk]["reason"] == ""
    rows = _csv(operator_client.get(reverse("dashboard:trades_csv"), {"reason": "gas_price"}))
    assert rows == []
