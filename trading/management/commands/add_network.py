"""`python manage.py add_network NAME --chain-id N --rpc-url URL[,URL…] …`: register a chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.chain.client import split_rpc_urls
from trading.management.preflight import (
    OFFLINE_HELP,
    OFFLINE_WARNING,
    registration_errors,
    require_migrated,
)
from trading.services.networks import network_add


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--chain-id must be a whole number, not {value!r}") from None
    if number < 1:
        raise CommandError(f"--chain-id must be positive, not {number}")
    return number


class Command(BaseCommand):
    help = (
        "Register an EVM network (or update the one with this name): chain id, RPC "
        "endpoints (the first is primary, the others failover), base tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name for the network, e.g. Base.")
        parser.add_argument("--chain-id", required=True, help="EIP-155 chain id (Base: 8453).")
        parser.add_argument(
            "--rpc-url",
            required=True,
            help="RPC endpoint URL; comma-separated for failover.",
        )
        parser.add_argument(
            "--base-tokens",
            default="",
            help="Comma-separated token addresses where cycles start and end (e.g. WETH,USDC).",
        )
        parser.add_argument(
            "--activate", action="store_true", help="Make this the network the engine works on."
        )
        parser.add_argument("--offline", action="store_true", help=OFFLINE_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        chain_id = _positive_int(options["chain_id"])
        urls = split_rpc_urls(options["rpc_url"])
        if not urls:
            raise CommandError("--rpc-url needs at least one URL")
        tokens = [t for t in options["base_tokens"].split(",") if t.strip()]
        with registration_errors():
            network, created = network_add(
                name=options["name"],
                chain_id=chain_id,
                rpc_urls=urls,
                base_tokens=tokens,
                activate=options["activate"],
                offline=options["offline"],
            )
        if options["offline"]:
            self.stdout.write(self.style.WARNING(OFFLINE_WARNING))
        verb = "Added" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} network {network.name} (chain id {network.chain_id}).")
        )
        self.stdout.write(f"  RPC endpoints: {len(network.rpc_url_list)}")
        base = ", ".join(t.symbol for t in network.base_tokens.order_by("symbol"))
        self.stdout.write(
            f"  Base tokens: {base or 'none yet (set them in admin or --base-tokens)'}"
        )
        if network.active:
            self.stdout.write("  Active: yes, the engine works on this network.")
        else:
            self.stdout.write("  Active: no (use --activate, or activate it in admin).")
