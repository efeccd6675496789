"""Exceptions raised by the swap maths.

Every error is an :class:`AmmError`, so a caller that only wants "this quote is
unusable" catches one class. The subclasses say why:

- :class:`InsufficientLiquidity`: the pool cannot deliver (empty reserves, an
  output at least as large as the reserve, a V3 swap that runs out of price
  range before using its whole input).
- :class:`IncompleteTickData`: a V3 quote needs a tick-bitmap word that the
  state does not hold; the answer would be a guess, so there is none.
- :class:`InsufficientInputAmount`: a zero or negative input, refused the way
  the contracts refuse it.
- :class:`ContractRevert`: the contract itself would revert here (an overflow
  under checked arithmetic, a failed ``require``); ``reason`` carries the
  contract's revert string where it has one.
- :class:`UnknownToken`: the token is not one of the pool's two tokens.
"""

from __future__ import annotations


class AmmError(Exception):
    """Base class of every error raised by ``trading.amm``."""


class InsufficientLiquidity(AmmError):
    """The pool cannot deliver the requested swap."""


class IncompleteTickData(AmmError):
    """A V3 quote would read tick-bitmap words outside the known range."""

    def __init__(self, word: int, min_word: int, max_word: int) -> None:
        super().__init__(
            f"tick bitmap word {word} is outside the known range [{min_word}, {max_word}]"
        )
        self.word = word
        self.min_word = min_word
        self.max_word = max_word


class InsufficientInputAmount(AmmError):
    """The input amount is zero or negative."""


class ContractRevert(AmmError):
    """The on-chain contract would revert on these inputs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownToken(AmmError):
    """The token is not one of the pool's tokens."""
