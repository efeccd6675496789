"""`python manage.py runbot [--once] [--blocks N] [--live | --dry-run]`: the engine.

``--once`` runs one full cycle on the active network (refresh every enabled
pool, evaluate every cycle after gas, record the opportunities, execute the
best within the limits) and prints what it found and did. Without it, the
engine runs block by block until SIGINT/SIGTERM (or ``--blocks N`` blocks).
``--live`` / ``--dry-run`` override the mode in settings for this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from trading.analysis import Finding
from trading.chain.client import ChainMismatchError, RpcConfigurationError, RpcUnavailableError
from trading.engine.engine import BlockReport, Engine
from trading.engine.scan import ScanReport, ScanSetupError
from trading.formatting import format_amount
from trading.management.preflight import validation_message
from trading.services.opportunities import AnalysisInputs, TokenFacts

MODE_LABELS = {"dry_run": "dry run", "live": "live"}
GWEI_DECIMALS = 9

logger = logging.getLogger(__name__)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--blocks must be a whole number, not {value!r}") from None
    if number < 1:
        raise CommandError(f"--blocks must be at least 1, not {number}")
    return number


def exact(amount: int, token: TokenFacts) -> str:
    """An amount in whole tokens, every digit shown (no truncation)."""
    return format_amount(amount, token.decimals, token.symbol, max_fraction_digits=token.decimals)


def route_of(finding: Finding, inputs: AnalysisInputs) -> tuple[str, str]:
    """``("WETH → USDC → WETH", "DexB, DexA")`` for a finding."""
    symbols = [_token(inputs, t).symbol for t in finding.cycle.tokens]
    dexes = {spec.address: spec.dex for spec in inputs.pools}
    names = [dexes.get(pool) or pool[:10] for pool in finding.cycle.pools]
    return " → ".join(symbols), ", ".join(names)


def _token(inputs: AnalysisInputs, address: str) -> TokenFacts:
    return inputs.tokens.get(address) or TokenFacts(address, address[:10], 18)


def findings_table(report: ScanReport) -> list[str]:
    """The findings as aligned text rows, best net profit first."""
    inputs = report.inputs
    header = ("#", "Route", "DEXs", "Amount in", "Gross profit", "Gas", "Net profit")
    rows = [header]
    for number, finding in enumerate(report.result.findings, start=1):
        token = _token(inputs, finding.cycle.start_token)
        route, dexes = route_of(finding, inputs)
        evaluation = finding.evaluation
        rows.append(
            (
                str(number),
                route,
                dexes,
                exact(finding.sized.amount_in, token),
                exact(evaluation.gross, token),
                exact(evaluation.gas_cost_start_token, token),
                exact(evaluation.net, token),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if i == 0 or i >= 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


class Command(BaseCommand):
    help = (
        "Run the engine. --once: one full scan of the active network (refresh pools, find "
        "cycles that pay after gas, record them) and a table of what it found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run one full scan (refresh → analyze → record), print the findings and exit.",
        )
        parser.add_argument(
            "--blocks",
            type=_positive_int,
            default=None,
            metavar="N",
            help="Stop the continuous engine after N blocks.",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--live",
            dest="mode",
            action="store_const",
            const="live",
            help="Execute for real (overrides the mode in settings).",
        )
        mode.add_argument(
            "--dry-run",
            dest="mode",
            action="store_const",
            const="dry_run",
            help="Simulate only (overrides the mode in settings).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"] and options["blocks"] is not None:
            raise CommandError("--blocks is for the continuous engine; --once runs a single scan.")
        engine = Engine(mode=options["mode"])
        try:
            if options["once"]:
                asyncio.run(engine.run_once())
            else:
                engine.on_block = self._print_block
                self._serve_metrics()
                processed = asyncio.run(self._run(engine, options["blocks"]))
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        except ScanSetupError as exc:
            raise CommandError(str(exc)) from None
        except ChainMismatchError as exc:
            raise CommandError(f"Chain id mismatch: {exc}") from None
        except RpcUnavailableError as exc:
            raise CommandError(f"The RPC endpoint is down or unreachable: {exc}") from None
        except RpcConfigurationError as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            # Down at start (a running engine rides out an outage by itself).
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(f"The database is unreachable: {first}") from None
        finally:
            # The engine's ORM work ran on asgiref's worker thread: close that thread's
            # connections too, or they outlive the run (and hold a test database open).
            with contextlib.suppress(DatabaseError):
                asyncio.run(sync_to_async(connections.close_all)())
        if options["once"]:
            assert engine.inputs is not None and engine.last_scan is not None
            result, recorded = engine.last_scan
            self._print(ScanReport(engine.inputs, result, recorded), options["mode"])
            self._print_executions(engine)
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Engine stopped after {processed} block(s), {engine.blocks_skipped} skipped."
                )
            )

    def _serve_metrics(self) -> None:
        from django.conf import settings

        from trading import metrics

        if settings.LISTONIAN_ENGINE_METRICS_PORT:
            metrics.serve(
                settings.LISTONIAN_ENGINE_METRICS_PORT,
                settings.LISTONIAN_METRICS_HOST,
                token=settings.LISTONIAN_METRICS_TOKEN,
            )

    async def _run(self, engine: Engine, blocks: int | None) -> int:
        engine.install_signal_handlers()
        self.stdout.write(
            "Engine running"
            + (f" for {blocks} block(s)" if blocks else " until SIGINT/SIGTERM")
            + " …"
        )
        return await engine.run(blocks=blocks)

    def _print_block(self, report: BlockReport) -> None:
        executed = ", ".join(f"#{r.opportunity_id} {r.outcome}" for r in report.executions)
        skipped = f" ({report.skipped_before} skipped)" if report.skipped_before else ""
        self.stdout.write(
            f"block {report.block_number}{skipped}: {report.pools_changed} pools changed, "
            f"{report.findings} paying cycles, {report.recorded} recorded"
            + (f", executed: {executed}" if executed else "")
            + f" · {report.latency_ms:.0f} ms"
        )
        self.stdout.flush()

    def _print_executions(self, engine: Engine) -> None:
        write = self.stdout.write
        if engine.execution is None:
            write(
                "Nothing executed: the network has no executor (run `manage.py deploy_executor`)."
            )
            return
        report = engine.reports[-1] if engine.reports else None
        executions = report.executions if report else []
        if not executions:
            write("Nothing executed.")
            return
        for result in executions:
            line = f"Opportunity #{result.opportunity_id}: {result.outcome}"
            if result.profit is not None:
                line += f", profit {result.profit} (smallest unit)"
            if result.reason:
                line += f" ({result.reason})"
            write(line)

    def _print(self, report: ScanReport, mode_flag: str | None) -> None:
        inputs, result, recorded = report.inputs, report.result, report.recorded
        mode = MODE_LABELS[mode_flag] if mode_flag else f"{MODE_LABELS[inputs.mode]} (settings)"
        write = self.stdout.write
        write(
            self.style.MIGRATE_HEADING(
                f"Listonian scan of {inputs.network_name} (chain id {inputs.chain_id}) "
                f"at block {result.block_number} · mode: {mode}"
            )
        )
        failed = len(result.pools_failed)
        write(
            f"Pools: {result.pools_watched} watched on {len(inputs.enabled_dexes)} DEXs"
            + (f", {failed} unreadable" if failed else "")
            + f" (read in {result.refresh_ms:.0f} ms)"
        )
        write(
            f"Cycles: {result.cycles_indexed} indexed, {result.cycles_evaluated} evaluated "
            f"in {result.analysis_ms:.0f} ms (max {inputs.max_hops} hops)"
        )
        gas = result.gas
        gwei = format_amount(gas.gas_price_wei, GWEI_DECIMALS, "gwei", GWEI_DECIMALS)
        l1 = max(gas.l1_fees.values(), default=0)
        write(
            f"Gas: {gwei} per gas"
            + (f", L1 data fee up to {l1} wei per transaction" if inputs.is_op_stack else "")
        )
        if inputs.wrapped_native_guessed and inputs.wrapped_native:
            symbol = _token(inputs, inputs.wrapped_native).symbol
            write(
                f"Gas is priced through {symbol} (a base token): set the network's wrapped "
                "native token in admin to choose another."
            )
        write("")
        if result.findings:
            for line in findings_table(report):
                write(line)
        else:
            write(f"No cycle pays after gas at block {result.block_number}.")
        write("")
        write(
            self.style.SUCCESS(
                f"Opportunities: {len(recorded.created)} new, {len(recorded.updated)} updated, "
                f"{len(recorded.staled)} no longer profitable."
            )
        )
