"""AnvilNode: starts a real node on 127.0.0.1, answers, and always stops."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from trading.devchain.anvil import KEPT_LINES, AnvilError, AnvilNode

pytestmark = pytest.mark.chain


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for every practical purpose.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_it_starts_answers_and_stops() -> None:
    node = AnvilNode(chain_id=4242, accounts=3, balance=7)
    node.start()
    try:
        assert node.rpc_url.startswith("http://127.0.0.1:")
        assert node.ws_url == node.rpc_url.replace("http://", "ws://")
        assert int(node.rpc("eth_chainId"), 16) == 4242
        assert len(node.accounts) == 3
        assert len(node.private_keys) == 3
        balance = int(node.rpc("eth_getBalance", [node.accounts[0], "latest"]), 16)
        assert balance == 7 * 10**18
        pid = node.pid
    finally:
        node.stop()
    assert pid is not None
    assert not _alive(pid)
    assert not node.running


def test_context_manager_stops_on_error() -> None:
    pid = None
    with pytest.raises(RuntimeError, match="boom"), AnvilNode() as node:
        pid = node.pid
        raise RuntimeError("boom")
    assert pid is not None
    assert not _alive(pid)


def test_two_nodes_get_different_ports() -> None:
    with AnvilNode() as first, AnvilNode() as second:
        assert first.port != second.port
        assert first.rpc("eth_blockNumber") == "0x0"
        assert second.rpc("eth_blockNumber") == "0x0"


def test_only_the_last_lines_of_a_busy_node_are_kept() -> None:
    with AnvilNode() as node:
        for _ in range(KEPT_LINES + 50):
            node.rpc("eth_chainId")
        deadline = time.monotonic() + 5
        lines = node.output().splitlines()
        while (len(lines) < KEPT_LINES or "eth_chainId" not in lines[-1]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
            lines = node.output().splitlines()
        assert len(lines) == KEPT_LINES  # every request logged a line; the oldest went
        assert "eth_chainId" in lines[-1]
        assert not any("Listening on" in line for line in lines)


def test_the_states_a_node_keeps_on_disk_go_with_it() -> None:
    node = AnvilNode()
    node.start()
    try:
        command = node.command(Path("/somewhere/config.json"))
        assert command[command.index("--cache-path") + 1] == "/somewhere/states"
        assert node._config_dir is not None
        folder = Path(node._config_dir.name)
    finally:
        node.stop()
    assert not folder.exists()


def test_interval_mining_produces_blocks() -> None:
    with AnvilNode(block_time=1) as node:
        deadline = time.monotonic() + 10
        while int(node.rpc("eth_blockNumber"), 16) < 2:
            assert time.monotonic() < deadline, "no blocks were mined"
            time.sleep(0.1)


def test_no_mining_waits_for_evm_mine() -> None:
    with AnvilNode(no_mining=True) as node:
        node.rpc(
            "eth_sendTransaction",
            [{"from": node.accounts[0], "to": node.accounts[1], "value": "0x1"}],
        )
        assert node.rpc("eth_blockNumber") == "0x0"
        node.mine()
        assert node.rpc("eth_blockNumber") == "0x1"


def test_gas_limit_option() -> None:
    with AnvilNode(gas_limit=50_000_000) as node:
        block = node.rpc("eth_getBlockByNumber", ["latest", False])
        assert int(block["gasLimit"], 16) == 50_000_000


def test_snapshot_and_revert() -> None:
    with AnvilNode() as node:
        snapshot = node.snapshot()
        node.mine(5)
        assert node.rpc("eth_blockNumber") == "0x5"
        node.revert(snapshot)
        assert node.rpc("eth_blockNumber") == "0x0"
        with pytest.raises(AnvilError):
            node.revert(snapshot)


def test_urls_need_a_running_node() -> None:
    with pytest.raises(AnvilError, match="not running"):
        _ = AnvilNode().rpc_url


def test_bad_option_is_reported() -> None:
    with pytest.raises(AnvilError, match="exited during start-up"):
        AnvilNode(hardfork="no-such-fork", startup_timeout=10).start()
