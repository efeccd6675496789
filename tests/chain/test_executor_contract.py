"""The ArbitrageExecutor contract on a real chain with real Uniswap and Solidly pools."""

import pytest
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from trading.amm.uniswap_v2 import get_amount_out as v2_amount_out
from trading.chain.artifacts import project_artifact
from trading.execution.hops import PoolInfo, encode_hops

pytestmark = pytest.mark.chain


@pytest.fixture
def executor(devnet):
    artifact = project_artifact("ArbitrageExecutor")
    address = devnet.deploy(artifact)
    return devnet.contract(artifact, address)


def _pools(market, w3):
    """PoolInfo for every pool of the session market, by address."""
    infos = {}
    for pair in market.v2_pairs:
        infos[pair.address] = PoolInfo(pair.address, pair.token0, pair.token1, "uniswap_v2", 30)
    for pool in market.v3_pools:
        infos[pool.address] = PoolInfo(pool.address, pool.token0, pool.token1, "uniswap_v3")
    for pool in market.solidly_pools:
        infos[pool.address] = PoolInfo(pool.address, pool.token0, pool.token1, "solidly")
    return infos


def _find(pools, family, a, b, **extra):
    for pool in pools:
        if {pool.token0, pool.token1} == {a, b} and all(
            getattr(pool, k) == v for k, v in extra.items()
        ):
            return pool
    raise LookupError(f"no {family} pool for {a}/{b}")


def _cycle(market, first, second, start):
    other = first.token1 if first.token0 == start else first.token0
    return [
        {"pool": first.address, "token_in": start, "token_out": other},
        {"pool": second.address, "token_in": other, "token_out": start},
    ]


def _v2_then_solidly(market, w3, devnet):
    """A V2 and a Solidly WETH/USDC pool with WETH made ~10% cheaper on Solidly."""
    weth, usdc = market.token("WETH").address, market.token("USDC").address
    v2 = _find(market.v2_pairs, "v2", weth, usdc)
    solidly = _find(market.solidly_pools, "solidly", weth, usdc, stable=False)
    devnet.swap_solidly(solidly.address, weth, 25 * 10**18)
    return v2, solidly, weth, usdc


def _expected_v2_solidly_profit(devnet, v2, solidly, weth, usdc, amount_in):
    pair = devnet.v2_pair(v2.address)
    r0, r1, _ = pair.functions.getReserves().call()
    reserve_in, reserve_out = (r0, r1) if v2.token0 == weth else (r1, r0)
    usdc_out = v2_amount_out(amount_in, reserve_in, reserve_out, 30)
    weth_back = devnet.solidly_pool(solidly.address).functions.getAmountOut(usdc_out, usdc).call()
    return weth_back - amount_in


def _executed_events(executor, receipt):
    return executor.events.Executed().process_receipt(receipt, errors=DISCARD)


@pytest.mark.parametrize("flash", [True, False])
def test_a_profitable_cycle_pays_exactly_the_quoted_profit(devnet, market, executor, w3, flash):
    v2, solidly, weth, usdc = _v2_then_solidly(market, w3, devnet)
    hops = encode_hops(_cycle(market, v2, solidly, weth), _pools(market, w3))
    amount_in = 2 * 10**18
    expected = _expected_v2_solidly_profit(devnet, v2, solidly, weth, usdc, amount_in)
    assert expected > 0
    if not flash:
        devnet.mint(weth, executor.address, amount_in)
    before = devnet.balance_of(weth, executor.address)
    receipt = devnet.transact(
        executor.functions.execute([h.as_tuple() for h in hops], amount_in, 1, flash), gas=1_000_000
    )
    assert devnet.balance_of(weth, executor.address) - before == expected
    (event,) = _executed_events(executor, receipt)
    assert event.args.profit == expected and event.args.flash is flash


