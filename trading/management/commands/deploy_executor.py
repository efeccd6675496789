"""`python manage.py deploy_executor`: deploy the executor contract and remember its address."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.chain.client import ChainMismatchError, RpcError, RpcUnavailableError
from trading.chain.signer import Signer, SignerNotConfigured
from trading.services.executor import executor_deploy
from trading.services.networks import active_network_required


class Command(BaseCommand):
    help = (
        "Deploy the ArbitrageExecutor contract from the signing key's account "
        "(LISTONIAN_PRIVATE_KEY or LISTONIAN_PRIVATE_KEY_FILE) on the active network, "
        "and store its address on the network."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Deploy even if the network already has an executor address.",
        )
        parser.add_argument("--timeout", type=float, default=120.0, help="Seconds to wait.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            network = active_network_required()
            signer = Signer.from_environment()
        except (ValidationError, SignerNotConfigured) as exc:
            raise CommandError(_message(exc)) from None
        if network.executor_address and not options["force"]:
            raise CommandError(
                f"{network.name} already has an executor at {network.executor_address}; "
                "pass --force to deploy a new one."
            )
        self.stdout.write(f"Deploying the executor on {network.name} from {signer.address} …")
        try:
            deployment = executor_deploy(network=network, signer=signer, timeout=options["timeout"])
        except (ValidationError, ChainMismatchError, RpcUnavailableError) as exc:
            raise CommandError(_message(exc)) from None
        except RpcError as exc:  # the node refused the deployment (an unfunded account …)
            raise CommandError(
                f"The node refused the deployment from {signer.address}: {exc}"
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Executor deployed at {deployment.address} (block {deployment.block_number}, "
                f"gas {deployment.gas_used:,}, tx {deployment.tx_hash}); owner {deployment.owner}."
            )
        )


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
