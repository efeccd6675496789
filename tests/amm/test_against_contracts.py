"""The pure quotes against the real contracts on anvil, to the wei.

Random reserves, fees, prices, positions and amounts; every example runs
between an ``evm_snapshot`` and an ``evm_revert`` so examples never see each
other. What is compared:

- Uniswap V2 (real v2-core pair): ``get_amount_out`` is exactly what the pair
  pays, and one wei more fails the pair's ``K`` check.
- Uniswap V3 (real v3-core pool, liquidity in several ranges): ``quote_exact_input``
  on the state read from chain with the project's reader equals the real swap's
  deltas, and the price, tick and liquidity after it.
- Solidly (the real Aerodrome Pool and PoolFactory), volatile and stable
  curves, 6- and 18-decimal tokens, random per-pool fees (0% included): the
  pool's ``getAmountOut``, what a real swap pays, the reserves after it and the
  fee moved out to the pool's PoolFees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import event, example, given, settings, target
from hypothesis import strategies as st
from web3.exceptions import ContractLogicError

from tests.support.chain_fixtures import reverted_after
from trading.amm import (
    AmmError,
    ContractRevert,
    InsufficientLiquidity,
    SolidlyPoolState,
    V2PoolState,
    V3PoolState,
    quote,
)
from trading.amm import v3_math as m
from trading.amm.uniswap_v3 import V3SwapResult, quote_exact_input
from trading.chain import readers
from trading.chain.artifacts import project_artifact
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import (
    V3_TICK_SPACING,
    Devnet,
    SolidlyDeployment,
    TokenInfo,
    V2Deployment,
    V2Pair,
    V3Deployment,
)

pytestmark = pytest.mark.chain

EXAMPLES = 25
# Aerodrome's PoolFactory: a custom fee of 420 means 0%.
ZERO_FEE_INDICATOR = 420
UINT112_MAX = 2**112 - 1


def spread(low_exponent: int, high_exponent: int) -> st.SearchStrategy[int]:
    """Integers spread evenly over orders of magnitude (10**low .. 10**high)."""
    return st.integers(low_exponent, high_exponent - 1).flatmap(
        lambda e: st.integers(10**e, 10 ** (e + 1) - 1)
    )


def reverts(call: Any, sender: str) -> bool:
    """True when an ``eth_call`` of ``call`` reverts."""
    try:
        call.call({"from": sender})
    except (ContractLogicError, ValueError):
        return True
    return False


@dataclass(frozen=True)
class Tokens:
    """Two 18-decimal and two 6-decimal test tokens."""

    e18: tuple[TokenInfo, TokenInfo]
    e6: tuple[TokenInfo, TokenInfo]

    def pair(self, decimals: tuple[int, int]) -> tuple[TokenInfo, TokenInfo]:
        first = self.e18[0] if decimals[0] == 18 else self.e6[0]
        second = self.e18[1] if decimals[1] == 18 else self.e6[1]
        return first, second


@pytest.fixture(scope="module")
def chain(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[Devnet]:
    """The session's devnet; what this module deploys is reverted after it."""
    with reverted_after(anvil):
        yield devnet_session


@pytest.fixture(scope="module")
def tokens(chain: Devnet) -> Tokens:
    e18 = chain.deploy_tokens(["PA18", "PB18"], 18)
    e6 = chain.deploy_tokens(["PA6", "PB6"], 6)
    return Tokens((e18[0], e18[1]), (e6[0], e6[1]))


@pytest.fixture(scope="module")
def receiver(anvil: AnvilNode) -> str:
    return anvil.accounts[6]


# ---------------------------------------------------------------------------- Uniswap V2


@dataclass(frozen=True)
class V2Market:
    v2: V2Deployment
    pairs: dict[tuple[int, int], V2Pair]


