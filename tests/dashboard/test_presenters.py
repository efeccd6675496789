"""View models built from rows: what pages, exports and live events show."""

from __future__ import annotations

from dashboard import presenters
from dashboard.redaction import scrub
from trading.fields import UINT256_MAX
from trading.models import EngineState

from ..trading import factories as f
from .helpers import cycle


def test_opportunity_payload_carries_exact_and_formatted_amounts(market):
    opp = cycle(market, amount_in=UINT256_MAX, net_profit=-(10**15), block=5)
    event = presenters.opportunity_event(opp)
    assert event.amount_in == str(UINT256_MAX)
    assert event.net_profit == str(-(10**15)) and event.net_negative
    assert event.net_profit_display == "-0.001 WETH"
    assert event.route == "WETH → USDC → WETH"
    assert [h.dex for h in event.hops] == ["UniswapV2", "Aerodrome"]
    assert event.hops[0].fee == "0.3%"


def test_payloads_for_many_rows_take_a_constant_number_of_queries(
    market, django_assert_max_num_queries
):
    opps = [cycle(market, block=i) for i in range(30)]
    trades = [f.trade(o) for o in opps]
    from trading.models import Opportunity, Trade

    with django_assert_max_num_queries(5):
        events = presenters.opportunity_events(Opportunity.objects.all())
    assert len(events) == 30
    # One more than opportunities: the networks, for the native currency of gas costs.
    with django_assert_max_num_queries(9):
        assert len(presenters.trade_events(Trade.objects.all())) == len(trades)


def test_market_json_from_the_engine_is_sanitised(db):
    state = EngineState.load()
    state.market = [
        "junk",
        {
            "pair": "WETH/USDC",
            "prices": [
                {"dex": "A", "price": "2500", "fee": "0.05%"},
                {"dex": "B", "price": "2525", "fee": "0.3%" * 10},
            ],
        },
        {"pair": "X/Y", "prices": [{"dex": "C", "price": "not a number"}, 5]},
    ]
    state.save()
    market = presenters.status_event().market
    assert [p.pair for p in market] == ["WETH/USDC", "X/Y"]
    first = market[0]
    assert first.best_spread_bps == "100.0"  # computed when the engine gave none
    assert [p.is_high for p in first.prices] == [False, True]
    assert [p.is_low for p in first.prices] == [True, False]
    assert [p.fee for p in first.prices] == ["0.05%", "0.3%0.3%0.3%"]  # cut to 12 characters
    assert market[1].prices[0].fee == ""


def test_component_errors_are_scrubbed(db, monkeypatch):
    from trading.models import ComponentHealth

    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", "0x" + "1f" * 32)
    ComponentHealth.objects.create(
        name="chain",
        last_error=f"signing with {'1f' * 32} via https://user:pw@rpc.example/v2/KEY?x=1 failed",
    )
    error = presenters.status_event().components[0].last_error
    assert "1f1f1f1f" not in error and "KEY" not in error and "pw@" not in error
    assert "[redacted]" in error and "https://rpc.example/…" in error


def test_scrub_cuts_long_text():
    assert scrub("x" * 1000, limit=10) == "x" * 9 + "…"
    assert scrub(None) == ""
