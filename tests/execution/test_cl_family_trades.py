"""The executor trading through real Slipstream, PancakeSwap V3 and Aerodrome pools.

Cycles across different families, quoted with the pure maths on states read
by the DEX layer, then run by the real executor: its balance gain is the
quoted profit to the wei, with the input held (plain) or borrowed from the
first pool (flash: a Slipstream pool answering through uniswapV3SwapCallback,
an Aerodrome pool through ``hook``), and over three hops on three families.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.support.markets import pool_specs
from trading.amm import quote
from trading.chain.artifacts import project_artifact
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import DexPlan, Market, PoolPlan, TokenPlan, build_market
from trading.dex.reading import read_states
from trading.execution.calldata import encode_execute
from trading.execution.hops import PoolInfo, encode_hops

pytestmark = pytest.mark.chain

E18 = 10**18
_DEXES = (
    DexPlan("CL", "slipstream"),
    DexPlan("Pancake", "pancakeswap_v3"),
    DexPlan("V2", "uniswap_v2", 30),
)


def _market(devnet: Devnet) -> Market:
    """WETH dear on Slipstream, cheap on PancakeSwap V3; a USDC/DAI and a DAI/WETH leg."""
    tokens = [TokenPlan("WETH", 18, 3_000), TokenPlan("USDC", 6, 1), TokenPlan("DAI", 18, 1)]
    depth = 2_000_000
    pools = [
        PoolPlan("CL", "WETH", "USDC", depth, gap=Fraction(104, 100), tick_spacing=100),
        PoolPlan("Pancake", "WETH", "USDC", depth, gap=Fraction(97, 100), fee=500),
        PoolPlan("Pancake", "USDC", "DAI", depth, fee=100),
        PoolPlan("V2", "DAI", "WETH", depth, gap=Fraction(101, 100)),
    ]
    return build_market(devnet, tokens, _DEXES, pools)


def _aerodrome_market(devnet: Devnet) -> Market:
    """WETH dear on Aerodrome (volatile), cheap on Slipstream; stable and V3 USDC/DAI legs."""
    tokens = [TokenPlan("WETH", 18, 3_000), TokenPlan("USDC", 6, 1), TokenPlan("DAI", 18, 1)]
    depth = 2_000_000
    dexes = (*_DEXES, DexPlan("Aero", "solidly"))
    pools = [
        PoolPlan("Aero", "WETH", "USDC", depth, gap=Fraction(104, 100)),
        PoolPlan("CL", "WETH", "USDC", depth, gap=Fraction(97, 100), tick_spacing=100),
        PoolPlan("Aero", "USDC", "DAI", depth, stable=True),
        PoolPlan("Pancake", "USDC", "DAI", depth, fee=100),
        PoolPlan("V2", "DAI", "WETH", depth, gap=Fraction(101, 100)),
    ]
    return build_market(devnet, tokens, dexes, pools)


async def _run_cycle(
    anvil: AnvilNode, devnet: Devnet, market: Market, pools: list[int], amount_in: int, flash: bool
) -> tuple[int, int]:
    """Quote the cycle through ``market.pools[i]`` from WETH, run it; (quoted, realized) profit."""
    weth = market.tokens["WETH"].address
    chosen = [market.pools[i] for i in pools]
    specs = {s.address: s for s in pool_specs(market)}
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        batch = await read_states(client, [specs[p.address] for p in chosen], word_radius=8)
    steps = []
    token, amount = weth, amount_in
    for pool in chosen:
        out_token = pool.token1 if token == pool.token0 else pool.token0
        steps.append({"pool": pool.address, "token_in": token, "token_out": out_token})
        amount = quote(batch.states[pool.address], token, amount)
        token = out_token
    assert token == weth
    infos = {
        p.address: PoolInfo(p.address, p.token0, p.token1, p.kind, p.fee // 100) for p in chosen
    }
    hops = encode_hops(steps, infos)
    executor = devnet.deploy(project_artifact("ArbitrageExecutor"))
    if not flash:
        devnet.mint(weth, executor, amount_in)
    before = devnet.balance_of(weth, executor)
    data = encode_execute(hops, amount_in, 1, flash=flash)
    tx = {"from": devnet.deployer, "to": executor, "data": "0x" + data.hex(), "gas": 3_000_000}
    receipt = devnet.w3.eth.wait_for_transaction_receipt(devnet.w3.eth.send_transaction(tx))  # type: ignore[arg-type]
    assert receipt["status"] == 1
    return amount - amount_in, devnet.balance_of(weth, executor) - before


@pytest.mark.parametrize("flash", [False, True], ids=["plain", "flash"])
async def test_slipstream_to_pancakeswap_v3_pays_the_quoted_profit(
    anvil: AnvilNode, devnet: Devnet, flash: bool
) -> None:
    market = _market(devnet)
    # Sell WETH where it is dear (Slipstream first), buy it back where it is cheap.
    quoted, realized = await _run_cycle(anvil, devnet, market, [0, 1], 10 * E18, flash)
    assert realized == quoted > 0


async def test_three_hops_on_three_families(anvil: AnvilNode, devnet: Devnet) -> None:
    market = _market(devnet)
    # WETH -> USDC (Slipstream) -> DAI (PancakeSwap V3) -> WETH (Uniswap V2).
    quoted, realized = await _run_cycle(anvil, devnet, market, [0, 2, 3], 5 * E18, flash=True)
    assert realized == quoted > 0


@pytest.mark.parametrize("flash", [False, True], ids=["plain", "flash"])
async def test_aerodrome_to_slipstream_pays_the_quoted_profit(
    anvil: AnvilNode, devnet: Devnet, flash: bool
) -> None:
    market = _aerodrome_market(devnet)
    assert [p.kind for p in market.pools[:2]] == ["solidly", "slipstream"]
    # Sell WETH on Aerodrome (flash: the pool pays first and calls the executor's hook).
    quoted, realized = await _run_cycle(anvil, devnet, market, [0, 1], 10 * E18, flash)
    assert realized == quoted > 0


async def test_three_hops_on_aerodrome_pancakeswap_v3_and_uniswap_v2(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = _aerodrome_market(devnet)
    # WETH -> USDC (Aerodrome, borrowed) -> DAI (PancakeSwap V3) -> WETH (Uniswap V2).
    assert [market.pools[i].kind for i in (0, 3, 4)] == ["solidly", "pancakeswap_v3", "uniswap_v2"]
    quoted, realized = await _run_cycle(anvil, devnet, market, [0, 3, 4], 5 * E18, flash=True)
    assert realized == quoted > 0


async def test_an_aerodrome_stable_hop_pays_the_quoted_profit(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = _aerodrome_market(devnet)
    assert market.pools[2].stable
    # WETH -> USDC (Aerodrome volatile) -> DAI (Aerodrome stable) -> WETH (Uniswap V2).
    quoted, realized = await _run_cycle(anvil, devnet, market, [0, 2, 4], 5 * E18, flash=True)
    assert realized == quoted > 0
