"""A pool added by hand in admin is confirmed with its DEX's factory first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.rpc_proxy import unused_port
from trading.chain.artifacts import project_artifact
from trading.models import Network, Pool

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _form(arb, address, dex=None):
    dex = dex or arb.cheap.dex
    return {
        "dex": dex.pk,
        "address": address,
        "token0": arb.cheap.token0_id,
        "token1": arb.cheap.token1_id,
        "fee": 3000,
        "tick_spacing": "",
        "enabled": "on",
    }


def test_the_factorys_own_pool_is_saved_confirmed(staff_client, arb):
    address = arb.cheap.address
    Pool.objects.filter(pk=arb.cheap.pk).delete()
    response = staff_client.post(reverse("admin:trading_pool_add"), _form(arb, address))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Pool.objects.get(address=address).factory_confirmed is True


def test_a_pool_the_factory_does_not_name_is_refused(staff_client, arb, devnet):
    artifact = project_artifact("MaliciousPool")
    impostor = devnet.deploy(artifact, arb.cheap.token0.address, arb.cheap.token1.address)
    response = staff_client.post(reverse("admin:trading_pool_add"), _form(arb, impostor))
    assert response.status_code == 200
    assert "does not name" in response.content.decode()
    assert not Pool.objects.filter(address=impostor).exists()
    # A real pool under the wrong DEX is refused too: the other factory does not know it.
    response = staff_client.post(
        reverse("admin:trading_pool_add"), _form(arb, arb.dear.address, dex=arb.cheap.dex)
    )
    assert response.status_code == 200 and "does not name" in response.content.decode()


def test_an_unreachable_rpc_refuses_rather_than_trusts(staff_client, arb):
    Network.objects.filter(pk=arb.network.pk).update(rpc_urls=f"http://127.0.0.1:{unused_port()}")
    address = arb.cheap.address
    Pool.objects.filter(pk=arb.cheap.pk).delete()
    response = staff_client.post(reverse("admin:trading_pool_add"), _form(arb, address))
    assert response.status_code == 200
    assert "Could not ask the factory" in response.content.decode()
    assert not Pool.objects.filter(address=address).exists()