def test_a_v3_first_hop_flash_swap(devnet, market, executor, w3):
    weth, usdc = market.token("WETH").address, market.token("USDC").address
    v3 = _find(market.v3_pools, "v3", weth, usdc, fee=3000)
    solidly = _find(market.solidly_pools, "solidly", weth, usdc, stable=False)
    devnet.swap_solidly(solidly.address, weth, 25 * 10**18)  # WETH cheap on Solidly
    hops = encode_hops(_cycle(market, v3, solidly, weth), _pools(market, w3))
    before = devnet.balance_of(weth, executor.address)
    receipt = devnet.transact(
        executor.functions.execute([h.as_tuple() for h in hops], 10**17, 1, True), gas=2_000_000
    )
    (event,) = _executed_events(executor, receipt)
    assert event.args.profit > 0
    assert devnet.balance_of(weth, executor.address) - before == event.args.profit


def test_an_unprofitable_path_reverts_and_moves_nothing(devnet, market, executor, w3):
    v2, solidly, weth, _ = _v2_then_solidly(market, w3, devnet)
    # The reverse direction buys where it is dear and sells where it is cheap.
    hops = encode_hops(_cycle(market, solidly, v2, weth), _pools(market, w3))
    with pytest.raises(ContractLogicError):
        executor.functions.execute([h.as_tuple() for h in hops], 10**18, 0, True).call(
            {"from": devnet.deployer}
        )
    assert devnet.balance_of(weth, executor.address) == 0


def test_min_profit_is_enforced(devnet, market, executor, w3):
    v2, solidly, weth, usdc = _v2_then_solidly(market, w3, devnet)
    hops = [
        h.as_tuple() for h in encode_hops(_cycle(market, v2, solidly, weth), _pools(market, w3))
    ]
    expected = _expected_v2_solidly_profit(devnet, v2, solidly, weth, usdc, 10**18)
    call = {"from": devnet.deployer}
    assert executor.functions.execute(hops, 10**18, expected, True).call(call) == expected
    with pytest.raises(ContractLogicError):
        executor.functions.execute(hops, 10**18, expected + 1, True).call(call)


def test_only_the_owner_can_trade_or_move_funds(devnet, market, executor, w3, anvil):
    stranger = anvil.accounts[1]
    v2, solidly, weth, _ = _v2_then_solidly(market, w3, devnet)
    hops = [
        h.as_tuple() for h in encode_hops(_cycle(market, v2, solidly, weth), _pools(market, w3))
    ]
    devnet.mint(weth, executor.address, 10**18)
    for fn in (
        executor.functions.execute(hops, 10**18, 0, True),
        executor.functions.withdraw(weth, stranger, 1),
        executor.functions.distribute(weth, [stranger], [1]),
    ):
        with pytest.raises(ContractLogicError):
            fn.call({"from": stranger})
    devnet.transact(executor.functions.withdraw(weth, stranger, 4), sender=devnet.deployer)
    devnet.transact(
        executor.functions.distribute(weth, [stranger, devnet.deployer], [5, 6]),
        sender=devnet.deployer,
    )
    assert devnet.balance_of(weth, stranger) == 9
    assert devnet.balance_of(weth, executor.address) == 10**18 - 15


def test_callbacks_from_anyone_but_the_pool_being_called_revert(devnet, market, executor, anvil):
    weth = market.token("WETH").address
    devnet.mint(weth, executor.address, 10**18)
    payload = b"\x00" * 64
    for caller in (anvil.accounts[1], devnet.deployer):
        for fn in (
            executor.functions.uniswapV2Call(executor.address, 10**18, 0, payload),
            executor.functions.hook(executor.address, 10**18, 0, payload),
            executor.functions.uniswapV3SwapCallback(10**18, -1, payload),
            executor.functions.uniswapV3SwapCallback(10**18, -1, b""),
        ):
            with pytest.raises(ContractLogicError):
                fn.call({"from": caller})
    assert devnet.balance_of(weth, executor.address) == 10**18
