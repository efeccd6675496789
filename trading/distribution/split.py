"""The profit split (pure: exact integers, no web3, no Django).

Rule, stated once: from a token balance the executor keeps the reinvest share,
rounded up, as working capital; the rest is the distributable total. Each
recipient gets ``distributable * share_bps // 10000``; the rounding remainder
(less than one unit per recipient) goes to the recipient with the largest
share, the earliest listed among equals. The payouts always sum to exactly the
distributable total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BPS = 10_000


class SplitError(ValueError):
    """The recipients or shares cannot produce a valid split."""


@dataclass(frozen=True)
class Payout:
    recipient: str
    share_bps: int
    amount: int


@dataclass(frozen=True)
class Split:
    balance: int
    reinvest: int
    distributable: int
    payouts: tuple[Payout, ...]
    remainder_to: str | None


def validate_shares(shares: Sequence[tuple[str, int]]) -> None:
    """Raise :class:`SplitError` unless the shares are valid for a split."""
    if not shares:
        raise SplitError("There are no active recipients to pay.")
    seen: set[str] = set()
    for recipient, share in shares:
        if share <= 0 or share > BPS:
            raise SplitError(
                f"The share of {recipient} must be between 1 and 10000 bps, not {share}."
            )
        if recipient.lower() in seen:
            raise SplitError(f"{recipient} is listed twice.")
        seen.add(recipient.lower())
    total = sum(share for _, share in shares)
    if total != BPS:
        raise SplitError(f"Active recipients' shares must sum to 10000 bps (100%), not {total}.")


def split_profit(balance: int, reinvest_bps: int, shares: Sequence[tuple[str, int]]) -> Split:
    """Split ``balance`` between the reinvest share and ``shares`` (recipient, bps)."""
    if balance < 0:
        raise SplitError("A balance cannot be negative.")
    if not 0 <= reinvest_bps <= BPS:
        raise SplitError(f"The reinvest share must be between 0 and 10000 bps, not {reinvest_bps}.")
    validate_shares(shares)
    reinvest = -(-balance * reinvest_bps // BPS)
    distributable = balance - reinvest
    amounts = [distributable * share // BPS for _, share in shares]
    remainder = distributable - sum(amounts)
    # Largest share first; ties keep the earliest listed.
    winner = max(range(len(shares)), key=lambda i: (shares[i][1], -i))
    amounts[winner] += remainder
    payouts = tuple(
        Payout(recipient=recipient, share_bps=share, amount=amount)
        for (recipient, share), amount in zip(shares, amounts, strict=True)
    )
    return Split(
        balance=balance,
        reinvest=reinvest,
        distributable=distributable,
        payouts=payouts,
        remainder_to=shares[winner][0] if remainder else None,
    )
