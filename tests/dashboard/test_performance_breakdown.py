"""/performance/ in one currency, its breakdown table, its CSV and its live refresh."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from dashboard import frames
from dashboard.performance import CSV_COLUMNS
from trading import events

from ..trading import factories as f
from .helpers import connect, cycle, receive_frame

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
USD_3000 = 3_000 * 10**6
USD_3500 = 3_500 * 10**6


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr("trading.selectors.now", lambda: NOW)
    return NOW


@pytest.fixture
def priced(market, frozen_now):
    """Three trades worked out by hand.

    - WETH: earns 0.004 WETH, pays 0.001 ETH of gas: nets 0.003 WETH = 0.003 ETH = $9
      (ETH at $3,000); gas $3.
    - USDC: earns 7.35 USDC, pays 0.0001 ETH of gas at 3,500 USDC per ETH (0.35 USDC):
      nets 7 USDC = 0.002 ETH = $7 (ETH at $3,500); gas $0.35.
    - USDC: earns 1 USDC, no gas and no stored price: counts in USDC only.
    """
    weth_trade = f.trade(
        cycle(market, detected_at=NOW - 3 * HOUR),
        created_at=NOW - 3 * HOUR,
        realized_profit=4 * 10**15,
        gas_cost_wei=10**15,
        native_price=10**18,
        native_usd_price=USD_3000,
    )
    usdc_trade = f.trade(
        cycle(market, start="usdc", detected_at=NOW - 2 * HOUR),
        created_at=NOW - 2 * HOUR,
        realized_profit=7_350_000,
        gas_cost_wei=10**14,
        native_price=3_500 * 10**6,
        native_usd_price=USD_3500,
        status="reverted",
    )
    unpriced = f.trade(
        cycle(market, start="usdc", detected_at=NOW - HOUR),
        created_at=NOW - HOUR,
        realized_profit=1_000_000,
        gas_cost_wei=0,
        native_price=None,
    )
    assert weth_trade.net_profit == 3 * 10**15 and usdc_trade.net_profit == 7_000_000
    assert unpriced.net_profit == 1_000_000
    return market


def _data(client, **params):
    return client.get(reverse("dashboard:performance_data"), {"range": "24h", **params}).json()


@pytest.mark.parametrize(
    "params,symbol,total,gas_smallest,unconverted",
    [
        ({}, "ETH", "0.005", 10**15 + 10**14, 1),
        ({"currency": "usd"}, "USD", "16", 3_000_000 + 350_000, 1),
        # WETH is the wrapped native coin: every priced trade converts.
        ({"currency": "token", "token": "weth"}, "WETH", "0.005", 10**15 + 10**14, 1),
        # USDC: its own two trades (the unpriced one too); the WETH trade has no USDC price.
        ({"currency": "token", "token": "usdc"}, "USDC", "8", 350_000, 1),
    ],
)
def test_totals_in_each_currency_equal_hand_computed_integers(
    operator_client, priced, params, symbol, total, gas_smallest, unconverted
):
    if "token" in params:
        params = {**params, "token": priced[params["token"]].pk}
    money = _data(operator_client, **params)["currency"]
    assert money["symbol"] == symbol
    assert money["total"] == total
    assert money["cumulative"][-1] == total
    assert sum(int(v) for v in money["gas_smallest"]) == gas_smallest
    assert money["unconverted"] == unconverted


def test_the_page_flags_trades_it_could_not_convert(operator_client, priced):
    body = operator_client.get(
        reverse("dashboard:performance"), {"range": "24h", "currency": "usd"}
    ).content.decode()
    assert "1 trade without a price in USD, not converted" in body
    net = re.search(r'id="performance-net"[^>]*>([^<]*)<', body)
    assert net and net.group(1) == "16 USD"
    assert "Totals in USD" in body


def test_the_token_currency_defaults_to_the_token_traded_most(operator_client, market, frozen_now):
    # USDC sorts first by symbol; WETH has more trades and must be the default.
    for _ in range(2):
        f.trade(cycle(market, start="usdc", detected_at=NOW - HOUR), created_at=NOW - HOUR)
    for _ in range(5):
        f.trade(cycle(market, detected_at=NOW - HOUR), created_at=NOW - HOUR)
    money = _data(operator_client, currency="token")["currency"]
    assert money["symbol"] == "WETH"
    assert [(t["symbol"], t["trades"], t["selected"]) for t in money["tokens"]] == [
        ("WETH", 5, True),
        ("USDC", 2, False),
    ]
    body = operator_client.get(
        reverse("dashboard:performance"), {"range": "24h", "currency": "token"}
    ).content.decode()
    assert f'<option value="{market["weth"].pk}" selected>WETH (5 trades)</option>' in body


@pytest.fixture
def three_hops(market, frozen_now):
    """A WETH → USDC → DAI → WETH trade through Uniswap V2 twice and Aerodrome once,
    and a two-hop one through both."""
    net, weth, usdc = market["net"], market["weth"], market["usdc"]
    dai = f.token(net, "DAI", 18)
    usdc_dai = f.pool(market["uni"], usdc, dai)
    dai_weth = f.pool(market["aero"], dai, weth)
    opp = f.opportunity(
        weth, pools=[market["pools"][0], usdc_dai, dai_weth], detected_at=NOW - HOUR
    )
    opp.path = [
        {"pool": market["pools"][0].address, "token_in": weth.address, "token_out": usdc.address},
        {"pool": usdc_dai.address.lower(), "token_in": usdc.address, "token_out": dai.address},
        {"pool": dai_weth.address, "token_in": dai.address.lower(), "token_out": weth.address},
    ]
    opp.save()
    # Uniswap V2 serves hops 1 and 2 here, yet the trade counts once for it.
    f.trade(opp, created_at=NOW - HOUR, realized_profit=5 * 10**15, gas_cost_wei=10**15)
    f.trade(
        cycle(market, detected_at=NOW - HOUR),
        created_at=NOW - HOUR,
        realized_profit=0,
        gas_cost_wei=10**15,
        status="reverted",
    )
    return market


def _csv(client, **params):
    response = client.get(reverse("dashboard:performance_csv"), {"range": "24h", **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_a_trade_counts_once_for_each_dex_it_touched(operator_client, three_hops):
    header, *rows = _csv(operator_client, group="dex", sort="label", dir="asc")
    assert header == CSV_COLUMNS
    table = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(table) == ["Aerodrome", "UniswapV2"]
    for name in table:
        assert table[name]["trades"] == "2"
        assert table[name]["successful"] == "1" and table[name]["success_rate_percent"] == "50.00"
        # 0.004 ETH net for the first, -0.001 ETH for the reverted one.
        assert table[name]["net_after_gas"] == "0.003"
        assert table[name]["gas_spent"] == "0.002"
        assert table[name]["average_net_per_trade"] == "0.0015"
        assert table[name]["best_trade"] == "0.004"
        assert table[name]["currency"] == "ETH" and table[name]["decimals"] == "18"


def test_routes_and_pairs(operator_client, three_hops):
    _, *routes = _csv(operator_client, group="route", sort="net", dir="desc")
    assert [(r[1], r[4], r[8]) for r in routes] == [
        ("WETH →(UniswapV2) USDC →(UniswapV2) DAI →(Aerodrome) WETH", "1", "0.004"),
        ("WETH →(UniswapV2) USDC →(Aerodrome) WETH", "1", "-0.001"),
    ]
    _, *pairs = _csv(operator_client, group="pair", sort="trades", dir="desc")
    assert [(r[1], r[4]) for r in pairs] == [
        ("USDC / WETH", "2"),
        ("DAI / USDC", "1"),
        ("DAI / WETH", "1"),
    ]


def test_the_table_sorts_by_each_column_with_links_and_aria_sort(operator_client, priced):
    url = reverse("dashboard:performance")
    body = operator_client.get(
        url, {"range": "24h", "group": "token", "sort": "trades", "dir": "desc"}
    ).content.decode()
    table = body[body.index('id="breakdown"') :]
    assert table.index(">USDC") < table.index(">WETH")  # 2 trades before 1
    header = re.search(
        r'<th scope="col" aria-sort="descending" class="num"><a href="([^"]+)"', table
    )
    assert header and "sort=trades" in header.group(1) and "dir=asc" in header.group(1)
    assert table.count('aria-sort="none"') == 6
    body = operator_client.get(
        url, {"range": "24h", "group": "token", "sort": "trades", "dir": "asc"}
    ).content.decode()
    table = body[body.index('id="breakdown"') :]
    assert table.index(">WETH") < table.index(">USDC")
    assert 'aria-sort="ascending"' in table


def test_csv_rows_are_the_table_rows_in_the_chosen_currency(operator_client, priced):
    header, *rows = _csv(operator_client, group="token", currency="usd", sort="label", dir="asc")
    assert [dict(zip(header, row, strict=True)) for row in rows] == [
        {
            "group": "token",
            "name": "USDC",
            "currency": "USD",
            "decimals": "6",
            "trades": "2",
            "successful": "1",
            "settled": "2",
            "success_rate_percent": "50.00",
            "net_after_gas": "7",
            "gas_spent": "0.35",
            "average_net_per_trade": "7",
            "best_trade": "7",
            "converted_trades": "1",
            "trades_without_price": "1",
        },
        {
            "group": "token",
            "name": "WETH",
            "currency": "USD",
            "decimals": "6",
            "trades": "1",
            "successful": "1",
            "settled": "1",
            "success_rate_percent": "100.00",
            "net_after_gas": "9",
            "gas_spent": "3",
            "average_net_per_trade": "9",
            "best_trade": "9",
            "converted_trades": "1",
            "trades_without_price": "0",
        },
    ]


def test_bad_choices_are_refused_clearly(operator_client, priced):
    body = operator_client.get(
        reverse("dashboard:performance"), {"range": "24h", "currency": "eur", "sort": "colour"}
    ).content.decode()
    assert "Currency: Select a valid choice. eur is not one of the available choices." in body
    # The rest still applies, in the default currency.
    assert "Totals in ETH" in body
    response = operator_client.get(reverse("dashboard:performance_csv"), {"currency": "eur"})
    assert response.status_code == 400 and b"Currency: Select a valid choice" in response.content


def test_a_handful_of_queries_however_many_trades(
    operator_client, market, frozen_now, django_assert_max_num_queries
):
    def add(n):
        for i in range(n):
            f.trade(
                cycle(market, start="usdc" if i % 2 else "weth", detected_at=NOW - HOUR),
                created_at=NOW - HOUR,
            )

    add(3)
    with django_assert_max_num_queries(30) as few:
        operator_client.get(reverse("dashboard:performance"), {"range": "24h", "group": "dex"})
    add(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        operator_client.get(reverse("dashboard:performance"), {"range": "24h", "group": "dex"})


def test_a_live_refresh_gets_the_figures_only(operator_client, priced):
    response = operator_client.get(
        reverse("dashboard:performance"),
        {"range": "24h", "currency": "usd"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="performance-figures",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="performance-figures"')
    assert "<html" not in body and "16 USD" in body


def test_the_performance_page_listens_for_trades(operator_client, priced):
    body = operator_client.get(reverse("dashboard:performance")).content.decode()
    assert 'ws-connect="/ws/dashboard/?page=performance"' in body
    assert 'hx-trigger="performance-changed from:body delay:1s' in body


@pytest.mark.django_db(transaction=True)
async def test_a_trade_event_tells_the_performance_page_to_refresh(
    isolated_layer, operator, market
):
    socket = await connect(operator, page=frames.PERFORMANCE)

    @sync_to_async
    def record():
        trade = f.trade(cycle(market), status="pending")
        events.send(events.trade_changed, trade_id=trade.pk)
        trade.status = "success"
        trade.save()
        events.send(events.trade_changed, trade_id=trade.pk)
        return trade

    trade = await record()
    first = await receive_frame(socket, "performance-changed")
    second = await receive_frame(socket, "performance-changed")
    assert f'data-trade="{trade.pk}"' in first and 'data-status="pending"' in first
    assert 'hx-swap-oob="true"' in first and 'data-status="success"' in second
    # No overview rows for this page.
    assert "trade-feed-rows" not in first + second
    await socket.disconnect()
