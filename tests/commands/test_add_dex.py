"""`manage.py add_dex`: register a DEX factory on the active network."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.support.rpc_proxy import unused_port
from trading.devchain.devnet import Devnet
from trading.devchain.market import Market
from trading.models import Dex, Network

pytestmark = [pytest.mark.django_db, pytest.mark.chain]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("add_dex", *args, stdout=out)
    return out.getvalue()


def test_it_registers_each_kind(local_network: Network, market: Market, devnet: Devnet) -> None:
    output = _run(
        "Uni V2", "--kind", "uniswap_v2", "--factory", market.v2.factory, "--fee-bps", "25"
    )
    assert "Added DEX Uni V2 (uniswap_v2) on Local" in output
    assert "25 bps" in output
    _run("Aero", "--kind", "solidly", "--factory", market.solidly.factory.lower())
    output = _run("Uni V3", "--kind", "uniswap_v3", "--factory", market.v3.factory)
    v2, aero, v3 = (Dex.objects.get(name=n) for n in ("Uni V2", "Aero", "Uni V3"))
    assert (v2.kind, v2.fee_bps, v2.network) == ("uniswap_v2", 25, local_network)
    assert aero.factory == market.solidly.factory
    # The V3 factory's deployment block is where log scanning starts.
    code = devnet.w3.eth.get_code(market.v3.factory, v3.start_block)
    before = devnet.w3.eth.get_code(market.v3.factory, v3.start_block - 1)
    assert code and not before
    assert v3.discovery_cursor == v3.start_block
    assert f"from block {v3.start_block}" in output


def test_rerun_updates_router_and_fee(local_network: Network, market: Market) -> None:
    _run("Uni V2", "--kind", "uniswap_v2", "--factory", market.v2.factory)
    output = _run(
        "Uni V2",
        "--kind",
        "uniswap_v2",
        "--factory",
        market.v2.factory,
        "--router",
        market.v2.factory,
        "--fee-bps",
        "20",
    )
    assert "Updated DEX" in output
    dex = Dex.objects.get(name="Uni V2")
    assert (dex.fee_bps, dex.router) == (20, market.v2.factory)


def test_it_needs_an_active_network(db: None, market: Market) -> None:
    with pytest.raises(CommandError, match="no active network"):
        _run("Uni V2", "--kind", "uniswap_v2", "--factory", market.v2.factory)


@pytest.mark.parametrize(
    ("kind", "factory_of", "message"),
    [
        (
            "uniswap_v2",
            "solidly",
            r"does not answer allPairsLength\(\): is it a uniswap_v2 factory",
        ),
        ("solidly", "v2", r"does not answer allPoolsLength\(\)"),
        ("uniswap_v3", "v2", r"does not answer feeAmountTickSpacing"),
        ("uniswap_v2", "nothing", "There is no contract"),
    ],
)
def test_it_checks_the_factory(
    local_network: Network, market: Market, kind: str, factory_of: str, message: str
) -> None:
    address = {
        "solidly": market.solidly.factory,
        "v2": market.v2.factory,
        "nothing": "0x000000000000000000000000000000000000dEaD",
    }[factory_of]
    with pytest.raises(CommandError, match=message):
        _run("Bad", "--kind", kind, "--factory", address)
    assert not Dex.objects.filter(name="Bad").exists()


def test_names_and_factories_are_unique(local_network: Network, market: Market) -> None:
    _run("Uni V2", "--kind", "uniswap_v2", "--factory", market.v2.factory)
    with pytest.raises(CommandError, match="already exists with uniswap_v2 factory"):
        _run("Uni V2", "--kind", "solidly", "--factory", market.solidly.factory)
    with pytest.raises(CommandError, match="already registered as 'Uni V2'"):
        _run("Other", "--kind", "uniswap_v2", "--factory", market.v2.factory)


def test_bad_arguments_are_explained(local_network: Network) -> None:
    with pytest.raises(CommandError, match="not an address"):
        _run("X", "--kind", "uniswap_v2", "--factory", "0x1234")
    with pytest.raises(CommandError, match="invalid choice"):
        _run("X", "--kind", "curve", "--factory", "0x" + "1" * 40)
    with pytest.raises(CommandError, match="between 0 and 10000"):
        _run("X", "--kind", "uniswap_v2", "--factory", "0x" + "1" * 40, "--fee-bps", "20000")


def test_an_unreachable_rpc_is_refused(db: None, market: Market) -> None:
    Network.objects.create(
        name="Offline", chain_id=31337, rpc_urls=f"http://127.0.0.1:{unused_port()}", active=True
    )
    with pytest.raises(CommandError) as caught:
        _run("Uni V2", "--kind", "uniswap_v2", "--factory", market.v2.factory)
    assert "\n" not in str(caught.value) and "--offline" in str(caught.value)
    assert not Dex.objects.filter(network__name="Offline").exists()


def test_offline_registration_is_allowed(db: None, market: Market) -> None:
    Network.objects.create(
        name="Offline", chain_id=31337, rpc_urls=f"http://127.0.0.1:{unused_port()}", active=True
    )
    output = _run("Uni V2", "--kind", "uniswap_v2", "--factory", market.v2.factory, "--offline")
    assert "not checked" in output
    assert Dex.objects.filter(name="Uni V2", network__name="Offline").exists()
