"""`python manage.py add_dex NAME --kind KIND --factory ADDR …` (KIND: any DEX family)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from trading.dex.registry import FAMILIES
from trading.management.preflight import (
    OFFLINE_HELP,
    OFFLINE_WARNING,
    registration_errors,
    require_migrated,
)
from trading.services.dexes import dex_add


class Command(BaseCommand):
    help = "Register a DEX (its factory) on the active network, checked against the chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name for the DEX, e.g. 'Uniswap V3'.")
        parser.add_argument("--kind", required=True, choices=sorted(FAMILIES), help="DEX family.")
        parser.add_argument("--factory", required=True, help="Factory contract address.")
        parser.add_argument("--router", default="", help="Router address (optional, informative).")
        parser.add_argument(
            "--fee-bps",
            type=int,
            default=None,
            help="Swap fee in basis points of V2-family pools (default 30). "
            "V3 and Solidly pools carry their own fee.",
        )
        parser.add_argument("--offline", action="store_true", help=OFFLINE_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        with registration_errors():
            dex, created = dex_add(
                name=options["name"],
                kind=options["kind"],
                factory=options["factory"],
                router=options["router"],
                fee_bps=options["fee_bps"],
                offline=options["offline"],
            )
        if options["offline"]:
            self.stdout.write(self.style.WARNING(OFFLINE_WARNING))
        verb = "Added" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} DEX {dex.name} ({dex.kind}) on {dex.network.name}: factory {dex.factory}."
            )
        )
        if dex.kind in ("uniswap_v3", "slipstream", "pancakeswap_v3"):
            self.stdout.write(f"  Discovery scans PoolCreated logs from block {dex.start_block}.")
        elif dex.kind == "uniswap_v2":
            self.stdout.write(f"  Fee: {dex.fee_bps} bps on every pair.")
        else:
            self.stdout.write("  Fees: read from the factory per pool.")
        self.stdout.write("  Next: `manage.py sync_pools` to discover its pools.")
