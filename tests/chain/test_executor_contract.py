"""The ArbitrageExecutor contract on a real chain with real Uniswap and Solidly pools."""

import pytest
from eth_abi import encode
from eth_utils import keccak
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from trading.amm.uniswap_v2 import get_amount_out as v2_amount_out
from trading.chain.artifacts import project_artifact
from trading.execution.calldata import HOP_TYPE
from trading.execution.hops import PoolInfo, encode_hops

pytestmark = pytest.mark.chain

NO_DEADLINE = 2**256 - 1


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
        executor.functions.execute([h.as_tuple() for h in hops], amount_in, 1, flash, NO_DEADLINE),
        gas=1_000_000,
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
        executor.functions.execute([h.as_tuple() for h in hops], 10**17, 1, True, NO_DEADLINE),
        gas=2_000_000,
    )
    (event,) = _executed_events(executor, receipt)
    assert event.args.profit > 0
    assert devnet.balance_of(weth, executor.address) - before == event.args.profit


def test_an_unprofitable_path_reverts_and_moves_nothing(devnet, market, executor, w3):
    v2, solidly, weth, _ = _v2_then_solidly(market, w3, devnet)
    # The reverse direction buys where it is dear and sells where it is cheap.
    hops = encode_hops(_cycle(market, solidly, v2, weth), _pools(market, w3))
    with pytest.raises(ContractLogicError):
        executor.functions.execute([h.as_tuple() for h in hops], 10**18, 0, True, NO_DEADLINE).call(
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
    assert (
        executor.functions.execute(hops, 10**18, expected, True, NO_DEADLINE).call(call) == expected
    )
    with pytest.raises(ContractLogicError):
        executor.functions.execute(hops, 10**18, expected + 1, True, NO_DEADLINE).call(call)


def test_only_the_owner_can_trade_or_move_funds(devnet, market, executor, w3, anvil):
    stranger = anvil.accounts[1]
    v2, solidly, weth, _ = _v2_then_solidly(market, w3, devnet)
    hops = [
        h.as_tuple() for h in encode_hops(_cycle(market, v2, solidly, weth), _pools(market, w3))
    ]
    devnet.mint(weth, executor.address, 10**18)
    for fn in (
        executor.functions.execute(hops, 10**18, 0, True, NO_DEADLINE),
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


# --- A malicious pool on the route ------------------------------------------------------------

USDC_HELD = 1_000 * 10**6  # earlier profit the executor holds, which the pool wants


@pytest.fixture
def robbery(devnet, market, executor, w3):
    """A WETH cycle through a malicious "V3 pool" claiming to trade WETH/USDC, then a
    real V2 pair back to WETH; the executor holds 1,000 USDC and 1 WETH."""
    weth, usdc = market.token("WETH").address, market.token("USDC").address
    artifact = project_artifact("MaliciousPool")
    token0, token1 = sorted([weth, usdc], key=str.lower)
    pool = devnet.contract(artifact, devnet.deploy(artifact, token0, token1))
    devnet.mint(weth, pool.address, 10**18)
    devnet.mint(usdc, pool.address, 10**6)
    devnet.mint(usdc, executor.address, USDC_HELD)
    devnet.mint(weth, executor.address, 10**18)
    v2 = _find(market.v2_pairs, "v2", weth, usdc)
    infos = _pools(market, w3)
    infos[pool.address] = PoolInfo(pool.address, token0, token1, "uniswap_v3")
    hops = [
        h.as_tuple()
        for h in encode_hops(
            [
                {"pool": pool.address, "token_in": weth, "token_out": usdc},
                {"pool": v2.address, "token_in": usdc, "token_out": weth},
            ],
            infos,
        )
    ]
    return pool, hops, weth, usdc


def _balances(devnet, executor, weth, usdc):
    return devnet.balance_of(weth, executor.address), devnet.balance_of(usdc, executor.address)


def _error_name(executor, exc: ContractLogicError) -> str:
    """The executor's custom error a revert carries, by name."""
    data = exc.data if isinstance(exc.data, str) else ""
    for entry in executor.abi:
        if entry["type"] == "error":
            signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
            if data.startswith("0x" + keccak(text=signature)[:4].hex()):
                return entry["name"]
    return data[:10]


@pytest.mark.parametrize(
    ("mode", "ask", "flash", "error"),
    [
        # Asks to be paid all the USDC the executor holds, on the side it names.
        ("WRONG_SIDE", USDC_HELD, False, "BadPayment"),
        ("WRONG_SIDE", USDC_HELD, True, "BadPayment"),
        # Asks for more of the input than the hop put in.
        ("OVERCHARGE", 10**18 + 1, False, "BadPayment"),
        ("OVERCHARGE", 10**18 + 1, True, "BadPayment"),
        # Takes the input, pays 1 unit back: the route's loss is refused.
        ("STINGY", 0, False, "Unprofitable"),
        ("STINGY", 0, True, "Unprofitable"),
        # Calls back twice to be paid twice.
        ("REENTER", 0, False, "UnexpectedCallback"),
    ],
)
def test_a_malicious_pool_takes_nothing(devnet, executor, robbery, mode, ask, flash, error):
    pool, hops, weth, usdc = robbery
    devnet.transact(pool.functions.configure(getattr(pool.functions, mode)().call(), ask, b""))
    before = _balances(devnet, executor, weth, usdc)
    with pytest.raises(ContractLogicError) as caught:
        executor.functions.execute(hops, 10**18 // 2, 1, flash, NO_DEADLINE).call(
            {"from": devnet.deployer}
        )
    assert _error_name(executor, caught.value) == error
    assert _balances(devnet, executor, weth, usdc) == before


def test_a_flash_callback_must_carry_the_committed_route(devnet, executor, robbery, market):
    pool, hops, _weth, _usdc = robbery
    # The pool answers with a route of its own: the same hops but a bigger input,
    # which would have the executor repay (from its own WETH) more than it borrowed.
    forged = encode([f"{HOP_TYPE}[]", "uint256"], [hops, 10**18])
    devnet.transact(pool.functions.configure(pool.functions.FORGE().call(), 0, forged))
    with pytest.raises(ContractLogicError) as caught:
        executor.functions.execute(hops, 10**18 // 2, 1, True, NO_DEADLINE).call(
            {"from": devnet.deployer}
        )
    assert _error_name(executor, caught.value) == "UnexpectedCallback"


def test_hops_must_chain_back_to_the_start_token(devnet, executor, robbery, market):
    _, hops, _weth, _usdc = robbery
    dai = market.token("DAI").address
    broken = [hops[0], (*hops[1][:5], dai, 0)]  # the last hop ends in DAI, not WETH
    with pytest.raises(ContractLogicError) as caught:
        executor.functions.execute(broken, 10**18, 1, True, NO_DEADLINE).call(
            {"from": devnet.deployer}
        )
    assert _error_name(executor, caught.value) == "BadPath"


def test_a_trade_past_its_deadline_block_reverts(devnet, market, executor, w3):
    v2, solidly, weth, _usdc = _v2_then_solidly(market, w3, devnet)
    hops = [
        h.as_tuple() for h in encode_hops(_cycle(market, v2, solidly, weth), _pools(market, w3))
    ]
    call = {"from": devnet.deployer}
    head = w3.eth.block_number
    # Simulated as the bot does, on the pending block: the one after the head.
    pending = executor.functions.execute(hops, 10**18, 1, True, head + 1)
    assert pending.call(call, block_identifier="pending") > 0
    with pytest.raises(ContractLogicError) as caught:
        executor.functions.execute(hops, 10**18, 1, True, head).call(
            call, block_identifier="pending"
        )
    assert _error_name(executor, caught.value) == "Expired"


@pytest.mark.parametrize("first_kind", ["uniswap_v3", "uniswap_v2"])
def test_a_flash_callback_comes_only_from_the_first_hop_own_family(
    devnet, executor, robbery, market, w3, first_kind
):
    # The flash pool answers through the other family's callback, with the committed
    # route: a V3 first hop repaid as a V2 pair would be (which sends first and is
    # repaid its input), or a V2 first hop asking like a V3 pool.
    pool, _, weth, usdc = robbery
    v2 = _find(market.v2_pairs, "v2", weth, usdc)
    infos = _pools(market, w3)
    infos[pool.address] = PoolInfo(
        pool.address, *sorted([weth, usdc], key=str.lower), first_kind, 30
    )
    hops = [
        h.as_tuple()
        for h in encode_hops(
            [
                {"pool": pool.address, "token_in": weth, "token_out": usdc},
                {"pool": v2.address, "token_in": usdc, "token_out": weth},
            ],
            infos,
        )
    ]
    devnet.transact(pool.functions.configure(pool.functions.CROSS().call(), 10**18 // 2, b""))
    before = _balances(devnet, executor, weth, usdc)
    with pytest.raises(ContractLogicError) as caught:
        executor.functions.execute(hops, 10**18 // 2, 1, True, NO_DEADLINE).call(
            {"from": devnet.deployer}
        )
    assert _error_name(executor, caught.value) == "UnexpectedCallback"
    assert _balances(devnet, executor, weth, usdc) == before
