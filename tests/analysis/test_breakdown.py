"""Trade results in one currency and their breakdown: exact sums against hand-computed integers."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.analysis import breakdown as b
from trading.analysis.breakdown import Currency, Hop, TradeFacts

WETH, USDC, DAI = 1, 2, 3
E18 = 10**18
# Millionths of a dollar per native coin.
USD_3000 = 3_000 * 10**6
USD_3500 = 3_500 * 10**6

W, U, D = "0xweth", "0xusdc", "0xdai"


def hop(a: str, c: str, dex: str) -> Hop:
    names = {W: "WETH", U: "USDC", D: "DAI"}
    return Hop(token_in=a, token_out=c, dex=dex, symbol_in=names[a], symbol_out=names[c])


def trade(start: int = WETH, **kwargs) -> TradeFacts:
    values = {
        "start_token_id": start,
        "start_symbol": {WETH: "WETH", USDC: "USDC", DAI: "DAI"}[start],
        "status": "success",
        "net_profit": 0,
        "gas_cost_wei": 0,
        "native_price": E18 if start == WETH else 3_000 * 10**6,
        "native_usd_price": USD_3000,
        "wrapped_native_id": WETH,
    }
    values.update(kwargs)
    return TradeFacts(**values)


# A: WETH, nets 0.003 WETH after 0.0001 ETH of gas, ETH at $3,000.
A = trade(WETH, net_profit=3 * 10**15, gas_cost_wei=10**14)
# B: USDC, nets 7 USDC after 0.0001 ETH of gas, at 3,500 USDC and $3,500 per ETH.
B = trade(
    USDC,
    net_profit=7_000_000,
    gas_cost_wei=10**14,
    native_price=3_500 * 10**6,
    native_usd_price=USD_3500,
)


def both(value):
    return None if value is None else (value.net, value.gas)


def test_one_trade_in_each_currency_is_exact():
    native = both(b.convert(A, Currency(b.NATIVE)))
    assert native == (Fraction(3 * 10**15), Fraction(10**14))
    usd = both(b.convert(A, Currency(b.USD)))
    assert usd == (Fraction(9_000_000), Fraction(300_000))  # $9 and $0.30
    assert both(b.convert(B, Currency(b.NATIVE))) == (Fraction(2 * 10**15), Fraction(10**14))
    assert both(b.convert(B, Currency(b.USD))) == (Fraction(7_000_000), Fraction(350_000))
    # In its own token no price is involved for the net; gas at the trade's price.
    assert both(b.convert(B, Currency(b.TOKEN, USDC))) == (Fraction(7_000_000), Fraction(350_000))
    # WETH is the wrapped native coin: any priced trade converts into it.
    assert both(b.convert(B, Currency(b.TOKEN, WETH))) == (Fraction(2 * 10**15), Fraction(10**14))
    # USDC is not: a WETH trade has no price in USDC.
    assert both(b.convert(A, Currency(b.TOKEN, USDC))) is None


def test_sums_are_exact_before_the_one_final_rounding():
    # 1 smallest USDC unit at 3,000 USDC per ETH is 333,333,333.33… wei: three make 10**9
    # exactly, where rounding each trade first would lose one wei.
    trades = [trade(USDC, net_profit=1) for _ in range(3)]
    totals = b.series(trades, Currency(b.NATIVE), 0).totals
    assert totals.net == Fraction(10**9)
    assert totals.truncated()[0] == 10**9
    assert sum(int(b.convert(t, Currency(b.NATIVE)).net) for t in trades) == 999_999_999  # type: ignore[union-attr]


def test_series_per_bucket_and_totals_in_usd():
    trades = [
        trade(WETH, net_profit=3 * 10**15, gas_cost_wei=10**14, bucket=0),
        trade(
            USDC,
            net_profit=7_000_000,
            gas_cost_wei=10**14,
            native_price=3_500 * 10**6,
            native_usd_price=USD_3500,
            bucket=2,
        ),
        trade(WETH, net_profit=-(10**14), gas_cost_wei=10**14, status="reverted", bucket=2),
    ]
    result = b.series(trades, Currency(b.USD), 3)
    # -0.0001 ETH at $3,000 is -$0.30.
    assert result.net == (Fraction(9_000_000), Fraction(0), Fraction(7_000_000 - 300_000))
    assert result.gas == (Fraction(300_000), Fraction(0), Fraction(350_000 + 300_000))
    assert result.cumulative[-1] == Fraction(15_700_000)
    assert result.totals.trades == 3 and result.totals.successful == 2
    assert result.totals.settled == 3 and result.totals.success_rate == Fraction(2, 3)
    assert result.totals.best == Fraction(9_000_000)
    assert result.totals.average == Fraction(15_700_000, 3)
    assert result.per_token == {WETH: 2, USDC: 1}


def test_trades_without_a_price_are_counted_not_dropped():
    no_usd = trade(WETH, net_profit=10**15, native_usd_price=None)
    no_gas_price = trade(USDC, net_profit=None, gas_cost_wei=10**14, status="success")
    open_trade = trade(WETH, net_profit=None, status="pending")
    totals = b.series([A, no_usd, no_gas_price, open_trade], Currency(b.USD), 0).totals
    assert totals.trades == 4
    assert totals.converted == 1 and totals.unconverted == 2  # the open trade is neither
    assert totals.net == Fraction(9_000_000)
    # In the native coin only the one with no net at all is missing.
    native = b.series([A, no_usd, no_gas_price, open_trade], Currency(b.NATIVE), 0).totals
    assert native.unconverted == 1 and native.net == Fraction(4 * 10**15)


def test_a_usdc_trade_with_no_stored_price_still_counts_in_usdc():
    free = trade(USDC, net_profit=5, gas_cost_wei=0, native_price=None)
    assert both(b.convert(free, Currency(b.TOKEN, USDC))) == (Fraction(5), Fraction(0))
    assert both(b.convert(free, Currency(b.NATIVE))) is None


THREE_HOPS = trade(
    WETH,
    net_profit=3 * 10**15,
    hops=(hop(W, U, "Uniswap V2"), hop(U, D, "Aerodrome"), hop(D, W, "Uniswap V2")),
)
TWO_HOPS = trade(
    WETH,
    net_profit=10**15,
    status="reverted",
    hops=(hop(W, U, "Aerodrome"), hop(U, W, "Uniswap V2")),
)


def test_a_three_hop_trade_counts_once_for_each_dex_it_touched():
    rows = {r.label: r for r in b.breakdown([THREE_HOPS, TWO_HOPS], Currency(b.NATIVE), b.DEX)}
    assert set(rows) == {"Uniswap V2", "Aerodrome"}
    # Uniswap V2 served two hops of the first trade: still one trade.
    assert rows["Uniswap V2"].trades == 2 and rows["Aerodrome"].trades == 2
    assert rows["Uniswap V2"].net == Fraction(4 * 10**15)
    assert rows["Uniswap V2"].successful == 1 and rows["Uniswap V2"].best == Fraction(3 * 10**15)


def test_pairs_are_unordered_and_counted_once_per_trade():
    rows = {r.label: r for r in b.breakdown([THREE_HOPS, TWO_HOPS], Currency(b.NATIVE), b.PAIR)}
    # WETH→USDC and USDC→WETH are one pair; the second trade used it twice.
    assert {label: r.trades for label, r in rows.items()} == {
        "USDC / WETH": 2,
        "DAI / USDC": 1,
        "DAI / WETH": 1,
    }


def test_routes_read_as_cycles_and_keep_their_order():
    rows = b.breakdown([THREE_HOPS, TWO_HOPS, TWO_HOPS], Currency(b.NATIVE), b.ROUTE)
    labels = {r.label: r.trades for r in rows}
    assert labels == {
        "WETH →(Uniswap V2) USDC →(Aerodrome) DAI →(Uniswap V2) WETH": 1,
        "WETH →(Aerodrome) USDC →(Uniswap V2) WETH": 2,
    }


def test_start_token_groups():
    rows = b.breakdown([A, B, THREE_HOPS], Currency(b.NATIVE), b.START_TOKEN)
    assert [(r.label, r.trades, r.net) for r in rows] == [
        ("USDC", 1, Fraction(2 * 10**15)),
        ("WETH", 2, Fraction(6 * 10**15)),
    ]


def _rows():
    return b.breakdown(
        [
            trade(WETH, net_profit=5, hops=(hop(W, U, "A"),)),
            trade(WETH, net_profit=-2, hops=(hop(W, U, "B"),)),
            trade(WETH, net_profit=1, hops=(hop(W, U, "B"),)),
            trade(WETH, net_profit=9, hops=(hop(W, U, "C"),), status="pending"),
            trade(WETH, net_profit=None, status="pending", hops=(hop(W, U, "D"),)),
        ],
        Currency(b.TOKEN, WETH),
        b.DEX,
    )


@pytest.mark.parametrize(
    "key,descending,expected",
    [
        ("label", False, ["A", "B", "C", "D"]),
        ("label", True, ["D", "C", "B", "A"]),
        ("net", True, ["C", "A", "B", "D"]),  # D has no net yet: last either way
        ("net", False, ["B", "A", "C", "D"]),
        ("trades", True, ["B", "A", "C", "D"]),  # ties in label order
        ("success_rate", True, ["A", "B", "C", "D"]),  # C and D are not settled
        ("best", False, ["B", "A", "C", "D"]),
        ("average", True, ["C", "A", "B", "D"]),
    ],
)
def test_sort_order(key, descending, expected):
    rows = b.sort_groups(_rows(), key, descending=descending)
    assert [r.label for r in rows] == expected


def test_bad_choices_are_refused_clearly():
    with pytest.raises(ValueError, match="Unknown currency"):
        Currency("eur")
    with pytest.raises(ValueError, match="needs a token"):
        Currency(b.TOKEN)
    with pytest.raises(ValueError, match="Unknown grouping"):
        b.breakdown([], Currency(b.NATIVE), "colour")
    with pytest.raises(ValueError, match="Unknown sort key"):
        b.sort_groups([], "colour", descending=True)


terms = st.lists(st.tuples(st.integers(-(2**200), 2**200), st.integers(1, 2**90)), max_size=40)


@given(terms, st.integers(1, 10**6))
def test_an_exact_sum_rounds_like_the_fraction_it_stands_for(pairs, divisor):
    total = b.ExactSum()
    for numerator, denominator in pairs:
        total.add(numerator, denominator)
    exact = sum((Fraction(n, d) for n, d in pairs), Fraction(0))
    assert total.value == exact
    assert total.truncated() == int(exact)
    assert total.truncated(divisor) == int(exact / divisor)
    assert exact - len(pairs) * Fraction(1, 2**64) <= total.approximate() <= exact


@pytest.mark.parametrize(
    "pairs,expected",
    [
        ([(1, 3)] * 3, 1),  # exactly an integer, from parts the fixed point cannot hold
        ([(-1, 3)] * 3, -1),
        ([(-1, 3)] * 2, 0),  # -2/3 toward zero
        ([(-4, 3)], -1),
        ([(5, 1), (-7, 1)], -2),
        ([(1, 2**64)] * (2**10), 0),  # 2**-54: tiny, positive
        ([(-1, 2**64)], 0),
    ],
)
def test_exact_sums_near_integers(pairs, expected):
    total = b.ExactSum()
    for numerator, denominator in pairs:
        total.add(numerator, denominator)
    assert total.truncated() == expected


def test_many_prices_sum_fast():
    # One price per trade: adding the fractions themselves would build a
    # denominator of every price multiplied together.
    trades = [
        trade(USDC, net_profit=1_000_003 + i, native_price=3_000 * 10**6 + i, bucket=0)
        for i in range(20_000)
    ]
    import time

    started = time.perf_counter()
    result = b.series(trades, Currency(b.USD), 1)
    net, cumulative, _ = result.truncated()
    elapsed = time.perf_counter() - started
    assert net == cumulative and result.totals.converted == 20_000
    assert elapsed < 10  # the fraction sum takes minutes


def test_a_trade_worth_nothing_needs_no_price():
    """A dropped trade or a refused send: net 0 and no gas is 0 in every currency."""
    dropped = trade(USDC, net_profit=0, gas_cost_wei=0, native_price=None, native_usd_price=None)
    for currency in (Currency(b.NATIVE), Currency(b.USD), Currency(b.TOKEN, token_id=DAI)):
        assert both(b.convert(dropped, currency)) == (0, 0)
        totals = b.series([A, dropped], currency, 0).totals
        assert totals.unconverted == (1 if currency.kind == b.TOKEN else 0)
