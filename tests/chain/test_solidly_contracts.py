"""The real Aerodrome Pool and PoolFactory, as the Solidly family sees them.

The session market's Solidly pools are clones of Aerodrome's Pool made by its
PoolFactory: quotes, swaps, fee rules, events and the factory's listings are
checked against the project's pure maths and its log topics.
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.exceptions import ContractLogicError

from trading.amm import AmmError, InsufficientLiquidity
from trading.amm.solidly import SolidlyPoolState
from trading.chain.artifacts import external_artifact
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, SolidlyPool, minimal_proxy_init_code
from trading.devchain.market import Market
from trading.dex import solidly as solidly_family
from trading.dex.confirm import PoolClaim, factory_names

pytestmark = pytest.mark.chain

AMOUNTS = [1, 10**3, 10**6, 10**12, 10**17, 3 * 10**18, 10**20, 10**22]


def _state(devnet: Devnet, pool: SolidlyPool) -> SolidlyPoolState:
    contract = devnet.solidly_pool(pool.address)
    dec0, dec1, r0, r1, stable, t0, t1 = contract.functions.metadata().call()
    factory = devnet.solidly_factory(contract.functions.factory().call())
    return SolidlyPoolState(
        address=pool.address,
        token0=t0,
        token1=t1,
        reserve0=r0,
        reserve1=r1,
        decimals0=len(str(dec0)) - 1,
        decimals1=len(str(dec1)) - 1,
        stable=stable,
        fee_bps=factory.functions.getFee(pool.address, stable).call(),
    )


def _quote_or_none(contract, token_in: str, amount: int) -> int | None:
    try:
        return contract.functions.getAmountOut(amount, token_in).call()
    except ContractLogicError:
        return None


@pytest.mark.parametrize(
    "pool_index", [0, 1, 2], ids=["volatile-weth-usdc", "stable-usdc-dai", "volatile-weth-dai"]
)
@pytest.mark.parametrize("direction", [0, 1])
def test_get_amount_out_matches_python_maths(
    devnet: Devnet, market: Market, pool_index: int, direction: int
) -> None:
    pool = market.solidly_pools[pool_index]
    contract = devnet.solidly_pool(pool.address)
    state = _state(devnet, pool)
    token_in = (pool.token0, pool.token1)[direction]
    reserve_out = (state.reserve1, state.reserve0)[direction]
    for amount in AMOUNTS:
        on_chain = _quote_or_none(contract, token_in, amount)
        try:
            in_python = state.amount_out(token_in, amount)
        except InsufficientLiquidity:
            # The swap itself would revert; getAmountOut alone does not check that.
            assert on_chain is None or on_chain >= reserve_out, amount
            continue
        except AmmError:
            in_python = None
        assert in_python == on_chain, amount


@pytest.mark.parametrize("pool_index", [0, 1])
@pytest.mark.parametrize("divisor", [10**9, 1000, 7])
def test_swap_pays_exactly_get_amount_out(
    devnet: Devnet, market: Market, pool_index: int, divisor: int
) -> None:
    pool = market.solidly_pools[pool_index]
    contract = devnet.solidly_pool(pool.address)
    receiver = devnet.w3.eth.accounts[5]
    amount = contract.functions.getReserves().call()[0] // divisor
    quoted = contract.functions.getAmountOut(amount, pool.token0).call()
    assert quoted == _state(devnet, pool).amount_out(pool.token0, amount)
    paid = devnet.swap_solidly(pool.address, pool.token0, amount, to=receiver)
    assert paid == quoted
    assert devnet.balance_of(pool.token1, receiver) == quoted
    # The fee left the pool: the reserves are the balances, and the next quote
    # agrees with the Python maths at the new reserves.
    r0, r1, _ = contract.functions.getReserves().call()
    assert r0 == devnet.balance_of(pool.token0, pool.address)
    assert r1 == devnet.balance_of(pool.token1, pool.address)
    back = r1 // 1000
    state = _state(devnet, pool)
    assert (
        state.amount_out(pool.token1, back)
        == contract.functions.getAmountOut(back, pool.token1).call()
    )


def test_one_more_wei_out_fails_the_k_check(devnet: Devnet, market: Market) -> None:
    pool = market.solidly_pools[1]
    contract = devnet.solidly_pool(pool.address)
    amount = 10**24
    quoted = contract.functions.getAmountOut(amount, pool.token0).call()
    devnet.mint(pool.token0, pool.address, amount)
    with pytest.raises(Exception, match=r"a932492f|K"):
        contract.functions.swap(0, quoted + 10**6, devnet.deployer, b"").call(
            {"from": devnet.deployer}
        )


def test_fee_rules_follow_aerodrome(devnet: Devnet, market: Market) -> None:
    pool = market.solidly_pools[0]
    factory = devnet.solidly_factory(market.solidly)
    assert factory.functions.getFee(pool.address, False).call() == 30
    assert factory.functions.getFee(pool.address, True).call() == 5
    devnet.set_solidly_custom_fee(market.solidly, pool.address, 12)
    assert factory.functions.getFee(pool.address, False).call() == 12
    devnet.set_solidly_custom_fee(market.solidly, pool.address, 420)
    assert factory.functions.getFee(pool.address, False).call() == 0
    state = _state(devnet, pool)
    contract = devnet.solidly_pool(pool.address)
    assert state.fee_bps == 0
    assert (
        state.amount_out(pool.token0, 10**18)
        == contract.functions.getAmountOut(10**18, pool.token0).call()
    )
    devnet.set_solidly_custom_fee(market.solidly, pool.address, 300)
    assert factory.functions.getFee(pool.address, False).call() == 300
    devnet.set_solidly_custom_fee(market.solidly, pool.address, 0)
    assert factory.functions.getFee(pool.address, False).call() == 30
    too_high = keccak(text="FeeTooHigh()")[:4].hex()
    with pytest.raises(ContractLogicError, match=too_high):
        factory.functions.setCustomFee(pool.address, 301).call({"from": devnet.deployer})
    # Only the fee manager (the deployer, by the factory's constructor) sets fees.
    not_manager = keccak(text="NotFeeManager()")[:4].hex()
    with pytest.raises(ContractLogicError, match=not_manager):
        factory.functions.setCustomFee(pool.address, 12).call({"from": devnet.w3.eth.accounts[3]})
    assert factory.functions.feeManager().call() == devnet.deployer


def _event_topics(artifact: str) -> dict[str, str]:
    """``name -> topic0`` of every event in a real contract's ABI."""
    topics = {}
    for item in external_artifact(artifact).abi:
        if item["type"] == "event":
            types = ",".join(i["type"] for i in item["inputs"])
            topics[item["name"]] = "0x" + keccak(text=f"{item['name']}({types})").hex()
    return topics


