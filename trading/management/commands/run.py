"""`python manage.py run [--demo] [--host H] [--port N]`: everything in one process.

Serves the dashboard and admin (Daphne, ASGI) and, in the same event loop, runs
the engine and the periodic jobs. With no network configured, or with
``--demo``, it first starts a local anvil node with a demo market of real
Uniswap contracts and a market maker, so opportunities and trades start
flowing within a minute. This is what `make run` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.services.accounts import operator_ensure_admin

logger = logging.getLogger(__name__)


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
        "Serve the dashboard and run the engine and periodic jobs in one process. With no "
        "network configured (or --demo), start a local demo chain first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", default="8000", help="Port to listen on (default 8000).")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Start a local anvil chain with a demo market and trade on it.",
        )
        parser.add_argument("--no-engine", action="store_true", help="Serve the dashboard only.")
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

        demo = None
        maker = None
        if not options["no_engine"] and self._wants_demo(options["demo"]):
            demo, maker = self._start_demo()
        try:
            self._serve(host, port, engine=not options["no_engine"])
        finally:
            if maker is not None:
                maker.stop()
            if demo is not None:
                demo.node.stop()

    def _wants_demo(self, asked: bool) -> bool:
        from trading.devchain.demo import DEMO_NETWORK
        from trading.models import Network

        if asked:
            return True
        active = Network.objects.active()
        # A demo network left by an earlier run points at a chain that is gone.
        return active is None or active.name == DEMO_NETWORK

    def _start_demo(self) -> tuple[Any, Any]:
        from trading.devchain.demo import demo_market_maker, register_demo, start_demo_chain

        self.stdout.write("No network configured: starting a local demo chain (anvil) …")
        demo = start_demo_chain(block_time=1.0)
        try:
            network = register_demo(demo)
            maker = demo_market_maker(demo)
            maker.start()
        except BaseException:
            demo.node.stop()
            raise
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo market ready on {demo.node.rpc_url}: {len(demo.market.pools)} pools on "
                f"{len(demo.market.dexes)} DEXs, executor {network.executor_address}, trading live "
                "on the local chain."
            )
        )
        return demo, maker

    def _serve(self, host: str, port: int, *, engine: bool) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from twisted.internet import defer, reactor

        from listonian_site.asgi import application
        from trading.chain.signer import hold_key

        # One process serves the web too: the key stays in memory for the engine and
        # the sweeps, out of the environment the rest of the process can read.
        hold_key()
        background = _Background(engine=engine)
        reactor.callWhenRunning(background.start)
        # The reactor is typed by its zope interface, whose methods declare no self.
        reactor.addSystemEventTrigger(
            "before",
            "shutdown",  # type: ignore[arg-type]
            lambda: defer.Deferred.fromFuture(background.stop()),
        )
        self.stdout.write(f"Listonian dashboard: http://{host}:{port}/  (Ctrl+C to stop)")
        self.stdout.flush()
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
        ).run()


class _Background:
    """The engine and the periodic jobs, on the server's event loop."""

    def __init__(self, *, engine: bool) -> None:
        self.engine_enabled = engine
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []
        self.engine: Any = None

    def start(self) -> None:
        from trading.jobs.scheduler import EmbeddedScheduler

        self.tasks.append(asyncio.ensure_future(EmbeddedScheduler().run(self.stop_event)))
        if self.engine_enabled:
            self.tasks.append(asyncio.ensure_future(self._run_engine()))

    async def _run_engine(self) -> None:
        from trading.engine.engine import Engine

        delay = 1.0
        while not self.stop_event.is_set():
            self.engine = Engine()
            try:
                await self.engine.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Never die silently: say why, wait, and start again.
                logger.error("engine stopped: %s; restarting in %.0fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                delay = min(delay * 2, 60.0)

    def stop(self) -> asyncio.Future[Any]:
        async def stopping() -> None:
            self.stop_event.set()
            if self.engine is not None:
                self.engine.request_stop()
            await asyncio.wait(self.tasks, timeout=15) if self.tasks else None

        return asyncio.ensure_future(stopping())
