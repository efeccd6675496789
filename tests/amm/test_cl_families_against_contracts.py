"""V3 maths against the real Slipstream and PancakeSwap V3 pools, to the wei.

The same comparison as the Uniswap V3 tests: random prices, positions and
amounts; the state is read with the project's reader (Slipstream's with its
fee, which here is a random custom fee set through the real fee module);
``quote_exact_input`` must equal the real swap's deltas, price, tick and
liquidity afterwards, including swaps that cross many initialized ticks.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import event, given, settings, target
from hypothesis import strategies as st

from tests.amm.test_against_contracts import (  # noqa: F401 (fixtures)
    EXAMPLES,
    Tokens,
    chain,
    receiver,
    reverts,
    spread,
    tokens,
    v3_positions,
)
from tests.support.chain_fixtures import reverted_after
from trading.amm import ContractRevert, IncompleteTickData, V3PoolState
from trading.amm import v3_math as m
from trading.amm.uniswap_v3 import V3SwapResult, quote_exact_input
from trading.chain import readers
from trading.chain.artifacts import external_artifact, pancakeswap_v3_artifact, project_artifact
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import (
    PANCAKESWAP_V3_TICK_SPACING,
    SLIPSTREAM_TICK_SPACING_FEE,
    Devnet,
    PancakeV3Deployment,
    SlipstreamDeployment,
    V3Pool,
)

pytestmark = pytest.mark.chain

Positions = list[tuple[int, int, int]]
Creator = Callable[[str, str, int, int, Positions], V3Pool]


@pytest.fixture(scope="module")
def slipstream(chain: Devnet, tokens: Tokens) -> SlipstreamDeployment:  # noqa: F811
    deployment = chain.deploy_slipstream()
    for token in (*tokens.e18, *tokens.e6):
        chain.mint(token.address, chain.deployer, 2**200)
        chain.approve(token.address, deployment.helper)
    return deployment


@pytest.fixture(scope="module")
def pancake(chain: Devnet, tokens: Tokens) -> PancakeV3Deployment:  # noqa: F811
    deployment = chain.deploy_pancakeswap_v3()
    for token in (*tokens.e18, *tokens.e6):
        chain.mint(token.address, chain.deployer, 2**200)
        chain.approve(token.address, deployment.helper)
    return deployment


def read_state(chain: Devnet, pool: V3Pool, *, with_fee: bool) -> V3PoolState:  # noqa: F811
    """The pool's state through the PoolStateReader, every bitmap word included."""
    low, high = V3PoolState.full_word_range(pool.tick_spacing)
    if high - low < 4000:
        request = readers.V3Request(pool.address, low, high, with_fee=with_fee)
    else:  # spacing 1 has more words than one read takes: those around the price
        request = readers.V3Request(pool.address, -1900, 1900, relative=True, with_fee=with_fee)
    data = readers.pool_state_call_data(v3=[request])
    decoded = readers.decode_pool_states(readers.call_reader(chain.w3, data), v3=[request])
    raw = decoded.v3[0]
    assert raw.ok
    assert raw.tick_spacing == pool.tick_spacing
    return V3PoolState(
        address=pool.address,
        token0=pool.token0,
        token1=pool.token1,
        fee=raw.fee if with_fee else pool.fee,
        tick_spacing=raw.tick_spacing,
        sqrt_price_x96=raw.sqrt_price_x96,
        tick=raw.tick,
        liquidity=raw.liquidity,
        ticks=raw.ticks,
        min_word=raw.word_lo,
        max_word=raw.word_hi,
        block_number=decoded.block_number,
    )


