"""A real arbitrage set-up on anvil: two Uniswap V2 DEXs with a price gap, a V3
pool, the executor deployed from the dev key, and the matching database rows."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from trading.amm.uniswap_v2 import get_amount_out
from trading.chain.signer import Signer
from trading.models import BotConfig, Dex, Network, Opportunity, Pool, Token
from trading.services.executor import executor_deploy

# anvil's well-known first development key (public test data).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
E18, E6 = 10**18, 10**6


@dataclass
class ArbSetup:
    network: Network
    weth: Token
    usdc: Token
    cheap: Pool  # WETH at 3,000 USDC
    dear: Pool  # WETH at 3,100 USDC
    v3: Pool  # WETH at ~3,019 USDC, 0.3% fee
    executor: str
    signer: Signer


@pytest.fixture
def arb(devnet, market, anvil, db, monkeypatch) -> ArbSetup:
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", DEV_KEY)
    monkeypatch.delenv("LISTONIAN_RPC_URL", raising=False)
    weth_info, usdc_info = market.token("WETH"), market.token("USDC")
    network = Network.objects.create(
        name="anvil", chain_id=31337, rpc_urls=anvil.rpc_url, active=True
    )
    weth = Token.objects.create(
        network=network, address=weth_info.address, symbol="WETH", decimals=18
    )
    usdc = Token.objects.create(
        network=network, address=usdc_info.address, symbol="USDC", decimals=6
    )
    network.base_tokens.set([weth, usdc])
    network.wrapped_native_token = weth
    network.save()

    rows = {}
    for name, usdc_per_weth in (("CheapSwap", 3_000), ("DearSwap", 3_100)):
        deployment = devnet.deploy_uniswap_v2()
        pair = devnet.create_v2_pair(
            deployment, weth.address, usdc.address, 1_000 * E18, 1_000 * usdc_per_weth * E6
        )
        dex = Dex.objects.create(
            network=network, name=name, kind="uniswap_v2", factory=deployment.factory, fee_bps=30
        )
        rows[name] = Pool.objects.create(
            dex=dex,
            address=pair.address,
            token0=weth if pair.token0 == weth.address else usdc,
            token1=usdc if pair.token0 == weth.address else weth,
            fee=3000,
        )
    v3_info = next(
        p
        for p in market.v3_pools
        if {p.token0, p.token1} == {weth.address, usdc.address} and p.fee == 3000
    )
    v3_dex = Dex.objects.create(
        network=network, name="Uniswap V3", kind="uniswap_v3", factory=market.v3.factory
    )
    v3 = Pool.objects.create(
        dex=v3_dex,
        address=v3_info.address,
        token0=weth if v3_info.token0 == weth.address else usdc,
        token1=usdc if v3_info.token0 == weth.address else weth,
        fee=3000,
        tick_spacing=v3_info.tick_spacing,
    )
    signer = Signer.from_environment()
    deployment = executor_deploy(network=network, signer=signer)
    network.refresh_from_db()
    config = BotConfig.load()
    config.max_gas_price_wei = 10**12
    config.max_trade_size_wei = 100 * E18
    config.save()
    return ArbSetup(
        network, weth, usdc, rows["CheapSwap"], rows["DearSwap"], v3, deployment.address, signer
    )


def path(first: Pool, second: Pool, start: Token) -> list[dict[str, str]]:
    middle = first.token1 if first.token0_id == start.pk else first.token0
    return [
        {"pool": first.address, "token_in": start.address, "token_out": middle.address},
        {"pool": second.address, "token_in": middle.address, "token_out": start.address},
    ]


def v2_gross(devnet, steps: list[dict[str, str]], amount_in: int) -> int:
    """Gross profit of a V2-only path on the chain's current reserves (exact)."""
    amount = amount_in
    for step in steps:
        pair = devnet.v2_pair(step["pool"])
        r0, r1, _ = pair.functions.getReserves().call()
        token0 = pair.functions.token0().call()
        reserve_in, reserve_out = (r0, r1) if step["token_in"] == token0 else (r1, r0)
        amount = get_amount_out(amount, reserve_in, reserve_out, 30)
    return amount - amount_in


def make_opportunity(setup: ArbSetup, steps, amount_in: int, gross: int, block: int = 1):
    pools = Pool.objects.filter(address__in=[s["pool"] for s in steps])
    opportunity = Opportunity.objects.create(
        network=setup.network,
        start_token=setup.weth,
        amount_in=amount_in,
        expected_profit=gross,
        gas_cost=0,
        net_profit=gross,
        path=steps,
        cycle_key="|".join(s["pool"] for s in steps),
        block_number=block,
    )
    opportunity.pools.set(pools)
    return opportunity
