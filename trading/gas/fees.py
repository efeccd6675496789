"""EIP-1559 fee maths (pure: ints in wei, no web3, no Django).

The oracle (``trading.gas.oracle``) reads ``eth_feeHistory`` and the OP-stack
L1 fee; this module turns those numbers into fees to send with.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

BPS = 10_000
# EIP-1559: the base fee moves by at most 1/8 per block.
_BASE_FEE_MAX_CHANGE_NUMERATOR = 9
_BASE_FEE_MAX_CHANGE_DENOMINATOR = 8


class Speed(StrEnum):
    SLOW = "slow"
    NORMAL = "normal"
    URGENT = "urgent"


# Reward percentile asked of eth_feeHistory for each speed, and how many blocks
# of maximal base-fee growth the max fee must survive.
PERCENTILES: dict[Speed, int] = {Speed.SLOW: 10, Speed.NORMAL: 50, Speed.URGENT: 90}
HEADROOM_BLOCKS: dict[Speed, int] = {Speed.SLOW: 1, Speed.NORMAL: 3, Speed.URGENT: 6}


@dataclass(frozen=True)
class Fee:
    """What a type-2 transaction carries."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def effective_price(self, base_fee: int) -> int:
        """The price per gas actually paid in a block with ``base_fee``."""
        return min(self.max_fee_per_gas, base_fee + self.max_priority_fee_per_gas)


@dataclass(frozen=True)
class FeeHistory:
    """The parts of an ``eth_feeHistory`` answer we use.

    ``base_fees`` has one entry per block plus the next (pending) block's base
    fee last, as the RPC returns it; ``rewards[i]`` holds the priority fees at
    the requested percentiles for block i (in the order of ``percentiles``).
    """

    oldest_block: int
    base_fees: tuple[int, ...]
    gas_used_ratios: tuple[float, ...]
    rewards: tuple[tuple[int, ...], ...]
    percentiles: tuple[int, ...]

    @property
    def next_base_fee(self) -> int:
        return self.base_fees[-1]

    @property
    def newest_block(self) -> int:
        return self.oldest_block + len(self.gas_used_ratios) - 1


@dataclass(frozen=True)
class FeeSuggestion:
    block_number: int
    base_fee: int
    slow: Fee
    normal: Fee
    urgent: Fee

    def for_speed(self, speed: Speed | str) -> Fee:
        return getattr(self, Speed(speed).value)


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    if not ordered:
        return 0
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) // 2


