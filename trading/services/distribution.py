"""Profit sweeps: pay the executor's profit to the recipients, by the operator's rules.

For each token with a threshold, when the executor holds at least that much,
the balance is split (``trading.distribution.split``: the reinvest share stays
as working capital) and each recipient is paid by its own ``withdraw``
transaction. Every payout is written down *before* it is sent and settled from
its receipt, so a sweep interrupted mid-way resumes without paying anyone twice:
a payout whose transaction is mined is never sent again; one that is known to
the node is waited for; only one that never reached the chain is sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from trading import events
from trading.chain.erc20 import balance_of
from trading.chain.signer import Signer
from trading.distribution.split import SplitError, split_profit
from trading.distribution.sweeper import Sweeper
from trading.models import (
    BotConfig,
    Distribution,
    DistributionPayout,
    DistributionStatus,
    Network,
    PayoutStatus,
    ProfitRecipient,
    Token,
)
from trading.services.chain_access import ChainSession


@dataclass(frozen=True)
class PlannedPayout:
    recipient: str
    share_bps: int
    amount: int


@dataclass
class TokenSweep:
    token: str
    symbol: str
    decimals: int
    balance: int
    threshold: int
    action: str  # below_threshold, planned, resumed, sent, dry_run, failed
    reinvest: int = 0
    total: int = 0
    payouts: list[PlannedPayout] = field(default_factory=list)
    distribution_id: int | None = None
    error: str = ""


def active_shares() -> list[tuple[str, int]]:
    """The active recipients as (address, bps), validated to sum to 10,000."""
    shares = list(
        ProfitRecipient.objects.filter(active=True)
        .order_by("-share_bps", "id")
        .values_list("address", "share_bps")
    )
    from trading.distribution.split import validate_shares

    try:
        validate_shares(shares)
    except SplitError as exc:
        raise ValidationError(f"Cannot distribute: {exc}") from None
    return shares


def _open_distribution(network: Network, token: Token) -> Distribution | None:
    return (
        Distribution.objects.filter(
            network=network,
            token=token,
            status__in=[DistributionStatus.PLANNED, DistributionStatus.SENDING],
        )
        .prefetch_related("payouts")
        .first()
    )


def _plan(network: Network, token: Token, balance: int, config: BotConfig) -> Distribution:
    split = split_profit(balance, config.reinvest_bps, active_shares())
    with transaction.atomic():
        distribution = Distribution.objects.create(
            network=network,
            token=token,
            balance=balance,
            reinvest=split.reinvest,
            total=split.distributable,
        )
        DistributionPayout.objects.bulk_create(
            [
                DistributionPayout(
                    distribution=distribution,
                    recipient=payout.recipient,
                    share_bps=payout.share_bps,
                    amount=payout.amount,
                )
                for payout in split.payouts
            ]
        )
    return distribution


def _confirm(payout: DistributionPayout, receipt: dict[str, Any]) -> None:
    DistributionPayout.objects.filter(pk=payout.pk).update(
        status=PayoutStatus.CONFIRMED,
        tx_hash=receipt["transactionHash"],
        block_number=int(receipt["blockNumber"], 16),
        error="",
    )


def _settle(
    session: ChainSession,
    sweeper: Sweeper,
    distribution: Distribution,
    after_payment: Callable[[DistributionPayout], None] | None = None,
) -> Distribution:
    """Pay every payout of ``distribution`` not yet confirmed, one transaction each.

    Database writes happen here, between chain calls; each payout is recorded
    as sent (with its hash and nonce) before the transaction leaves.
    """
    token = distribution.token.address
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.SENDING)
    for payout in distribution.payouts.order_by("id"):
        if payout.status == PayoutStatus.CONFIRMED:
            continue
        if payout.status == PayoutStatus.SENT and payout.tx_hash:
            receipt = session.run(sweeper.receipt(payout.tx_hash))
            if receipt is None and session.run(sweeper.known(payout.tx_hash)):
                receipt = session.run(sweeper.wait(payout.tx_hash))
            if receipt is not None and int(receipt["status"], 16) == 1:
                _confirm(payout, receipt)
                continue
            # Reverted, or it never reached the chain: nothing was paid, send again.
        if payout.amount == 0:
            DistributionPayout.objects.filter(pk=payout.pk).update(status=PayoutStatus.CONFIRMED)
            continue
        tx_hash, nonce, raw = session.run(
            sweeper.send_payout(token, payout.recipient, payout.amount)
        )
        DistributionPayout.objects.filter(pk=payout.pk).update(
            status=PayoutStatus.SENT, tx_hash=tx_hash, nonce=nonce, error=""
        )
        error = session.run(sweeper.broadcast(raw))
        if error:
            DistributionPayout.objects.filter(pk=payout.pk).update(
                status=PayoutStatus.PENDING, tx_hash="", error=error
            )
            Distribution.objects.filter(pk=distribution.pk).update(
                error=f"payout to {payout.recipient} refused: {error}"
            )
            return Distribution.objects.get(pk=distribution.pk)
        receipt = session.run(sweeper.wait(tx_hash))
        if receipt is None:
            Distribution.objects.filter(pk=distribution.pk).update(
                error=f"payout {tx_hash} not mined yet; the next sweep resumes it"
            )
            return Distribution.objects.get(pk=distribution.pk)
        if int(receipt["status"], 16) != 1:
            DistributionPayout.objects.filter(pk=payout.pk).update(
                status=PayoutStatus.FAILED, error="reverted"
            )
            Distribution.objects.filter(pk=distribution.pk).update(
                status=DistributionStatus.FAILED,
                error=f"payout to {payout.recipient} reverted ({tx_hash})",
            )
            return Distribution.objects.get(pk=distribution.pk)
        _confirm(payout, receipt)
        if after_payment is not None:  # tests use it to interrupt a sweep
            after_payment(payout)
    blocks = [p.block_number or 0 for p in distribution.payouts.all()]
    Distribution.objects.filter(pk=distribution.pk).update(
        status=DistributionStatus.SENT, block_number=max(blocks, default=0) or None, error=""
    )
    _announce(distribution.pk)
    events.balances_changed_after_commit(distribution.pk)
    return Distribution.objects.get(pk=distribution.pk)


def _announce(distribution_id: int) -> None:
    from trading.services.alerts import alert_raise

    distribution = Distribution.objects.select_related("token").get(pk=distribution_id)
    alert_raise(
        event="distribution_sent",
        payload={
            "distribution": distribution.pk,
            "token": distribution.token.symbol,
            "total": str(distribution.total),
            "payouts": [
                {"recipient": p.recipient, "amount": str(p.amount), "tx_hash": p.tx_hash}
                for p in distribution.payouts.all()
            ],
        },
    )


def profit_distribute(
    *,
    network: Network | None = None,
    dry_run: bool = False,
    signer: Signer | None = None,
    after_payment: Callable[[DistributionPayout], None] | None = None,
) -> list[TokenSweep]:
    """Sweep every token over its threshold (or resume an interrupted sweep).

    ``dry_run`` reads balances and shows the split without writing or sending.
    Raises ``ValidationError`` with an operator-readable message on bad set-up
    (no executor, no signing key, recipients' shares not summing to 100%).
    """
    from trading.services.networks import active_network_required

    network = network or active_network_required()
    if not network.executor_address:
        raise ValidationError("The network has no executor: run `manage.py deploy_executor` first.")
    shares = active_shares()  # validates before anything is read or sent
    if not dry_run and signer is None:
        signer = Signer.from_environment()
    config = BotConfig.load()
    tokens = list(
        Token.objects.filter(network=network, distribution_threshold__isnull=False).order_by(
            "symbol"
        )
    )
    results: list[TokenSweep] = []
    with ChainSession.for_network(network) as session:
        for token in tokens:
            threshold = token.distribution_threshold
            assert threshold is not None  # filtered above
            balance = session.run(
                balance_of(session.client, token.address, network.executor_address)
            )
            sweep = TokenSweep(
                token=token.address,
                symbol=token.symbol,
                decimals=token.decimals,
                balance=balance,
                threshold=threshold,
                action="below_threshold",
            )
            results.append(sweep)
            existing = _open_distribution(network, token)
            if existing is None and balance < threshold:
                continue
            if dry_run:
                split = split_profit(balance, config.reinvest_bps, shares)
                sweep.action = "dry_run"
                sweep.reinvest, sweep.total = split.reinvest, split.distributable
                sweep.payouts = [
                    PlannedPayout(p.recipient, p.share_bps, p.amount) for p in split.payouts
                ]
                continue
            if existing is None:
                try:
                    existing = _plan(network, token, balance, config)
                except IntegrityError:  # another sweeper planned it first
                    existing = _open_distribution(network, token)
                sweep.action = "planned"
            else:
                sweep.action = "resumed"
            assert existing is not None and signer is not None
            sweeper = Sweeper(
                session.client,
                executor=network.executor_address,
                chain_id=network.chain_id,
                op_stack=network.is_op_stack,
                signer=signer,
            )
            finished = _settle(session, sweeper, existing, after_payment)
            sweep.distribution_id = finished.pk
            sweep.reinvest, sweep.total = finished.reinvest, finished.total
            sweep.payouts = [
                PlannedPayout(p.recipient, p.share_bps, p.amount) for p in finished.payouts.all()
            ]
            if finished.status == DistributionStatus.SENT:
                sweep.action = "sent"
            elif finished.status == DistributionStatus.FAILED:
                sweep.action, sweep.error = "failed", finished.error
    return results
