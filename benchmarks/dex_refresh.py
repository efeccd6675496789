"""Discovery and full refresh of many pools on anvil: batched readers vs pool by pool.

    .venv/bin/python benchmarks/dex_refresh.py [--v2 1000] [--v3 300] [--slipstream 300]
        [--pancakeswap-v3 300] [--v4 500] [--solidly 300] [--repeat 3]
        [--gas-budget 25000000] [--gas-limit 30000000]

Deploys a market with ``trading.devchain.market.build_market`` on a fresh local
anvil node: real Uniswap V2 pairs, Uniswap V3, Slipstream and PancakeSwap V3
pools, hookless Uniswap V4 pools in one PoolManager and real Aerodrome pools
(volatile and stable in turn), each concentrated pool with the builder's three
positions (narrow, wide, full range). Then, per family
and for all of them together, measures:

- discovery (V2 through ``allPairs`` pages, the others through factory or
  PoolManager logs);
- a full refresh through ``PoolStateReader`` (``ceil(pools / 500)`` calls is
  the target), its round trips, wall time and the gas of one reader call
  holding every pool of the family;
- the same refresh pool by pool, one ``eth_call`` per value read (what a
  naive bot does), with 16 requests in flight, and whether both ways give the
  same states.

Round trips are counted by the client; the first refresh (pools never read,
planned by the families' estimates) and the later ones (planned with the
ticks the first one found) are shown apart. Wall times are medians of
``--repeat`` runs. ``--gas-budget`` is the planner's gas per call (the
network's ``read_gas_budget``); ``--gas-limit`` starts anvil with that block
gas limit, which anvil also applies to ``eth_call`` (op-geth's default
``--rpc.gascap`` is 50,000,000). Prints numbers; never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_abi import decode as abi_decode
from eth_utils import keccak

from trading.amm import PoolState, SolidlyPoolState, V2PoolState, V3PoolState
from trading.amm.uniswap_v4 import V4PoolState
from trading.chain import readers
from trading.chain.client import ChainClient, RpcError
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, connect
from trading.devchain.market import DexPlan, Market, PoolPlan, TokenPlan, build_market
from trading.dex.base import DexInfo, PoolSpec
from trading.dex.manager import DexManager
from trading.dex.reading import DEFAULT_GAS_BUDGET, _call_for
from trading.dex.registry import family_class

WORD_RADIUS = 2
CONCURRENCY = 16
# (kind, DEX name, fee tiers or tick spacings the pools cycle through)
FAMILIES = (
    ("uniswap_v2", "Bench V2", (3000,)),
    ("uniswap_v3", "Bench V3", (500, 3000, 10000)),
    ("slipstream", "Bench Slipstream", (50, 100, 200)),
    ("pancakeswap_v3", "Bench PancakeSwap V3", (500, 2500, 10000)),
    ("uniswap_v4", "Bench V4", (500, 3000, 10000)),
    # Solidly: the "tiers" are the curve, volatile (0) or stable (1).
    ("solidly", "Bench Aerodrome", (0, 1)),
)


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


GET_RESERVES = _selector("getReserves()")
SLOT0 = _selector("slot0()")
LIQUIDITY = _selector("liquidity()")
TICK_SPACING = _selector("tickSpacing()")
TICK_BITMAP = _selector("tickBitmap(int16)")
TICKS = _selector("ticks(int24)")
EXTSLOAD = _selector("extsload(bytes32)")


def plan(counts: dict[str, int]) -> tuple[list[TokenPlan], list[DexPlan], list[PoolPlan]]:
    """Tokens at one dollar, one DEX per family, its pools over distinct pairs and tiers."""
    most = max(counts.values())
    n_tokens = 2
    while n_tokens * (n_tokens - 1) // 2 < most:
        n_tokens += 1
    tokens = [TokenPlan(f"B{i}") for i in range(n_tokens)]
    pairs = [(a.symbol, b.symbol) for i, a in enumerate(tokens) for b in tokens[i + 1 :]]
    dexes, pools = [], []
    for kind, name, tiers in FAMILIES:
        if not counts[kind]:
            continue
        dexes.append(DexPlan(name, kind, 30 if kind == "uniswap_v2" else None))
        for i in range(counts[kind]):
            a, b = pairs[i]
            # Prices a little apart, as on a real chain.
            gap = 1 + (i % 7 - 3) / 1000
            tier = tiers[i % len(tiers)]
            if kind == "slipstream":
                pools.append(PoolPlan(name, a, b, 100_000, gap, tick_spacing=tier))
            elif kind == "solidly":
                # A stable pool's first deposit must be balanced: no gap there.
                stable = bool(tier)
                pools.append(PoolPlan(name, a, b, 100_000, 1 if stable else gap, stable=stable))
            else:
                pools.append(PoolPlan(name, a, b, 100_000, gap, fee=tier))
    return tokens, dexes, pools


def specs_of(market: Market, kind: str) -> list[PoolSpec]:
    """The pools of one family as the DEX manager is told about them."""
    return [
        PoolSpec(
            p.address,
            p.kind,
            p.token0,
            p.token1,
            p.fee,
            tick_spacing=p.tick_spacing or None,
            stable=p.stable,
            dex=p.dex,
            manager=market.dexes[p.dex].factory if p.kind == "uniswap_v4" else "",
        )
        for p in market.pools
        if p.kind == kind
    ]


async def discover(client: ChainClient, info: DexInfo) -> tuple[int, int, float]:
    """Discover one DEX from scratch: (pools found, round trips, seconds)."""
    family = family_class(info.kind)(client, info)
    latest = await client.block_number()
    before, started = client.round_trips, time.perf_counter()
    cursor, found = 0, 0
    while True:
        page = await family.discover(cursor, latest_block=latest)
        found += len(page.pools)
        cursor = page.next_cursor
        if page.done:
            break
    return found, client.round_trips - before, time.perf_counter() - started


async def reader_gas(client: ChainClient, specs: list[PoolSpec], block: int) -> int | None:
    """The least gas one PoolStateReader call holding all ``specs`` needs (bisection)."""
    data, _, _ = _call_for(
        specs, with_fee=True, fee_for=(), word_radius=WORD_RADIUS, known_ticks={}
    )
    high = 100_000_000
    # Short of gas, a call may still succeed with some pools marked unreadable:
    # enough gas is what gives the same words as plenty of it.
    reference = await client.read(data, block, gas=high)

    async def enough(gas: int) -> bool:
        try:
            return await client.read(data, block, gas=gas) == reference
        except (RpcError, readers.ReaderError):
            return False

    low = 0
    while high - low > 10_000:
        middle = (low + high) // 2
        low, high = (low, middle) if await enough(middle) else (middle, high)
    return high


# ---- pool by pool -------------------------------------------------------------------------


async def _call(client: ChainClient, to: str, data: str, block: str) -> bytes:
    result = await client.request("eth_call", [{"to": to, "data": data}, block])
    return bytes.fromhex(result[2:])


def _word(value: int) -> str:
    return (value % 2**256).to_bytes(32, "big").hex()


async def read_v2_single(client: ChainClient, spec: PoolSpec, block: str) -> V2PoolState:
    raw = await _call(client, spec.address, GET_RESERVES, block)
    r0, r1, _ = abi_decode(["uint112", "uint112", "uint32"], raw)
    return V2PoolState(spec.address, spec.token0, spec.token1, r0, r1, spec.fee_bps)


async def read_solidly_single(client: ChainClient, spec: PoolSpec, block: str) -> SolidlyPoolState:
    """``getReserves()`` (the curve and fee are known from discovery)."""
    raw = await _call(client, spec.address, GET_RESERVES, block)
    r0, r1, _ = abi_decode(["uint256", "uint256", "uint256"], raw)
    return SolidlyPoolState(
        spec.address, spec.token0, spec.token1, r0, r1, 18, 18, spec.stable, spec.fee_bps
    )


async def read_v3_single(client: ChainClient, spec: PoolSpec, block: str) -> V3PoolState:
    """slot0, liquidity, spacing, the bitmap words around the price and their ticks.

    Slipstream's and PancakeSwap's ``slot0`` and ``ticks`` differ from V3's
    after the fields read here.
    """
    sqrt_price, tick = abi_decode(
        ["uint160", "int24"], (await _call(client, spec.address, SLOT0, block))[:64]
    )
    (liquidity,) = abi_decode(["uint128"], await _call(client, spec.address, LIQUIDITY, block))
    (spacing,) = abi_decode(["int24"], await _call(client, spec.address, TICK_SPACING, block))
    centre = (tick // spacing) >> 8
    ticks = []
    for word in range(centre - WORD_RADIUS, centre + WORD_RADIUS + 1):
        (bitmap,) = abi_decode(
            ["uint256"], await _call(client, spec.address, TICK_BITMAP + _word(word), block)
        )
        for bit in range(256):
            if bitmap >> bit & 1:
                value = (word * 256 + bit) * spacing
                raw = await _call(client, spec.address, TICKS + _word(value), block)
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


async def read_v4_single(client: ChainClient, spec: PoolSpec, block: str) -> V4PoolState:
    """One ``extsload(bytes32)`` per slot: slot0, liquidity, bitmap words, ticks."""

    async def load(slot: int) -> int:
        raw = await _call(client, spec.manager, EXTSLOAD + _word(slot), block)
        return int.from_bytes(raw[:32], "big")

    def hashed(key: int, slot: int) -> int:
        return int.from_bytes(keccak(bytes.fromhex(_word(key) + _word(slot))), "big")

    state_slot = hashed(int(spec.address, 16), 6)
    slot0 = await load(state_slot)
    liquidity = await load(state_slot + 3) & (2**128 - 1)
    sqrt_price = slot0 & (2**160 - 1)
    tick = (slot0 >> 160) & 0xFFFFFF
    tick -= (tick >> 23) << 24
    spacing = spec.tick_spacing or 1
    centre = (tick // spacing) >> 8
    ticks = []
    for word in range(centre - WORD_RADIUS, centre + WORD_RADIUS + 1):
        bitmap = await load(hashed(word, state_slot + 5))
        for bit in range(256):
            if bitmap >> bit & 1:
                value = (word * 256 + bit) * spacing
                net = await load(hashed(value, state_slot + 4)) >> 128
                ticks.append((value, net - ((net >> 127) << 128)))
    return V4PoolState(
        address=spec.address,
        token0=spec.token0,
        token1=spec.token1,
        fee=(slot0 >> 208) & 0xFFFFFF,
        tick_spacing=spacing,
        sqrt_price_x96=sqrt_price,
        tick=tick,
        liquidity=liquidity,
        ticks=tuple(ticks),
        min_word=centre - WORD_RADIUS,
        max_word=centre + WORD_RADIUS,
        protocol_fee=(slot0 >> 184) & 0xFFFFFF,
        manager=spec.manager,
    )


async def refresh_single(
    client: ChainClient, specs: list[PoolSpec], block: str, concurrency: int
) -> dict[str, PoolState]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(spec: PoolSpec) -> PoolState:
        async with semaphore:
            if spec.kind == "uniswap_v2":
                return await read_v2_single(client, spec, block)
            if spec.kind == "uniswap_v4":
                return await read_v4_single(client, spec, block)
            if spec.kind == "solidly":
                return await read_solidly_single(client, spec, block)
            return await read_v3_single(client, spec, block)

    states = await asyncio.gather(*(one(spec) for spec in specs))
    return {s.address: s for s in states}


def same_states(batched: dict[str, PoolState], single: dict[str, PoolState]) -> bool:
    """Batched and pool-by-pool states agree (block numbers and fee sources aside)."""

    def core(state: PoolState) -> tuple[Any, ...]:
        if isinstance(state, V2PoolState):
            return (state.reserve0, state.reserve1)
        if isinstance(state, SolidlyPoolState):
            return (state.reserve0, state.reserve1, state.stable)
        assert isinstance(state, V3PoolState)
        # The batched V3 read interprets a word range relative to the price like the serial one.
        return (state.sqrt_price_x96, state.tick, state.liquidity, tuple(state.ticks))

    return batched.keys() == single.keys() and all(
        core(batched[a]) == core(s) for a, s in single.items()
    )


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


@dataclasses.dataclass
class Row:
    name: str
    pools: int
    discovered: int = 0
    discovery_trips: int = 0
    discovery_ms: float = 0.0
    first_trips: int = 0
    first_ms: float = 0.0
    batched_trips: int = 0
    batched_ms: float = 0.0
    gas: int | None = None
    gas_pools: int = 0
    single_trips: int = 0
    single_ms: float = 0.0
    same: bool = True


async def measure(node: AnvilNode, market: Market, repeat: int, budget: int) -> list[Row]:
    rows = []
    async with ChainClient([node.rpc_url], chain_id=node.chain_id, timeout=300) as client:
        block = await client.block_number()
        everything: list[PoolSpec] = []
        for kind, name, _ in FAMILIES:
            specs = specs_of(market, kind)
            if not specs:
                continue
            everything += specs
            row = Row(name, len(specs))
            dex = market.dexes[name]
            row.discovered, row.discovery_trips, seconds = await discover(
                client, DexInfo(name, kind, dex.factory, dex.fee_bps or 30)
            )
            row.discovery_ms = seconds * 1000
            rows.append(await _refresh(client, row, specs, block, repeat, budget))
        together = Row("all together", len(everything))
        rows.append(await _refresh(client, together, everything, block, repeat, budget))
        no_v4 = [spec for spec in everything if spec.kind != "uniswap_v4"]
        if len(no_v4) < len(everything) and no_v4:
            row = Row("all but V4", len(no_v4))
            rows.append(await _refresh(client, row, no_v4, block, repeat, budget))
    return rows


async def _refresh(
    client: ChainClient, row: Row, specs: list[PoolSpec], block: int, repeat: int, budget: int
) -> Row:
    manager = DexManager(client, specs, word_radius=WORD_RADIUS, gas_budget=budget)
    seconds, row.first_trips, _ = await timed(1, client, lambda: manager.refresh_all(block))
    row.first_ms = seconds * 1000
    seconds, row.batched_trips, _ = await timed(repeat, client, lambda: manager.refresh_all(block))
    row.batched_ms = seconds * 1000
    # One call of as many pools as it may hold (results above 24 KB come back as revert
    # data, which costs no code deposit: smaller calls would look dearer per pool).
    if len({spec.kind for spec in specs}) == 1:  # a mixed call's figure would mean little
        row.gas = await reader_gas(client, specs[: readers.MAX_POOLS_PER_CALL], block)
        row.gas_pools = min(len(specs), readers.MAX_POOLS_PER_CALL)
    seconds, row.single_trips, single = await timed(
        1, client, lambda: refresh_single(client, specs, hex(block), CONCURRENCY)
    )
    row.single_ms = seconds * 1000
    row.same = same_states(dict(manager.states), single)
    return row


def report(rows: list[Row], repeat: int, budget: int) -> None:
    print(f"full refresh: median of {repeat}; pool by pool: {CONCURRENCY} requests in flight")
    print(f"planner gas budget per call: {budget:,}")
    print(f"word radius {WORD_RADIUS}; target: ceil(pools / {readers.MAX_POOLS_PER_CALL}) calls")
    print()
    header = (
        f"{'family':<22}{'pools':>6} | {'discovery':>20} | {'first refresh':>18} | "
        f"{'batched refresh':>26} | "
        f"{'gas of one call':>16} | {'pool by pool':>24} | same"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        target = math.ceil(r.pools / readers.MAX_POOLS_PER_CALL)
        found = f"{r.discovered:>5}/{r.discovery_trips:>3} rt {r.discovery_ms:>6.0f} ms"
        if r.name.startswith("all "):
            found = ""
        first = f"{r.first_trips:>3} rt {r.first_ms:>8.1f} ms"
        trips = f"{r.batched_trips:>3} rt (≤{target}) {r.batched_ms:>8.1f} ms"
        gas = f"{r.gas / 1e6:>5.2f} M {r.gas // r.gas_pools // 1000:>4}k/p" if r.gas else "-"
        single = f"{r.single_trips:>7} rt {r.single_ms:>9.0f} ms"
        print(
            f"{r.name:<22}{r.pools:>6} | {found:>20} | {first:>18} | {trips:>26} | {gas:>16} | "
            f"{single:>24} | "
            f"{'yes' if r.same else 'NO'}"
        )
    print()
    print(
        "rt = round trips; gas of one call: one PoolStateReader eth_call holding the family's"
        " first 500 pools (k/p: thousand gas per pool)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v2", type=int, default=1000, help="Uniswap V2 pairs (default 1000)")
    parser.add_argument("--v3", type=int, default=300, help="Uniswap V3 pools (default 300)")
    parser.add_argument("--slipstream", type=int, default=300, help="Slipstream pools (300)")
    parser.add_argument(
        "--pancakeswap-v3", type=int, default=300, help="PancakeSwap V3 pools (default 300)"
    )
    parser.add_argument("--v4", type=int, default=500, help="Uniswap V4 pools (default 500)")
    parser.add_argument(
        "--solidly", type=int, default=300, help="Aerodrome pools, volatile and stable (300)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument(
        "--gas-budget",
        type=int,
        default=DEFAULT_GAS_BUDGET,
        help=f"planner gas per reader call (default {DEFAULT_GAS_BUDGET:,})",
    )
    parser.add_argument(
        "--gas-limit", type=int, default=None, help="anvil's block gas limit (default anvil's)"
    )
    args = parser.parse_args(argv)
    counts = {
        "uniswap_v2": args.v2,
        "uniswap_v3": args.v3,
        "slipstream": args.slipstream,
        "pancakeswap_v3": args.pancakeswap_v3,
        "uniswap_v4": args.v4,
        "solidly": args.solidly,
    }
    with AnvilNode(gas_limit=args.gas_limit) as node:
        devnet = Devnet(connect(node.rpc_url))
        started = time.perf_counter()
        market = build_market(devnet, *plan(counts))
        print(f"deployed {len(market.pools)} pools in {time.perf_counter() - started:.1f} s")
        print()
        rows = asyncio.run(measure(node, market, args.repeat, args.gas_budget))
        report(rows, args.repeat, args.gas_budget)


if __name__ == "__main__":
    main()
