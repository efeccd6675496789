"""Deploy the ArbitrageExecutor from the signing key's account and remember it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from trading.chain.artifacts import project_artifact
from trading.chain.client import ChainClient
from trading.chain.signer import Signer
from trading.gas.fees import Speed, gas_limit_with_margin
from trading.gas.oracle import GasOracle
from trading.models import Network
from trading.services.chain_access import ChainSession


@dataclass(frozen=True)
class Deployment:
    address: str
    tx_hash: str
    block_number: int
    gas_used: int
    owner: str


async def _deploy(client: ChainClient, signer: Signer, chain_id: int, timeout: float) -> Deployment:
    bytecode = project_artifact("ArbitrageExecutor").bytecode
    gas = GasOracle(client)
    fee = (await gas.suggest()).for_speed(Speed.NORMAL)
    estimate = int(
        await client.request("eth_estimateGas", [{"from": signer.address, "data": bytecode}]), 16
    )
    nonce = int(await client.request("eth_getTransactionCount", [signer.address, "pending"]), 16)
    raw, tx_hash = signer.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "data": bytecode,
            "value": 0,
            "gas": gas_limit_with_margin(estimate),
            "maxFeePerGas": fee.max_fee_per_gas,
            "maxPriorityFeePerGas": fee.max_priority_fee_per_gas,
        }
    )
    await client.request("eth_sendRawTransaction", ["0x" + raw.hex()])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        receipt = await client.request("eth_getTransactionReceipt", [tx_hash])
        if receipt:
            break
        if loop.time() > deadline:
            raise ValidationError(
                f"The deployment {tx_hash} was sent but not mined within {timeout:g}s; "
                "check it on an explorer before trying again."
            )
        await asyncio.sleep(0.5)
    if int(receipt["status"], 16) != 1:
        raise ValidationError(f"The deployment {tx_hash} reverted.")
    return Deployment(
        address=receipt["contractAddress"],
        tx_hash=tx_hash,
        block_number=int(receipt["blockNumber"], 16),
        gas_used=int(receipt["gasUsed"], 16),
        owner=signer.address,
    )


def executor_deploy(*, network: Network, signer: Signer, timeout: float = 120.0) -> Deployment:
    """Deploy a new executor owned by ``signer`` and store its address on ``network``."""
    from eth_utils import to_checksum_address

    with ChainSession.for_network(network) as session:
        deployment = session.run(_deploy(session.client, signer, network.chain_id, timeout))
    address = to_checksum_address(deployment.address)
    Network.objects.filter(pk=network.pk).update(executor_address=address)
    return Deployment(
        address=address,
        tx_hash=deployment.tx_hash,
        block_number=deployment.block_number,
        gas_used=deployment.gas_used,
        owner=deployment.owner,
    )
