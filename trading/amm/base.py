"""Small helpers shared by the pool families: token lookup and EVM integer bounds."""

from __future__ import annotations

from trading.amm.errors import ContractRevert, UnknownToken

UINT256_MAX = 2**256 - 1
UINT160_MAX = 2**160 - 1
UINT128_MAX = 2**128 - 1
UINT112_MAX = 2**112 - 1
INT256_MAX = 2**255 - 1
INT256_MIN = -(2**255)


def token_index(token0: str, token1: str, token: str) -> int:
    """Return 0 if ``token`` is ``token0``, 1 if it is ``token1``.

    Addresses are compared exactly first and then case-insensitively, so a
    checksummed and a lower-case spelling of the same address match.
    """
    if token == token0:
        return 0
    if token == token1:
        return 1
    lowered = token.lower()
    if lowered == token0.lower():
        return 0
    if lowered == token1.lower():
        return 1
    raise UnknownToken(f"{token} is neither {token0} nor {token1}")


def checked_uint256(value: int, what: str = "value") -> int:
    """Return ``value`` if it fits a uint256, else raise like checked arithmetic would."""
    if value < 0 or value > UINT256_MAX:
        raise ContractRevert(f"arithmetic overflow: {what} does not fit uint256")
    return value


def mul256(a: int, b: int) -> int:
    """``a * b`` under Solidity 0.8 checked arithmetic (reverts past uint256)."""
    product = a * b
    if product > UINT256_MAX:
        raise ContractRevert("arithmetic overflow in multiplication")
    return product


def add256(a: int, b: int) -> int:
    """``a + b`` under checked arithmetic."""
    total = a + b
    if total > UINT256_MAX:
        raise ContractRevert("arithmetic overflow in addition")
    return total


def sub256(a: int, b: int) -> int:
    """``a - b`` under checked arithmetic (reverts below zero)."""
    if b > a:
        raise ContractRevert("arithmetic underflow in subtraction")
    return a - b


def div256(a: int, b: int) -> int:
    """``a / b`` for uints (reverts on division by zero)."""
    if b == 0:
        raise ContractRevert("division by zero")
    return a // b
