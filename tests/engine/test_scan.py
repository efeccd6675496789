"""The market scan on anvil: V2, V3 and Solidly pools with price gaps, checked against the chain.

Every finding's gross profit is what the real pools pay when its swaps are
executed in order (in a snapshot), to the wei.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pytest

from tests.support.chain_fixtures import reverted_after
from tests.support.markets import pool_specs
from tests.support.rpc_proxy import RpcProxy
from trading.analysis import Finding
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, TokenInfo, V3Deployment
from trading.devchain.market import DexPlan, PoolPlan, Position, TokenPlan, build_market
from trading.dex.base import PoolSpec
from trading.engine.scan import OVERDUE_BLOCKS, MarketScanner
from trading.execution.calldata import representative_transaction
from trading.gas.oracle import GAS_PRICE_ORACLE, GasOracle
from trading.services.opportunities import AnalysisInputs, TokenFacts

pytestmark = pytest.mark.chain

E18, E6 = 10**18, 10**6


@dataclass(frozen=True)
class MixedMarket:
    """WETH, USDC and DAI on V2, V3 and Solidly pools, WETH dearer on some venues."""

    tokens: dict[str, TokenInfo]
    specs: tuple[PoolSpec, ...]
    v3: V3Deployment

    def inputs(self, **changes: object) -> AnalysisInputs:
        weth, usdc = self.tokens["WETH"].address, self.tokens["USDC"].address
        inputs = AnalysisInputs(
            network_id=1,
            network_name="Local",
            chain_id=31337,
            is_op_stack=False,
            base_tokens=(weth, usdc),
            wrapped_native=weth,
            max_hops=3,
            max_trade_size_wei=50 * E18,
            min_net_profit_wei=0,
            pools=self.specs,
            tokens={
                t.address: TokenFacts(t.address, t.symbol, t.decimals or 18)
                for t in self.tokens.values()
            },
            enabled_dexes=("V2", "V3", "Solidly"),
        )
        return replace(inputs, **changes)  # type: ignore[arg-type]

    def kind(self, pool: str) -> str:
        return next(spec.kind for spec in self.specs if spec.address == pool)


MIXED_TOKENS = (TokenPlan("WETH", 18, 3_000), TokenPlan("USDC", 6, 1), TokenPlan("DAI", 18, 1))
MIXED_DEXES = (
    DexPlan("V2", "uniswap_v2", 30),
    DexPlan("V3", "uniswap_v3"),
    DexPlan("Solidly", "solidly"),
)
MIXED_POOLS = (
    PoolPlan("V2", "WETH", "USDC", 300_000),
    PoolPlan("V2", "USDC", "DAI", 1_000_000),
    # WETH 2% dearer on V3 and 3% dearer on Solidly.
    PoolPlan(
        "V3",
        "WETH",
        "USDC",
        0,
        gap=Fraction(102, 100),
        positions=(Position(10, 10, 5 * 10**15), Position(60, 40, 10**15)),
    ),
    PoolPlan("Solidly", "WETH", "DAI", 300_000, gap=Fraction(103, 100)),
    PoolPlan("Solidly", "USDC", "DAI", 500_000, stable=True),
)


@pytest.fixture(scope="module")
def mixed(anvil: AnvilNode, devnet_session: Devnet) -> Iterator[MixedMarket]:
    with reverted_after(anvil):
        market = build_market(devnet_session, MIXED_TOKENS, MIXED_DEXES, MIXED_POOLS)
        yield MixedMarket(dict(market.tokens), tuple(pool_specs(market)), market.v3)


@pytest.fixture
async def client(anvil: AnvilNode, chain_snapshot: str) -> Iterator[ChainClient]:
    async with ChainClient([anvil.rpc_url], chain_id=31337) as c:
        yield c


def pay_on_chain(devnet: Devnet, market: MixedMarket, finding: Finding, trader: str) -> int:
    """Execute the finding's swaps through the real pools; the start token received."""
    amount = finding.sized.amount_in
    for hop in finding.cycle.hops:
        kind = market.kind(hop.pool)
        if kind == "uniswap_v2":
            amount = devnet.swap_v2(hop.pool, hop.token_in, amount, to=trader)
        elif kind == "uniswap_v3":
            delta0, delta1 = devnet.swap_v3(
                market.v3, hop.pool, hop.token_in, amount, recipient=trader
            )
            amount = -min(delta0, delta1)
        else:
            amount = devnet.swap_solidly(hop.pool, hop.token_in, amount, to=trader)
    return amount


