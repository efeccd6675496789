"""`manage.py runbot`: one full scan on anvil, checked against what the chain pays, and the
continuous engine for N blocks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.support.rpc_proxy import unused_port
from tests.trading import factories as f
from trading.chain.client import ChainClient
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet, TokenInfo, V2Pair
from trading.devchain.market import DexPlan, PoolPlan, TokenPlan, build_market
from trading.gas.oracle import GasOracle
from trading.models import Network, Opportunity, OpportunityStatus, Token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]

E18, E6 = 10**18, 10**6
# Executor overhead plus two Uniswap V2 hops (trading.analysis.profit.DEFAULT_GAS_MODEL).
TWO_V2_HOPS_GAS = 90_000 + 2 * 60_000


@dataclass
class TwoDexMarket:
    weth: TokenInfo
    usdc: TokenInfo
    factories: tuple[str, str]
    pairs: tuple[V2Pair, V2Pair]


def two_dex_market(devnet: Devnet, usdc_a: int, usdc_b: int) -> TwoDexMarket:
    """Two real UniswapV2Factory deployments, each with a 100 WETH pool against USDC."""
    market = build_market(
        devnet,
        (TokenPlan("WETH", 18, 3_000, "Wrapped Ether"), TokenPlan("USDC", 6, 1, "USD Coin")),
        (DexPlan("Uni A", "uniswap_v2", 30), DexPlan("Uni B", "uniswap_v2", 30)),
        [
            PoolPlan(dex, "WETH", "USDC", 300_000, gap=Fraction(usdc, 300_000 * E6))
            for dex, usdc in (("Uni A", usdc_a), ("Uni B", usdc_b))
        ],
    )
    pairs = market.v2_pairs
    return TwoDexMarket(
        market.tokens["WETH"],
        market.tokens["USDC"],
        (market.dexes["Uni A"].factory, market.dexes["Uni B"].factory),
        (pairs[0], pairs[1]),
    )


def register(anvil: AnvilNode, market: TwoDexMarket, base_tokens: list[str]) -> None:
    """What an operator types: add_network, add_dex twice, sync_pools."""
    quiet = {"stdout": StringIO()}
    call_command(
        "add_network",
        "Local",
        "--chain-id",
        "31337",
        "--rpc-url",
        anvil.rpc_url,
        "--base-tokens",
        ",".join(base_tokens),
        "--activate",
        **quiet,
    )
    for name, factory in zip(("Uni A", "Uni B"), market.factories, strict=True):
        call_command("add_dex", name, "--kind", "uniswap_v2", "--factory", factory, **quiet)
    call_command("sync_pools", **quiet)


def runbot(*args: str) -> str:
    out = StringIO()
    call_command("runbot", *args, stdout=out)
    return out.getvalue()


def pay_on_chain(devnet: Devnet, opportunity: Opportunity, trader: str) -> int:
    """Run the opportunity's swaps through the real pairs; what the trader ends up with."""
    amount = opportunity.amount_in
    for step in opportunity.path:
        amount = devnet.swap_v2(step["pool"], step["token_in"], amount, to=trader)
    start = opportunity.start_token.address
    assert devnet.balance_of(start, trader) == amount
    return amount


def next_block_gas_price(anvil: AnvilNode) -> int:
    async def read() -> int:
        async with ChainClient([anvil.rpc_url], chain_id=31337) as client:
            suggestion = await GasOracle(client).suggest()
        return suggestion.normal.effective_price(suggestion.base_fee)

    return asyncio.run(read())


