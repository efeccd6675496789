"""`manage.py add_network`: register a chain, its endpoints and base tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support.rpc_proxy import unused_port
from trading.devchain.anvil import AnvilNode
from trading.devchain.market import Market
from trading.models import Network

pytestmark = [pytest.mark.django_db, pytest.mark.chain]

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("add_network", *args, stdout=out)
    return out.getvalue()


def test_it_adds_and_activates_a_network(anvil: AnvilNode, market: Market) -> None:
    weth, usdc = market.tokens["WETH"], market.tokens["USDC"]
    output = _run(
        "Local",
        "--chain-id",
        "31337",
        "--rpc-url",
        f"{anvil.rpc_url},http://127.0.0.1:{unused_port()}",
        "--base-tokens",
        f"{weth.address},{usdc.address.lower()}",
        "--activate",
    )
    network = Network.objects.get(name="Local")
    assert network.active and network.chain_id == 31337
    assert len(network.rpc_url_list) == 2
    assert {(t.symbol, t.decimals) for t in network.base_tokens.all()} == {
        ("WETH", 18),
        ("USDC", 6),
    }
    assert "Added network Local (chain id 31337)" in output
    assert "USDC, WETH" in output
    assert Network.objects.active() == network


def test_activating_another_network_deactivates_the_first(anvil: AnvilNode) -> None:
    _run("One", "--chain-id", "31337", "--rpc-url", anvil.rpc_url, "--activate")
    _run("Two", "--chain-id", "31337", "--rpc-url", anvil.rpc_url, "--activate")
    assert list(Network.objects.filter(active=True).values_list("name", flat=True)) == ["Two"]


def test_rerun_updates_the_network(anvil: AnvilNode) -> None:
    _run("Local", "--chain-id", "31337", "--rpc-url", "http://127.0.0.1:1", "--offline")
    output = _run("Local", "--chain-id", "31337", "--rpc-url", anvil.rpc_url)
    assert "Updated network Local" in output
    assert Network.objects.get(name="Local").rpc_url_list == [anvil.rpc_url]


def test_it_refuses_endpoints_of_another_chain(anvil: AnvilNode, market: Market) -> None:
    with pytest.raises(CommandError, match="expects chain id 8453"):
        _run(
            "Wrong",
            "--chain-id",
            "8453",
            "--rpc-url",
            anvil.rpc_url,
            "--base-tokens",
            market.tokens["WETH"].address,
        )
    assert not Network.objects.filter(name="Wrong").exists()


def test_it_refuses_a_token_without_decimals(anvil: AnvilNode, market: Market) -> None:
    with pytest.raises(CommandError, match="NODEC has no decimals"):
        _run(
            "Local",
            "--chain-id",
            "31337",
            "--rpc-url",
            anvil.rpc_url,
            "--base-tokens",
            market.token("NODEC").address,
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chain-id", "abc", "--rpc-url", "http://x"], "--chain-id must be a whole number"),
        (["--chain-id", "0", "--rpc-url", "http://x"], "--chain-id must be positive"),
        (["--chain-id", "1", "--rpc-url", "ftp://x"], "is not an http"),
        (["--chain-id", "1", "--rpc-url", " , "], "--rpc-url needs at least one URL"),
        (["--chain-id", "1", "--rpc-url", "http://x", "--base-tokens", "0x12"], "not an address"),
    ],
)
def test_bad_arguments_are_explained(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run("Bad", *args)
    assert not Network.objects.filter(name="Bad").exists()


def test_it_refuses_an_unreachable_rpc_url(db: None) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(CommandError) as caught:
        _run("Nowhere", "--chain-id", "31337", "--rpc-url", url)
    message = str(caught.value)
    assert "\n" not in message and "--offline" in message
    assert not Network.objects.filter(name="Nowhere").exists()


def test_it_refuses_a_chain_id_the_node_does_not_serve(anvil: AnvilNode) -> None:
    with pytest.raises(CommandError, match="expects chain id 8453") as caught:
        _run("Wrong", "--chain-id", "8453", "--rpc-url", anvil.rpc_url)
    assert "\n" not in str(caught.value)
    assert not Network.objects.filter(name="Wrong").exists()


def test_offline_registers_without_checking_and_warns(db: None) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    output = _run("Later", "--chain-id", "8453", "--rpc-url", url, "--offline")
    assert "not checked" in output and "Added network Later" in output
    assert Network.objects.get(name="Later").chain_id == 8453


@pytest.mark.django_db(transaction=True)
def test_a_database_never_migrated_gets_one_line(tmp_path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "listonian_site.settings",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "add_network",
            "Base",
            "--chain-id",
            "8453",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--offline",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "CommandError: The database has no tables yet: run `manage.py migrate` first."
    ]