async def test_every_finding_pays_on_chain_what_was_quoted(
    anvil: AnvilNode, client: ChainClient, mixed: MixedMarket, devnet_session: Devnet
) -> None:
    scanner = MarketScanner(client, mixed.inputs())
    await scanner.initialize()
    result = await scanner.scan_full()
    assert result.full and not result.pools_failed
    assert result.cycles_evaluated == result.cycles_indexed == len(scanner.index) > 10
    assert result.findings, result.rejections
    kinds = {mixed.kind(pool) for finding in result.findings for pool in finding.cycle.pools}
    assert kinds == {"uniswap_v2", "uniswap_v3", "solidly"}
    nets = [f.evaluation.net for f in result.findings]
    assert nets == sorted(nets, reverse=True)

    suggestion = await GasOracle(client).suggest()
    price = suggestion.normal.effective_price(suggestion.base_fee)
    assert result.gas.gas_price_wei == price

    trader = anvil.accounts[8]
    for finding in result.findings:
        assert finding.evaluation.net >= 1
        assert finding.evaluation.gas_cost_wei == finding.evaluation.gas_units * price
        start = finding.cycle.start_token
        with reverted_after(anvil):
            before = devnet_session.balance_of(start, trader)
            final = pay_on_chain(devnet_session, mixed, finding, trader)
            assert devnet_session.balance_of(start, trader) - before == final
        assert final - finding.sized.amount_in == finding.evaluation.gross, finding.key


async def test_a_block_re_evaluates_only_the_cycles_through_changed_pools(
    anvil: AnvilNode, mixed: MixedMarket, devnet_session: Devnet, chain_snapshot: str
) -> None:
    async with (
        RpcProxy(anvil.rpc_url) as proxy,
        ChainClient([proxy.url], chain_id=31337) as client,
    ):
        scanner = MarketScanner(client, mixed.inputs())
        await scanner.initialize()
        full = await scanner.scan_full()
        weth_usdc_v2 = mixed.specs[0]
        devnet_session.swap_v2(weth_usdc_v2.address, weth_usdc_v2.token0, 10**15)
        block = devnet_session.w3.eth.block_number

        proxy.reset()
        result = await scanner.scan_block(block)
        # The pair's Sync log carries its new reserves: no read, only the logs and gas.
        assert proxy.methods == {"eth_getLogs": 1, "eth_feeHistory": 1}

    through = scanner.index.cycles_through([weth_usdc_v2.address])
    assert not result.full and result.block_number == block
    assert result.evaluated_keys == {c.key for c in through}
    assert 0 < result.cycles_evaluated < full.cycles_evaluated
    # Nothing changed elsewhere: a scan of no pools evaluates nothing.
    assert (await scanner.scan_changed([], block)).cycles_evaluated == 0


async def test_op_stack_networks_add_the_l1_data_fee(
    anvil: AnvilNode, client: ChainClient, mixed: MixedMarket
) -> None:
    fee = 123_456_789_012
    # A stand-in GasPriceOracle predeploy that answers every getL1Fee with ``fee``.
    code = "0x7f" + fee.to_bytes(32, "big").hex() + "60005260206000f3"
    anvil.rpc("anvil_setCode", [GAS_PRICE_ORACLE, code])
    scanner = MarketScanner(client, mixed.inputs(is_op_stack=True))
    await scanner.initialize()
    result = await scanner.scan_full()
    assert result.gas.l1_fees == {2: fee, 3: fee}
    finding = result.findings[0]
    assert finding.evaluation.gas_cost_wei == (
        finding.evaluation.gas_units * result.gas.gas_price_wei + fee
    )
    assert await GasOracle(client, op_stack=True).l1_fee(representative_transaction(3, 1)) == fee


async def test_without_the_predeploy_the_l1_fee_is_zero(
    client: ChainClient, mixed: MixedMarket
) -> None:
    scanner = MarketScanner(client, mixed.inputs(is_op_stack=True))
    await scanner.initialize()
    result = await scanner.scan_full()
    assert result.gas.l1_fees == {2: 0, 3: 0}


