"""Why a call reverted, in words: the executor's custom errors, ``Error(string)``, ``Panic``.

The executor's errors are read by name from its compiled ABI
(``contracts/build/ArbitrageExecutor.json``), so a new error in the contract is
decoded without touching this module. :func:`decode_revert_data` turns revert
bytes into a :class:`Revert`; :func:`describe` says what happened, amounts of
the start token in its units ("would have earned 0.0012 WETH, needed 0.0015
WETH").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode
from eth_utils.abi import function_signature_to_4byte_selector

ERROR_STRING_SELECTOR = function_signature_to_4byte_selector("Error(string)")
PANIC_SELECTOR = function_signature_to_4byte_selector("Panic(uint256)")

# Solidity's panic codes (docs: "Panic via assert and Error via require").
PANIC_REASONS = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an invalid internal function",
}

Amount = Callable[[int], str]


@dataclass(frozen=True)
class ErrorSpec:
    """One custom error of an ABI: its name, argument names and types."""

    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.types)})"


@dataclass(frozen=True)
class Revert:
    """Decoded revert data: the error's name and its arguments by name."""

    name: str
    args: Mapping[str, Any]
    selector: bytes

    def arg(self, name: str) -> Any:
        return self.args[name]


def error_specs(abi: Sequence[Mapping[str, Any]]) -> dict[bytes, ErrorSpec]:
    """The custom errors of ``abi`` by their four-byte selector."""
    specs: dict[bytes, ErrorSpec] = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        inputs = item.get("inputs") or []
        spec = ErrorSpec(
            name=str(item["name"]),
            names=tuple(str(i.get("name") or f"arg{n}") for n, i in enumerate(inputs)),
            types=tuple(str(i["type"]) for i in inputs),
        )
        specs[function_signature_to_4byte_selector(spec.signature)] = spec
    return specs


@cache
def executor_errors() -> dict[bytes, ErrorSpec]:
    """The ArbitrageExecutor's custom errors, from its compiled ABI."""
    from trading.chain.artifacts import project_artifact

    return error_specs(project_artifact("ArbitrageExecutor").abi)


def decode_revert_data(
    data: bytes, errors: Mapping[bytes, ErrorSpec] | None = None
) -> Revert | None:
    """Decode revert bytes (``Error``, ``Panic`` or one of ``errors``); None if unknown.

    ``errors`` defaults to the executor's.
    """
    if len(data) < 4:
        return None
    selector, body = data[:4], data[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            (text,) = decode(["string"], body)
            return Revert("Error", {"message": text}, selector)
        if selector == PANIC_SELECTOR:
            (code,) = decode(["uint256"], body)
            return Revert("Panic", {"code": code}, selector)
        spec = (executor_errors() if errors is None else errors).get(selector)
        if spec is None:
            return None
        values = decode(list(spec.types), body)
    except Exception:  # malformed data (eth_abi raises several types): not decodable
        return None
    return Revert(spec.name, dict(zip(spec.names, values, strict=True)), selector)


def revert_data_from_error(error: Any) -> bytes | None:
    """The revert bytes of a JSON-RPC error object (``{"data": "0x…"}``), if it has them."""
    if not isinstance(error, Mapping):
        return None
    data = error.get("data")
    if isinstance(data, Mapping):  # some nodes nest it: {"data": {"data": "0x…"}}
        data = data.get("data")
    if not isinstance(data, str) or not data.startswith("0x"):
        return None
    try:
        return bytes.fromhex(data[2:])
    except ValueError:
        return None


def _token(address: str, symbols: Mapping[str, str]) -> str:
    symbol = symbols.get(address) or symbols.get(address.lower())
    return symbol or f"{address[:6]}…{address[-4:]}"


def describe(
    revert: Revert,
    amount: Amount = str,
    symbols: Mapping[str, str] | None = None,
    start_token: str | None = None,
) -> str:
    """What the revert means, for an operator.

    ``amount`` formats an amount of the start token (``10**15`` → ``"0.001
    WETH"``); ``symbols`` names token addresses. An error naming the token it
    moved says its amount through ``amount`` when that token is ``start_token``.
    """
    symbols = symbols or {}
    a = revert.args

    def of_token(token: str, value: int) -> str:
        if start_token and token.lower() == start_token.lower():
            return amount(value)
        return f"{value:,} units of {_token(token, symbols)}"

    match revert.name:
        case "Error":
            return f"reverted: {a['message']}"
        case "Panic":
            code = int(a["code"])
            return f"panic 0x{code:02x}: {PANIC_REASONS.get(code, 'unknown panic code')}"
        case "Unprofitable":
            earned = int(a["balanceAfter"]) - int(a["balanceBefore"])
            outcome = (
                f"would have earned {amount(earned)}"
                if earned >= 0
                else f"would have lost {amount(-earned)}"
            )
            return f"unprofitable: {outcome}, needed {amount(int(a['minProfit']))}"
        case "Expired":
            return (
                f"expired: reached block {a['blockNumber']:,} after its deadline block "
                f"{a['deadline']:,}"
            )
        case "ZeroOutput":
            return f"hop {int(a['hop']) + 1} would return nothing"
        case "BadPayment":
            return (
                f"a pool asked for {amount(int(a['asked']))}, more than the "
                f"{amount(int(a['allowed']))} allowed"
            )
        case "TokenLoss":
            lost = int(a["balanceBefore"]) - int(a["balanceAfter"])
            return f"the route would lose {of_token(a['token'], lost)}"
        case "TransferFailed":
            return f"transfer of {of_token(a['token'], int(a['amount']))} to {a['to']} failed"
        case "NotOwner":
            return "the signing account is not the executor's owner"
        case "BadPath":
            return "the executor refused the route (bad path)"
        case "UnexpectedCallback":
            return "a callback the executor did not expect"
    args = ", ".join(f"{k}={v}" for k, v in a.items())
    return f"{revert.name}({args})"


def describe_error(
    error: Any,
    amount: Amount = str,
    symbols: Mapping[str, str] | None = None,
    start_token: str | None = None,
) -> str | None:
    """Words for a JSON-RPC error carrying revert data; None when it cannot be decoded."""
    data = revert_data_from_error(error)
    if data is None:
        return None
    revert = decode_revert_data(data)
    return None if revert is None else describe(revert, amount, symbols, start_token)
