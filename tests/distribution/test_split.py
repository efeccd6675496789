import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.distribution.split import SplitError, split_profit, validate_shares

A, B, C = "0xA", "0xB", "0xC"


def test_split_with_reinvest_and_remainder_rule():
    s = split_profit(1_000_001, 1_000, [(A, 3_333), (B, 3_334), (C, 3_333)])
    assert s.reinvest == 100_001  # 10% rounded up stays in the executor
    assert s.distributable == 900_000
    amounts = {p.recipient: p.amount for p in s.payouts}
    assert amounts == {A: 299_970, B: 300_060, C: 299_970}
    assert sum(amounts.values()) == s.distributable
    assert s.remainder_to is None  # 900000 splits exactly


def test_remainder_goes_to_the_largest_share_first_listed_on_ties():
    s = split_profit(10, 0, [(A, 5_000), (B, 5_000)])
    assert [p.amount for p in s.payouts] == [5, 5]
    s = split_profit(11, 0, [(A, 3_000), (B, 3_500), (C, 3_500)])
    assert [p.amount for p in s.payouts] == [3, 3 + 2, 3]
    assert s.remainder_to == B


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([], "no active recipients"),
        ([(A, 5_000), (B, 4_000)], "sum to 10000"),
        ([(A, 0), (B, 10_000)], "between 1 and 10000"),
        ([(A, 5_000), ("0xa", 5_000)], "listed twice"),
    ],
)
def test_invalid_shares_are_refused_with_a_clear_message(shares, message):
    with pytest.raises(SplitError, match=message):
        validate_shares(shares)


shares_strategy = st.lists(st.integers(1, 10_000), min_size=1, max_size=8).filter(
    lambda xs: sum(xs) <= 10_000
)


@given(
    balance=st.integers(0, 2**256 - 1),
    reinvest=st.integers(0, 10_000),
    raw=shares_strategy,
)
def test_payouts_always_sum_to_the_distributable_total(balance, reinvest, raw):
    raw = [*raw[:-1], raw[-1] + (10_000 - sum(raw))]
    shares = [(f"0x{i}", s) for i, s in enumerate(raw)]
    s = split_profit(balance, reinvest, shares)
    assert sum(p.amount for p in s.payouts) == s.distributable
    assert s.reinvest + s.distributable == balance
    assert s.reinvest == -(-balance * reinvest // 10_000)
    for payout in s.payouts:
        fair = s.distributable * payout.share_bps // 10_000
        if payout.recipient == s.remainder_to:
            # Only the remainder holder gets more, and less than one unit per recipient.
            assert fair < payout.amount < fair + len(shares)
        else:
            assert payout.amount == fair
