"""The scan's pure layer: native prices, operator limits per start token, cycle verdicts."""

from __future__ import annotations

from fractions import Fraction

import rlp
from eth_abi import decode
from hypothesis import assume, given
from hypothesis import strategies as st

from trading.amm import AmmError, SolidlyPoolState, V2PoolState, V3PoolState
from trading.amm import v3_math as m
from trading.analysis import DEFAULT_GAS_MODEL, Cycle, CycleIndex, Hop, simulate
from trading.engine.scan import (
    EXECUTE_SELECTOR,
    Finding,
    GasTerms,
    Rejection,
    StartTerms,
    evaluate_cycle,
    evaluate_cycles,
    hop_ceiling,
    native_prices,
    pool_holdings,
    profit_ceiling,
    representative_transaction,
    start_terms,
)

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
    assert len(usdc_reasons) == 6 and all("gas cannot be priced" in r for r in usdc_reasons)


def test_l1_fees_fall_back_to_the_largest_estimate() -> None:
    gas = GasTerms(10**9, {2: 100, 3: 150})
    assert (gas.l1_fee(2), gas.l1_fee(3), gas.l1_fee(4)) == (100, 150, 150)
    assert GasTerms(10**9).l1_fee(3) == 0


def test_the_representative_transaction_is_an_unsigned_executor_call() -> None:
    raw = representative_transaction(3, 8453)
    assert raw[0] == 2
    fields = rlp.decode(raw[1:])
    assert int.from_bytes(fields[0], "big") == 8453
    data = fields[7]
    assert data[:4] == EXECUTE_SELECTOR
    hops, amount_in, min_profit, flash = decode(
        ["(address,uint8,bool,uint16)[]", "uint256", "uint256", "bool"], data[4:]
    )
    assert len(hops) == 3 and amount_in > min_profit > 0 and flash
    assert len(representative_transaction(4, 8453)) > len(raw)


# ------------------------------------------------------------------ the profit ceiling


def spread(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high - 1).flatmap(lambda e: st.integers(10**e, 10 ** (e + 1) - 1))


@st.composite
def pool_states(draw: st.DrawFn, token_a: str = WETH, token_b: str = USDC) -> object:
    """Any family's pool between two tokens, with random reserves, prices and fees."""
    t0, t1 = sorted((token_a, token_b))
    kind = draw(st.sampled_from(["v2", "v3", "volatile", "stable"]))
    address = f"{kind}-{draw(st.integers(0, 10**6))}"
    if kind == "v2":
        return V2PoolState(address, t0, t1, draw(spread(3, 30)), draw(spread(3, 30)), 30)
    if kind in ("volatile", "stable"):
        dec0, dec1 = draw(st.sampled_from([(18, 18), (6, 18), (18, 6), (6, 6)]))
        return SolidlyPoolState(
            address,
            t0,
            t1,
            draw(spread(0, 9)) * 10**dec0,
            draw(spread(0, 9)) * 10**dec1,
            dec0,
            dec1,
            kind == "stable",
            draw(st.integers(0, 100)),
        )
    fee, spacing = draw(st.sampled_from([(500, 10), (3000, 60), (10000, 200)]))
    tick = draw(st.integers(-200_000, 200_000))
    sqrt_price = m.get_sqrt_ratio_at_tick(tick)
    tick = m.get_tick_at_sqrt_ratio(sqrt_price)
    net: dict[int, int] = {}
    liquidity = 0
    centre = tick // spacing * spacing
    for offset, width, amount in draw(
        st.lists(
            st.tuples(st.integers(-20, 20), st.integers(1, 20), spread(10, 24)),
            min_size=1,
            max_size=4,
        )
    ):
        lower, upper = centre + offset * spacing, centre + (offset + width) * spacing
        net[lower] = net.get(lower, 0) + amount
        net[upper] = net.get(upper, 0) - amount
        if lower <= tick < upper:
            liquidity += amount
    net = {t: n for t, n in net.items() if n}
    words = V3PoolState.full_word_range(spacing)
    return V3PoolState(address, t0, t1, fee, spacing, sqrt_price, tick, liquidity, net, *words)


@given(state=pool_states(), zero_for_one=st.booleans(), amount=spread(0, 28))
def test_a_hop_never_pays_more_than_its_ceiling(
    state: object, zero_for_one: bool, amount: int
) -> None:
    token_in = state.token0 if zero_for_one else state.token1  # type: ignore[attr-defined]
    slope, slack = hop_ceiling(state, token_in)  # type: ignore[arg-type]
    try:
        out = state.amount_out(token_in, amount)  # type: ignore[attr-defined]
    except AmmError:
        return
    assert out <= slope * amount + slack


@given(
    first=pool_states(WETH, USDC),
    second=pool_states(USDC, DAI),
    third=pool_states(DAI, WETH),
    amount=spread(0, 24),
)
def test_no_input_makes_more_than_the_profit_ceiling(
    first: object, second: object, third: object, amount: int
) -> None:
    states = {s.address: s for s in (first, second, third)}  # type: ignore[attr-defined]
    assume(len(states) == 3)
    cycle = Cycle(
        WETH,
        (
            Hop(first.address, WETH, USDC),  # type: ignore[attr-defined]
            Hop(second.address, USDC, DAI),  # type: ignore[attr-defined]
            Hop(third.address, DAI, WETH),  # type: ignore[attr-defined]
        ),
    )
    try:
        out = simulate(cycle, states, amount)[-1]  # type: ignore[arg-type]
    except AmmError:
        return
    assert out - amount <= profit_ceiling(cycle, states, amount)  # type: ignore[arg-type]
    assert profit_ceiling(cycle, states, amount) <= profit_ceiling(cycle, states, 10 * amount)  # type: ignore[arg-type]


def test_a_market_in_line_is_ruled_out_without_quotes() -> None:
    cycle, states = _ring(40)  # a 0.4% gap is inside two 0.3% fees
    assert profit_ceiling(cycle, states, 10**30) <= 0
    cycle, states = _ring(200)
    assert profit_ceiling(cycle, states, 50 * E18) > 0
