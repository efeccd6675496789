"""Full refreshes are batched: ceil(pools / 500) round trips, states exact.

600 V2 pairs, and 520 concentrated-liquidity pools of the four families
(Uniswap V3, Slipstream, PancakeSwap V3, Uniswap V4) read in two calls, first
refresh included; a call short of gas and a refused call still read every pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import pytest
from eth_utils import keccak

from tests.support.chain_fixtures import reverted_after
from tests.support.markets import pool_specs
from tests.support.rpc_proxy import RpcProxy
from trading.amm import V2PoolState, V3PoolState
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, V2Pair
from trading.devchain.market import DexPlan, Market, PoolPlan, TokenPlan, build_market
from trading.dex.base import PoolSpec
from trading.dex.manager import DexManager
from trading.dex.reading import _call_for, plan_chunks, read_states
from trading.dex.registry import family_class

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def six_hundred_pairs(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[list[V2Pair]]:
    """600 Uniswap V2 pairs with liquidity, deployed once for this module."""
    with reverted_after(anvil):
        tokens = devnet_session.deploy_tokens([f"P{i}" for i in range(36)])
        v2 = devnet_session.deploy_uniswap_v2()
        specs = []
        for i, a in enumerate(tokens):
            for b in tokens[i + 1 :]:
                specs.append((a.address, b.address, (len(specs) + 1) * 10**18, 10**21))
        yield devnet_session.create_v2_pairs(v2, specs[:600])


def _specs(pairs: list[V2Pair]) -> list[PoolSpec]:
    return [PoolSpec(p.address, "uniswap_v2", p.token0, p.token1, 3000) for p in pairs]


async def test_600_pools_in_two_round_trips(
    anvil: AnvilNode, six_hundred_pairs: list[V2Pair], devnet_session: Devnet
) -> None:
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        manager = DexManager(client, _specs(six_hundred_pairs))
        proxy.reset()
        await manager.initialize()
        assert proxy.requests <= 2
        assert proxy.methods == {"eth_call": 2}
        assert len(manager.states) == 600 and not manager.failed
    blocks = {s.block_number for s in manager.states.values()}
    assert len(blocks) == 1
    for pair in six_hundred_pairs[::97]:
        state = manager.state(pair.address)
        assert isinstance(state, V2PoolState)
        r0, r1, _ = devnet_session.v2_pair(pair.address).functions.getReserves().call()
        assert (state.reserve0, state.reserve1) == (r0, r1)


async def test_chunks_respect_count_and_gas() -> None:
    v2 = [
        PoolSpec(f"0x{i:040x}", "uniswap_v2", "0x" + "1" * 40, "0x" + "2" * 40, 3000)
        for i in range(1200)
    ]
    chunks = plan_chunks(v2)
    assert [len(c) for c in chunks] == [400, 400, 400]
    assert sorted(p.address for c in chunks for p in c) == sorted(p.address for p in v2)
    v3 = [
        PoolSpec(
            f"0x{i:040x}", "uniswap_v3", "0x" + "1" * 40, "0x" + "2" * 40, 3000, tick_spacing=60
        )
        for i in range(300)
    ]
    chunks = plan_chunks(v3, gas_budget=5_000_000)
    assert len(chunks) > 1 and sum(map(len, chunks)) == 300
    assert [len(c) for c in plan_chunks(v3, chunk_size=100, gas_budget=10**12)] == [100, 100, 100]
    # Heavy V3 pools are spread over the V2 calls instead of needing calls of their own.
    known = {p.address: 8 for p in v3}
    mixed = plan_chunks(v2[:1000] + v3[:200], known_ticks=known)
    assert len(mixed) == 3
    # Never-read V3 pools are planned as typical ones (a packed one only makes its call
    # hand back early, see the mixed refresh tests below).
    assert len(plan_chunks(v2[:1000] + v3[:200])) == 3
    assert all(len(c) <= 500 for c in mixed)


async def test_later_chunks_read_at_the_first_chunk_block(
    anvil: AnvilNode, six_hundred_pairs: list[V2Pair]
) -> None:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        batch = await read_states(client, _specs(six_hundred_pairs), chunk_size=100)
        assert batch.round_trips == 6
        assert {s.block_number for s in batch.states.values()} == {batch.block_number}


async def test_v4_pools_are_planned_by_their_measured_weight() -> None:
    v4 = [
        PoolSpec(
            f"0x{i:064x}",
            "uniswap_v4",
            "0x" + "1" * 40,
            "0x" + "2" * 40,
            3000,
            tick_spacing=60,
            manager="0x" + "3" * 40,
        )
        for i in range(500)
    ]
    # Four ticks near the price (what a refresh learns): ~47k gas each planned (43k measured),
    # so 500 fit one call of the default 25M budget, and need two of 20M.
    known = {p.address: 4 for p in v4}
    assert len(plan_chunks(v4, known_ticks=known)) == 1
    assert len(plan_chunks(v4, known_ticks=known, gas_budget=20_000_000)) == 2
    assert len(plan_chunks(v4[:390], known_ticks=known, gas_budget=20_000_000)) == 1


# ---- concentrated liquidity: every family, more than 500 pools -------------------------------

_CL_FAMILIES = (
    DexPlan("Mixed V3", "uniswap_v3"),
    DexPlan("Mixed Slipstream", "slipstream"),
    DexPlan("Mixed Pancake", "pancakeswap_v3"),
    DexPlan("Mixed V4", "uniswap_v4"),
)
_CL_PER_FAMILY = 130


@pytest.fixture(scope="module")
def mixed_cl_market(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[Market]:
    """130 pools of each concentrated-liquidity family (520), three positions each."""
    with reverted_after(anvil):
        symbols = [f"M{i}" for i in range(17)]
        pairs = [(a, b) for i, a in enumerate(symbols) for b in symbols[i + 1 :]]
        pools = []
        for dex in _CL_FAMILIES:
            for i, (a, b) in enumerate(pairs[:_CL_PER_FAMILY]):
                gap = Fraction(1000 + i % 7 - 3, 1000)
                if dex.kind == "slipstream":
                    spacing = (50, 100)[i % 2]
                    pools.append(PoolPlan(dex.name, a, b, 10**5, gap, tick_spacing=spacing))
                else:
                    pools.append(PoolPlan(dex.name, a, b, 10**5, gap, fee=(500, 10000)[i % 2]))
        yield build_market(devnet_session, [TokenPlan(s) for s in symbols], _CL_FAMILIES, pools)


def _slot(key: int, slot: int) -> int:
    return int.from_bytes(keccak(key.to_bytes(32, "big") + slot.to_bytes(32, "big")), "big")


def _assert_exact(devnet: Devnet, market: Market, manager: DexManager) -> None:
    """Sampled states equal what each pool's own getters (or V4's storage) say."""
    pools = market.pools
    for pool in pools[:: len(pools) // 24]:
        state = manager.state(pool.address)
        assert isinstance(state, V3PoolState)
        if pool.kind == "uniswap_v4":
            manager_address = market.dexes[pool.dex].factory
            base = _slot(int(pool.address, 16), 6)

            def load(slot: int, to: str = manager_address) -> int:
                raw = devnet.w3.eth.call({"to": to, "data": _EXTSLOAD + slot.to_bytes(32, "big")})
                return int.from_bytes(raw, "big")

            slot0 = load(base)
            assert (state.sqrt_price_x96, state.liquidity) == (
                slot0 & (2**160 - 1),
                load(base + 3) & (2**128 - 1),
            )
            for tick, net in state.ticks:
                word = load(_slot(tick % 2**256, base + 4)) >> 128
                assert net == word - (word >> 127 << 128)
            continue
        contract = devnet.w3.eth.contract(address=pool.address, abi=_V3_ABI)
        sqrt_price, tick = contract.functions.slot0().call()
        assert (state.sqrt_price_x96, state.tick) == (sqrt_price, tick)
        assert state.liquidity == contract.functions.liquidity().call()
        assert len(state.ticks) >= 4  # both narrow and wide positions' bounds
        for tick, net in state.ticks:
            assert contract.functions.ticks(tick).call()[1] == net


_EXTSLOAD = keccak(text="extsload(bytes32)")[:4]
# The fields every V3-family pool shares first (Slipstream's and PancakeSwap's add more after).
_V3_ABI = [
    {
        "name": "slot0",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint160"}, {"name": "", "type": "int24"}],
    },
    {
        "name": "liquidity",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint128"}],
    },
    {
        "name": "ticks",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "", "type": "int24"}],
        "outputs": [{"name": "", "type": "uint128"}, {"name": "", "type": "int128"}],
    },
]


@pytest.mark.slow
async def test_520_cl_pools_of_four_families_in_two_round_trips(
    anvil: AnvilNode, mixed_cl_market: Market, devnet_session: Devnet
) -> None:
    specs = pool_specs(mixed_cl_market)
    assert len(specs) == 520 and len({s.kind for s in specs}) == 4
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        # The default budget, on anvil's default 30M eth_call cap.
        manager = DexManager(client, specs)
        proxy.reset()
        await manager.initialize()
        # Never read before: planned by the families' estimates, and still ceil(520 / 500).
        assert proxy.methods == {"eth_call": 2}
        assert len(manager.states) == 520 and not manager.failed
        proxy.reset()
        batch = await manager.refresh_all()
        assert proxy.methods == {"eth_call": 2} and batch.round_trips == 2
        assert not manager.failed
    assert {s.block_number for s in manager.states.values()} == {batch.block_number}
    _assert_exact(devnet_session, mixed_cl_market, manager)


@pytest.mark.slow
async def test_a_call_short_of_gas_hands_back_and_the_rest_is_read_next(
    anvil: AnvilNode, mixed_cl_market: Market
) -> None:
    # 390 V3-family pools hold ~36M gas: planned as one call (a budget far above the node's
    # 30M cap), the reader stops before running dry and the rest is read in a second call.
    specs = [s for s in pool_specs(mixed_cl_market) if s.kind != "uniswap_v4"]
    assert len(plan_chunks(specs, gas_budget=10**9)) == 1
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        batch = await read_states(client, specs, gas_budget=10**9)
        reference = await read_states(client, specs, block=batch.block_number)
    assert batch.round_trips == 2
    assert batch.failed == {} and len(batch.states) == 390
    assert {s.block_number for s in batch.states.values()} == {batch.block_number}
    assert batch.states == reference.states


@pytest.mark.slow
async def test_a_failing_call_is_split_in_halves(anvil: AnvilNode, mixed_cl_market: Market) -> None:
    specs = pool_specs(mixed_cl_market)[:200]
    async with RpcProxy(anvil.rpc_url) as proxy, ChainClient([proxy.url], chain_id=31337) as client:
        reference = await read_states(client, specs)
        assert reference.round_trips == 1
        # The node refuses the first call (as one whose gas exceeds its cap would be).
        proxy.fail_status = 200
        proxy.fail_error = {"code": -32000, "message": "gas required exceeds allowance"}
        proxy.fail_next = 1
        batch = await read_states(client, specs, block=reference.block_number)
    assert batch.round_trips == 3
    assert batch.failed == {} and batch.states == reference.states


async def _least_gas(client: ChainClient, specs: list[PoolSpec], block: int) -> int:
    """The least gas with which one reader call of ``specs`` reads them all (bisection)."""
    data, _, _ = _call_for(specs, with_fee=True, fee_for=(), word_radius=2, known_ticks={})
    reference = await client.read(data, block)
    low, high = 0, 29_000_000
    while high - low > 2_000:
        middle = (low + high) // 2
        # Short of gas the reader hands back fewer pools: different words.
        enough = await client.read(data, block, gas=middle) == reference
        low, high = (low, middle) if enough else (middle, high)
    return high


@pytest.mark.slow
async def test_estimates_are_the_measured_gas_with_a_small_margin(
    anvil: AnvilNode, mixed_cl_market: Market
) -> None:
    specs = pool_specs(mixed_cl_market)
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        block = await client.block_number()
        states = (await read_states(client, specs, block=block)).states
        for kind in ("uniswap_v3", "slipstream", "pancakeswap_v3", "uniswap_v4"):
            pools = [s for s in specs if s.kind == kind]
            half = len(pools) // 2
            # Per pool, without the call's fixed costs: the second half's share.
            measured = (
                await _least_gas(client, pools, block)
                - await _least_gas(client, pools[:half], block)
            ) / (len(pools) - half)
            estimated = sum(
                family_class(kind).estimated_gas(
                    s,
                    with_fee=True,
                    word_radius=2,
                    known_ticks=len(states[s.address].ticks),
                )
                for s in pools[half:]
            ) / (len(pools) - half)
            assert measured <= estimated <= measured * 1.15, (kind, measured, estimated)
