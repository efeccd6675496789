"""The ArbitrageExecutor trading through Uniswap V4's PoolManager on a real chain.

Cycles mix a V4 pool with V2 and V3 pools; the executor's balance gain must
equal the profit the pure maths predict from the states the project reads,
to the wei, with the input held (plain) or borrowed from the first hop
(flash; a V4 first hop takes its output first and settles at the end of
``unlockCallback``). The callback refuses anything the executor did not start.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from eth_abi import encode
from eth_utils import keccak
from web3.exceptions import ContractLogicError

from tests.support.markets import pool_specs
from trading.amm import quote
from trading.chain.artifacts import project_artifact
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import DexPlan, Market, PoolPlan, TokenPlan, build_market
from trading.dex.reading import read_states
from trading.execution.calldata import HOP_TYPE
from trading.execution.hops import PoolInfo, encode_hops

pytestmark = pytest.mark.chain

NO_DEADLINE = 2**256 - 1
UNEXPECTED_CALLBACK = "0x" + keccak(text="UnexpectedCallback()")[:4].hex()


def _market(devnet: Devnet) -> Market:
    """A/B on V2, V3 and V4; A is 3% dearer in B on V4 than elsewhere."""
    dexes = (
        DexPlan("V2", "uniswap_v2", 30),
        DexPlan("V3", "uniswap_v3"),
        DexPlan("V4", "uniswap_v4"),
    )
    pools = [
        PoolPlan("V2", "A", "B", 10**6),
        PoolPlan("V3", "A", "B", 10**6, fee=500),
        PoolPlan("V4", "A", "B", 10**6, Fraction(103, 100), fee=500),
    ]
    return build_market(devnet, [TokenPlan("A"), TokenPlan("B")], dexes, pools)


def _infos(market: Market) -> dict[str, PoolInfo]:
    infos = {}
    for pool in market.pools:
        extra = {}
        if pool.kind == "uniswap_v4":
            extra = {
                "manager": market.dexes[pool.dex].factory,
                "key_fee": pool.fee,
                "tick_spacing": pool.tick_spacing,
            }
        fee_bps = 30 if pool.kind == "uniswap_v2" else 0
        infos[pool.address] = PoolInfo(
            pool.address, pool.token0, pool.token1, pool.kind, fee_bps, **extra
        )
    return infos


async def _expected_profit(anvil: AnvilNode, market: Market, path: list[dict], amount: int) -> int:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        batch = await read_states(client, pool_specs(market), word_radius=20)
    assert not batch.failed
    out = amount
    for step in path:
        out = quote(batch.states[step["pool"]], step["token_in"], out)
    return out - amount


def _path(market: Market, first: str, second: str, start: str) -> list[dict]:
    pools = {p.kind: p for p in market.pools}
    a, b = pools[first], pools[second]
    other = a.token1 if a.token0 == start else a.token0
    return [
        {"pool": a.address, "token_in": start, "token_out": other},
        {"pool": b.address, "token_in": other, "token_out": start},
    ]


@pytest.mark.parametrize(
    ("first", "second", "start", "flash"),
    [
        ("uniswap_v2", "uniswap_v4", "B", False),
        ("uniswap_v4", "uniswap_v2", "A", False),
        ("uniswap_v4", "uniswap_v3", "A", True),
        ("uniswap_v3", "uniswap_v4", "B", True),
        ("uniswap_v4", "uniswap_v2", "A", True),
    ],
)
async def test_the_executor_gains_exactly_the_quoted_profit(
    anvil: AnvilNode, devnet: Devnet, first: str, second: str, start: str, flash: bool
) -> None:
    market = _market(devnet)
    token = market.token(start).address
    artifact = project_artifact("ArbitrageExecutor")
    executor = devnet.contract(artifact, devnet.deploy(artifact))
    path = _path(market, first, second, token)
    expected = await _expected_profit(anvil, market, path, 10**21)
    assert expected > 0
    if not flash:
        devnet.mint(token, executor.address, 10**21)
    hops = [h.as_tuple() for h in encode_hops(path, _infos(market))]
    before = devnet.balance_of(token, executor.address)
    call = executor.functions.execute(hops, 10**21, 1, flash, NO_DEADLINE)
    assert call.call({"from": devnet.deployer}) == expected
    receipt = devnet.transact(call, gas=3_000_000)
    assert receipt["status"] == 1
    assert devnet.balance_of(token, executor.address) - before == expected
    # Nothing is left owed or held by the manager on the executor's behalf.
    other = market.token("B" if start == "A" else "A").address
    assert devnet.balance_of(other, executor.address) == 0


async def test_a_v4_hop_that_does_not_pay_reverts(anvil: AnvilNode, devnet: Devnet) -> None:
    market = _market(devnet)
    token = market.token("A").address
    artifact = project_artifact("ArbitrageExecutor")
    executor = devnet.contract(artifact, devnet.deploy(artifact))
    devnet.mint(token, executor.address, 10**21)
    # Against the gap: the cycle loses, and the whole trade is undone.
    path = _path(market, "uniswap_v2", "uniswap_v4", token)
    hops = [h.as_tuple() for h in encode_hops(path, _infos(market))]
    with pytest.raises(ContractLogicError):
        executor.functions.execute(hops, 10**21, 1, False, NO_DEADLINE).call(
            {"from": devnet.deployer}
        )


def test_unlock_callbacks_the_executor_did_not_start_are_refused(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = _market(devnet)
    manager = market.v4.manager
    artifact = project_artifact("ArbitrageExecutor")
    executor = devnet.contract(artifact, devnet.deploy(artifact))
    token = market.token("A").address
    devnet.mint(token, executor.address, 10**21)
    path = _path(market, "uniswap_v4", "uniswap_v2", token)
    (hop, _) = encode_hops(path, _infos(market))
    data = encode([HOP_TYPE, "uint256"], [hop.as_tuple(), 10**18])
    # Neither a stranger nor the manager itself (outside an unlock the executor made).
    anvil.rpc("anvil_impersonateAccount", [manager])
    anvil.rpc("anvil_setBalance", [manager, hex(10**18)])
    for sender in (devnet.deployer, manager):
        with pytest.raises(ContractLogicError) as refused:
            executor.functions.unlockCallback(data).call({"from": sender})
        assert str(refused.value.data).startswith(UNEXPECTED_CALLBACK)