def base_fee_after(base_fee: int, blocks: int) -> int:
    """The highest base fee possible ``blocks`` blocks later (rounded up)."""
    numerator = base_fee * _BASE_FEE_MAX_CHANGE_NUMERATOR**blocks
    denominator = _BASE_FEE_MAX_CHANGE_DENOMINATOR**blocks
    return -(-numerator // denominator)


def rising_base_fee(history: FeeHistory) -> bool:
    """True when recent blocks were more than half full (the base fee is climbing)."""
    recent = history.gas_used_ratios[-5:]
    return bool(recent) and sum(recent) / len(recent) > 0.5


def suggest_fees(history: FeeHistory, min_priority_fee: int = 1) -> FeeSuggestion:
    """Slow / normal / urgent fees from the reward percentiles and the base-fee trend.

    The priority fee of a speed is the median, over the sampled blocks, of the
    reward at that speed's percentile (never below ``min_priority_fee``). The max
    fee covers the next base fee grown at the EIP-1559 maximum for the speed's
    headroom blocks (one more block when the base fee is rising), plus the tip.
    """
    index = {p: i for i, p in enumerate(history.percentiles)}
    trend_extra = 1 if rising_base_fee(history) else 0
    fees: dict[Speed, Fee] = {}
    for speed, percentile in PERCENTILES.items():
        if percentile not in index:
            raise ValueError(f"fee history lacks the {percentile}th percentile")
        column = [row[index[percentile]] for row in history.rewards if row]
        tip = max(_median(column), min_priority_fee)
        ceiling = base_fee_after(history.next_base_fee, HEADROOM_BLOCKS[speed] + trend_extra)
        fees[speed] = Fee(max_fee_per_gas=ceiling + tip, max_priority_fee_per_gas=tip)
    # Faster never pays a smaller tip than slower, whatever the samples say.
    normal_tip = max(
        fees[Speed.NORMAL].max_priority_fee_per_gas, fees[Speed.SLOW].max_priority_fee_per_gas
    )
    urgent_tip = max(fees[Speed.URGENT].max_priority_fee_per_gas, normal_tip)
    fees[Speed.NORMAL] = _with_tip(fees[Speed.NORMAL], normal_tip)
    fees[Speed.URGENT] = _with_tip(fees[Speed.URGENT], urgent_tip)
    return FeeSuggestion(
        block_number=history.newest_block + 1,
        base_fee=history.next_base_fee,
        slow=fees[Speed.SLOW],
        normal=fees[Speed.NORMAL],
        urgent=fees[Speed.URGENT],
    )


def _with_tip(fee: Fee, tip: int) -> Fee:
    base_part = fee.max_fee_per_gas - fee.max_priority_fee_per_gas
    return Fee(max_fee_per_gas=base_part + tip, max_priority_fee_per_gas=tip)


def gas_limit_with_margin(estimate: int, margin_bps: int = 2_000) -> int:
    """``eth_estimateGas`` plus a safety margin (default 20%), rounded up."""
    if estimate <= 0:
        raise ValueError("a gas estimate must be positive")
    return -(-estimate * (BPS + margin_bps) // BPS)


class LearnedGasLimits:
    """Gas limits for routes of a kind already estimated: no ``eth_estimateGas`` round trip.

    A route's kind is the DEX kind of each hop, in order. For a kind seen
    before, ``limits`` gives two figures from the largest of its last ``keep``
    estimates: a probe (``probe_bps`` above it) to simulate the exact
    transaction with as its gas limit, and the limit to send with
    (``margin_bps`` above it). A simulation that passes with the probe proves
    the trade needs no more than the probe, so the limit sent keeps at least
    (margin - probe) / probe of headroom for a state that moves before
    inclusion; a simulation that fails with it is asked again with an estimate,
    so a route needing more gas than its kind did only costs a round trip.
    """

    def __init__(self, *, keep: int = 32, margin_bps: int = 5_000, probe_bps: int = 1_000) -> None:
        if keep < 1:
            raise ValueError("keep at least one estimate per kind")
        if not 0 <= probe_bps <= margin_bps:
            raise ValueError("the probe lies between the estimate and the limit sent")
        self.keep = keep
        self.margin_bps = margin_bps
        self.probe_bps = probe_bps
        self._estimates: dict[tuple[str, ...], deque[int]] = {}

    def learn(self, kind: tuple[str, ...], estimate: int) -> None:
        """Remember an ``eth_estimateGas`` answer for a route of this kind."""
        if estimate <= 0:
            raise ValueError("a gas estimate must be positive")
        self._estimates.setdefault(kind, deque(maxlen=self.keep)).append(estimate)

    def limits(self, kind: tuple[str, ...]) -> tuple[int, int] | None:
        """(gas to simulate with, gas limit to send with); None before any estimate."""
        seen = self._estimates.get(kind)
        if not seen:
            return None
        largest = max(seen)
        return (
            gas_limit_with_margin(largest, self.probe_bps),
            gas_limit_with_margin(largest, self.margin_bps),
        )


def bump_fee(fee: Fee, bump_bps: int = 1_250) -> Fee:
    """Fees for a replacement transaction: both fields raised by at least ``bump_bps``.

    Nodes require at least +10% on both the max fee and the tip to replace a
    pending transaction; 12.5% by default leaves room for rounding.
    """
    if bump_bps < 1_000:
        raise ValueError("a replacement needs at least a 10% fee bump")

    def raised(value: int) -> int:
        return max(value + 1, -(-value * (BPS + bump_bps) // BPS))

    return Fee(
        max_fee_per_gas=raised(fee.max_fee_per_gas),
        max_priority_fee_per_gas=raised(fee.max_priority_fee_per_gas),
    )


def transaction_cost(gas_units: int, price_per_gas: int, l1_fee: int = 0) -> int:
    """Total cost in wei: execution gas plus the OP-stack L1 data fee."""
    return gas_units * price_per_gas + l1_fee


def within_price_limit(fee: Fee, base_fee: int, max_gas_price: int) -> bool:
    """True when the price actually paid stays at or below the operator's cap."""
    return fee.effective_price(base_fee) <= max_gas_price
