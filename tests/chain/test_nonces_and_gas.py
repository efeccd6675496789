import pytest

from trading.chain.client import ChainClient
from trading.chain.nonces import NonceManager
from trading.gas.fees import Speed
from trading.gas.oracle import GasOracle

pytestmark = pytest.mark.chain


@pytest.fixture
async def client(anvil, chain_snapshot):
    async with ChainClient([anvil.rpc_url], chain_id=31337) as c:
        yield c


async def test_nonces_are_handed_out_locally_and_resynced(client, w3, deployer):
    manager = NonceManager(client, deployer)
    start = w3.eth.get_transaction_count(deployer, "pending")
    assert [await manager.next_nonce() for _ in range(3)] == [start, start + 1, start + 2]
    # Nothing was sent: after an error the node's count is the truth again.
    assert await manager.resync() == start
    assert await manager.next_nonce() == start
    sent = w3.eth.send_transaction({"from": deployer, "to": deployer, "value": 0})
    w3.eth.wait_for_transaction_receipt(sent)
    assert await manager.resync() == start + 1
    assert await manager.mined_count() == start + 1


async def test_a_nonce_taken_but_not_sent_is_given_back(client, w3, deployer):
    manager = NonceManager(client, deployer)
    start = w3.eth.get_transaction_count(deployer, "pending")
    first, second = await manager.next_nonce(), await manager.next_nonce()
    manager.give_back(second)  # the newest: used again next
    assert await manager.next_nonce() == second
    # An older one cannot be: the counter is read from the node again.
    manager.give_back(first)
    w3.eth.send_transaction({"from": deployer, "to": deployer, "value": 0})
    assert await manager.next_nonce() == start + 1


async def test_fee_suggestion_from_fee_history(client, w3, deployer):
    for _ in range(3):  # a few blocks with transactions so the history has rewards
        w3.eth.send_transaction(
            {"from": deployer, "to": deployer, "value": 0, "maxPriorityFeePerGas": 2 * 10**9}
        )
    oracle = GasOracle(client)
    await oracle.initialize()
    suggestion = await oracle.suggest()
    # Compare with the node's own answer for the same block (another block may
    # have been mined since).
    newest = suggestion.block_number - 1
    assert newest <= w3.eth.block_number
    assert suggestion.base_fee == w3.eth.fee_history(1, newest)["baseFeePerGas"][-1]
    for speed in Speed:
        fee = suggestion.for_speed(speed)
        assert fee.max_fee_per_gas >= suggestion.base_fee + fee.max_priority_fee_per_gas
    assert oracle.health().healthy and oracle.health().counters["fee_reads"] == 1


async def test_gas_estimate_has_a_margin_and_l1_fee_is_zero_off_op_stack(client, deployer):
    oracle = GasOracle(client, op_stack=True)
    await oracle.initialize()
    limit = await oracle.estimate_gas({"from": deployer, "to": deployer, "value": "0x0"})
    assert limit == 25_200  # 21,000 + 20%
    # anvil has no GasPriceOracle predeploy: no L1 fee to add.
    assert await oracle.l1_fee(b"\x02" + b"\x00" * 100) == 0