def test_a_price_gap_between_two_dexes_is_one_opportunity_paid_to_the_wei(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = two_dex_market(devnet, 300_000 * E6, 306_000 * E6)
    register(anvil, market, [market.weth.address])
    output = runbot("--once")

    (opp,) = Opportunity.objects.all()
    weth = Token.objects.get(address=market.weth.address)
    assert opp.status == OpportunityStatus.DETECTED and opp.start_token == weth
    assert opp.network == Network.objects.active()
    # Sell WETH where it is dear (B), buy it back where it is cheap (A).
    assert [step["pool"] for step in opp.path] == [market.pairs[1].address, market.pairs[0].address]
    assert opp.block_number == devnet.w3.eth.block_number
    assert opp.gas_cost == TWO_V2_HOPS_GAS * next_block_gas_price(anvil)
    assert opp.net_profit == opp.expected_profit - opp.gas_cost > 0

    trader = anvil.accounts[7]
    final = pay_on_chain(devnet, opp, trader)
    assert final - opp.amount_in == opp.expected_profit

    assert "Listonian scan of Local (chain id 31337)" in output
    assert "mode: dry run (settings)" in output
    assert "WETH → USDC → WETH" in output and "Uni B, Uni A" in output
    amount_text = f"{opp.amount_in // E18}.{opp.amount_in % E18:018d}".rstrip("0")
    assert amount_text in output.replace(",", "")
    assert "Opportunities: 1 new, 0 updated, 0 no longer profitable." in output


def test_a_six_decimal_start_token_is_measured_in_its_own_units(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = two_dex_market(devnet, 306_000 * E6, 300_000 * E6)
    register(anvil, market, [market.usdc.address])
    network = Network.objects.get(name="Local")
    network.wrapped_native_token = Token.objects.get(address=market.weth.address)
    network.save()
    output = runbot("--once", "--live")

    (opp,) = Opportunity.objects.all()
    assert opp.start_token.symbol == "USDC" and opp.start_token.decimals == 6
    assert 0 < opp.gas_cost < 10 * E6  # a few cents of USDC, not wei of WETH
    final = pay_on_chain(devnet, opp, anvil.accounts[7])
    assert final - opp.amount_in == opp.expected_profit
    assert "USDC → WETH → USDC" in output and "mode: live" in output


def test_a_fair_market_has_no_opportunity(anvil: AnvilNode, devnet: Devnet) -> None:
    # A 0.33% gap is inside the two 0.3% fees.
    market = two_dex_market(devnet, 300_000 * E6, 301_000 * E6)
    register(anvil, market, [market.weth.address, market.usdc.address])
    output = runbot("--once", "--dry-run")
    assert not Opportunity.objects.exists()
    assert "No cycle pays after gas" in output
    assert "Cycles: 4 indexed, 4 evaluated" in output


def test_a_rerun_updates_the_opportunity_and_a_closed_gap_makes_it_stale(
    anvil: AnvilNode, devnet: Devnet
) -> None:
    market = two_dex_market(devnet, 300_000 * E6, 306_000 * E6)
    register(anvil, market, [market.weth.address])
    runbot("--once")
    first = Opportunity.objects.get()

    # The gap widens: someone sells WETH on A, where it was already cheaper.
    devnet.swap_v2(market.pairs[0].address, market.weth.address, E18)
    output = runbot("--once")
    again = Opportunity.objects.get()
    assert again.pk == first.pk and again.cycle_key == first.cycle_key
    assert again.block_number > first.block_number
    assert again.expected_profit > first.expected_profit
    assert again.detected_at == first.detected_at
    assert "Opportunities: 0 new, 1 updated, 0 no longer profitable." in output
    final = pay_on_chain(devnet, again, anvil.accounts[7])
    assert final - again.amount_in == again.expected_profit

    # Those swaps closed the gap: the next scan retires the opportunity.
    output = runbot("--once")
    retired = Opportunity.objects.get()
    assert retired.pk == first.pk and retired.status == OpportunityStatus.STALE
    assert "below" in retired.status_reason
    assert "No cycle pays after gas" in output
    assert "0 new, 0 updated, 1 no longer profitable" in output


def test_blocks_and_once_exclude_each_other() -> None:
    with pytest.raises(CommandError, match="--blocks is for the continuous engine"):
        runbot("--once", "--blocks", "3")
    with pytest.raises(CommandError, match="at least 1"):
        runbot("--blocks", "0")


def test_the_continuous_engine_stops_after_n_blocks(anvil: AnvilNode, devnet: Devnet) -> None:
    import threading
    import time

    market = two_dex_market(devnet, 300_000 * E6, 306_000 * E6)
    register(anvil, market, [market.weth.address])
    stop = threading.Event()

    def mine() -> None:
        while not stop.is_set():
            anvil.mine(1)
            time.sleep(0.2)

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        output = runbot("--blocks", "3", "--dry-run")
    finally:
        stop.set()
        miner.join()
    assert "Engine running for 3 block(s)" in output
    assert output.count("\nblock ") + output.startswith("block ") >= 3
    assert "Engine stopped after 3 block(s)" in output
    # No executor on this network: the gap is recorded, nothing is executed.
    assert Opportunity.objects.filter(status=OpportunityStatus.DETECTED).count() == 1


def test_live_and_dry_run_exclude_each_other() -> None:
    with pytest.raises(CommandError, match="not allowed with"):
        runbot("--once", "--live", "--dry-run")


def test_it_needs_an_active_network() -> None:
    with pytest.raises(CommandError, match="no active network"):
        runbot("--once")


def test_it_needs_an_enabled_dex(anvil: AnvilNode) -> None:
    f.network(name="Local", rpc_urls=anvil.rpc_url, active=True)
    with pytest.raises(CommandError, match="No enabled DEX on Local"):
        runbot("--once")


def _configured_network(rpc_url: str, chain_id: int = 31337) -> Network:
    network = f.network(name="Local", rpc_urls=rpc_url, chain_id=chain_id, active=True)
    weth, usdc = f.token(network, "WETH"), f.token(network, "USDC", 6)
    network.base_tokens.add(weth)
    f.pool(f.dex(network, "Uni A"), weth, usdc)
    return network


def test_it_reports_an_rpc_endpoint_that_is_down() -> None:
    _configured_network(f"http://127.0.0.1:{unused_port()}")
    with pytest.raises(CommandError, match="RPC endpoint is down"):
        runbot("--once")


def test_it_refuses_an_endpoint_of_another_chain(anvil: AnvilNode) -> None:
    _configured_network(anvil.rpc_url, chain_id=8453)
    with pytest.raises(CommandError, match=r"Chain id mismatch: .*expects chain id 8453"):
        runbot("--once")


def test_a_database_that_is_down_is_one_line(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{unused_port()}/listonian",
        "LISTONIAN_ENGINE_METRICS_PORT": "0",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "runbot", "--once"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("CommandError: The database is unreachable: ")
