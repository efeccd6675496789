"""New blocks on anvil, by subscription and by polling; a busy consumer never builds a backlog."""

import asyncio

import pytest

from trading.chain.client import ChainClient
from trading.engine.watcher import BlockWatcher

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("mode", ["subscription", "polling"])
async def test_a_busy_consumer_gets_the_newest_head_not_a_queue(anvil, chain_snapshot, mode):
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        ws_url = anvil.ws_url if mode == "subscription" else None
        watcher = BlockWatcher(client, ws_url=ws_url, poll_interval=0.05)
        assert watcher.mode == mode
        stop = asyncio.Event()
        seen = []
        blocks = watcher.blocks(stop)
        seen.append(await asyncio.wait_for(anext(blocks), timeout=10))
        # The consumer is busy while five blocks arrive.
        for _ in range(5):
            await asyncio.to_thread(anvil.mine, 1)
        await asyncio.sleep(0.5)
        seen.append(await asyncio.wait_for(anext(blocks), timeout=10))
        stop.set()
        await blocks.aclose()
    assert seen[1] == seen[0] + 5  # straight to the newest: nothing queued
