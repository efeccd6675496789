"""The signing key: read from the environment only when needed, never shown.

``LISTONIAN_PRIVATE_KEY`` or ``LISTONIAN_PRIVATE_KEY_FILE`` holds it. The key is
never stored in the database, never logged, never rendered: this object's repr
shows the address only and it refuses to be pickled (so it cannot end up in a
cache, a Celery message or a session).
"""

from __future__ import annotations

import re
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from listonian_site.env import ConfigurationError, envsecret

_KEY_PATTERN = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class SignerNotConfigured(RuntimeError):
    """No usable signing key is configured."""


class Signer:
    """Signs transactions with the operator's key."""

    __slots__ = ("_account",)

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_key(cls, key: str) -> Signer:
        key = key.strip()
        if not _KEY_PATTERN.match(key):
            # Never echo the value: it may be a real key with a typo.
            raise SignerNotConfigured(
                "The signing key is not 32 bytes of hex (64 hex digits, optionally 0x-prefixed)."
            )
        try:
            account = Account.from_key(key)
        except Exception:  # zero, or not below the secp256k1 curve order
            raise SignerNotConfigured(
                "The signing key is not a valid private key (it must be above zero and below "
                "the secp256k1 curve order)."
            ) from None
        return cls(account)

    @classmethod
    def from_environment(cls) -> Signer:
        """The signer from LISTONIAN_PRIVATE_KEY or LISTONIAN_PRIVATE_KEY_FILE."""
        try:
            key = envsecret("LISTONIAN_PRIVATE_KEY")
        except ConfigurationError as exc:
            raise SignerNotConfigured(str(exc)) from None
        if not key:
            raise SignerNotConfigured(
                "No signing key: set LISTONIAN_PRIVATE_KEY or LISTONIAN_PRIVATE_KEY_FILE."
            )
        return cls.from_key(key)

    @property
    def address(self) -> str:
        return self._account.address

    def sign_transaction(self, transaction: dict[str, Any]) -> tuple[bytes, str]:
        """Sign ``transaction``; return the raw bytes and the transaction hash (0x hex)."""
        signed = self._account.sign_transaction(transaction)
        return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

    def __repr__(self) -> str:
        return f"<Signer {self.address}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Signer holds a private key and cannot be pickled")

    def __getstate__(self) -> Any:
        raise TypeError("a Signer holds a private key and cannot be pickled")