async def test_operator_limits_bound_the_findings(client: ChainClient, mixed: MixedMarket) -> None:
    free = MarketScanner(client, mixed.inputs())
    await free.initialize()
    best = (await free.scan_full()).findings[0]

    capped = MarketScanner(client, mixed.inputs(max_trade_size_wei=E18 // 10))
    await capped.initialize()
    for finding in (await capped.scan_full()).findings:
        terms = capped.terms()[finding.cycle.start_token]
        assert finding.sized.amount_in <= terms.max_amount_in

    demanding = MarketScanner(client, mixed.inputs(min_net_profit_wei=10**30))
    await demanding.initialize()
    result = await demanding.scan_full()
    assert not result.findings
    assert "below" in result.rejections[best.key].reason


async def test_new_settings_rebuild_the_index(client: ChainClient, mixed: MixedMarket) -> None:
    scanner = MarketScanner(client, mixed.inputs())
    three_hops = len(scanner.index)
    scanner.set_inputs(mixed.inputs(max_hops=2))
    assert 0 < len(scanner.index) < three_hops
    assert all(len(cycle) == 2 for cycle in scanner.index)
    scanner.set_inputs(mixed.inputs(max_hops=2, pools=mixed.specs[:3]))
    assert scanner.index.pool_addresses == {s.address for s in mixed.specs[:3]}


async def test_the_dollar_price_of_the_native_coin_comes_from_the_block_terms(
    client: ChainClient, mixed: MixedMarket
) -> None:
    from trading.analysis.valuation import reference_usd_price

    weth, usdc = mixed.tokens["WETH"].address, mixed.tokens["USDC"].address
    scanner = MarketScanner(client, mixed.inputs(usd_token=usdc, usd_token_decimals=6))
    await scanner.initialize()
    result = await scanner.scan_full()
    # Every pool walked, as before: the same exact price as the block's terms give.
    walked = reference_usd_price(scanner.dex.states.values(), weth, usdc, 6)
    assert walked is not None and 2_000 * E6 < walked < 4_000 * E6
    assert result.native_usd_price == walked == scanner.usd_price(scanner.terms())
    # The operator's reference pool (here the V2 pool, not the deepest) is read alone.
    v2 = next(
        spec.address
        for spec in mixed.specs
        if spec.kind == "uniswap_v2" and {spec.token0, spec.token1} == {weth, usdc}
    )
    scanner.set_inputs(replace(scanner.inputs, usd_pool=v2))
    chosen = reference_usd_price(scanner.dex.states.values(), weth, usdc, 6, v2)
    assert chosen is not None and chosen != walked
    assert scanner.usd_price(scanner.terms()) == chosen


async def test_a_sizing_budget_leaves_cycles_for_later_blocks_and_loses_none(
    client: ChainClient, mixed: MixedMarket
) -> None:
    whole = MarketScanner(client, mixed.inputs(), max_sized_per_block=None)
    await whole.initialize()
    full = await whole.scan_full()
    assert len(full.findings) >= 3
    every = [spec.address for spec in mixed.specs]
    expected = {f.key: (f.sized, f.evaluation) for f in full.findings}

    scanner = MarketScanner(client, mixed.inputs(), max_sized_per_block=2)
    await scanner.initialize()
    await scanner.dex.refresh_all()
    block = scanner.dex.last_block or 0
    first = await scanner.scan_changed(every, block)
    # The two most promising are judged now; the other candidates wait.
    assert first.cycles_sized <= 2 and first.cycles_deferred == scanner.deferred > 0
    # The best of them is among the two (the estimate orders, it does not decide).
    assert first.findings[0].key == full.findings[0].key
    found = {f.key: (f.sized, f.evaluation) for f in first.findings}
    judged = set(first.evaluated_keys)
    # Later blocks with nothing changed judge what waits, two at a time, until none is left.
    blocks = 0
    while scanner.deferred:
        blocks += 1
        assert blocks <= len(scanner.index)
        later = await scanner.scan_changed([], block + blocks)
        assert later.cycles_sized <= 2
        assert judged.isdisjoint(later.evaluated_keys)
        judged |= set(later.evaluated_keys)
        found.update({f.key: (f.sized, f.evaluation) for f in later.findings})
    # Every verdict is the one a pass without a budget gives.
    assert found == expected
    assert judged == {c.key for c in scanner.index}


async def test_a_cycle_left_waiting_too_long_is_judged_first(
    client: ChainClient, mixed: MixedMarket
) -> None:
    scanner = MarketScanner(client, mixed.inputs(), max_sized_per_block=1)
    await scanner.initialize()
    await scanner.dex.refresh_all()
    every = [spec.address for spec in mixed.specs]
    block = 100
    first = await scanner.scan_changed(every, block)
    waiting = set(scanner.deferred_ids.tolist())
    assert len(waiting) >= 2
    # The same pools change every block: the best candidate would win every time,
    # but a cycle left waiting OVERDUE_BLOCKS blocks goes before it.
    best = first.findings[0].key
    for offset in range(1, OVERDUE_BLOCKS):
        again = await scanner.scan_changed(every, block + offset)
        assert [f.key for f in again.findings] == [best]
    await scanner.scan_changed(every, block + OVERDUE_BLOCKS)
    # One waiting cycle (the budget) had its verdict instead; the best waits this once.
    assert scanner.index.table.find(best) in scanner.deferred_ids
    assert len(waiting - set(scanner.deferred_ids.tolist())) == 1


async def test_a_waiting_cycle_keeps_the_block_it_first_waited_at(
    client: ChainClient, mixed: MixedMarket
) -> None:
    scanner = MarketScanner(client, mixed.inputs())
    scanner._keep_deferred(np.array([9, 1, 5], dtype=np.intp), 10)
    assert scanner.deferred_ids.tolist() == [1, 5, 9]
    # 1 was judged, 7 and 12 start waiting; 5 and 9 still wait since block 10.
    scanner._keep_deferred(np.array([12, 5, 7, 9], dtype=np.intp), 11)
    assert scanner.deferred_ids.tolist() == [5, 7, 9, 12]
    assert scanner._deferred_since.tolist() == [10, 11, 10, 11]
    # 1 waits again: from now, not from when it waited before.
    scanner._keep_deferred(np.array([1, 12], dtype=np.intp), 12)
    assert scanner._deferred_since.tolist() == [12, 11]
    scanner._keep_deferred(np.zeros(0, dtype=np.intp), 13)
    assert scanner.deferred == 0