@pytest.fixture(scope="module")
def v2_market(chain: Devnet, tokens: Tokens) -> V2Market:
    """Empty real pairs (18/18, 6/18, 6/6): each example gives them reserves with sync()."""
    v2 = chain.deploy_uniswap_v2()
    combos = [(18, 18), (6, 18), (6, 6)]
    pairs = chain.create_v2_pairs(
        v2, [(a.address, b.address, 0, 0) for a, b in (tokens.pair(c) for c in combos)]
    )
    return V2Market(v2, dict(zip(combos, pairs, strict=True)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    decimals=st.sampled_from([(18, 18), (6, 18), (6, 6)]),
    reserve0=spread(3, 32),
    reserve1=spread(3, 32),
    amount=spread(0, 33),
    zero_for_one=st.booleans(),
)
@example(decimals=(6, 18), reserve0=10**9, reserve1=10**21, amount=10**6, zero_for_one=True)
def test_v2_quote_is_exactly_what_the_pair_pays(
    anvil: AnvilNode,
    chain: Devnet,
    v2_market: V2Market,
    receiver: str,
    decimals: tuple[int, int],
    reserve0: int,
    reserve1: int,
    amount: int,
    zero_for_one: bool,
) -> None:
    pair = v2_market.pairs[decimals]
    contract = chain.v2_pair(pair.address)
    with reverted_after(anvil):
        chain.mint(pair.token0, pair.address, reserve0)
        chain.mint(pair.token1, pair.address, reserve1)
        chain.transact(contract.functions.sync())
        on_chain0, on_chain1, _ = contract.functions.getReserves().call()
        state = V2PoolState(pair.address, pair.token0, pair.token1, on_chain0, on_chain1, 30)
        assert (state.reserve0, state.reserve1) == (reserve0, reserve1)

        token_in, token_out = (
            (pair.token0, pair.token1) if zero_for_one else (pair.token1, pair.token0)
        )
        reserve_out = reserve1 if zero_for_one else reserve0

        def swap(out: int) -> Any:
            outs = (0, out) if zero_for_one else (out, 0)
            return contract.functions.swap(*outs, receiver, b"")

        try:
            quoted = quote(state, token_in, amount)
        except ContractRevert:
            # The input would push the reserve past uint112: the pair refuses any output.
            event("the input overflows the reserve")
            chain.mint(token_in, pair.address, amount)
            assert reverts(swap(1), chain.deployer)
            return

        chain.mint(token_in, pair.address, amount)
        if quoted == 0:
            event("no output")
            assert reverts(swap(1), chain.deployer)
            return
        # The quote is the largest output the pair accepts for this input.
        if quoted + 1 < reserve_out:
            assert reverts(swap(quoted + 1), chain.deployer)
        before = chain.balance_of(token_out, receiver)
        chain.transact(swap(quoted))
        assert chain.balance_of(token_out, receiver) - before == quoted
        after = state.after_swap(token_in, amount)
        assert tuple(contract.functions.getReserves().call()[:2]) == (
            after.reserve0,
            after.reserve1,
        )


# ---------------------------------------------------------------------------- Uniswap V3


@pytest.fixture(scope="module")
def v3(chain: Devnet, tokens: Tokens) -> V3Deployment:
    """A real V3 factory; the deployer holds and has approved plenty of every token."""
    deployment = chain.deploy_uniswap_v3()
    for token in (*tokens.e18, *tokens.e6):
        chain.mint(token.address, chain.deployer, 2**200)
        chain.approve(token.address, deployment.helper)
    return deployment


def read_v3_state(chain: Devnet, pool: str, token0: str, token1: str, fee: int) -> V3PoolState:
    """The pool's state through the project's PoolStateReader, every bitmap word included."""
    spacing = V3_TICK_SPACING[fee]
    low, high = V3PoolState.full_word_range(spacing)
    request = readers.V3Request(pool, low, high)
    data = readers.pool_state_call_data(v3=[request])
    decoded = readers.decode_pool_states(readers.call_reader(chain.w3, data), v3=[request])
    raw = decoded.v3[0]
    assert raw.ok
    return V3PoolState(
        address=pool,
        token0=token0,
        token1=token1,
        fee=fee,
        tick_spacing=raw.tick_spacing,
        sqrt_price_x96=raw.sqrt_price_x96,
        tick=raw.tick,
        liquidity=raw.liquidity,
        ticks=raw.ticks,
        min_word=raw.word_lo,
        max_word=raw.word_hi,
        block_number=decoded.block_number,
    )


def v3_positions(
    centre: int, spacing: int, ranges: list[tuple[int, int, int]], full_range: bool
) -> list[tuple[int, int, int]]:
    """``(offset, width, liquidity)`` in spacings around ``centre`` as real tick ranges."""
    lowest = -(m.MAX_TICK // spacing) * spacing
    positions = []
    for offset, width, liquidity in ranges:
        lower = max(lowest, min(-lowest - spacing, centre + offset * spacing))
        upper = min(-lowest, lower + width * spacing)
        positions.append((lower, upper, liquidity))
    if full_range:
        positions.append((lowest, -lowest, 10**12))
    return positions


def check_v3_swap(
    chain: Devnet,
    v3: V3Deployment,
    receiver: str,
    token_a: str,
    token_b: str,
    fee: int,
    sqrt_price: int,
    positions: list[tuple[int, int, int]],
    zero_for_one: bool,
    amount: int,
) -> V3SwapResult | None:
    """Create the pool, quote on the state read from chain, swap for real, compare.

    Returns the quote (None when the pool itself reverts).
    """
    (pool,) = chain.create_v3_pools(v3, [(token_a, token_b, fee, sqrt_price, positions)])
    state = read_v3_state(chain, pool.address, pool.token0, pool.token1, fee)
    helper = chain.contract(project_artifact("V3PoolHelper"), v3.helper)
    swap = helper.functions.swapExactInput(pool.address, zero_for_one, amount, 0, receiver)
    token_in = state.token0 if zero_for_one else state.token1
    try:
        result = quote_exact_input(state, zero_for_one, amount)
    except ContractRevert:
        with pytest.raises(ContractRevert):
            state.quote(token_in, amount)  # the state's own quick loop refuses it too
        assert reverts(swap, chain.deployer)
        return None
    assert state.quote(token_in, amount) == result
    delta0, delta1 = swap.call({"from": chain.deployer})
    chain.transact(swap, gas=5_000_000)
    paid_in, paid_out = (delta0, -delta1) if zero_for_one else (delta1, -delta0)
    assert (result.amount_in_used, result.amount_out) == (paid_in, paid_out)
    contract = chain.v3_pool(pool.address)
    slot0 = contract.functions.slot0().call()
    assert (result.sqrt_price_x96_after, result.tick_after) == (slot0[0], slot0[1])
    assert result.liquidity_after == contract.functions.liquidity().call()
    return result


position = st.tuples(st.integers(-15, 15), st.integers(1, 15), spread(12, 24))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    decimals=st.sampled_from([(18, 18), (6, 18)]),
    fee=st.sampled_from(sorted(V3_TICK_SPACING)),
    start_tick=st.integers(-300_000, 300_000),
    within_tick=st.integers(0, 2**64),
    ranges=st.lists(position, min_size=2, max_size=5),
    full_range=st.booleans(),
    zero_for_one=st.booleans(),
    amount=spread(0, 25),
)
def test_v3_quote_equals_the_real_swap(
    anvil: AnvilNode,
    chain: Devnet,
    v3: V3Deployment,
    tokens: Tokens,
    receiver: str,
    decimals: tuple[int, int],
    fee: int,
    start_tick: int,
    within_tick: int,
    ranges: list[tuple[int, int, int]],
    full_range: bool,
    zero_for_one: bool,
    amount: int,
) -> None:
    spacing = V3_TICK_SPACING[fee]
    low = m.get_sqrt_ratio_at_tick(start_tick)
    sqrt_price = low + within_tick % (m.get_sqrt_ratio_at_tick(start_tick + 1) - low)
    positions = v3_positions(start_tick // spacing * spacing, spacing, ranges, full_range)
    token_a, token_b = tokens.pair(decimals)
    with reverted_after(anvil):
        result = check_v3_swap(
            chain,
            v3,
            receiver,
            token_a.address,
            token_b.address,
            fee,
            sqrt_price,
            positions,
            zero_for_one,
            amount,
        )
    if result is None:
        event("the pool reverts")
        return
    event(f"crossed {min(result.ticks_crossed, 3)}{'+' if result.ticks_crossed >= 3 else ''} ticks")
    if result.amount_in_used < amount:
        event("ran out of liquidity")
    target(float(result.ticks_crossed), label="initialized ticks crossed")


@pytest.mark.parametrize("zero_for_one", [True, False], ids=["down", "up"])
def test_v3_swaps_that_cross_many_ticks_agree(
    anvil: AnvilNode,
    chain: Devnet,
    v3: V3Deployment,
    tokens: Tokens,
    receiver: str,
    zero_for_one: bool,
) -> None:
    spacing = V3_TICK_SPACING[3000]
    # Ranges that start and end every few spacings on both sides of the price.
    ranges = [(-k, 2 * k, 10**18 + k) for k in range(1, 9)] + [(-20, 3, 10**17), (17, 3, 10**17)]
    positions = v3_positions(0, spacing, ranges, full_range=True)
    with reverted_after(anvil):
        result = check_v3_swap(
            chain,
            v3,
            receiver,
            tokens.e18[0].address,
            tokens.e18[1].address,
            3000,
            m.get_sqrt_ratio_at_tick(0) + 12345,
            positions,
            zero_for_one,
            10**18,
        )
    assert result is not None and result.ticks_crossed >= 6


# ---------------------------------------------------------------------------- Solidly


@pytest.fixture(scope="module")
def solidly(chain: Devnet) -> SolidlyDeployment:
    return chain.deploy_solidly()


def seed_solidly_pool(chain: Devnet, pool: str, reserve0: int, reserve1: int) -> None:
    """Give an empty Aerodrome pool exactly these reserves.

    The real pool needs LP supply before a swap (fees are shared per LP token)
    and a stable pool's first deposit must be balanced: one whole token of each
    is minted as liquidity (transfer, then ``mint``), the rest is sent in and
    ``sync``-ed.
    """
    contract = chain.solidly_pool(pool)
    dec0, dec1, *_ = contract.functions.metadata().call()
    chain.mint(contract.functions.token0().call(), pool, dec0)
    chain.mint(contract.functions.token1().call(), pool, dec1)
    chain.transact(contract.functions.mint(chain.deployer))
    chain.mint(contract.functions.token0().call(), pool, reserve0 - dec0)
    chain.mint(contract.functions.token1().call(), pool, reserve1 - dec1)
    chain.transact(contract.functions.sync())
    assert tuple(contract.functions.getReserves().call()[:2]) == (reserve0, reserve1)


def read_solidly_state(chain: Devnet, pool: str) -> SolidlyPoolState:
    contract = chain.solidly_pool(pool)
    dec0, dec1, r0, r1, stable, t0, t1 = contract.functions.metadata().call()
    factory = chain.solidly_factory(contract.functions.factory().call())
    return SolidlyPoolState(
        address=pool,
        token0=t0,
        token1=t1,
        reserve0=r0,
        reserve1=r1,
        decimals0=len(str(dec0)) - 1,
        decimals1=len(str(dec1)) - 1,
        stable=stable,
        fee_bps=factory.functions.getFee(pool, stable).call(),
    )


@settings(max_examples=30, deadline=None)
@given(
    stable=st.booleans(),
    decimals=st.sampled_from([(18, 18), (6, 18), (18, 6), (6, 6)]),
    whole0=spread(0, 10),
    whole1=spread(0, 10),
    fee_bps=st.integers(1, 300) | st.just(ZERO_FEE_INDICATOR),
    zero_for_one=st.booleans(),
    amount=spread(0, 30),
)
@example(
    stable=True,
    decimals=(6, 18),
    whole0=10**6,
    whole1=10**6,
    fee_bps=5,
    zero_for_one=True,
    amount=10**9,
)
def test_solidly_quotes_and_swaps_agree(
    anvil: AnvilNode,
    chain: Devnet,
    solidly: SolidlyDeployment,
    tokens: Tokens,
    receiver: str,
    stable: bool,
    decimals: tuple[int, int],
    whole0: int,
    whole1: int,
    fee_bps: int,
    zero_for_one: bool,
    amount: int,
) -> None:
    token_a, token_b = tokens.pair(decimals)
    with reverted_after(anvil):
        pool = chain.create_solidly_pool(solidly, token_a.address, token_b.address, stable)
        by_address = {token_a.address: token_a, token_b.address: token_b}
        dec0, dec1 = by_address[pool.token0].decimals, by_address[pool.token1].decimals
        assert dec0 is not None and dec1 is not None
        contract = chain.solidly_pool(pool.address)
        seed_solidly_pool(chain, pool.address, whole0 * 10**dec0, whole1 * 10**dec1)
        chain.set_solidly_custom_fee(solidly, pool.address, fee_bps)
        state = read_solidly_state(chain, pool.address)
        expected_fee = 0 if fee_bps == ZERO_FEE_INDICATOR else fee_bps
        assert (state.decimals0, state.decimals1, state.fee_bps) == (dec0, dec1, expected_fee)

        token_in, token_out = (
            (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
        )
        reserve_out = state.reserve1 if zero_for_one else state.reserve0
        try:
            on_chain: int | None = contract.functions.getAmountOut(amount, token_in).call()
        except ContractLogicError:
            on_chain = None
        try:
            quoted = state.amount_out(token_in, amount)
        except InsufficientLiquidity:
            # The swap would revert; getAmountOut alone does not check that.
            event("the output would empty the pool")
            assert on_chain is None or on_chain >= reserve_out
            return
        except AmmError:
            event("the pool reverts")
            assert on_chain is None
            return
        assert quoted == on_chain
        if quoted == 0:
            event("no output")
            return
        event(f"{'stable' if stable else 'volatile'} swap")
        chain.mint(token_in, pool.address, amount)
        outs = (0, quoted) if zero_for_one else (quoted, 0)
        before = chain.balance_of(token_out, receiver)
        chain.transact(contract.functions.swap(*outs, receiver, b""))
        assert chain.balance_of(token_out, receiver) - before == quoted
        after = state.after_swap(token_in, amount)
        assert tuple(contract.functions.getReserves().call()[:2]) == (
            after.reserve0,
            after.reserve1,
        )
        # Aerodrome moves the fee out of the reserves, to the pool's PoolFees.
        pool_fees = contract.functions.poolFees().call()
        assert chain.balance_of(token_in, pool_fees) == amount * expected_fee // 10_000
