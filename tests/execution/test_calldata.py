"""The executor's ABI: selectors from the compiled contract, calldata that decodes back."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import rlp
from eth_abi import decode, encode
from eth_utils.abi import event_abi_to_log_topic, function_abi_to_4byte_selector

from trading.chain.artifacts import project_artifact, project_root
from trading.execution.calldata import (
    EXECUTE_ARGUMENTS,
    EXECUTE_SELECTOR,
    EXECUTED_DATA,
    EXECUTED_TOPIC,
    OWNER_SELECTOR,
    WITHDRAW_SELECTOR,
    Executed,
    decode_execute_result,
    decode_executed,
    decode_owner,
    encode_execute,
    encode_withdraw,
    representative_transaction,
)
from trading.execution.hops import ExecutorHop

POOL_A, POOL_B = "0x" + "a1" * 20, "0x" + "b2" * 20
TOKEN, RECIPIENT = "0x" + "c3" * 20, "0x" + "d4" * 20
OTHER = "0x" + "e5" * 20


def test_selectors_and_topic_match_the_compiled_contract() -> None:
    abi = project_artifact("ArbitrageExecutor").abi
    functions = {e["name"]: e for e in abi if e["type"] == "function"}
    events = {e["name"]: e for e in abi if e["type"] == "event"}
    assert function_abi_to_4byte_selector(functions["execute"]) == EXECUTE_SELECTOR
    assert function_abi_to_4byte_selector(functions["withdraw"]) == WITHDRAW_SELECTOR
    assert function_abi_to_4byte_selector(functions["owner"]) == OWNER_SELECTOR
    assert "0x" + event_abi_to_log_topic(events["Executed"]).hex() == EXECUTED_TOPIC
    unindexed = [i["type"] for i in events["Executed"]["inputs"] if not i["indexed"]]
    assert tuple(unindexed) == EXECUTED_DATA


def test_execute_calldata_decodes_back() -> None:
    hops = [
        ExecutorHop(POOL_A, 0, True, 30, TOKEN, OTHER),
        ExecutorHop(POOL_B, 1, False, 0, OTHER, TOKEN),
    ]
    data = encode_execute(hops, 5 * 10**18, 2**256 - 1, deadline_block=1_234)
    assert data[:4] == EXECUTE_SELECTOR
    decoded_hops, amount_in, min_profit, flash, deadline = decode(EXECUTE_ARGUMENTS, data[4:])
    assert [tuple(h) for h in decoded_hops] == [h.as_tuple() for h in hops]
    assert (amount_in, min_profit, flash, deadline) == (5 * 10**18, 2**256 - 1, True, 1_234)
    assert decode(EXECUTE_ARGUMENTS, encode_execute(hops, 1, 1, flash=False)[4:])[3] is False
    # Without a deadline the trade may be mined in any block.
    assert decode(EXECUTE_ARGUMENTS, encode_execute(hops, 1, 1)[4:])[4] == 2**256 - 1


def test_withdraw_calldata_decodes_back() -> None:
    data = encode_withdraw(TOKEN, RECIPIENT, 10**30)
    assert data[:4] == WITHDRAW_SELECTOR
    assert decode(["address", "address", "uint256"], data[4:]) == (TOKEN, RECIPIENT, 10**30)


def test_results_and_events_are_decoded_exactly() -> None:
    assert decode_execute_result(encode(["uint256"], [2**256 - 1])) == 2**256 - 1
    assert decode_owner(encode(["address"], [RECIPIENT])) == RECIPIENT
    data = encode(EXECUTED_DATA, [10**18, 12_345, True, 3])
    assert decode_executed(data) == Executed(10**18, 12_345, True, 3)


def test_the_representative_transaction_is_an_unsigned_executor_call() -> None:
    raw = representative_transaction(3, 8453)
    assert raw[0] == 2
    fields = rlp.decode(raw[1:])
    assert int.from_bytes(fields[0], "big") == 8453
    data = fields[7]
    assert data[:4] == EXECUTE_SELECTOR
    hops, amount_in, min_profit, flash, deadline = decode(EXECUTE_ARGUMENTS, data[4:])
    assert len(hops) == 3 and amount_in > min_profit > 0 and flash and deadline > 0
    # Shaped like a real route: the hops chain back to the start token.
    assert [h[5] for h in hops] == [h[4] for h in hops[1:]] + [hops[0][4]]
    # L1 fee estimates depend on the exact bytes: pinned, so a change is deliberate.
    assert [len(representative_transaction(n, 8453)) for n in (2, 3, 4)] == [693, 917, 1141]
    assert hashlib.sha256(raw).hexdigest() == (
        "989fac79160b1e45d05575c893575e26e238b0400e82dc6cdc7dbd32d929ab7d"
    )


def test_it_imports_without_django_settings() -> None:
    code = (
        "import sys\n"
        "import trading.execution.calldata\n"
        "assert 'django' not in sys.modules, 'django was imported'\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(project_root())}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=project_root(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
