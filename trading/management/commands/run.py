"""`python manage.py run`: the embedded all-in-one process (what `make run` starts)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.services.accounts import operator_ensure_admin


def _valid_port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise CommandError(f"--port must be a number, not {value!r}") from None
    if not 0 < port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, not {port}")
    return port


class Command(BaseCommand):
    help = (
        "Serve the dashboard and admin with Daphne (ASGI), after applying migrations "
        "and creating an admin account if there is none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", default="8000", help="Port to listen on (default 8000).")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Start a local chain with a demo market (arrives with the engine).",
        )
        parser.add_argument(
            "--no-migrate", action="store_true", help="Do not apply migrations first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"]
        port = _valid_port(options["port"])
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise CommandError(
                    f"--host must be an IP address or localhost, not {host!r}"
                ) from None
        if options["demo"]:
            raise CommandError(
                "The demo market is not available in this version: configure a network with "
                "add_network / add_dex instead."
            )
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        created = operator_ensure_admin()
        if created:
            username, password = created
            self.stdout.write(
                self.style.SUCCESS(
                    "Created an admin account (shown only this once, keep it safe):\n"
                    f"  username: {username}\n  password: {password}"
                )
            )
        self._serve(host, port)

    def _serve(self, host: str, port: int) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from listonian_site.asgi import application

        self.stdout.write(f"Listonian dashboard: http://{host}:{port}/  (Ctrl+C to stop)")
        self.stdout.flush()
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
        ).run()
