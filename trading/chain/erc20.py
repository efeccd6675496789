"""ERC-20 reads over the chain client."""

from __future__ import annotations

from typing import Any, Protocol

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

_BALANCE_OF = function_signature_to_4byte_selector("balanceOf(address)")


class _Requester(Protocol):
    async def request(self, method: str, params: list[Any] | None = None) -> Any: ...


async def balance_of(client: _Requester, token: str, holder: str) -> int:
    """``token.balanceOf(holder)`` at the latest block, exact."""
    data = "0x" + (_BALANCE_OF + encode(["address"], [holder])).hex()
    result = await client.request("eth_call", [{"to": token, "data": data}, "latest"])
    (balance,) = decode(["uint256"], bytes.fromhex(result[2:]))
    return int(balance)
