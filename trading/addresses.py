"""EVM address validation: one place that decides what a valid address is."""

from __future__ import annotations

import re
from functools import lru_cache

from django.core.exceptions import ValidationError
from eth_utils import to_checksum_address

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_POOL_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# The EIP-55 checksum is a keccak hash in Python: every row written or filtered by
# address asks for it, mostly of the same few thousand addresses.
_checksummed = lru_cache(maxsize=1 << 16)(to_checksum_address)


def normalize_address(value: str) -> str:
    """Return ``value`` as a checksummed address or raise a clear ``ValidationError``.

    All-lowercase and all-uppercase hex are accepted and checksummed; mixed case
    must already carry a valid EIP-55 checksum, because a wrong checksum usually
    means a typo.
    """
    text = (value or "").strip()
    if not _HEX_ADDRESS.match(text):
        raise ValidationError(
            "%(value)s is not an address: expected 0x followed by 40 hex digits.",
            code="invalid_address",
            params={"value": text or "(empty)"},
        )
    checksummed = _checksummed(text)
    body = text[2:]
    if body != body.lower() and body != body.upper() and text != checksummed:
        raise ValidationError(
            "%(value)s has a wrong checksum (did you mean %(expected)s?).",
            code="bad_checksum",
            params={"value": text, "expected": checksummed},
        )
    return checksummed


def validate_address(value: str) -> None:
    """Model-field validator form of :func:`normalize_address`."""
    normalize_address(value)


def is_pool_id(value: str) -> bool:
    """True for a Uniswap V4 pool id: 0x followed by 64 hex digits."""
    return bool(_POOL_ID.match((value or "").strip()))


def normalize_pool_address(value: str) -> str:
    """A pool's address (checksummed) or, for a V4 pool, its pool id (lower case)."""
    text = (value or "").strip()
    if is_pool_id(text):
        return text.lower()
    if len(text) > 42:
        raise ValidationError(
            "%(value)s is neither an address (0x + 40 hex digits) nor a pool id (0x + 64).",
            code="invalid_pool_address",
            params={"value": text},
        )
    return normalize_address(text)


def validate_pool_address(value: str) -> None:
    """Model-field validator form of :func:`normalize_pool_address`."""
    normalize_pool_address(value)
