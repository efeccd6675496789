from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from trading.models import Network

from .conftest import DEV_KEY

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def network(anvil, db):
    return Network.objects.create(name="anvil", chain_id=31337, rpc_urls=anvil.rpc_url, active=True)


def test_without_a_key_it_says_what_to_set(network, monkeypatch, chain_snapshot):
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY_FILE", raising=False)
    with pytest.raises(CommandError, match="LISTONIAN_PRIVATE_KEY"):
        call_command("deploy_executor")


def test_it_deploys_from_the_key_and_remembers_the_address(
    network, monkeypatch, w3, caplog, capsys
):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", DEV_KEY)
    out = StringIO()
    call_command("deploy_executor", stdout=out)
    network.refresh_from_db()
    assert network.executor_address
    assert w3.eth.get_code(network.executor_address) != b""
    assert network.executor_address in out.getvalue()
    # The key never appears in output or logs.
    everything = out.getvalue() + caplog.text + "".join(capsys.readouterr())
    assert DEV_KEY[2:] not in everything
    with pytest.raises(CommandError, match="--force"):
        call_command("deploy_executor", stdout=StringIO())
    first = network.executor_address
    call_command("deploy_executor", "--force", stdout=StringIO())
    network.refresh_from_db()
    assert network.executor_address != first


def test_a_chain_id_mismatch_is_refused(anvil, db, monkeypatch, chain_snapshot):
    Network.objects.create(name="wrong", chain_id=8453, rpc_urls=anvil.rpc_url, active=True)
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", DEV_KEY)
    with pytest.raises(CommandError, match="8453"):
        call_command("deploy_executor", stdout=StringIO())


@pytest.mark.parametrize(
    "key",
    ["0x" + "00" * 32, "0x" + "ff" * 32],
    ids=["zero", "above the curve order"],
)
def test_an_impossible_key_is_one_line(network, monkeypatch, chain_snapshot, key):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", key)
    with pytest.raises(CommandError, match="not a valid private key") as caught:
        call_command("deploy_executor", stdout=StringIO())
    assert "\n" not in str(caught.value) and key[2:] not in str(caught.value)


def test_an_unfunded_key_is_one_line(network, monkeypatch, chain_snapshot):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", "0x" + "11" * 32)  # no ether on anvil
    with pytest.raises(CommandError, match=r"(?i)insufficient funds") as caught:
        call_command("deploy_executor", stdout=StringIO())
    assert "\n" not in str(caught.value)
