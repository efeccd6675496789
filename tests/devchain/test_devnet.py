"""Deployment helpers: precomputed addresses match the factories, swaps move reserves."""

from __future__ import annotations

import pytest

from trading.chain.artifacts import uniswap_v2_artifact
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import (
    V3_TICK_SPACING,
    Devnet,
    DevnetError,
    aerodrome_pool_address,
    create_address,
    encode_sqrt_price_x96,
    sort_tokens,
)
from trading.devchain.market import Market, MarketMaker, fund_maker

pytestmark = pytest.mark.chain


def test_market_tokens_have_their_metadata(devnet: Devnet, market: Market) -> None:
    usdc = devnet.token(market.tokens["USDC"].address)
    assert usdc.functions.symbol().call() == "USDC"
    assert usdc.functions.decimals().call() == 6
    assert set(market.tokens) == {"WETH", "USDC", "DAI", "WBTC"}
    assert market.token("MKR").kind == "bytes32"
    assert market.token("NODEC").decimals is None


def test_v2_pairs_are_where_the_factory_put_them(devnet: Devnet, market: Market) -> None:
    factory = devnet.contract(uniswap_v2_artifact("UniswapV2Factory"), market.v2.factory)
    assert factory.functions.allPairsLength().call() == len(market.v2_pairs)
    for pair in market.v2_pairs:
        assert factory.functions.getPair(pair.token0, pair.token1).call() == pair.address
        assert devnet.v2_pair(pair.address).functions.token0().call() == pair.token0
        reserve0, reserve1, _ = devnet.v2_pair(pair.address).functions.getReserves().call()
        assert reserve0 > 0 and reserve1 > 0


def test_v3_pools_are_initialised_with_liquidity(devnet: Devnet, market: Market) -> None:
    for pool in market.v3_pools:
        contract = devnet.v3_pool(pool.address)
        assert contract.functions.fee().call() == pool.fee
        assert contract.functions.tickSpacing().call() == V3_TICK_SPACING[pool.fee]
        assert contract.functions.slot0().call()[0] > 0
        assert contract.functions.liquidity().call() > 0


def test_solidly_pools_match_the_factory(devnet: Devnet, market: Market) -> None:
    factory = devnet.solidly_factory(market.solidly)
    assert factory.functions.allPoolsLength().call() == len(market.solidly_pools)
    for index, pool in enumerate(market.solidly_pools):
        assert factory.functions.allPools(index).call() == pool.address
        assert (
            factory.functions.getPool(pool.token1, pool.token0, pool.stable).call() == pool.address
        )
        assert devnet.solidly_pool(pool.address).functions.stable().call() is pool.stable


def test_solidly_bulk_creation_predicts_the_clone_addresses(devnet: Devnet) -> None:
    tokens = devnet.deploy_tokens(["SA", "SB", "SC"], [18, 6, 18])
    deployment = devnet.deploy_solidly()
    factory = devnet.solidly_factory(deployment)
    assert factory.functions.implementation().call() == deployment.implementation
    a, b, c = (t.address for t in tokens)
    specs = [(a, b, False, 10**21, 10**9), (a, b, True, 10**21, 10**9), (c, a, True, 0, 0)]
    pools = devnet.create_solidly_pools(deployment, specs)
    get_pool = factory.get_function_by_signature("getPool(address,address,bool)")
    for pool, (token_a, token_b, stable, amount_a, _) in zip(pools, specs, strict=True):
        assert get_pool(token_a, token_b, stable).call() == pool.address
        assert pool.address == aerodrome_pool_address(
            deployment.factory, deployment.implementation, token_a, token_b, stable
        )
        # A deployment known by its factory alone finds the implementation itself.
        assert (
            devnet.solidly_pool_address(
                type(deployment)(deployment.factory), token_a, token_b, stable
            )
            == pool.address
        )
        contract = devnet.solidly_pool(pool.address)
        assert contract.functions.stable().call() is stable
        supply = contract.functions.totalSupply().call()
        # Liquidity was minted (LP tokens to the deployer, 1000 locked) only where asked.
        assert (supply > 1000) is (amount_a > 0)
        if amount_a:
            assert contract.functions.balanceOf(devnet.deployer).call() == supply - 1000
    with pytest.raises(DevnetError):
        devnet.create_solidly_pool(deployment, a, b, False)  # PoolAlreadyExists


