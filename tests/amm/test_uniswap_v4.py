"""Uniswap V4 quotes: the pure maths against the real PoolManager on anvil, to the wei.

Every example creates a pool in v4-core's PoolManager (random fee, tick
spacing, positions and price; static or dynamic LP fee; with or without a
protocol fee), reads its state back through ``extsload`` with the project's
reader, quotes a random exact-input swap and then makes it through v4-core's
``PoolSwapTest`` router: the amounts paid and received, and the pool's price,
tick and liquidity after the swap, must equal the quote.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from tests.support.chain_fixtures import reverted_after
from trading.amm import v3_math as m
from trading.amm.errors import ContractRevert
from trading.amm.uniswap_v4 import (
    DYNAMIC_FEE_FLAG,
    V4PoolState,
    hook_refusal,
    pool_id,
    swap,
    swap_fee,
)
from trading.chain import readers
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, TokenInfo, V4Deployment, V4Pool
from trading.dex.base import PoolSpec
from trading.dex.uniswap_v4 import UniswapV4Family

# An address whose low 14 bits are clear: a hook with no permissions, allowed
# only for dynamic-fee pools; impersonated to set the fee.
FEE_SETTER = "0x0000000000000000000000000000000000C0C000"


def spread(low_exponent: int, high_exponent: int) -> st.SearchStrategy[int]:
    """Integers spread evenly over orders of magnitude (10**low .. 10**high)."""
    return st.integers(low_exponent, high_exponent - 1).flatmap(
        lambda e: st.integers(10**e, 10 ** (e + 1) - 1)
    )


# ---------------------------------------------------------------------------- pure


def test_the_swap_fee_adds_the_directions_protocol_fee() -> None:
    assert swap_fee(3000, 0, True) == 3000
    # 1000 pips one way, 500 the other: 3000 + 1000 - 3000 * 1000 / 1e6 = 3997.
    packed = 1000 | (500 << 12)
    assert swap_fee(3000, packed, True) == 3997
    assert swap_fee(3000, packed, False) == 3499  # 3000 + 500 - 1 (1.5 rounded down)


def test_hooks_without_swap_permissions_are_accepted() -> None:
    assert hook_refusal("0x0000000000000000000000000000000000000000") is None
    # beforeInitialize | afterAddLiquidity: no say in swaps.
    assert hook_refusal("0x0000000000000000000000000000000000002400") is None


def test_hooks_that_may_alter_swaps_are_refused_with_their_names() -> None:
    reason = hook_refusal("0x0000000000000000000000000000000000000088")
    assert reason is not None
    assert "beforeSwap" in reason and "beforeSwapReturnDelta" in reason


def test_a_full_fee_is_refused() -> None:
    with pytest.raises(ValueError):
        V4PoolState("0x" + "11" * 32, "a", "b", 1_000_000, 60, m.Q96, 0, 1, (), -1, 1)


def test_exact_input_above_int128_reverts() -> None:
    state = V4PoolState("0x" + "11" * 32, "a", "b", 3000, 60, m.Q96, 0, 10**18, (), -1, 1)
    with pytest.raises(ContractRevert):
        swap(state, True, 2**127)


# ---------------------------------------------------------------------------- on chain


@pytest.fixture(scope="module")
def chain(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[Devnet]:
    """The session's devnet; what this module deploys is reverted after it."""
    with reverted_after(anvil):
        yield devnet_session


@pytest.fixture(scope="module")
def v4(chain: Devnet, anvil: AnvilNode) -> V4Deployment:
    deployment = chain.deploy_uniswap_v4()
    # The deployer owns the manager: let it set protocol fees too.
    manager = chain.v4_manager(deployment)
    chain.transact(manager.functions.setProtocolFeeController(chain.deployer))
    anvil.rpc("anvil_impersonateAccount", [FEE_SETTER])
    anvil.rpc("anvil_setBalance", [FEE_SETTER, hex(10**20)])
    return deployment