def test_family_log_topics_are_the_real_contracts_events() -> None:
    pool_events = _event_topics("Pool")
    factory_events = _event_topics("PoolFactory")
    assert pool_events["Sync"] == solidly_family.SYNC
    assert pool_events["Swap"] == solidly_family.SWAP
    assert pool_events["Mint"] == solidly_family.MINT
    assert pool_events["Burn"] == solidly_family.BURN
    assert factory_events["SetCustomFee"] == solidly_family.SET_CUSTOM_FEE
    family = solidly_family.SolidlyFamily
    assert set(family.state_topics) <= set(pool_events.values())
    assert set(family.factory_topics) <= set(factory_events.values())


def test_events_have_aerodrome_signatures(devnet: Devnet, market: Market) -> None:
    pool = market.solidly_pools[0]
    devnet.mint(pool.token0, pool.address, 10**18)
    contract = devnet.solidly_pool(pool.address)
    out = contract.functions.getAmountOut(10**18, pool.token0).call()
    receipt = devnet.transact(contract.functions.swap(0, out, devnet.deployer, b""))
    topics = {
        "0x" + log["topics"][0].hex() for log in receipt["logs"] if log["address"] == pool.address
    }
    assert {solidly_family.SYNC, solidly_family.SWAP} <= topics
    # The family's topics decode the real events: Sync carries the new reserves.
    sync = next(
        log
        for log in receipt["logs"]
        if log["address"] == pool.address and "0x" + log["topics"][0].hex() == solidly_family.SYNC
    )
    reserves = contract.functions.getReserves().call()[:2]
    assert [int.from_bytes(sync["data"][:32]), int.from_bytes(sync["data"][32:64])] == reserves
    created = keccak(text="PoolCreated(address,address,bool,address,uint256)")
    logs = devnet.w3.eth.get_logs(
        {
            "address": market.solidly.factory,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [created.hex()],
        }
    )
    assert len(logs) == len(market.solidly_pools)
    assert {"0x" + log["data"][12:32].hex() for log in logs} == {
        p.address.lower() for p in market.solidly_pools
    }


