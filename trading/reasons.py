"""Why an opportunity or a trade ended as it did, as a category an operator can filter on.

Every reason is kept twice: the words (``Opportunity.status_reason``,
``Trade.error``) and a :class:`ReasonCode`. The services that write a reason
give its code; :func:`reason_code_for` names the category of words alone (rows
written before the codes existed, and reasons whose writer only has the text).
"""

from __future__ import annotations

from django.db import models


class ReasonCode(models.TextChoices):
    NONE = "", "—"
    BELOW_THRESHOLD = "below_threshold", "Below threshold"
    UNQUOTABLE = "unquotable", "Cannot be priced"
    STALE = "stale", "State moved on"
    REVERT_UNPROFITABLE = "revert_unprofitable", "Reverted: unprofitable"
    REVERT_PRICE_MOVED = "revert_price_moved", "Reverted: price moved"
    REVERT_EXPIRED = "revert_expired", "Reverted: deadline passed"
    REVERT_ERROR_STRING = "revert_error_string", "Reverted: Error(string)"
    REVERT_PANIC = "revert_panic", "Reverted: Panic"
    REVERT_OTHER = "revert_other", "Reverted: other"
    GAS_PRICE = "gas_price", "Gas price above limit"
    TRADE_SIZE = "trade_size", "Trade size limit"
    PAUSED = "paused", "Kill switch"
    DAILY_LOSS = "daily_loss", "Daily loss limit"
    ACCOUNT = "account", "Signing account"
    POOL_REFUSED = "pool_refused", "Pool refused"
    SEND_REFUSED = "send_refused", "Send refused"
    DROPPED = "dropped", "Dropped"
    REVERTED_ON_CHAIN = "reverted_on_chain", "Reverted on chain"
    REORG = "reorg", "Reorg"
    ERROR = "error", "Internal error"
    DRY_RUN = "dry_run", "Dry run"
    OTHER = "other", "Other"


# The executor's custom errors (and the two Solidity built-ins) by category.
REVERT_CODES: dict[str, ReasonCode] = {
    "Unprofitable": ReasonCode.REVERT_UNPROFITABLE,
    "ZeroOutput": ReasonCode.REVERT_PRICE_MOVED,
    "BadPayment": ReasonCode.REVERT_PRICE_MOVED,
    "TokenLoss": ReasonCode.REVERT_PRICE_MOVED,
    "Expired": ReasonCode.REVERT_EXPIRED,
    "Error": ReasonCode.REVERT_ERROR_STRING,
    "Panic": ReasonCode.REVERT_PANIC,
}


def revert_code(error_name: str | None) -> ReasonCode:
    """The category of a decoded revert (by its error's name; None: not decoded)."""
    return REVERT_CODES.get(error_name or "", ReasonCode.REVERT_OTHER)


# Words that start a revert's description (trading.execution.reverts.describe) -> category.
_REVERT_WORDS: tuple[tuple[str, ReasonCode], ...] = (
    ("unprofitable", ReasonCode.REVERT_UNPROFITABLE),
    ("expired", ReasonCode.REVERT_EXPIRED),
    ("panic", ReasonCode.REVERT_PANIC),
    ("reverted: ", ReasonCode.REVERT_ERROR_STRING),
    ("hop ", ReasonCode.REVERT_PRICE_MOVED),
    ("a pool asked for", ReasonCode.REVERT_PRICE_MOVED),
    ("the route would lose", ReasonCode.REVERT_PRICE_MOVED),
)

# Prefixes of the words the project writes -> category; the first match wins.
_PREFIXES: tuple[tuple[str, ReasonCode], ...] = (
    ("dry run", ReasonCode.DRY_RUN),
    ("trade reverted", ReasonCode.REVERTED_ON_CHAIN),
    ("reverted on chain", ReasonCode.REVERTED_ON_CHAIN),
    ("trade dropped", ReasonCode.DROPPED),
    ("its nonce was used", ReasonCode.DROPPED),
    ("the node no longer knows", ReasonCode.DROPPED),
    ("trade failed: send refused", ReasonCode.SEND_REFUSED),
    ("send refused", ReasonCode.SEND_REFUSED),
    ("reorg", ReasonCode.REORG),
    ("kill switch", ReasonCode.PAUSED),
    ("daily loss limit", ReasonCode.DAILY_LOSS),
    ("gas price", ReasonCode.GAS_PRICE),
    ("input above the maximum trade size", ReasonCode.TRADE_SIZE),
    ("the maximum trade size", ReasonCode.TRADE_SIZE),
    ("live mode needs a signing key", ReasonCode.ACCOUNT),
    ("signing account", ReasonCode.ACCOUNT),
    ("pool ", ReasonCode.POOL_REFUSED),  # "pool X is not known to its factory", "no state"
    ("prices after fees allow", ReasonCode.BELOW_THRESHOLD),
    ("gross profit", ReasonCode.BELOW_THRESHOLD),
    ("net profit", ReasonCode.BELOW_THRESHOLD),
    ("profit ", ReasonCode.BELOW_THRESHOLD),
    ("no longer profitable on the newest state", ReasonCode.STALE),
    ("no longer pays", ReasonCode.BELOW_THRESHOLD),
    ("no longer profitable at block", ReasonCode.STALE),
    ("simulated profit", ReasonCode.REVERT_UNPROFITABLE),
    ("cannot be quoted", ReasonCode.UNQUOTABLE),
    ("no pool prices the native token", ReasonCode.UNQUOTABLE),
    ("cannot encode the path", ReasonCode.POOL_REFUSED),
    ("claim abandoned", ReasonCode.ERROR),
    ("claim interrupted", ReasonCode.ERROR),
)


def reason_code_for(text: str) -> ReasonCode:
    """The category of a reason from its words (best effort: ``OTHER`` when unknown)."""
    words = text.strip().lower()
    if not words:
        return ReasonCode.NONE
    if words.startswith("simulation reverted"):
        detail = words.removeprefix("simulation reverted").lstrip(": ")
        for prefix, code in _REVERT_WORDS:
            if detail.startswith(prefix):
                return code
        return ReasonCode.REVERT_OTHER
    if "pool " in words[:5] and "has no readable state" in words:
        return ReasonCode.UNQUOTABLE
    for prefix, code in _PREFIXES:
        if words.startswith(prefix):
            return code
    if "error" in words.split(":", 1)[0]:  # "RuntimeError: …" from an unexpected failure
        return ReasonCode.ERROR
    return ReasonCode.OTHER