@pytest.fixture(scope="module")
def pair(chain: Devnet) -> tuple[TokenInfo, TokenInfo]:
    first, second = chain.deploy_tokens(["V4A", "V4B"], 18)
    return first, second


def read_state(chain: Devnet, deployment: V4Deployment, pool: V4Pool) -> V4PoolState:
    """The pool's state through the project's reader, with every bitmap word."""
    lo, hi = V4PoolState.full_word_range(pool.tick_spacing)
    request = readers.V4Request(deployment.manager, pool.address, pool.tick_spacing, lo, hi)
    words = readers.call_reader(chain.w3, readers.pool_state_call_data(v4=[request]))
    (raw,) = readers.decode_pool_states(words, v4=[request]).v4
    spec = PoolSpec(
        pool.address, "uniswap_v4", pool.token0, pool.token1, 0,
        tick_spacing=pool.tick_spacing, manager=deployment.manager,
    )  # fmt: skip
    state = UniswapV4Family.build_state(spec, raw, 0)
    assert state is not None
    return state


positions = st.lists(
    st.tuples(st.integers(-40, 39), st.integers(1, 40), spread(15, 22)), min_size=1, max_size=4
)


@settings(max_examples=25, deadline=None)
@given(
    fee=st.sampled_from([100, 500, 3000, 10000]) | st.integers(0, 200_000),
    dynamic=st.booleans(),
    protocol=st.sampled_from([0, 0, 1000 | (1000 << 12), 250 | (700 << 12)]),
    spacing=st.sampled_from([10, 60, 200]) | st.integers(7, 300),
    ranges=positions,
    start=st.integers(-30, 30),
    amount=spread(3, 24),
    zero_for_one=st.booleans(),
)
@example(
    fee=3000,
    dynamic=False,
    protocol=0,
    spacing=60,
    ranges=[(-4, 8, 10**18), (-1, 2, 10**19), (-30, 60, 10**17)],
    start=0,
    amount=5 * 10**19,
    zero_for_one=True,
)
def test_quotes_equal_the_pool_managers_swaps(
    anvil: AnvilNode,
    chain: Devnet,
    v4: V4Deployment,
    pair: tuple[TokenInfo, TokenInfo],
    fee: int,
    dynamic: bool,
    protocol: int,
    spacing: int,
    ranges: list[tuple[int, int, int]],
    start: int,
    amount: int,
    zero_for_one: bool,
) -> None:
    with reverted_after(anvil):
        key_fee = DYNAMIC_FEE_FLAG if dynamic else fee
        hooks = FEE_SETTER if dynamic else "0x0000000000000000000000000000000000000000"
        sqrt_price = m.get_sqrt_ratio_at_tick(start * spacing + spacing // 3)
        spans = [((lo) * spacing, (lo + width) * spacing, liq) for lo, width, liq in ranges]
        (pool,) = chain.create_v4_pools(
            v4,
            [(pair[0].address, pair[1].address, key_fee, spacing, sqrt_price, spans)],
            hooks=hooks,
        )
        manager = chain.v4_manager(v4)
        if dynamic:
            chain.transact(manager.functions.updateDynamicLPFee(pool.key, fee), sender=FEE_SETTER)
        if protocol:
            chain.transact(manager.functions.setProtocolFee(pool.key, protocol))
        state = read_state(chain, v4, pool)
        assert (state.fee, state.protocol_fee) == (fee, protocol)
        assert state.address == pool_id(*pool.key)

        expected = swap(state, zero_for_one, amount)
        token_in = pool.token0 if zero_for_one else pool.token1
        event(f"ticks crossed: {min(expected.ticks_crossed, 3)}+")
        paid, received = chain.swap_v4(v4, pool, token_in, amount)
        assert (paid, received) == (expected.amount_in_used, expected.amount_out)
        after = read_state(chain, v4, pool)
        assert (after.sqrt_price_x96, after.tick, after.liquidity) == (
            expected.sqrt_price_x96_after,
            expected.tick_after,
            expected.liquidity_after,
        )
