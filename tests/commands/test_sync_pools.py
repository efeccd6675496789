"""`manage.py sync_pools`: discovery of the enabled DEXs, filters, incremental re-runs."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.support.rpc_proxy import unused_port
from trading.chain.artifacts import project_artifact
from trading.devchain.anvil import AnvilNode
from trading.devchain.devnet import Devnet
from trading.devchain.market import Market
from trading.models import Dex, Network, Pool, Token
from trading.services.dexes import dex_add
from trading.services.pools import pool_specs_for_network, solidly_factories_for_network
from trading.tasks import sync_pools as sync_pools_task

pytestmark = [pytest.mark.django_db, pytest.mark.chain]


def _run(*args: str, stdout: StringIO | None = None) -> str:
    out = stdout or StringIO()
    call_command("sync_pools", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def dexes(local_network: Network, market: Market) -> dict[str, Dex]:
    return {
        "v2": dex_add(name="Uni V2", kind="uniswap_v2", factory=market.v2.factory)[0],
        "v3": dex_add(name="Uni V3", kind="uniswap_v3", factory=market.v3.factory)[0],
        "solidly": dex_add(name="Aero", kind="solidly", factory=market.solidly.factory)[0],
    }


def test_it_finds_exactly_the_deployed_pools(
    dexes: dict[str, Dex], market: Market, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="trading"):
        output = _run()
    nodec = market.token("NODEC").address
    expected_v2 = {p.address for p in market.v2_pairs if nodec not in (p.token0, p.token1)}
    assert (
        set(Pool.objects.filter(dex=dexes["v2"]).values_list("address", flat=True)) == expected_v2
    )
    assert set(Pool.objects.filter(dex=dexes["v3"]).values_list("address", flat=True)) == {
        p.address for p in market.v3_pools
    }
    assert set(Pool.objects.filter(dex=dexes["solidly"]).values_list("address", flat=True)) == {
        p.address for p in market.solidly_pools
    }
    assert "Uni V2 (uniswap_v2): 5 pools added, 1 skipped, 0 already known" in output
    assert "skipped 1: token NODEC has no decimals()" in output
    assert "Uni V3 (uniswap_v3): 3 pools added" in output
    assert "Aero (solidly): 3 pools added" in output
    assert "Total: 11 pools added, 1 skipped" in output
    assert "has no decimals()" in caplog.text
    # bytes32 metadata is decoded; fees and curves are stored in pips.
    assert Token.objects.get(address=market.token("MKR").address).symbol == "MKR"
    v3 = Pool.objects.get(address=market.v3_pools[0].address)
    assert (v3.fee, v3.tick_spacing) == (market.v3_pools[0].fee, market.v3_pools[0].tick_spacing)
    stable = Pool.objects.get(address=market.solidly_pools[1].address)
    assert (stable.stable, stable.fee) == (True, 500)
    assert {p.fee for p in Pool.objects.filter(dex=dexes["v2"])} == {3000}


def test_a_rerun_adds_nothing(dexes: dict[str, Dex], market: Market, devnet: Devnet) -> None:
    _run()
    count = Pool.objects.count()
    output = _run()
    assert Pool.objects.count() == count
    assert "Total: 0 pools added, 0 skipped" in output
    # A pool created since is found by the next run, alone.
    late = devnet.deploy_tokens(["LATE"])[0]
    devnet.create_v2_pair(market.v2, late.address, market.tokens["WETH"].address, 10**21, 10**20)
    output = _run("--dex", "Uni V2")
    assert "Uni V2 (uniswap_v2): 1 pools added" in output
    assert "Uni V3" not in output
    assert Pool.objects.count() == count + 1


def test_allowlist_keeps_only_listed_tokens(dexes: dict[str, Dex], market: Market) -> None:
    network = dexes["v2"].network
    network.token_allowlist = f"{market.tokens['WETH'].address},{market.tokens['USDC'].address}"
    network.save()
    output = _run()
    kept = Pool.objects.all()
    assert kept.count() == 4  # WETH/USDC on V2, two V3 fee tiers, Solidly
    assert all({p.token0.symbol, p.token1.symbol} == {"WETH", "USDC"} for p in kept)
    assert "token not in the network's allow-list" in output


def test_minimum_liquidity_filter(dexes: dict[str, Dex], market: Market) -> None:
    network = dexes["v2"].network
    weth = market.tokens["WETH"]
    Token.objects.create(
        network=network,
        address=weth.address,
        symbol="WETH",
        decimals=18,
        min_liquidity=600 * 10**18,
    )
    output = _run("--dex", "Uni V2")
    # WETH pairs hold 1000, 800, 1000, 500 and 100 WETH: the last two are dropped.
    weth_pairs = Pool.objects.filter(dex=dexes["v2"], token0__symbol="WETH") | Pool.objects.filter(
        dex=dexes["v2"], token1__symbol="WETH"
    )
    assert weth_pairs.count() == 3
    assert "skipped 1: below minimum liquidity" in output
    kept = Pool.objects.get(address=market.v2_pairs[0].address)
    assert kept.reserve0 and kept.state_block


def test_failover_with_the_first_rpc_url_dead(
    db: None,
    anvil: AnvilNode,
    market: Market,
) -> None:
    network = Network.objects.create(
        name="Failover",
        chain_id=31337,
        rpc_urls=f"http://127.0.0.1:{unused_port()},{anvil.rpc_url}",
        active=True,
    )
    Dex.objects.create(network=network, name="Uni V2", kind="uniswap_v2", factory=market.v2.factory)
    output = _run()
    assert "Uni V2 (uniswap_v2): 5 pools added" in output


def test_specs_for_the_engine(dexes: dict[str, Dex], market: Market) -> None:
    _run()
    specs = pool_specs_for_network(dexes["v2"].network)
    assert len(specs) == 11
    usdc_dai = next(s for s in specs if s.address == market.solidly_pools[1].address)
    assert usdc_dai.stable and {usdc_dai.decimals0, usdc_dai.decimals1} == {6, 18}
    Dex.objects.filter(pk=dexes["v3"].pk).update(enabled=False)
    assert len(pool_specs_for_network(dexes["v2"].network)) == 8
    assert solidly_factories_for_network(dexes["v2"].network) == [market.solidly.factory]
    Dex.objects.filter(pk=dexes["v2"].pk).update(fee_bps=25)
    v2_specs = [s for s in pool_specs_for_network(dexes["v2"].network) if s.kind == "uniswap_v2"]
    assert {s.fee_bps for s in v2_specs} == {25}


def test_progress_bar_on_a_terminal(dexes: dict[str, Dex]) -> None:
    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    output = _run("--dex", "Aero", stdout=Terminal())
    assert "\rAero" in output and "100.0%" in output


def test_unknown_dex_and_no_network(db: None, local_network: Network) -> None:
    with pytest.raises(CommandError, match="No DEX named 'Nope'"):
        _run("--dex", "Nope")
    assert "No enabled DEX" in _run()
    local_network.active = False
    local_network.save()
    with pytest.raises(CommandError, match="no active network"):
        _run()


@pytest.mark.parametrize("kind", ["uniswap_v2", "solidly"])
def test_unreadable_factory_entries_are_kept_and_read_again(
    kind: str, local_network: Network, market: Market, devnet: Devnet
) -> None:
    artifact = project_artifact("FlakyPoolFactory")
    factory = devnet.w3.eth.contract(address=devnet.deploy(artifact), abi=artifact.abi)
    nodec = market.token("NODEC").address
    listed = [
        p.address
        for p in (market.v2_pairs if kind == "uniswap_v2" else market.solidly_pools)
        if nodec not in (p.token0, p.token1)
    ][:3]
    for address in listed:
        devnet.transact(factory.functions.add(address))
    devnet.transact(factory.functions.setBroken(0, True))
    devnet.transact(factory.functions.setBroken(2, True))
    dex = Dex.objects.create(
        network=local_network, name="Flaky", kind=kind, factory=factory.address
    )

    def found() -> set[str]:
        return set(Pool.objects.filter(dex=dex).values_list("address", flat=True))

    out = StringIO()
    with pytest.raises(
        CommandError, match=r"^2 factory entries could not be read \(Flaky: indexes 0, 2\)"
    ):
        _run(stdout=out)
    assert "UNREAD 2: factory entries that reverted (indexes 0, 2)" in out.getvalue()
    dex.refresh_from_db()
    # The cursor moves on, but the unread entries are remembered.
    assert (dex.discovery_cursor, dex.discovery_unread) == (3, [0, 2])
    assert found() == {listed[1]}

    # The periodic job reads them again: index 2 now answers.
    devnet.transact(factory.functions.setBroken(2, False))
    assert sync_pools_task()["unread"] == 1
    dex.refresh_from_db()
    assert dex.discovery_unread == [0]
    assert found() == {listed[1], listed[2]}

    devnet.transact(factory.functions.setBroken(0, False))
    output = _run()
    assert "read again 1 factory entries left unread earlier, 1 now read" in output
    dex.refresh_from_db()
    assert (dex.discovery_cursor, dex.discovery_unread) == (3, [])
    assert found() == set(listed)
    assert "read again" not in _run()
