"""Seed Base mainnet with Aerodrome Slipstream and give PancakeSwap V3 its own kind.

Public deployments on Base (chain id 8453), disabled like the DEXs seeded
before: the operator enables what they want in admin.

- Aerodrome Slipstream: the CLFactory.
- PancakeSwap V3: the PancakeV3Factory was seeded as a Uniswap V3 fork; its
  pools emit a Swap event of their own, so it becomes ``pancakeswap_v3``. Its
  pools are deployed by the PancakeV3PoolDeployer
  0x41ff9AA7e16B8B1a8a8dc4f0eFacd93D02d071c9; the factory's getPool names
  them, which is all discovery and confirmation ask.
"""

from django.db import migrations

BASE_CHAIN_ID = 8453
SLIPSTREAM = (
    "Aerodrome Slipstream",
    "slipstream",
    "0x5e7BB104d84c7CB9B682AaC2F3d509f5F406809A",
    "0xBE6D8f0d05cC4be24d5167a3eF062215bE6D18a5",
)
PANCAKESWAP_V3_FACTORY = "0x0BFbCF9fa4f9C56B0F40a671Ad40E0805A091865"


def seed(apps, schema_editor):
    Network = apps.get_model("trading", "Network")
    Dex = apps.get_model("trading", "Dex")
    for network in Network.objects.filter(chain_id=BASE_CHAIN_ID, name="Base"):
        name, kind, factory, router = SLIPSTREAM
        Dex.objects.get_or_create(
            network=network,
            name=name,
            defaults={
                "kind": kind,
                "factory": factory,
                "router": router,
                "fee_bps": 30,
                "enabled": False,
            },
        )
        Dex.objects.filter(
            network=network, factory__iexact=PANCAKESWAP_V3_FACTORY, kind="uniswap_v3"
        ).update(kind="pancakeswap_v3")


def unseed(apps, schema_editor):
    Network = apps.get_model("trading", "Network")
    Dex = apps.get_model("trading", "Dex")
    for network in Network.objects.filter(chain_id=BASE_CHAIN_ID, name="Base"):
        Dex.objects.filter(network=network, name=SLIPSTREAM[0], kind="slipstream").delete()
        Dex.objects.filter(
            network=network, factory__iexact=PANCAKESWAP_V3_FACTORY, kind="pancakeswap_v3"
        ).update(kind="uniswap_v3")


class Migration(migrations.Migration):
    dependencies = [("trading", "0011_dex_kinds_slipstream_pancakeswap_v3")]

    operations = [migrations.RunPython(seed, unseed)]
