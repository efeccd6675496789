"""The ArbitrageExecutor's ABI, once: the calldata the bot sends and what it reads back.

``contracts/ArbitrageExecutor.sol``:

- ``execute(Hop[] hops, uint256 amountIn, uint256 minProfit, bool flash,
  uint256 deadline) returns (uint256 profit)``, a hop being ``(address pool,
  uint8 kind, bool zeroForOne, uint16 feeBps, address tokenIn, address
  tokenOut, uint256 v4Key)`` (see :mod:`trading.execution.hops`); it reverts after block
  ``deadline``;
- ``withdraw(address token, address to, uint256 amount)`` and ``owner()``;
- ``event Executed(address indexed startToken, uint256 amountIn, uint256
  profit, bool flash, uint256 hops)``.

Bytes in, bytes out: callers that speak JSON-RPC add the ``0x`` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import rlp
from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from trading.execution.hops import ExecutorHop

HOP_TYPE = "(address,uint8,bool,uint16,address,address,uint256)"
EXECUTE_ARGUMENTS = (f"{HOP_TYPE}[]", "uint256", "uint256", "bool", "uint256")
# No deadline: the trade may be mined in any block (tests and tools only).
NO_DEADLINE = 2**256 - 1
EXECUTE_SIGNATURE = f"execute({','.join(EXECUTE_ARGUMENTS)})"
EXECUTE_SELECTOR = function_signature_to_4byte_selector(EXECUTE_SIGNATURE)
WITHDRAW_ARGUMENTS = ("address", "address", "uint256")
WITHDRAW_SELECTOR = function_signature_to_4byte_selector(
    f"withdraw({','.join(WITHDRAW_ARGUMENTS)})"
)
OWNER_SELECTOR = function_signature_to_4byte_selector("owner()")
# The indexed start token is a topic; the rest is the log's data.
EXECUTED_DATA = ("uint256", "uint256", "bool", "uint256")
EXECUTED_TOPIC = "0x" + keccak(text="Executed(address,uint256,uint256,bool,uint256)").hex()


@dataclass(frozen=True)
class Executed:
    """The data of one ``Executed`` event."""

    amount_in: int
    profit: int
    flash: bool
    hops: int


def encode_execute(
    hops: Sequence[ExecutorHop],
    amount_in: int,
    min_profit: int,
    *,
    deadline_block: int = NO_DEADLINE,
    flash: bool = True,
) -> bytes:
    """Calldata of ``execute(hops, amountIn, minProfit, flash, deadline)``."""
    arguments = encode(
        EXECUTE_ARGUMENTS,
        [[hop.as_tuple() for hop in hops], amount_in, min_profit, flash, deadline_block],
    )
    return EXECUTE_SELECTOR + arguments


def decode_execute_result(result: bytes) -> int:
    """The profit an ``execute`` call returns (start-token units)."""
    (profit,) = decode(["uint256"], result)
    return int(profit)


def encode_withdraw(token: str, to: str, amount: int) -> bytes:
    """Calldata of ``withdraw(token, to, amount)``."""
    return WITHDRAW_SELECTOR + encode(WITHDRAW_ARGUMENTS, [token, to, amount])


def decode_owner(result: bytes) -> str:
    """The address an ``owner()`` call returns."""
    (owner,) = decode(["address"], result)
    return str(owner)


def decode_executed(data: bytes) -> Executed:
    """The non-indexed fields of an ``Executed`` log."""
    amount_in, profit, flash, hops = decode(EXECUTED_DATA, data)
    return Executed(int(amount_in), int(profit), bool(flash), int(hops))


def representative_transaction(hops: int, chain_id: int) -> bytes:
    """An unsigned EIP-1559 executor transaction with ``hops`` hops, for L1 fee estimates.

    The L1 data fee depends on the transaction's (compressed) size, so the
    fields are shaped like a real one: incompressible addresses and amounts.
    """

    def address(label: str) -> bytes:
        return keccak(text=label)[:20]

    def hex_address(label: str) -> str:
        return "0x" + address(label).hex()

    hop_list = [
        ExecutorHop(
            hex_address(f"pool {i}"),
            0,
            bool(i % 2),
            30,
            hex_address(f"token {i}"),
            hex_address(f"token {(i + 1) % hops}"),
        )
        for i in range(hops)
    ]
    data = encode_execute(
        hop_list, 1_234_567_891_234_567_891, 1_234_567_891_234, deadline_block=12_345_678
    )
    fields = [chain_id, 1_234, 1_000_000, 2_000_000_000, 600_000, address("executor"), 0, data, []]
    encoded: bytes = rlp.encode(fields)
    return b"\x02" + encoded