def test_mint_burn_sync_skim(devnet: Devnet, market: Market) -> None:
    pool = market.solidly_pools[2]
    contract = devnet.solidly_pool(pool.address)
    lp = contract.functions.balanceOf(devnet.deployer).call()
    devnet.transact(contract.functions.transfer(pool.address, lp // 2))
    devnet.transact(contract.functions.burn(devnet.deployer))
    r0, r1, _ = contract.functions.getReserves().call()
    assert r0 == devnet.balance_of(pool.token0, pool.address)
    devnet.mint(pool.token0, pool.address, 777)
    devnet.transact(contract.functions.skim(devnet.w3.eth.accounts[6]))
    assert devnet.balance_of(pool.token0, devnet.w3.eth.accounts[6]) == 777
    devnet.mint(pool.token1, pool.address, 555)
    devnet.transact(contract.functions.sync())
    assert contract.functions.getReserves().call()[1] == r1 + 555


def test_pools_are_clones_listed_by_the_factory(devnet: Devnet, market: Market) -> None:
    factory = devnet.solidly_factory(market.solidly)
    implementation = factory.functions.implementation().call()
    proxy_code = minimal_proxy_init_code(implementation)[10:]  # the clone's runtime code
    get_pool = factory.get_function_by_signature("getPool(address,address,bool)")
    assert factory.functions.allPoolsLength().call() == len(market.solidly_pools)
    for index, pool in enumerate(market.solidly_pools):
        assert devnet.w3.eth.get_code(pool.address) == proxy_code
        assert factory.functions.allPools(index).call() == pool.address
        assert factory.functions.isPool(pool.address).call()
        assert get_pool(pool.token0, pool.token1, pool.stable).call() == pool.address
        assert get_pool(pool.token1, pool.token0, pool.stable).call() == pool.address
        assert get_pool(pool.token0, pool.token1, not pool.stable).call() != pool.address
        contract = devnet.solidly_pool(pool.address)
        assert contract.functions.factory().call() == market.solidly.factory
        assert contract.functions.stable().call() is pool.stable


def test_fee_goes_to_pool_fees_not_the_reserves(devnet: Devnet, market: Market) -> None:
    pool = market.solidly_pools[1]  # stable, 5 bps
    contract = devnet.solidly_pool(pool.address)
    pool_fees = contract.functions.poolFees().call()
    assert pool_fees not in (pool.address, market.solidly.factory)
    fees_before = devnet.balance_of(pool.token1, pool_fees)
    r0, r1, _ = contract.functions.getReserves().call()
    amount = r1 // 1000 + 12_345
    paid = devnet.swap_solidly(pool.address, pool.token1, amount)
    assert devnet.balance_of(pool.token1, pool_fees) - fees_before == amount * 5 // 10_000
    assert contract.functions.getReserves().call()[:2] == [
        r0 - paid,
        r1 + amount - amount * 5 // 10_000,
    ]


def test_stable_first_deposit_must_be_balanced(devnet: Devnet, market: Market) -> None:
    usdc, dai = market.tokens["USDC"], market.tokens["DAI"]
    other = devnet.deploy_solidly()
    with pytest.raises(Exception, match="reverted"):
        devnet.create_solidly_pool(other, usdc.address, dai.address, True, 10**6, 2 * 10**18)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pool_index=st.sampled_from([0, 1, 2]),
    direction=st.sampled_from([0, 1]),
    amount=st.integers(min_value=1, max_value=10**26),
)
def test_random_quotes_agree_to_the_wei(
    devnet: Devnet, market: Market, pool_index: int, direction: int, amount: int
) -> None:
    pool = market.solidly_pools[pool_index]
    contract = devnet.solidly_pool(pool.address)
    state = _state(devnet, pool)
    token_in = (pool.token0, pool.token1)[direction]
    on_chain = _quote_or_none(contract, token_in, amount)
    try:
        in_python = state.amount_out(token_in, amount)
    except InsufficientLiquidity:
        assert on_chain is None or on_chain >= (state.reserve1, state.reserve0)[direction]
        return
    except AmmError:
        in_python = None
    assert in_python == on_chain


async def test_the_real_factory_confirms_its_pools(anvil: AnvilNode, market: Market) -> None:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
        for pool in market.solidly_pools:
            claim = PoolClaim(
                pool.address,
                "solidly",
                market.solidly.factory,
                pool.token0,
                pool.token1,
                stable=pool.stable,
            )
            assert await factory_names(client, claim)
            # The same tokens on the other curve are another pool (or none).
            other = dataclasses.replace(claim, stable=not pool.stable)
            assert not await factory_names(client, other)
