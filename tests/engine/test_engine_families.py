"""The engine trading live across the newer DEX families on anvil.

A gap between two different families (Slipstream, PancakeSwap V3, Uniswap V4
against V2 or V3), and a triangle over three families, registered as an
operator would (add_network, add_dex, sync_pools), found by one engine scan and
executed by the real executor: its balance gain equals ``Trade.realized_profit``
equals the opportunity's ``expected_profit``, to the wei.
"""

from __future__ import annotations

from fractions import Fraction
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from tests.execution.conftest import DEV_KEY
from trading.chain.signer import Signer
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import DexPlan, Market, PoolPlan, TokenPlan, build_market
from trading.engine.engine import Engine
from trading.models import BotConfig, Network, Opportunity, Trade
from trading.services.executor import executor_deploy

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

_TOKENS = (TokenPlan("WETH", 18, 3_000), TokenPlan("USDC", 6, 1), TokenPlan("DAI", 18, 1))
_DEPTH = 2_000_000
# One DEX per family; a plan uses those its pools name.
_DEXES = {
    "V2": DexPlan("V2", "uniswap_v2", 30),
    "V3": DexPlan("V3", "uniswap_v3"),
    "CL": DexPlan("CL", "slipstream"),
    "Pancake": DexPlan("Pancake", "pancakeswap_v3"),
    "V4": DexPlan("V4", "uniswap_v4"),
}


def _pool(dex: str, a: str, b: str, gap: Fraction | int = 1) -> PoolPlan:
    kind = _DEXES[dex].kind
    if kind == "slipstream":
        return PoolPlan(dex, a, b, _DEPTH, gap, tick_spacing=100)
    return PoolPlan(dex, a, b, _DEPTH, gap, fee=500)


def _deploy(devnet: Devnet, pools: list[PoolPlan]) -> Market:
    names = list(dict.fromkeys(p.dex for p in pools))
    return build_market(devnet, _TOKENS, [_DEXES[n] for n in names], pools)


def _register(anvil: AnvilNode, market: Market, monkeypatch: pytest.MonkeyPatch) -> str:
    """What an operator types, then the executor deployed from the dev key; its address."""
    quiet = {"stdout": StringIO()}
    weth = market.tokens["WETH"].address
    call_command(
        "add_network",
        "Local",
        "--chain-id",
        "31337",
        "--rpc-url",
        anvil.rpc_url,
        "--base-tokens",
        weth,
        "--activate",
        **quiet,
    )
    for dex in market.dexes.values():
        extra = ["--fee-bps", str(dex.fee_bps)] if dex.fee_bps else []
        call_command(
            "add_dex", dex.name, "--kind", dex.kind, "--factory", dex.factory, *extra, **quiet
        )
    call_command("sync_pools", **quiet)
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", DEV_KEY)
    monkeypatch.delenv("LISTONIAN_RPC_URL", raising=False)
    network = Network.objects.get(name="Local")
    deployment = executor_deploy(network=network, signer=Signer.from_environment())
    config = BotConfig.load()
    config.mode = "live"
    config.min_gas_balance_wei = 0
    config.max_gas_price_wei = 10**12
    config.max_trade_size_wei = 1_000 * 10**18
    config.save()
    return deployment.address


async def _scan_and_trade(devnet: Devnet, market: Market, executor: str) -> Trade:
    weth = market.tokens["WETH"].address
    before = devnet.balance_of(weth, executor)
    report = await Engine().run_once()
    assert report.findings >= 1
    trade = await Trade.objects.select_related("opportunity").aget()
    assert trade.status == "success" and trade.mode == "live", trade.opportunity.status_reason
    gain = devnet.balance_of(weth, executor) - before
    assert gain == trade.realized_profit == trade.opportunity.expected_profit > 0
    return trade


@pytest.mark.parametrize(
    ("dear", "cheap"),
    [("CL", "V2"), ("V2", "Pancake"), ("V4", "V2"), ("V3", "V4"), ("CL", "V4")],
)
async def test_a_gap_between_two_families_is_traded_to_the_wei(
    anvil: AnvilNode, devnet: Devnet, monkeypatch: pytest.MonkeyPatch, dear: str, cheap: str
) -> None:
    pools = [
        _pool(dear, "WETH", "USDC", Fraction(104, 100)),
        _pool(cheap, "WETH", "USDC", Fraction(98, 100)),
    ]
    market = await sync_to_async(_deploy)(devnet, pools)
    executor = await sync_to_async(_register)(anvil, market, monkeypatch)
    trade = await _scan_and_trade(devnet, market, executor)
    # Sold where WETH is dear, bought back where it is cheap.
    path = [step["pool"] for step in trade.opportunity.path]
    assert path == [market.pools[0].address, market.pools[1].address]
    assert trade.opportunity.status == "executed"


async def test_a_triangle_over_three_families_is_traded_to_the_wei(
    anvil: AnvilNode, devnet: Devnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = [
        _pool("CL", "WETH", "USDC", Fraction(104, 100)),
        _pool("Pancake", "USDC", "DAI"),
        _pool("V4", "DAI", "WETH", Fraction(101, 100)),
    ]
    market = await sync_to_async(_deploy)(devnet, pools)
    executor = await sync_to_async(_register)(anvil, market, monkeypatch)
    trade = await _scan_and_trade(devnet, market, executor)
    kinds = [
        next(p.kind for p in market.pools if p.address == s["pool"]) for s in trade.opportunity.path
    ]
    assert sorted(kinds) == ["pancakeswap_v3", "slipstream", "uniswap_v4"]
    assert await Opportunity.objects.filter(status="executed").acount() == 1
