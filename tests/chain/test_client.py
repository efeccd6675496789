"""ChainClient: chain id check, failover, retries, health and round-trip counting."""

from __future__ import annotations

import pytest

from tests.support.rpc_proxy import RpcProxy, unused_port
from trading.chain.client import (
    ChainClient,
    ChainMismatchError,
    RpcConfigurationError,
    RpcError,
    RpcUnavailableError,
    redact_url,
    resolve_rpc_urls,
)
from trading.devchain.anvil import AnvilNode

pytestmark = pytest.mark.chain


async def test_it_checks_the_chain_id(anvil: AnvilNode) -> None:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        assert await client.block_number() >= 0
        assert client.endpoint_health()[0].chain_id == 31337


async def test_it_refuses_the_wrong_chain(anvil: AnvilNode) -> None:
    client = ChainClient([anvil.rpc_url], chain_id=8453)
    with pytest.raises(ChainMismatchError, match=r"expects chain id 8453 .* on chain 31337"):
        await client.initialize()
    assert not client.initialized
    await client.cleanup()


async def test_one_wrong_endpoint_is_enough_to_refuse(anvil: AnvilNode) -> None:
    async with RpcProxy(anvil.rpc_url) as wrong:
        wrong.chain_id = 1
        client = ChainClient([anvil.rpc_url, wrong.url], chain_id=31337)
        with pytest.raises(ChainMismatchError, match="on chain 1"):
            await client.initialize()
        await client.cleanup()


async def test_failover_when_the_first_url_is_dead(anvil: AnvilNode) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v2/secret-key"
    async with (
        RpcProxy(anvil.rpc_url) as proxy,
        ChainClient([dead, proxy.url], chain_id=31337, backoff=0.01) as client,
    ):
        for _ in range(5):
            assert await client.block_number() >= 0
        health = client.endpoint_health()
        assert health[0].ok is False
        assert health[0].url == f"http://127.0.0.1:{dead.split(':')[2].split('/')[0]}/…"
        assert "secret-key" not in repr(health)
        assert health[1].ok is True and health[1].latency_ms is not None
        # The dead endpoint cools down: later requests go straight to the live one.
        assert health[0].errors == 1
        assert proxy.requests == 6  # chain id check + five requests
        assert client.health().counters["endpoints_down"] == 1


async def test_retries_with_backoff_on_the_same_endpoint(anvil: AnvilNode) -> None:
    async with RpcProxy(anvil.rpc_url) as proxy:
        client = ChainClient([proxy.url], chain_id=31337, retries=3, backoff=0.01)
        await client.initialize()
        proxy.fail_next = 2
        assert await client.block_number() >= 0
        assert proxy.requests == 1 + 3
        assert client.endpoint_health()[0].errors == 2
        proxy.fail_next = 10
        with pytest.raises(RpcUnavailableError, match="every RPC endpoint failed"):
            await client.block_number()
        await client.cleanup()


async def test_error_answers_with_http_error_status(anvil: AnvilNode) -> None:
    async with RpcProxy(anvil.rpc_url) as first, RpcProxy(anvil.rpc_url) as second:
        client = ChainClient([first.url, second.url], chain_id=31337, backoff=0.01)
        await client.initialize()
        # A revert sent back as HTTP 500 is an answer: no failover, no retry.
        first.fail_next, first.fail_status = 1, 500
        first.fail_error = {"code": 3, "message": "execution reverted", "data": "0x"}
        with pytest.raises(RpcError, match="execution reverted"):
            await client.request("eth_blockNumber")
        assert client.endpoint_health()[0].ok
        # A rate limit is the endpoint's problem: the next endpoint answers.
        first.fail_next, first.fail_status = 1, 429
        first.fail_error = {"code": -32029, "message": "too many requests"}
        second.reset()
        assert await client.block_number() >= 0
        assert second.requests == 1
        assert not client.endpoint_health()[0].ok
        await client.cleanup()


async def test_all_endpoints_dead_at_start() -> None:
    client = ChainClient([f"http://127.0.0.1:{unused_port()}"], chain_id=1, timeout=2)
    with pytest.raises(RpcUnavailableError, match="no RPC endpoint answered"):
        await client.initialize()
    await client.cleanup()


async def test_counts_round_trips_and_methods(anvil: AnvilNode) -> None:
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        client.reset_counters()
        proxy.reset()
        await client.block_number()
        responses = await client.batch_raw([("eth_chainId", []), ("eth_blockNumber", [])])
        assert responses[0]["result"] == "0x7a69"
        assert client.round_trips == proxy.requests == 2
        assert client.method_counts == {"eth_blockNumber": 2, "eth_chainId": 1}
        assert client.health().counters["round_trips"] == 2


async def test_error_answers_are_not_endpoint_failures(anvil: AnvilNode) -> None:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        with pytest.raises(RpcError) as caught:
            await client.request("eth_call", [{"to": anvil.accounts[0], "data": "0x12"}, "nope"])
        assert caught.value.code is not None
        assert client.endpoint_health()[0].ok is True


async def test_async_web3_goes_through_the_client(anvil: AnvilNode) -> None:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        before = client.round_trips
        assert await client.w3.eth.chain_id == 31337
        balance = await client.w3.eth.get_balance(anvil.accounts[0])
        assert balance > 0
        assert client.round_trips > before


def test_rpc_url_resolution() -> None:
    assert resolve_rpc_urls("http://a, https://b\nws://c", {}) == ["http://a", "https://b"]
    env = {"LISTONIAN_RPC_URL": "https://x,https://y"}
    assert resolve_rpc_urls(["http://a"], env) == ["https://x", "https://y"]
    with pytest.raises(RpcConfigurationError, match="LISTONIAN_RPC_URL"):
        resolve_rpc_urls(["http://a"], {"LISTONIAN_RPC_URL": "ws://only"})
    with pytest.raises(RpcConfigurationError):
        resolve_rpc_urls("", {})


def test_redact_url() -> None:
    assert (
        redact_url("https://base-mainnet.g.alchemy.com/v2/KEY")
        == "https://base-mainnet.g.alchemy.com/…"
    )
    assert redact_url("http://user:pw@10.0.0.1:8545") == "http://10.0.0.1:8545"
    assert redact_url("https://mainnet.base.org?key=1") == "https://mainnet.base.org/…"
