"""Solidly-style (Aerodrome / Velodrome V2) pool maths, exact to the wei.

A port of Aerodrome's ``Pool.sol``: ``getAmountOut``, ``_getAmountOut``,
``_k``, ``_f``, ``_d`` and ``_get_y`` (the 255-iteration Newton loop with its
exact rounding). The contract is compiled with Solidity 0.8 checked
arithmetic, so every overflow or underflow there reverts; here it raises
:class:`~trading.amm.errors.ContractRevert`, and ``_get_y``'s ``revert("!y")``
does too.

Public API (stable):

- ``get_amount_out(amount_in, token_in_is_token0, reserve0, reserve1,
  decimals0, decimals1, stable, fee_bps) -> int`` (the pool's
  ``getAmountOut``: fee removed first, then the curve).
- ``curve_amount_out(...)`` (``_getAmountOut``: the curve only, no fee).
- ``k(x, y, decimals0, decimals1, stable) -> int`` (``_k``).
- ``SolidlyPoolState`` (frozen): ``address, token0, token1, reserve0,
  reserve1, decimals0, decimals1, stable, fee_bps, block_number`` with
  ``amount_out(token_in, amount_in)``, ``with_reserves(...)`` and
  ``after_swap(token_in, amount_in)``.

``decimals0``/``decimals1`` are the tokens' decimals as small integers (18, 6);
the contract stores ``10 ** decimals``. ``fee_bps`` is the pool's fee from the
factory (``getFee(pool, stable)``), in basis points.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from trading.amm.base import add256, mul256, sub256, token_index
from trading.amm.errors import ContractRevert, InsufficientInputAmount, InsufficientLiquidity

BPS = 10_000
E18 = 10**18
NEWTON_ITERATIONS = 255


def _f(x0: int, y: int) -> int:
    """``_f``: x0*y*(x0**2 + y**2) in 1e18 fixed point (the stable invariant)."""
    a = mul256(x0, y) // E18
    b = add256(mul256(x0, x0) // E18, mul256(y, y) // E18)
    return mul256(a, b) // E18


def _d(x0: int, y: int) -> int:
    """``_d``: the derivative of ``_f`` in ``y``, in 1e18 fixed point."""
    return add256(
        mul256(mul256(3, x0), mul256(y, y) // E18) // E18,
        mul256(mul256(x0, x0) // E18, x0) // E18,
    )


def div_nonzero(value: int) -> int:
    """The divisor itself, or a revert when it is zero (Solidity panics on x / 0)."""
    if value == 0:
        raise ContractRevert("division by zero")
    return value


class _Curve:
    """The stable curve bound to one pool's decimals.

    ``_get_y`` calls ``_k(x0, y + 1)``, and ``_k`` scales by the pool's
    ``decimals0``/``decimals1`` although ``x0`` and ``y`` are already 1e18
    normalised (and ``x0`` may be token1's). The contract does it, so it is
    done here too: agreeing with it to the wei matters more than the intent.
    """

    __slots__ = ("dec0", "dec1")

    def __init__(self, decimals0: int, decimals1: int) -> None:
        self.dec0 = 10**decimals0
        self.dec1 = 10**decimals1

    def k(self, x: int, y: int) -> int:
        """``_k`` for a stable pool."""
        nx = mul256(x, E18) // self.dec0
        ny = mul256(y, E18) // self.dec1
        a = mul256(nx, ny) // E18
        b = add256(mul256(nx, nx) // E18, mul256(ny, ny) // E18)
        return mul256(a, b) // E18

    def get_y(self, x0: int, xy: int, y: int) -> int:
        """``_get_y``: Newton's method for the smallest y with ``_f(x0, y) >= xy``."""
        for _ in range(NEWTON_ITERATIONS):
            k_now = _f(x0, y)
            if k_now < xy:
                dy = mul256(xy - k_now, E18) // div_nonzero(_d(x0, y))
                if dy == 0:
                    # y converged, or _d is too large for the remaining difference.
                    if k_now == xy:
                        return y
                    if self.k(x0, add256(y, 1)) > xy:
                        return y + 1
                    dy = 1
                y = add256(y, dy)
            else:
                dy = mul256(k_now - xy, E18) // div_nonzero(_d(x0, y))
                if dy == 0:
                    if k_now == xy or _f(x0, sub256(y, 1)) < xy:
                        return y
                    dy = 1
                y = sub256(y, dy)
        raise ContractRevert("!y")


def k(x: int, y: int, decimals0: int, decimals1: int, stable: bool) -> int:
    """``_k``: the pool invariant, x3y+y3x (1e18 normalised) if stable, else x*y."""
    if stable:
        return _Curve(decimals0, decimals1).k(x, y)
    return mul256(x, y)


def curve_amount_out(
    amount_in: int,
    token_in_is_token0: bool,
    reserve0: int,
    reserve1: int,
    decimals0: int,
    decimals1: int,
    stable: bool,
) -> int:
    """``_getAmountOut``: output for an input that already has the fee removed."""
    if stable:
        curve = _Curve(decimals0, decimals1)
        xy = curve.k(reserve0, reserve1)
        r0 = mul256(reserve0, E18) // curve.dec0
        r1 = mul256(reserve1, E18) // curve.dec1
        reserve_a, reserve_b = (r0, r1) if token_in_is_token0 else (r1, r0)
        dec_in, dec_out = (
            (curve.dec0, curve.dec1) if token_in_is_token0 else (curve.dec1, curve.dec0)
        )
        normalised_in = mul256(amount_in, E18) // dec_in
        y = sub256(reserve_b, curve.get_y(add256(normalised_in, reserve_a), xy, reserve_b))
        return mul256(y, dec_out) // E18
    reserve_a, reserve_b = (reserve0, reserve1) if token_in_is_token0 else (reserve1, reserve0)
    return mul256(amount_in, reserve_b) // div_nonzero(add256(reserve_a, amount_in))


def fee_amount(amount_in: int, fee_bps: int) -> int:
    """The fee the pool keeps out of ``amount_in``: ``amountIn * fee / 10000``."""
    return mul256(amount_in, fee_bps) // BPS


def get_amount_out(
    amount_in: int,
    token_in_is_token0: bool,
    reserve0: int,
    reserve1: int,
    decimals0: int,
    decimals1: int,
    stable: bool,
    fee_bps: int,
) -> int:
    """The pool's ``getAmountOut``: remove the fee, then ``_getAmountOut``."""
    if amount_in <= 0:
        raise InsufficientInputAmount("amount_in must be positive")
    if reserve0 <= 0 or reserve1 <= 0:
        raise InsufficientLiquidity("empty reserves")
    amount_in -= fee_amount(amount_in, fee_bps)
    return curve_amount_out(
        amount_in, token_in_is_token0, reserve0, reserve1, decimals0, decimals1, stable
    )


@dataclass(frozen=True, slots=True)
class SolidlyPoolState:
    """An Aerodrome-style pool (volatile x*y or stable x3y+y3x) at one block."""

    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    decimals0: int
    decimals1: int
    stable: bool
    fee_bps: int
    block_number: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.fee_bps <= BPS:
            raise ValueError(f"fee_bps must be in [0, {BPS}], got {self.fee_bps}")
        for decimals in (self.decimals0, self.decimals1):
            if not 0 <= decimals <= 77:
                raise ValueError(f"decimals must be a small integer, got {decimals}")

    @property
    def kind(self) -> str:
        """``solidly_stable`` or ``solidly_volatile``."""
        return "solidly_stable" if self.stable else "solidly_volatile"

    def amount_out(self, token_in: str, amount_in: int) -> int:
        """Exact output of selling ``amount_in`` of ``token_in`` (``getAmountOut``).

        Also applies the swap's own check: an output at least as large as the
        output reserve reverts (``InsufficientLiquidity``).
        """
        is0 = token_index(self.token0, self.token1, token_in) == 0
        out = get_amount_out(
            amount_in,
            is0,
            self.reserve0,
            self.reserve1,
            self.decimals0,
            self.decimals1,
            self.stable,
            self.fee_bps,
        )
        if out >= (self.reserve1 if is0 else self.reserve0):
            raise InsufficientLiquidity(f"output {out} would empty pool {self.address}")
        return out

    def with_reserves(
        self, reserve0: int, reserve1: int, block_number: int | None = None
    ) -> SolidlyPoolState:
        """A copy with new reserves (and optionally a new block number)."""
        return replace(
            self,
            reserve0=reserve0,
            reserve1=reserve1,
            block_number=self.block_number if block_number is None else block_number,
        )

    def after_swap(self, token_in: str, amount_in: int) -> SolidlyPoolState:
        """The state after the swap; the fee leaves the pool (sent to PoolFees)."""
        out = self.amount_out(token_in, amount_in)
        kept = amount_in - fee_amount(amount_in, self.fee_bps)
        if token_index(self.token0, self.token1, token_in) == 0:
            return self.with_reserves(self.reserve0 + kept, self.reserve1 - out)
        return self.with_reserves(self.reserve0 - out, self.reserve1 + kept)
