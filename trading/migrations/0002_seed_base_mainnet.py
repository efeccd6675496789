"""Seed Base mainnet with its main DEXs and tokens, all disabled.

Addresses are the public deployments on Base (chain id 8453). Nothing here is
active: the operator enables the network and the DEXs they want in admin.
"""

from django.db import migrations

BASE = {
    "name": "Base",
    "chain_id": 8453,
    "rpc_urls": "https://mainnet.base.org",
    "is_op_stack": True,
    "block_time_ms": 2000,
    "explorer_url": "https://basescan.org",
}

# symbol, name, address, decimals
TOKENS = [
    ("WETH", "Wrapped Ether", "0x4200000000000000000000000000000000000006", 18),
    ("USDC", "USD Coin", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 6),
    ("USDbC", "USD Base Coin", "0xd9aAEc86B65D86f6A7B5B1b0c42FFA531710b6CA", 6),
    ("DAI", "Dai Stablecoin", "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb", 18),
    ("cbETH", "Coinbase Wrapped Staked ETH", "0x2Ae3F1Ec7F1F5012CFEab0185bfc7aa3cf0DEc22", 18),
    ("wstETH", "Wrapped liquid staked Ether 2.0", "0xc1CBa3fCea344f92D9239c08C0568f6F2F0ee452", 18),
    ("cbBTC", "Coinbase Wrapped BTC", "0xcbB7C0000aB88B473b1f5aFd9ef808440eed33Bf", 8),
    ("AERO", "Aerodrome", "0x940181a94A35A4569E4529A3CDfB74e38FD98631", 18),
]
BASE_TOKENS = ["WETH", "USDC"]

# name, kind, factory, router, fee_bps
DEXES = [
    (
        "Uniswap V2",
        "uniswap_v2",
        "0x8909Dc15e40173Ff4699343b6eB8132c65e18eC6",
        "0x4752ba5DBc23f44D87826276BF6Fd6b1C372aD24",
        30,
    ),
    (
        "Uniswap V3",
        "uniswap_v3",
        "0x33128a8fC17869897dcE68Ed026d694621f6FDfD",
        "0x2626664c2603336E57B271c5C0b26F421741e481",
        30,
    ),
    (
        "Aerodrome",
        "solidly",
        "0x420DD381b31aEf6683db6B902084cB0FFECe40Da",
        "0xcF77a3Ba9A5CA399B7c97c74d54e5b1Beb874E43",
        30,
    ),
    (
        "BaseSwap",
        "uniswap_v2",
        "0xFDa619b6d20975be80A10332cD39b9a4b0FAa8BB",
        "0x327Df1E6de05895d2ab08513aaDD9313Fe505d86",
        25,
    ),
    (
        "SushiSwap V2",
        "uniswap_v2",
        "0x71524B4f93c58fcbF659783284E38825f0622859",
        "0x6BDED42c6DA8FBf0d2bA55B2fa120C5e0c8D7891",
        30,
    ),
    ("SushiSwap V3", "uniswap_v3", "0xc35DADB65012eC5796536bD9864eD8773aBc74C4", "", 30),
    (
        "PancakeSwap V3",
        "uniswap_v3",
        "0x0BFbCF9fa4f9C56B0F40a671Ad40E0805A091865",
        "0x678Aa4bF4E210cf2166753e054d5b7c31cc7fa86",
        25,
    ),
]


def seed(apps, schema_editor):
    Network = apps.get_model("trading", "Network")
    Token = apps.get_model("trading", "Token")
    Dex = apps.get_model("trading", "Dex")
    network, created = Network.objects.get_or_create(
        chain_id=BASE["chain_id"], name=BASE["name"], defaults={**BASE, "active": False}
    )
    if not created:
        return
    tokens = {}
    for symbol, name, address, decimals in TOKENS:
        tokens[symbol] = Token.objects.create(
            network=network, symbol=symbol, name=name, address=address, decimals=decimals
        )
    network.base_tokens.set([tokens[s] for s in BASE_TOKENS])
    network.wrapped_native_token = tokens["WETH"]
    network.save()
    for name, kind, factory, router, fee_bps in DEXES:
        Dex.objects.create(
            network=network,
            name=name,
            kind=kind,
            factory=factory,
            router=router,
            fee_bps=fee_bps,
            enabled=False,
        )


def unseed(apps, schema_editor):
    Network = apps.get_model("trading", "Network")
    Network.objects.filter(chain_id=BASE["chain_id"], name=BASE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
