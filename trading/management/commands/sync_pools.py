"""`python manage.py sync_pools [--dex NAME]`: discover pools of the enabled DEXs, incrementally."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.chain.client import ChainMismatchError, RpcConfigurationError, RpcUnavailableError
from trading.management.preflight import validation_message
from trading.models import Dex
from trading.services.pools import DexSyncReport, indexes_text, pools_sync


class ProgressBar:
    """A one-line progress bar redrawn in place; silent when output is not a terminal."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def update(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        fraction = min(done / total, 1.0) if total else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{label[:24]:<24} [{bar}] {fraction:6.1%} {done}/{total}", ending="")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("")
            self._drawn = False


def summary_lines(report: DexSyncReport) -> list[str]:
    """The human summary of one DEX's sync."""
    lines = [
        f"{report.dex} ({report.kind}): {report.added} pools added, "
        f"{report.skipped_total} skipped, {report.known} already known "
        f"[cursor {report.cursor_before} -> {report.cursor_after}, "
        f"{report.round_trips} RPC round trips]"
    ]
    for reason, count in report.skipped.most_common():
        lines.append(f"  skipped {count}: {reason}")
    if report.retried:
        lines.append(
            f"  read again {report.retried} factory entries left unread earlier, "
            f"{report.retried - len(report.unread)} now read"
            if not report.error
            else f"  read again {report.retried} factory entries left unread earlier"
        )
    if report.unread:
        lines.append(
            f"  UNREAD {len(report.unread)}: factory entries that reverted "
            f"(indexes {indexes_text(report.unread)}), kept to be read again by the next sync"
        )
    if report.error:
        lines.append(f"  FAILED: {report.error} (re-run to resume from the cursor)")
    return lines


class Command(BaseCommand):
    help = (
        "Discover the pools of the active network's enabled DEXs (or one DEX) and their "
        "tokens. Incremental: each DEX resumes where the last sync stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dex", default=None, help="Only this DEX (by name), even if disabled."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bar = ProgressBar(self.stdout)
        started = time.monotonic()
        try:
            report = pools_sync(dex_name=options["dex"], progress=bar.update)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        except Dex.DoesNotExist as exc:
            raise CommandError(str(exc)) from None
        except (ChainMismatchError, RpcUnavailableError, RpcConfigurationError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.finish()
        if not report.dexes:
            self.stdout.write("No enabled DEX on the active network: add one with add_dex.")
            return
        for dex_report in report.dexes:
            style = self.style.ERROR if dex_report.error else self.style.SUCCESS
            lines = summary_lines(dex_report)
            self.stdout.write(style(lines[0]))
            for line in lines[1:]:
                self.stdout.write(line)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Total: {report.added} pools added, {report.skipped} skipped in {elapsed:.1f}s."
        )
        if report.failed:
            raise CommandError("discovery failed for at least one DEX (see above)")
        if report.unread:
            # Non-zero: the pool set is incomplete, and whatever runs this command
            # (a deploy script, cron) must be able to tell; the entries are kept.
            where = "; ".join(
                f"{d.dex}: indexes {indexes_text(d.unread)}" for d in report.dexes if d.unread
            )
            raise CommandError(
                f"{report.unread} factory entries could not be read ({where}); "
                "they are kept and read again by the next sync"
            )
