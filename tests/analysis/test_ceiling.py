"""The profit ceiling: no input ever makes more than the bound, for any pool family."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from trading.amm import AmmError, SolidlyPoolState, V2PoolState, V3PoolState
from trading.amm import v3_math as m
from trading.analysis import Cycle, Hop, simulate
from trading.analysis.ceiling import Line, ceiling_ratio, hop_ceiling, profit_ceiling

E18, E6 = 10**18, 10**6
WETH, USDC, DAI = (f"0x{c * 40}" for c in "abc")


def _ring(gap_bps: int) -> tuple[Cycle, dict[str, V2PoolState]]:
    """Two WETH/USDC pools, the second ``gap_bps`` dearer in USDC (WETH sorts first)."""
    cheap = V2PoolState("cheap", WETH, USDC, 100 * E18, 300_000 * E6)
    dear = V2PoolState("dear", WETH, USDC, 100 * E18, 300_000 * E6 * (10_000 + gap_bps) // 10_000)
    cycle = Cycle(WETH, (Hop("dear", WETH, USDC), Hop("cheap", USDC, WETH)))
    return cycle, {"cheap": cheap, "dear": dear}


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


def test_the_integer_ratio_and_its_cache_give_the_same_ceiling() -> None:
    cycle, states = _ring(200)
    lines: dict[tuple[str, str], Line] = {}
    numerator, denominator = ceiling_ratio(cycle, states, 50 * E18, lines)
    assert denominator > 0 and set(lines) == {("dear", WETH), ("cheap", USDC)}
    assert Fraction(numerator, denominator) == profit_ceiling(cycle, states, 50 * E18)
    # A second pass reads the cached lines: a stale cache would show here.
    lines[("dear", WETH)] = (0, 1, 0, 1)
    assert ceiling_ratio(cycle, states, 50 * E18, lines)[0] < 0
