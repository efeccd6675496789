import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.gas.fees import (
    Fee,
    FeeHistory,
    LearnedGasLimits,
    base_fee_after,
    bump_fee,
    gas_limit_with_margin,
    suggest_fees,
    transaction_cost,
    within_price_limit,
)


def history(base_fees, ratios, rewards):
    return FeeHistory(
        oldest_block=100,
        base_fees=tuple(base_fees),
        gas_used_ratios=tuple(ratios),
        rewards=tuple(tuple(r) for r in rewards),
        percentiles=(10, 50, 90),
    )


def test_suggestion_uses_median_rewards_and_the_next_base_fee():
    h = history(
        [1000, 1000, 1000, 1000],
        [0.1, 0.2, 0.3],
        [(1, 10, 100), (3, 30, 300), (2, 20, 200)],
    )
    s = suggest_fees(h)
    assert s.block_number == 103
    assert s.slow.max_priority_fee_per_gas == 2
    assert s.normal.max_priority_fee_per_gas == 20
    assert s.urgent.max_priority_fee_per_gas == 200
    # Base fee headroom: 1 / 3 / 6 blocks of +12.5%, rounded up.
    assert s.slow.max_fee_per_gas == 1125 + 2
    assert s.normal.max_fee_per_gas == base_fee_after(1000, 3) + 20 == 1424 + 20
    assert s.urgent.max_fee_per_gas == base_fee_after(1000, 6) + 200


def test_rising_base_fee_adds_a_block_of_headroom():
    quiet = suggest_fees(history([1000] * 4, [0.1, 0.1, 0.1], [(1, 1, 1)] * 3))
    busy = suggest_fees(history([1000] * 4, [0.9, 0.95, 1.0], [(1, 1, 1)] * 3))
    assert busy.normal.max_fee_per_gas > quiet.normal.max_fee_per_gas
    assert busy.normal.max_fee_per_gas == base_fee_after(1000, 4) + 1


def test_empty_blocks_still_tip_the_minimum_and_speeds_are_ordered():
    s = suggest_fees(history([7, 7], [0.0], [(0, 0, 0)]), min_priority_fee=1)
    assert s.slow.max_priority_fee_per_gas == 1
    assert s.slow.max_priority_fee_per_gas <= s.normal.max_priority_fee_per_gas
    assert s.normal.max_priority_fee_per_gas <= s.urgent.max_priority_fee_per_gas


def test_missing_percentile_is_a_clear_error():
    h = FeeHistory(1, (1, 1), (0.5,), ((1,),), (50,))
    with pytest.raises(ValueError, match="10th percentile"):
        suggest_fees(h)


@given(st.integers(1, 10**12), st.integers(0, 10))
def test_base_fee_after_never_underestimates(base, blocks):
    bound = base_fee_after(base, blocks)
    exact = base * 9**blocks / 8**blocks
    assert bound >= exact and bound - exact < 1


def test_gas_limit_margin_and_costs():
    assert gas_limit_with_margin(100_000) == 120_000
    assert gas_limit_with_margin(3, 5_000) == 5  # 4.5 rounded up
    with pytest.raises(ValueError):
        gas_limit_with_margin(0)
    assert transaction_cost(21_000, 10**9, l1_fee=5) == 21_000 * 10**9 + 5


@given(st.integers(0, 10**15), st.integers(0, 10**12))
def test_bumped_fees_replace_a_pending_transaction(max_fee, tip):
    fee = Fee(max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip)
    bumped = bump_fee(fee)
    assert bumped.max_fee_per_gas * 10 >= max_fee * 11
    assert bumped.max_priority_fee_per_gas * 10 >= tip * 11
    assert bumped.max_fee_per_gas > max_fee and bumped.max_priority_fee_per_gas > tip


def test_bump_refuses_less_than_ten_percent():
    with pytest.raises(ValueError):
        bump_fee(Fee(10, 1), bump_bps=500)


def test_price_limit_uses_the_effective_price():
    fee = Fee(max_fee_per_gas=100, max_priority_fee_per_gas=10)
    assert fee.effective_price(50) == 60
    assert fee.effective_price(95) == 100
    assert within_price_limit(fee, 50, 60)
    assert not within_price_limit(fee, 51, 60)


def test_learned_gas_limits_come_from_the_largest_recent_estimate():
    limits = LearnedGasLimits(keep=3, margin_bps=5_000, probe_bps=1_000)
    route = ("uniswap_v2", "uniswap_v3")
    assert limits.limits(route) is None
    for estimate in (100_000, 180_000, 120_000):
        limits.learn(route, estimate)
    # Simulated with 10% above the largest, sent with 50% above it.
    assert limits.limits(route) == (198_000, 270_000)
    assert limits.limits(("uniswap_v2", "uniswap_v2")) is None  # another kind
    limits.learn(route, 90_000)
    limits.learn(route, 90_000)
    assert limits.limits(route) == (132_000, 180_000)  # 180,000 is no longer among the last three
    limits.learn(route, 90_000)
    assert limits.limits(route) == (99_000, 135_000)
    with pytest.raises(ValueError):
        limits.learn(route, 0)
    with pytest.raises(ValueError):
        LearnedGasLimits(keep=0)
    with pytest.raises(ValueError):
        LearnedGasLimits(margin_bps=1_000, probe_bps=2_000)