def test_the_market_maker_swaps_aerodrome_pools_without_reverts(
    anvil: AnvilNode, devnet: Devnet, market: Market
) -> None:
    maker_account = devnet.w3.eth.accounts[4]
    fund_maker(devnet, market, maker_account)
    maker = MarketMaker(market, anvil.rpc_url, maker_account, seed=7)
    pools = [p for p in market.pools if p.kind == "solidly"]
    for _ in range(3):
        # Half an hour later each pool also records a price observation (more gas).
        devnet.w3.provider.make_request("evm_increaseTime", [1_801])
        calls = maker.calls_for(pools)
        assert len(calls) == 2 * len(pools)  # a mint and a swap per pool
        _, reverted = maker.send(calls)
        assert reverted == 0


def test_v2_swap_pays_the_quoted_amount(devnet: Devnet, market: Market) -> None:
    pair = market.v2_pairs[0]
    receiver = devnet.w3.eth.accounts[3]
    out = devnet.swap_v2(pair.address, pair.token0, 10**17, to=receiver)
    assert out > 0
    assert devnet.balance_of(pair.token1, receiver) == out


def test_v3_swap_moves_the_price(devnet: Devnet, market: Market) -> None:
    pool = market.v3_pools[0]
    before = devnet.v3_pool(pool.address).functions.slot0().call()[0]
    amount0, amount1 = devnet.swap_v3(market.v3, pool.address, pool.token0, 10**18)
    assert amount0 == 10**18
    assert amount1 < 0
    assert devnet.v3_pool(pool.address).functions.slot0().call()[0] < before


def test_solidly_swap_and_custom_fee(devnet: Devnet, market: Market) -> None:
    pool = market.solidly_pools[0]
    factory = devnet.solidly_factory(market.solidly)
    devnet.set_solidly_custom_fee(market.solidly, pool.address, 420)
    assert factory.functions.getFee(pool.address, pool.stable).call() == 0
    assert devnet.swap_solidly(pool.address, pool.token0, 10**18) > 0


def test_bulk_creation_and_address_helpers(devnet: Devnet) -> None:
    tokens = devnet.deploy_tokens(["AAA", "BBB", "CCC"])
    for token in tokens:
        assert devnet.token(token.address).functions.symbol().call() == token.symbol
    v2 = devnet.deploy_uniswap_v2()
    pairs = devnet.create_v2_pairs(
        v2,
        [(a.address, b.address, 10**20, 10**20) for a, b in [tokens[:2], tokens[1:], tokens[::2]]],
    )
    assert len({p.address for p in pairs}) == 3
    first, second = sort_tokens(tokens[0].address, tokens[1].address)
    assert (pairs[0].token0, pairs[0].token1) == (first, second)
    nonce = devnet.w3.eth.get_transaction_count(devnet.deployer)
    assert devnet.deploy_token("DDD").address == create_address(devnet.deployer, nonce)


def test_v3_rejects_unknown_fee_tier(devnet: Devnet, market: Market) -> None:
    weth, usdc = market.tokens["WETH"], market.tokens["USDC"]
    with pytest.raises(DevnetError, match="fee tier"):
        devnet.create_v3_pool(
            market.v3, weth.address, usdc.address, 1234, encode_sqrt_price_x96(1, 1)
        )


def test_failed_transaction_is_an_error(devnet: Devnet, market: Market) -> None:
    pair = market.v2_pairs[0]
    with pytest.raises(DevnetError, match="nothing"):
        devnet.swap_v2(pair.address, pair.token0, 1)
