"""The chain side of a profit sweep: balances, signed payouts, receipts.

The executor holds the profit; each payout is one ``withdraw(token, recipient,
amount)`` transaction signed by the executor's owner. Which payouts to send,
and in what order, is decided by ``trading.services.distribution``, which
writes each one down before it is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from trading.chain.client import ChainClient
from trading.chain.erc20 import balance_of
from trading.chain.nonces import NonceManager
from trading.chain.signer import Signer
from trading.execution.calldata import encode_withdraw
from trading.gas.fees import Speed, gas_limit_with_margin
from trading.gas.oracle import GasOracle


class Sweeper:
    """Reads the executor's balances and pays recipients from them."""

    def __init__(
        self,
        client: ChainClient,
        *,
        executor: str,
        chain_id: int,
        signer: Signer,
        op_stack: bool = False,
        receipt_timeout: float = 60.0,
    ) -> None:
        self.client = client
        self.executor = executor
        self.chain_id = chain_id
        self.signer = signer
        self.nonces = NonceManager(client, signer.address)
        self.gas = GasOracle(client, op_stack=op_stack)
        self.receipt_timeout = receipt_timeout

    async def balance(self, token: str) -> int:
        return await balance_of(self.client, token, self.executor)

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        return await self.client.request("eth_getTransactionReceipt", [tx_hash])

    async def wait(self, tx_hash: str) -> dict[str, Any] | None:
        """The receipt of ``tx_hash`` once mined, or None after ``receipt_timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.receipt_timeout
        while loop.time() < deadline:
            receipt = await self.receipt(tx_hash)
            if receipt:
                return receipt
            await asyncio.sleep(0.25)
        return None

    async def send_payout(self, token: str, recipient: str, amount: int) -> tuple[str, int, bytes]:
        """Sign a ``withdraw(token, recipient, amount)``; returns (hash, nonce, raw) unsent."""
        data = "0x" + encode_withdraw(token, recipient, amount).hex()
        call = {"from": self.signer.address, "to": self.executor, "data": data}
        estimate = int(await self.client.request("eth_estimateGas", [call]), 16)
        fee = (await self.gas.suggest()).for_speed(Speed.NORMAL)
        nonce = await self.nonces.next_nonce()
        raw, tx_hash = self.signer.sign_transaction(
            {
                "type": 2,
                "chainId": self.chain_id,
                "nonce": nonce,
                "to": self.executor,
                "value": 0,
                "data": data,
                "gas": gas_limit_with_margin(estimate),
                "maxFeePerGas": fee.max_fee_per_gas,
                "maxPriorityFeePerGas": fee.max_priority_fee_per_gas,
            }
        )
        return tx_hash, nonce, raw

    async def broadcast(self, raw: bytes) -> str | None:
        """Send a signed transaction; returns the node's error message, if any."""
        answer = await self.client.request_raw("eth_sendRawTransaction", ["0x" + raw.hex()])
        if "error" in answer:
            await self.nonces.resync()
            return str(answer["error"].get("message", answer["error"]))
        return None

    async def known(self, tx_hash: str) -> bool:
        """Whether the node knows ``tx_hash`` (mined or in its pool)."""
        return bool(await self.client.request("eth_getTransactionByHash", [tx_hash]))
