"""Seed Base mainnet with the Uniswap V4 PoolManager, disabled like the other DEXs."""

from django.db import migrations

BASE_CHAIN_ID = 8453
NAME = "Uniswap V4"
# The PoolManager singleton on Base (Uniswap's v4 deployments page).
POOL_MANAGER = "0x498581fF718922c3f8e6A244956aF099B2652b2b"


def seed(apps, schema_editor):
    Network = apps.get_model("trading", "Network")
    Dex = apps.get_model("trading", "Dex")
    network = Network.objects.filter(chain_id=BASE_CHAIN_ID, name="Base").first()
    if network is None or Dex.objects.filter(network=network, name=NAME).exists():
        return
    Dex.objects.create(
        network=network,
        name=NAME,
        kind="uniswap_v4",
        factory=POOL_MANAGER,
        router="",
        fee_bps=30,
        enabled=False,
    )


def unseed(apps, schema_editor):
    Dex = apps.get_model("trading", "Dex")
    Dex.objects.filter(network__chain_id=BASE_CHAIN_ID, name=NAME, kind="uniswap_v4").delete()


class Migration(migrations.Migration):
    dependencies = [("trading", "0014_pool_v4_key")]

    operations = [migrations.RunPython(seed, unseed)]
