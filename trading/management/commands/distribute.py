"""`python manage.py distribute [--dry-run]`: sweep the executor's profit to the recipients."""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.chain.signer import SignerNotConfigured
from trading.formatting import format_amount
from trading.services.distribution import profit_distribute


class Command(BaseCommand):
    help = (
        "For each token over its distribution threshold, keep the reinvest share in the "
        "executor and pay every active recipient its share (one transaction each). An "
        "interrupted sweep is resumed without paying anyone twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Show the split; write and send nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        try:
            sweeps = profit_distribute(dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except SignerNotConfigured as exc:
            raise CommandError(str(exc)) from None
        if not sweeps:
            self.stdout.write(
                "No token has a distribution threshold: set one on the tokens to sweep in admin."
            )
            return
        for sweep in sweeps:
            amount = functools.partial(_amount, decimals=sweep.decimals, symbol=sweep.symbol)
            line = (
                f"{sweep.symbol}: balance {amount(sweep.balance)}, "
                f"threshold {amount(sweep.threshold)}"
            )
            if sweep.action == "below_threshold":
                self.stdout.write(f"{line} — below the threshold, nothing to do.")
                continue
            verb = {
                "dry_run": "would pay",
                "sent": "paid",
                "planned": "paying",
                "resumed": "paying",
            }
            self.stdout.write(
                f"{line} — keeps {amount(sweep.reinvest)}, {verb.get(sweep.action, sweep.action)} "
                f"{amount(sweep.total)}:"
            )
            for payout in sweep.payouts:
                self.stdout.write(
                    f"  {payout.recipient}  {payout.share_bps / 100:g}%  {amount(payout.amount)}"
                )
            if sweep.action == "failed":
                raise CommandError(f"The {sweep.symbol} sweep failed: {sweep.error}")
            if sweep.action not in {"dry_run", "sent", "below_threshold"}:
                self.stdout.write(
                    self.style.WARNING(f"The {sweep.symbol} sweep is not finished; run it again.")
                )


def _amount(value: int, *, decimals: int, symbol: str) -> str:
    return format_amount(value, decimals, symbol)
