"""Is the engine falling behind the chain? One alert when it starts, one when it clears.

Fed once per processed block with the head lag and the blocks skipped just
before it. The engine is *behind* once either stays above its threshold for
``blocks`` processed blocks in a row, and *caught up* again once both stay at
or below their thresholds for as many blocks: a single slow block neither
raises nor clears anything, so the alerts do not flap.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BehindThresholds:
    """From BotConfig; None switches a check off."""

    head_lag_blocks: int | None = None
    skipped_blocks: int | None = None
    blocks: int = 10


@dataclass(frozen=True)
class BehindChange:
    """``behind`` True when falling behind started, False when it cleared."""

    behind: bool
    block_number: int
    head_lag: int
    skipped: int
    reasons: tuple[str, ...]
    blocks: int


class BehindWatch:
    """Counts the processed blocks over / under the thresholds in a row."""

    def __init__(self, thresholds: BehindThresholds | None = None) -> None:
        self.thresholds = thresholds or BehindThresholds()
        self.behind = False
        self._over = 0
        self._under = 0
        self._skipped_in_run = 0

    def observe(self, block_number: int, head_lag: int, skipped: int) -> BehindChange | None:
        """Account for one processed block; the change of state it caused, if any."""
        t = self.thresholds
        reasons = []
        if t.head_lag_blocks is not None and head_lag > t.head_lag_blocks:
            reasons.append(f"head lag {head_lag} blocks (threshold {t.head_lag_blocks})")
        if t.skipped_blocks is not None and skipped > t.skipped_blocks:
            reasons.append(f"{skipped} blocks skipped (threshold {t.skipped_blocks})")
        needed = max(1, t.blocks)
        if reasons:
            self._over += 1
            self._under = 0
            self._skipped_in_run += skipped
        else:
            self._under += 1
            self._over = 0
            self._skipped_in_run = 0
        if not self.behind and self._over >= needed:
            self.behind = True
            return BehindChange(
                True, block_number, head_lag, self._skipped_in_run, tuple(reasons), needed
            )
        if self.behind and self._under >= needed:
            self.behind = False
            return BehindChange(False, block_number, head_lag, skipped, (), needed)
        return None