def check_swap(
    chain: Devnet,  # noqa: F811
    helper: str,
    receiver: str,  # noqa: F811
    pool: V3Pool,
    *,
    with_fee: bool,
    zero_for_one: bool,
    amount: int,
) -> V3SwapResult | None:
    """Quote on the state read from chain, swap for real through the helper, compare."""
    state = read_state(chain, pool, with_fee=with_fee)
    contract = chain.contract(project_artifact("V3PoolHelper"), helper)
    swap = contract.functions.swapExactInput(pool.address, zero_for_one, amount, 0, receiver)
    try:
        result = quote_exact_input(state, zero_for_one, amount)
    except IncompleteTickData:
        event("the swap leaves the words read")
        return None
    except ContractRevert:
        assert reverts(swap, chain.deployer)
        return None
    delta0, delta1 = swap.call({"from": chain.deployer})
    # A swap through thousands of empty bitmap words (spacing 1, far out of range)
    # takes more gas than a fixed allowance: what the node estimates, and a margin.
    chain.transact(swap, gas=swap.estimate_gas({"from": chain.deployer}) * 6 // 5)
    paid_in, paid_out = (delta0, -delta1) if zero_for_one else (delta1, -delta0)
    assert (result.amount_in_used, result.amount_out) == (paid_in, paid_out)
    abi = external_artifact("CLPool") if with_fee else pancakeswap_v3_artifact("PancakeV3Pool")
    pool_contract = chain.contract(abi, pool.address)
    slot0 = pool_contract.functions.slot0().call()
    assert (result.sqrt_price_x96_after, result.tick_after) == (slot0[0], slot0[1])
    assert result.liquidity_after == pool_contract.functions.liquidity().call()
    return result


def start_price(start_tick: int, within_tick: int) -> int:
    low = m.get_sqrt_ratio_at_tick(start_tick)
    return low + within_tick % (m.get_sqrt_ratio_at_tick(start_tick + 1) - low)


position = st.tuples(st.integers(-15, 15), st.integers(1, 15), spread(12, 24))
# Slipstream's fee module reads 420 as "zero fee"; any other value up to 3% is the fee.
custom_fee = st.one_of(st.none(), st.integers(0, 30_000).filter(lambda f: f != 420))


def report(result: V3SwapResult | None, amount: int) -> None:
    if result is None:
        event("the pool reverts")
        return
    crossed = min(result.ticks_crossed, 3)
    event(f"crossed {crossed}{'+' if result.ticks_crossed >= 3 else ''} ticks")
    if result.amount_in_used < amount:
        event("ran out of liquidity")
    target(float(result.ticks_crossed), label="initialized ticks crossed")


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    decimals=st.sampled_from([(18, 18), (6, 18)]),
    spacing=st.sampled_from(sorted(SLIPSTREAM_TICK_SPACING_FEE)),
    fee=custom_fee,
    start_tick=st.integers(-300_000, 300_000),
    within_tick=st.integers(0, 2**64),
    ranges=st.lists(position, min_size=2, max_size=5),
    full_range=st.booleans(),
    zero_for_one=st.booleans(),
    amount=spread(0, 25),
)
def test_slipstream_quote_equals_the_real_swap(
    anvil: AnvilNode,
    chain: Devnet,  # noqa: F811
    slipstream: SlipstreamDeployment,
    tokens: Tokens,  # noqa: F811
    receiver: str,  # noqa: F811
    decimals: tuple[int, int],
    spacing: int,
    fee: int | None,
    start_tick: int,
    within_tick: int,
    ranges: list[tuple[int, int, int]],
    full_range: bool,
    zero_for_one: bool,
    amount: int,
) -> None:
    positions = v3_positions(start_tick // spacing * spacing, spacing, ranges, full_range)
    token_a, token_b = tokens.pair(decimals)
    with reverted_after(anvil):
        (pool,) = chain.create_slipstream_pools(
            slipstream,
            [
                (
                    token_a.address,
                    token_b.address,
                    spacing,
                    start_price(start_tick, within_tick),
                    positions,
                )
            ],
        )
        if fee is not None:
            chain.set_slipstream_fee(slipstream, pool.address, fee)
        result = check_swap(
            chain,
            slipstream.helper,
            receiver,
            pool,
            with_fee=True,
            zero_for_one=zero_for_one,
            amount=amount,
        )
    report(result, amount)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    decimals=st.sampled_from([(18, 18), (6, 18)]),
    fee=st.sampled_from(sorted(PANCAKESWAP_V3_TICK_SPACING)),
    start_tick=st.integers(-300_000, 300_000),
    within_tick=st.integers(0, 2**64),
    ranges=st.lists(position, min_size=2, max_size=5),
    full_range=st.booleans(),
    zero_for_one=st.booleans(),
    amount=spread(0, 25),
)
def test_pancakeswap_v3_quote_equals_the_real_swap(
    anvil: AnvilNode,
    chain: Devnet,  # noqa: F811
    pancake: PancakeV3Deployment,
    tokens: Tokens,  # noqa: F811
    receiver: str,  # noqa: F811
    decimals: tuple[int, int],
    fee: int,
    start_tick: int,
    within_tick: int,
    ranges: list[tuple[int, int, int]],
    full_range: bool,
    zero_for_one: bool,
    amount: int,
) -> None:
    spacing = PANCAKESWAP_V3_TICK_SPACING[fee]
    positions = v3_positions(start_tick // spacing * spacing, spacing, ranges, full_range)
    token_a, token_b = tokens.pair(decimals)
    with reverted_after(anvil):
        (pool,) = chain.create_pancakeswap_v3_pools(
            pancake,
            [
                (
                    token_a.address,
                    token_b.address,
                    fee,
                    start_price(start_tick, within_tick),
                    positions,
                )
            ],
        )
        result = check_swap(
            chain,
            pancake.helper,
            receiver,
            pool,
            with_fee=False,
            zero_for_one=zero_for_one,
            amount=amount,
        )
    report(result, amount)


# Ranges that start and end every few spacings on both sides of the price.
_MANY_RANGES = [(-k, 2 * k, 10**18 + k) for k in range(1, 9)] + [(-20, 3, 10**17), (17, 3, 10**17)]


@pytest.mark.parametrize("family", ["slipstream", "pancakeswap_v3"])
@pytest.mark.parametrize("zero_for_one", [True, False], ids=["down", "up"])
def test_swaps_that_cross_many_ticks_agree(
    anvil: AnvilNode,
    chain: Devnet,  # noqa: F811
    slipstream: SlipstreamDeployment,
    pancake: PancakeV3Deployment,
    tokens: Tokens,  # noqa: F811
    receiver: str,  # noqa: F811
    family: str,
    zero_for_one: bool,
) -> None:
    a, b = tokens.e18[0].address, tokens.e18[1].address
    price = m.get_sqrt_ratio_at_tick(0) + 12345
    with reverted_after(anvil):
        if family == "slipstream":
            positions = v3_positions(0, 200, _MANY_RANGES, full_range=True)
            (pool,) = chain.create_slipstream_pools(slipstream, [(a, b, 200, price, positions)])
            helper = slipstream.helper
        else:
            positions = v3_positions(0, 50, _MANY_RANGES, full_range=True)
            (pool,) = chain.create_pancakeswap_v3_pools(pancake, [(a, b, 2500, price, positions)])
            helper = pancake.helper
        result = check_swap(
            chain,
            helper,
            receiver,
            pool,
            with_fee=family == "slipstream",
            zero_for_one=zero_for_one,
            amount=10**18,
        )
    assert result is not None and result.ticks_crossed >= 6
