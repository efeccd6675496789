"""Engine state and component health as the engine writes them."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.amm.uniswap_v2 import V2PoolState
from trading.dex.base import PoolSpec
from trading.lifecycle import HealthReport
from trading.models import ComponentHealth, EngineState
from trading.services.engine_state import (
    MARKET_PAIRS,
    engine_state_save,
    fee_label,
    market_panel,
)

pytestmark = pytest.mark.django_db


def _report(name: str) -> HealthReport:
    return HealthReport(
        name=name,
        initialized=True,
        healthy=True,
        last_success_at=None,
        last_error="",
        last_error_at=None,
        restarts=0,
    )


def test_health_rows_follow_the_components_the_engine_reports():
    engine_state_save(state={"last_block": 7}, health=[_report("chain"), _report("distribution")])
    assert set(ComponentHealth.objects.values_list("name", flat=True)) == {"chain", "distribution"}

    # A component renamed since (the wallet watch was called "distribution") leaves no stale row.
    engine_state_save(state={"last_block": 8}, health=[_report("chain"), _report("wallet")])
    assert set(ComponentHealth.objects.values_list("name", flat=True)) == {"chain", "wallet"}
    assert EngineState.objects.get(pk=1).last_block == 8


def test_health_rows_are_written_in_one_statement_whatever_the_components():
    names = ("chain", "dex", "wallet", "analysis", "storage", "execution")
    engine_state_save(state={}, health=[_report(name) for name in names])
    first = ComponentHealth.objects.get(name="dex").updated_at
    failing = replace(
        _report("dex"), healthy=False, last_error="node \x00refused", restarts=2, counters={"x": 1}
    )
    with CaptureQueriesContext(connection) as three:
        engine_state_save(state={}, health=[_report("chain"), failing, _report("wallet")])
    row = ComponentHealth.objects.get(name="dex")
    assert (row.healthy, row.restarts, row.counters) == (False, 2, {"x": 1})
    assert row.last_error == "node refused" and row.updated_at >= first
    assert ComponentHealth.objects.count() == 3
    with CaptureQueriesContext(connection) as six:
        engine_state_save(state={}, health=[_report(name) for name in names])
    assert ComponentHealth.objects.count() == 6
    # As many statements for six components as for three: one upsert writes them all.
    assert len(six) == len(three)
    assert sum("componenthealth" in q["sql"] for q in six.captured_queries) == 2


def test_state_without_health_keeps_the_rows():
    engine_state_save(state={}, health=[_report("chain")])
    engine_state_save(state={"last_block": 9}, health=[])
    assert list(ComponentHealth.objects.values_list("name", flat=True)) == ["chain"]


def _v2(address, token0, token1, reserve0, reserve1):
    return V2PoolState(
        address=address, token0=token0, token1=token1, reserve0=reserve0, reserve1=reserve1
    )


def test_the_market_panel_lists_every_watched_pair_with_fee_tiers():
    weth, usdc, aero = "0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20
    tokens = {
        weth: SimpleNamespace(symbol="WETH", decimals=18),
        usdc: SimpleNamespace(symbol="USDC", decimals=6),
        aero: SimpleNamespace(symbol="AERO", decimals=18),
    }
    states = {
        "0xa": _v2("0xa", weth, usdc, 10 * 10**18, 30_000 * 10**6),
        "0xb": _v2("0xb", weth, usdc, 10 * 10**18, 30_300 * 10**6),
        "0xc": _v2("0xc", aero, weth, 3000 * 10**18, 1 * 10**18),
    }
    pools = {
        "0xa": PoolSpec("0xa", "uniswap_v3", weth, usdc, fee=3000, dex="Uniswap V3"),
        "0xb": PoolSpec("0xb", "uniswap_v3", weth, usdc, fee=500, dex="Uniswap V3"),
        "0xc": PoolSpec("0xc", "solidly", aero, weth, fee=100, dex="Aerodrome"),
    }
    panel = market_panel(states, pools, [weth, usdc], tokens)
    assert [row["pair"] for row in panel] == ["WETH/USDC", "WETH/AERO"]
    assert [(p["dex"], p["fee"], p["price"]) for p in panel[0]["prices"]] == [
        ("Uniswap V3", "0.05%", "3030"),
        ("Uniswap V3", "0.3%", "3000"),
    ]
    assert panel[0]["best_spread_bps"] == 100
    assert [(p["dex"], p["fee"]) for p in panel[1]["prices"]] == [("Aerodrome", "0.01%")]


@pytest.mark.parametrize(
    ("pips", "label"), [(3000, "0.3%"), (500, "0.05%"), (100, "0.01%"), (10000, "1%"), (0, "0%")]
)
def test_fee_tiers_read_as_percentages(pips, label):
    assert fee_label(pips) == label


def test_the_market_panel_of_many_pools_is_what_looking_through_every_pool_per_pair_gives():
    import random

    rng = random.Random(5)
    addresses = ["0x" + f"{i:02x}" * 20 for i in range(1, 31)]
    tokens = {
        a: SimpleNamespace(symbol=f"T{i}", decimals=rng.choice((6, 8, 18)))
        for i, a in enumerate(addresses)
    }
    base = addresses[:2]
    states, pools = {}, {}
    for n in range(400):
        a, b = rng.sample(addresses, 2)
        address = f"0xpool{n}"
        states[address] = _v2(address, a, b, rng.randint(1, 10**24), rng.randint(1, 10**24))
        pools[address] = PoolSpec(
            address, "uniswap_v2", a, b, fee=rng.choice((500, 3000)), dex=rng.choice(("A", "B"))
        )
    panel = market_panel(states, pools, base, tokens, limit=1000)
    assert len(panel) > MARKET_PAIRS
    # The overview's share: the first MARKET_PAIRS of them, priced alone.
    assert market_panel(states, pools, base, tokens) == panel[:MARKET_PAIRS]
    # The same rows as scanning every pool for every pair (the panel's definition).
    for row in panel:
        listed = {p["pool"] for p in row["prices"]}
        symbols = set(row["pair"].split("/"))
        expected = {
            address
            for address, state in states.items()
            if {tokens[state.token0].symbol, tokens[state.token1].symbol} == symbols
        }
        assert listed == expected, row["pair"]
    pairs = {frozenset((s.token0, s.token1)) for s in states.values()}
    assert len(panel) == len(pairs)
