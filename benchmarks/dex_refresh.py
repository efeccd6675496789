"""Discovery and full refresh of many pools on anvil: batched readers vs pool by pool.

    .venv/bin/python benchmarks/dex_refresh.py [--v2 2000] [--v3 200] [--v4 500] [--repeat 5]

Deploys real Uniswap V2 pairs and V3 pools (with three positions each) on a
fresh local anvil node, then measures:

- discovery: V2 through ``allPairs`` pages (PoolListReader), V3 through
  ``PoolCreated`` log windows;
- a full refresh of every pool's state through ``PoolStateReader``
  (``ceil(pools / 500)`` eth_calls);
- the same refresh pool by pool, one ``eth_call`` per value read (what a
  naive bot does), sequentially and with 16 requests in flight;
- Uniswap V4: pools in a real PoolManager, discovered from its ``Initialize``
  logs and read through ``extsload`` in the same reader calls, alone and
  mixed with the V2 and V3 pools.

Round trips are counted by the client. Wall times are medians of ``--repeat``
runs. Prints numbers; never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_abi import decode as abi_decode
from eth_utils import keccak

from trading.amm import V2PoolState, V3PoolState
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import (
    MAX_TICK,
    MIN_TICK,
    V3_TICK_SPACING,
    Devnet,
    connect,
    nearest_usable_tick,
    sqrt_price_x96_for,
)
from trading.dex.base import DexInfo, PoolSpec
from trading.dex.manager import DexManager
from trading.dex.uniswap_v2 import UniswapV2Family
from trading.dex.uniswap_v3 import UniswapV3Family
from trading.dex.uniswap_v4 import UniswapV4Family

WORD_RADIUS = 2


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


GET_RESERVES = _selector("getReserves()")
SLOT0 = _selector("slot0()")
LIQUIDITY = _selector("liquidity()")
TICK_SPACING = _selector("tickSpacing()")
TICK_BITMAP = _selector("tickBitmap(int16)")
TICKS = _selector("ticks(int24)")


def deploy(devnet: Devnet, n_v2: int, n_v3: int) -> tuple[DexInfo, DexInfo]:
    """Tokens, ``n_v2`` V2 pairs and ``n_v3`` V3 pools with liquidity; returns the two DEXs."""
    n_tokens = 2
    while n_tokens * (n_tokens - 1) // 2 < max(n_v2, (n_v3 + 2) // 3):
        n_tokens += 1
    tokens = devnet.deploy_tokens([f"B{i}" for i in range(n_tokens)])
    pairs = [(a, b) for i, a in enumerate(tokens) for b in tokens[i + 1 :]]

    v2 = devnet.deploy_uniswap_v2()
    specs = [
        (a.address, b.address, (1000 + i) * 10**18, (2000 + i) * 10**18)
        for i, (a, b) in enumerate(pairs[:n_v2])
    ]
    for start in range(0, len(specs), 500):
        devnet.create_v2_pairs(v2, specs[start : start + 500])

    v3 = devnet.deploy_uniswap_v3()
    start_block = devnet.w3.eth.block_number
    v3_specs = []
    for i in range(n_v3):
        a, b = pairs[i // 3]
        fee = (500, 3000, 10000)[i % 3]
        spacing = V3_TICK_SPACING[fee]
        positions = [
            (-5 * spacing, 5 * spacing, 10**21),
            (-60 * spacing, 40 * spacing, 10**20),
            (
                nearest_usable_tick(MIN_TICK, spacing),
                nearest_usable_tick(MAX_TICK, spacing),
                10**19,
            ),
        ]
        v3_specs.append((a.address, b.address, fee, sqrt_price_x96_for(1), positions))
    for start in range(0, len(v3_specs), 100):
        devnet.create_v3_pools(v3, v3_specs[start : start + 100])
    return (
        DexInfo("Bench V2", "uniswap_v2", v2.factory, 30),
        DexInfo("Bench V3", "uniswap_v3", v3.factory, start_block=start_block),
    )


async def discover(client: ChainClient, v2: DexInfo, v3: DexInfo) -> tuple[list[PoolSpec], dict]:
    """Discover both DEXs from scratch; returns specs and per-DEX (pools, round trips, seconds)."""
    specs: list[PoolSpec] = []
    numbers = {}
    latest = await client.block_number()
    for info, family in ((v2, UniswapV2Family(client, v2)), (v3, UniswapV3Family(client, v3))):
        before, started = client.round_trips, time.perf_counter()
        cursor, found = 0, []
        while True:
            page = await family.discover(cursor, latest_block=latest)
            found.extend(page.pools)
            cursor = page.next_cursor
            if page.done:
                break
        numbers[info.name] = (
            len(found),
            client.round_trips - before,
            time.perf_counter() - started,
        )
        specs += [
            PoolSpec(p.address, info.kind, p.token0, p.token1, p.fee, tick_spacing=p.tick_spacing)
            for p in found
        ]
    return specs, numbers


def deploy_v4(devnet: Devnet, n_v4: int) -> DexInfo:
    """A PoolManager with ``n_v4`` hookless pools of three fees, three positions each."""
    n_tokens = 2
    while n_tokens * (n_tokens - 1) // 2 < (n_v4 + 2) // 3:
        n_tokens += 1
    tokens = devnet.deploy_tokens([f"Q{i}" for i in range(n_tokens)])
    pairs = [(a, b) for i, a in enumerate(tokens) for b in tokens[i + 1 :]]
    v4 = devnet.deploy_uniswap_v4()
    start_block = devnet.w3.eth.block_number
    specs = []
    for i in range(n_v4):
        a, b = pairs[i // 3]
        fee, spacing = ((500, 10), (3000, 60), (10000, 200))[i % 3]
        positions = [
            (-5 * spacing, 5 * spacing, 10**21),
            (-60 * spacing, 40 * spacing, 10**20),
            (
                nearest_usable_tick(MIN_TICK, spacing),
                nearest_usable_tick(MAX_TICK, spacing),
                10**19,
            ),
        ]
        specs.append((a.address, b.address, fee, spacing, sqrt_price_x96_for(1), positions))
    for start in range(0, len(specs), 100):
        devnet.create_v4_pools(v4, specs[start : start + 100])
    return DexInfo("Bench V4", "uniswap_v4", v4.manager, start_block=start_block)


async def measure_v4(node: AnvilNode, v2: DexInfo, v3: DexInfo, v4: DexInfo, repeat: int) -> None:
    """Discovery and full refreshes of the V4 pools, alone and mixed with V2 and V3."""
    async with ChainClient([node.rpc_url], chain_id=node.chain_id, timeout=120) as client:
        others, _ = await discover(client, v2, v3)
        family = UniswapV4Family(client, v4)
        before, started = client.round_trips, time.perf_counter()
        cursor, found = 0, []
        while True:
            page = await family.discover(cursor)
            found.extend(page.pools)
            cursor = page.next_cursor
            if page.done:
                break
        discovery = (client.round_trips - before, time.perf_counter() - started)
        specs = [
            PoolSpec(
                p.address, v4.kind, p.token0, p.token1, p.fee,
                tick_spacing=p.tick_spacing, manager=v4.factory,
            )
            for p in found
        ]  # fmt: skip
        block = await client.block_number()
        alone = DexManager(client, specs, word_radius=WORD_RADIUS)
        alone_time, alone_trips, batch = await timed(
            repeat, client, lambda: alone.refresh_all(block)
        )
        mixed = DexManager(client, [*others, *specs], word_radius=WORD_RADIUS)
        mixed_time, mixed_trips, mixed_batch = await timed(
            repeat, client, lambda: mixed.refresh_all(block)
        )
    print()
    print(f"Uniswap V4: {len(specs)} pools in one PoolManager, read through extsload")
    print(
        f"  discovery (Initialize logs) {discovery[0]:>5} round trips  "
        f"{discovery[1] * 1000:>9.1f} ms"
    )
    print(
        f"  full refresh, V4 alone      {alone_trips:>5} round trips  {alone_time * 1000:>9.1f} ms"
        f"  ({len(batch.states)} read, {len(batch.failed)} failed)"
    )
    print(
        f"  full refresh, V2+V3+V4      {mixed_trips:>5} round trips  {mixed_time * 1000:>9.1f} ms"
        f"  ({len(mixed_batch.states)} pools)"
    )


async def _call(client: ChainClient, to: str, data: str, block: str) -> bytes:
    result = await client.request("eth_call", [{"to": to, "data": data}, block])
    return bytes.fromhex(result[2:])


async def read_v2_single(client: ChainClient, spec: PoolSpec, block: str) -> V2PoolState:
    raw = await _call(client, spec.address, GET_RESERVES, block)
    r0, r1, _ = abi_decode(["uint112", "uint112", "uint32"], raw)
    return V2PoolState(spec.address, spec.token0, spec.token1, r0, r1, spec.fee_bps)


async def read_v3_single(client: ChainClient, spec: PoolSpec, block: str) -> V3PoolState:
    sqrt_price, tick = abi_decode(
        ["uint160", "int24"], (await _call(client, spec.address, SLOT0, block))[:64]
    )
    (liquidity,) = abi_decode(["uint128"], await _call(client, spec.address, LIQUIDITY, block))
    (spacing,) = abi_decode(["int24"], await _call(client, spec.address, TICK_SPACING, block))
    centre = (tick // spacing) >> 8
    ticks = []
    for word in range(centre - WORD_RADIUS, centre + WORD_RADIUS + 1):
        data = TICK_BITMAP + (word % 2**256).to_bytes(32, "big").hex()
        (bitmap,) = abi_decode(["uint256"], await _call(client, spec.address, data, block))
        for bit in range(256):
            if bitmap >> bit & 1:
                value = (word * 256 + bit) * spacing
                data = TICKS + (value % 2**256).to_bytes(32, "big").hex()
                raw = await _call(client, spec.address, data, block)
                ticks.append((value, abi_decode(["int128"], raw[32:64])[0]))
    return V3PoolState(
        spec.address,
        spec.token0,
        spec.token1,
        spec.fee,
        spacing,
        sqrt_price,
        tick,
        liquidity,
        tuple(ticks),
        centre - WORD_RADIUS,
        centre + WORD_RADIUS,
    )


async def refresh_single(
    client: ChainClient, specs: list[PoolSpec], block: str, concurrency: int
) -> dict:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(spec: PoolSpec) -> Any:
        async with semaphore:
            reader = read_v2_single if spec.kind == "uniswap_v2" else read_v3_single
            return await reader(client, spec, block)

    states = await asyncio.gather(*(one(spec) for spec in specs))
    return {s.address: s for s in states}


async def timed(
    repeat: int, client: ChainClient, run: Callable[[], Awaitable[Any]]
) -> tuple[float, int, Any]:
    """Median seconds and round trips of ``repeat`` runs, and the last result."""
    seconds, trips, result = [], [], None
    for _ in range(repeat):
        before, started = client.round_trips, time.perf_counter()
        result = await run()
        seconds.append(time.perf_counter() - started)
        trips.append(client.round_trips - before)
    return statistics.median(seconds), max(trips), result


async def measure(node: AnvilNode, v2: DexInfo, v3: DexInfo, repeat: int) -> None:
    async with ChainClient([node.rpc_url], chain_id=node.chain_id, timeout=120) as client:
        specs, discovery = await discover(client, v2, v3)
        block = hex(await client.block_number())
        manager = DexManager(client, specs, word_radius=WORD_RADIUS)
        batched_time, batched_trips, _ = await timed(
            repeat, client, lambda: manager.refresh_all(int(block, 16))
        )
        seq_time, seq_trips, single = await timed(
            max(1, repeat // 2), client, lambda: refresh_single(client, specs, block, 1)
        )
        par_time, par_trips, _ = await timed(
            max(1, repeat // 2), client, lambda: refresh_single(client, specs, block, 16)
        )

    batched = {a: s for a, s in manager.states.items()}
    same = all(
        batched[a].__class__ is s.__class__ and _strip(batched[a]) == _strip(s)
        for a, s in single.items()
    )
    n_v2 = sum(1 for s in specs if s.kind == "uniswap_v2")
    n_v3 = len(specs) - n_v2
    print(f"pools: {n_v2} Uniswap V2 + {n_v3} Uniswap V3 (word radius {WORD_RADIUS}) on anvil")
    print()
    print("discovery")
    for name, (count, trips, seconds) in discovery.items():
        print(f"  {name:<10} {count:>6} pools  {trips:>5} round trips  {seconds * 1000:>9.1f} ms")
    print()
    print(f"full refresh (median of {repeat})")
    print(f"  batched readers       {batched_trips:>7} round trips  {batched_time * 1000:>9.1f} ms")
    print(f"  pool by pool, serial  {seq_trips:>7} round trips  {seq_time * 1000:>9.1f} ms")
    print(f"  pool by pool, 16 busy {par_trips:>7} round trips  {par_time * 1000:>9.1f} ms")
    print()
    print(f"  round trips: {seq_trips / batched_trips:,.0f}x fewer with batched readers")
    print(
        f"  wall time:   {seq_time / batched_time:,.1f}x faster than serial, "
        f"{par_time / batched_time:,.1f}x faster than 16 in flight"
    )
    print(f"  same states both ways: {'yes' if same else 'NO'}")


def _strip(state: Any) -> Any:
    import dataclasses

    return dataclasses.replace(state, block_number=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v2", type=int, default=2000, help="Uniswap V2 pairs (default 2000)")
    parser.add_argument("--v3", type=int, default=200, help="Uniswap V3 pools (default 200)")
    parser.add_argument("--v4", type=int, default=500, help="Uniswap V4 pools (default 500)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    args = parser.parse_args(argv)
    with AnvilNode() as node:
        devnet = Devnet(connect(node.rpc_url))
        started = time.perf_counter()
        v2, v3 = deploy(devnet, args.v2, args.v3)
        v4 = deploy_v4(devnet, args.v4) if args.v4 else None
        print(f"deployed in {time.perf_counter() - started:.1f} s")
        asyncio.run(measure(node, v2, v3, args.repeat))
        if v4 is not None:
            asyncio.run(measure_v4(node, v2, v3, v4, args.repeat))


if __name__ == "__main__":
    main()
