"""The signing key: read from the environment only when needed, never shown.

``LISTONIAN_PRIVATE_KEY`` or ``LISTONIAN_PRIVATE_KEY_FILE`` holds it. The key is
never stored in the database, never logged, never rendered: this object's repr
shows the address only and it refuses to be pickled (so it cannot end up in a
cache, a Celery message or a session).
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from listonian_site.env import ConfigurationError, envsecret

_KEY_PATTERN = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
KEY_VARIABLES = ("LISTONIAN_PRIVATE_KEY", "LISTONIAN_PRIVATE_KEY_FILE")
# Set by hold_key(): the key read once into this process, out of its environment,
# and the variable it came from.
_held_key: str | None = None
_held_from: str = ""


def hold_key() -> bool:
    """Read the signing key now, keep it in this process only, and remove it from the environment.

    For the one-process server (``manage.py run``): the engine and the sweeps
    sign with it as before, while the web side, and any process started from
    here, find no key in the environment. Returns True when a key was held;
    an unreadable key file is left for :meth:`Signer.from_environment` to report.
    """
    global _held_key, _held_from
    try:
        key = envsecret("LISTONIAN_PRIVATE_KEY")
    except ConfigurationError:
        return False
    if not key:
        return False
    _held_key = key
    _held_from = (
        "LISTONIAN_PRIVATE_KEY"
        if os.environ.get("LISTONIAN_PRIVATE_KEY", "").strip()
        else "LISTONIAN_PRIVATE_KEY_FILE"
    )
    for name in KEY_VARIABLES:
        os.environ.pop(name, None)
    return True


# The accounts anvil (and hardhat) derive from their public test mnemonic: a key
# for one of them is the local test chain's, known to everyone and worth nothing.
DEVELOPMENT_ACCOUNTS = frozenset(
    {
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
        "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
        "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
    }
)


class KeySource(StrEnum):
    """Where the signing key comes from (never the key itself)."""

    NONE = "none", "not configured"
    ENVIRONMENT = "environment", "the LISTONIAN_PRIVATE_KEY environment variable"
    FILE = "file", "the file named by LISTONIAN_PRIVATE_KEY_FILE"
    DEMO = "demo", "the local test chain's public development key"
    UNREADABLE = "unreadable", "configured but unusable"

    def __new__(cls, value: str, description: str) -> KeySource:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    description: str


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
            key = _held_key or envsecret("LISTONIAN_PRIVATE_KEY")
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


def signing_key_source() -> tuple[KeySource, str]:
    """Where the signing key is read from, and its account's address ("" when none).

    Read at call time, not at start-up: the demo sets its key after settings load.
    """
    if _held_key is not None:  # read at start and taken out of the environment
        in_environment = _held_from == "LISTONIAN_PRIVATE_KEY"
        in_file = not in_environment
    else:
        in_environment = bool(os.environ.get("LISTONIAN_PRIVATE_KEY", "").strip())
        in_file = bool(os.environ.get("LISTONIAN_PRIVATE_KEY_FILE", "").strip())
    if not in_environment and not in_file:
        return KeySource.NONE, ""
    try:
        address = Signer.from_environment().address
    except SignerNotConfigured:
        return KeySource.UNREADABLE, ""
    if address in DEVELOPMENT_ACCOUNTS:
        return KeySource.DEMO, address
    return (KeySource.ENVIRONMENT if in_environment else KeySource.FILE), address
