"""Pure evaluation: native prices, operator limits per start token, cycle verdicts."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from trading.amm import V2PoolState, V3PoolState, pool_holdings
from trading.amm import v3_math as m
from trading.analysis import DEFAULT_GAS_MODEL, Cycle, CycleIndex, Hop
from trading.analysis.ceiling import profit_ceiling
from trading.analysis.evaluation import (
    Finding,
    GasTerms,
    Rejection,
    StartTerms,
    evaluate_cycle,
    evaluate_cycles,
    native_prices,
    start_terms,
)
from trading.formatting import format_amount

E18, E6 = 10**18, 10**6
WETH, USDC, DAI, WBTC = (f"0x{c * 40}" for c in "abcd")
GAS = GasTerms(gas_price_wei=10**9, block_number=1)


def v2(address: str, a: str, b: str, ra: int, rb: int) -> V2PoolState:
    """A V2 pool with ``ra`` of ``a`` and ``rb`` of ``b`` (tokens sorted like a pair)."""
    if a < b:
        return V2PoolState(address, a, b, ra, rb)
    return V2PoolState(address, b, a, rb, ra)


def test_native_prices_take_the_deepest_direct_pool() -> None:
    shallow = v2("p1", WETH, USDC, E18, 2_000 * E6)
    deep = v2("p2", WETH, USDC, 1_000 * E18, 3_000_000 * E6)
    prices = native_prices([shallow, deep], WETH, [WETH, USDC])
    assert prices[WETH] == 1
    assert prices[USDC] == Fraction(3_000 * E6, E18)


def test_native_prices_go_through_one_intermediate_token() -> None:
    weth_usdc = v2("p1", WETH, USDC, 1_000 * E18, 3_000_000 * E6)
    usdc_dai = v2("p2", USDC, DAI, 10**6 * E6, 10**6 * E18)
    lonely = v2("p3", WBTC, DAI, 0, 0)  # empty pools price nothing
    prices = native_prices([weth_usdc, usdc_dai, lonely], WETH, [DAI, WBTC])
    assert prices == {DAI: Fraction(3_000 * E18, E18)}
    assert native_prices([weth_usdc], None, [USDC]) == {}


def test_native_prices_read_v3_pools_at_their_price() -> None:
    sqrt_price = m.get_sqrt_ratio_at_tick(-200_000)
    pool = V3PoolState(
        "v3", USDC, WETH, 500, 10, sqrt_price, -200_000, 10**18, (), -10, 10
    )  # token0 is USDC here
    assert pool_holdings(pool)[0] == 10**18 * 2**96 // sqrt_price
    price = native_prices([pool], WETH, [USDC])[USDC]
    assert price == Fraction(2**192, sqrt_price**2)


def test_start_terms_round_the_limits_against_the_trade() -> None:
    terms = start_terms(USDC, Fraction(3_000 * E6, E18), 10**18 + 1, 10**15 + 1)
    assert terms.max_amount_in == 3_000 * E6  # rounded down
    assert terms.min_net_profit == 3 * E6 + 1  # rounded up
    assert start_terms(WETH, Fraction(1), 5, 0).min_net_profit == 1  # nothing is no profit


@given(
    wei=st.integers(0, 10**30),
    numerator=st.integers(1, 10**30),
    denominator=st.integers(1, 10**30),
)
def test_converted_limits_are_exact_integer_bounds(
    wei: int, numerator: int, denominator: int
) -> None:
    price = Fraction(numerator, denominator)
    terms = start_terms(USDC, price, wei, wei)
    assert terms.max_amount_in <= wei * price < terms.max_amount_in + 1
    assert terms.min_net_profit >= max(1, wei * price)
    assert terms.min_net_profit - 1 < max(1, wei * price)


def _ring(gap_bps: int) -> tuple[Cycle, dict[str, V2PoolState]]:
    cheap = v2("cheap", WETH, USDC, 100 * E18, 300_000 * E6)
    dear = v2("dear", WETH, USDC, 100 * E18, 300_000 * E6 * (10_000 + gap_bps) // 10_000)
    cycle = Cycle(WETH, (Hop("dear", WETH, USDC), Hop("cheap", USDC, WETH)))
    return cycle, {"cheap": cheap, "dear": dear}


def test_a_paying_cycle_is_a_finding_with_gas_priced_in_its_token() -> None:
    cycle, states = _ring(200)
    terms = StartTerms(WETH, Fraction(1), 50 * E18, 1)
    verdict = evaluate_cycle(cycle, states, terms, GAS)
    assert isinstance(verdict, Finding)
    units = DEFAULT_GAS_MODEL.overhead + 2 * DEFAULT_GAS_MODEL.uniswap_v2
    assert verdict.evaluation.gas_units == units
    assert verdict.evaluation.gas_cost_start_token == units * 10**9
    assert verdict.evaluation.net == verdict.evaluation.gross - units * 10**9 > 0
    assert verdict.sized.amount_in <= 50 * E18


def test_verdicts_say_why_a_cycle_does_not_pay() -> None:
    cycle, states = _ring(200)
    terms = StartTerms(WETH, Fraction(1), 50 * E18, 1)
    inside_fees = evaluate_cycle(*_ring(40), terms, GAS)
    assert isinstance(inside_fees, Rejection) and "allow at most" in inside_fees.reason
    greedy = evaluate_cycle(cycle, states, StartTerms(WETH, Fraction(1), 50 * E18, 10**30), GAS)
    assert isinstance(greedy, Rejection) and "below" in greedy.reason
    tiny = evaluate_cycle(cycle, states, StartTerms(WETH, Fraction(1), 0, 1), GAS)
    assert isinstance(tiny, Rejection) and "maximum trade size" in tiny.reason
    missing = evaluate_cycle(cycle, {"cheap": states["cheap"]}, terms, GAS)
    assert isinstance(missing, Rejection) and "dear has no readable state" in missing.reason
    dear_gas = evaluate_cycle(cycle, states, terms, GasTerms(gas_price_wei=10**15))
    assert isinstance(dear_gas, Rejection)


def test_a_rejection_keeps_its_amounts_raw_and_says_them_in_units_on_demand() -> None:
    cycle, states = _ring(200)
    greedy = evaluate_cycle(cycle, states, StartTerms(WETH, Fraction(1), 50 * E18, 10**30), GAS)
    assert isinstance(greedy, Rejection) and greedy.kind == "ceiling_below_minimum"
    assert greedy.token == WETH and greedy.amounts[1] == 10**30
    assert all(isinstance(a, int) for a in greedy.amounts)
    # The raw words are the amounts in smallest units; describe() formats each amount.
    assert greedy.reason.endswith(f"below the minimum {10**30}")
    assert greedy.describe(lambda a: f"<{a}>").endswith(f"below the minimum <{10**30}>")

    gross = Rejection("k", "gross_below_needed", (1_500_000_000_000_000,), WETH)
    assert gross.describe(lambda a: format_amount(a, 18, "WETH")) == (
        "gross profit below the 0.0015 WETH needed (gas plus the minimum net profit)"
    )
    assert gross.reason == (
        "gross profit below the 1500000000000000 needed (gas plus the minimum net profit)"
    )
    net = Rejection("k", "net_below_minimum", (-5, 1), WETH)
    assert net.describe(lambda a: f"{a} u") == "net profit -5 u below the minimum 1 u"


def test_evaluate_cycles_sorts_findings_and_explains_the_rest() -> None:
    cheap = v2("cheap", WETH, USDC, 100 * E18, 300_000 * E6)
    dear = v2("dear", WETH, USDC, 100 * E18, 306_000 * E6)
    dearer = v2("dearer", WETH, USDC, 100 * E18, 312_000 * E6)
    states = {s.address: s for s in (cheap, dear, dearer)}
    index = CycleIndex(states.values(), [WETH, USDC], max_hops=2)
    terms = {WETH: StartTerms(WETH, Fraction(1), 50 * E18, 1)}
    analysis = evaluate_cycles(index.cycles, states, terms, GAS)
    assert analysis.evaluated == len(index) == 12
    nets = [f.evaluation.net for f in analysis.findings]
    assert nets == sorted(nets, reverse=True) and len(nets) == 3
    assert analysis.findings[0].cycle.pools == ("dearer", "cheap")
    # USDC cycles have no terms: their gas cannot be priced.
    usdc_reasons = [r for k, r in analysis.rejections.items() if k.endswith(USDC)]
    assert len(usdc_reasons) == 6 and all("gas cannot be priced" in r.reason for r in usdc_reasons)


def test_l1_fees_fall_back_to_the_largest_estimate() -> None:
    gas = GasTerms(10**9, {2: 100, 3: 150})
    assert (gas.l1_fee(2), gas.l1_fee(3), gas.l1_fee(4)) == (100, 150, 150)
    assert GasTerms(10**9).l1_fee(3) == 0


def test_a_cycle_ruled_out_by_its_ceiling_is_never_quoted() -> None:
    cycle, states = _ring(40)  # a 0.4% gap is inside two 0.3% fees
    assert profit_ceiling(cycle, states, 50 * E18) <= 0
    verdict = evaluate_cycle(cycle, states, StartTerms(WETH, Fraction(1), 50 * E18, 1), GAS)
    assert isinstance(verdict, Rejection) and "prices after fees allow at most 0" in verdict.reason
