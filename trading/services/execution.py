"""Writes of the execution manager: claims, trades and their outcomes.

Claiming uses a conditional UPDATE (detected -> executing) and proceeds only if
exactly one row changed, so two engines never execute the same opportunity.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from trading import events
from trading.addresses import ZERO_ADDRESS
from trading.analysis.valuation import net_after_gas
from trading.dex.confirm import PoolClaim
from trading.execution.hops import PoolInfo
from trading.fields import AmountSum
from trading.formatting import format_amount, printable
from trading.models import (
    BotConfig,
    Network,
    Opportunity,
    OpportunityStatus,
    Pool,
    Token,
    Trade,
    TradeMode,
    TradeStatus,
)
from trading.reasons import ReasonCode, reason_code_for

logger = logging.getLogger(__name__)


def opportunity_claim(*, opportunity_id: int) -> bool:
    """Move a detected opportunity to ``executing``; False if someone else got there first."""
    changed = Opportunity.objects.filter(
        pk=opportunity_id, status=OpportunityStatus.DETECTED
    ).update(status=OpportunityStatus.EXECUTING, updated_at=timezone.now())
    return changed == 1


def opportunity_claim_context(*, opportunity_id: int) -> ExecutionContext | None:
    """Claim a detected opportunity and read what its execution needs, in one call.

    None if someone else claimed it first (nothing is read then).
    """
    if not opportunity_claim(opportunity_id=opportunity_id):
        return None
    return execution_context(opportunity_id=opportunity_id)


def opportunity_finish(
    *, opportunity_id: int, status: str, reason: str = "", reason_code: str | None = None
) -> None:
    """Record how an execution attempt ended (executed / stale / skipped / failed).

    ``reason_code`` is the reason's category; without it, it is read from the words.
    """
    Opportunity.objects.filter(pk=opportunity_id).update(
        status=status,
        status_reason=printable(reason, 2000),
        reason_code=reason_code if reason_code is not None else reason_code_for(reason),
        updated_at=timezone.now(),
    )
    _publish_opportunity(opportunity_id)


@dataclass(frozen=True)
class ExecutionContext:
    """What the execution manager needs about one claimed opportunity."""

    opportunity_id: int
    network_id: int | None
    start_token: str
    start_token_decimals: int
    start_token_symbol: str
    amount_in: int
    expected_profit: int
    gas_cost: int
    path: list[dict[str, str]]
    pools: dict[str, PoolInfo]
    # Pools on the path that their factory has not been asked about yet.
    unconfirmed: tuple[PoolClaim, ...] = ()
    # The prices recorded with the opportunity (its last block): its trade keeps them.
    # None: not read (the trade's row reads them).
    reference_prices: tuple[int | None, int | None] | None = None


def _v4_pool_info(row: Pool) -> dict[str, Any]:
    """The PoolManager and the rest of the key of a V4 pool (nothing for other pools)."""
    key = row.pool_key if row.dex.kind == "uniswap_v4" else None
    if key is None:
        return {}
    return {"manager": row.dex.factory, "key_fee": key[2], "tick_spacing": key[3], "hooks": key[4]}


def execution_context(*, opportunity_id: int) -> ExecutionContext:
    return execution_contexts(ids=[opportunity_id])[opportunity_id]


def execution_contexts(*, ids: Sequence[int]) -> dict[int, ExecutionContext]:
    """What the execution of each of these opportunities needs: two queries for all."""
    opportunities = list(Opportunity.objects.select_related("start_token").filter(pk__in=ids))
    if len(opportunities) != len(set(ids)):
        found = {o.pk for o in opportunities}
        raise Opportunity.DoesNotExist(f"no opportunity {sorted(set(ids) - found)}")
    rows = _pool_rows(Pool.objects.all(), {step["pool"] for o in opportunities for step in o.path})
    return {
        opportunity.pk: _context(
            opportunity.pk,
            opportunity.network_id,
            opportunity.start_token,
            amounts=(opportunity.amount_in, opportunity.expected_profit, opportunity.gas_cost),
            path=list(opportunity.path),
            rows=rows,
            reference_prices=(opportunity.native_price, opportunity.native_usd_price),
        )
        for opportunity in opportunities
    }


def _pool_rows(pools: QuerySet[Pool], addresses: Iterable[str]) -> dict[str, Pool]:
    """Pool rows (their DEX and tokens along) by address as spelled in ``addresses``."""
    wanted = {address.lower(): address for address in addresses}
    found = pools.filter(address__in=sorted(wanted.values())).select_related(
        "dex", "token0", "token1"
    )
    return {wanted[row.address.lower()]: row for row in found if row.address.lower() in wanted}


def _context(
    opportunity_id: int,
    network_id: int | None,
    token: Token,
    *,
    amounts: tuple[int, int, int],
    path: list[dict[str, str]],
    rows: Mapping[str, Pool],
    reference_prices: tuple[int | None, int | None],
) -> ExecutionContext:
    """An execution's context; ``amounts``: (amount in, expected profit, gas cost)."""
    mine = [rows[a] for a in dict.fromkeys(step["pool"] for step in path) if a in rows]
    pools = {
        row.address: PoolInfo(
            address=row.address,
            token0=row.token0.address,
            token1=row.token1.address,
            dex_kind=row.dex.kind,
            fee_bps=row.fee // 100 if row.dex.kind == "uniswap_v2" else 0,
            **_v4_pool_info(row),
        )
        for row in mine
    }
    unconfirmed = tuple(
        PoolClaim(
            address=row.address,
            kind=row.dex.kind,
            factory=row.dex.factory,
            token0=row.token0.address,
            token1=row.token1.address,
            fee=row.fee,
            stable=row.stable,
            tick_spacing=row.tick_spacing,
            hooks=row.hooks or ZERO_ADDRESS,
            dynamic_fee=row.dynamic_fee,
        )
        for row in mine
        if not row.factory_confirmed
    )
    amount_in, expected_profit, gas_cost = amounts
    return ExecutionContext(
        opportunity_id=opportunity_id,
        network_id=network_id,
        start_token=token.address,
        start_token_decimals=token.decimals,
        start_token_symbol=token.symbol,
        amount_in=amount_in,
        expected_profit=expected_profit,
        gas_cost=gas_cost,
        path=path,
        pools=pools,
        unconfirmed=unconfirmed,
        reference_prices=reference_prices,
    )


@dataclass(frozen=True)
class DecisionClaim:
    """What a block's trades need from the database, read and written in one call."""

    config: BotConfig
    # Per cycle key claimed: the execution's context (a key not claimed is absent).
    contexts: dict[str, ExecutionContext]
    # Today's realized live loss (native wei); None when not asked (dry run).
    loss: int | None


def decision_claim(
    *,
    network: Network,
    items: Sequence[tuple[Any, int]],
    native_prices: Mapping[str, int] | None = None,
    native_usd_price: int | None = None,
    live: bool | None = None,
) -> DecisionClaim:
    """The rows of the findings a block trades, written and claimed; their contexts;
    the bot's configuration; and, for live trading, today's loss: one call.

    ``items`` are (finding, the block it was judged at). ``live``: today's loss
    is read when True, or when None and the configuration says live. The
    contexts are made from the findings and one read of their pools and start
    tokens, which also gives the new rows their links.
    """
    from trading.services.opportunities import Prices, RowIds, opportunities_claim

    config = BotConfig.load()
    findings = [finding for finding, _ in items]
    tokens = {
        row.address.lower(): row
        for row in Token.objects.filter(
            network=network, address__in=sorted({f.cycle.start_token for f in findings})
        )
    }
    rows = _pool_rows(
        Pool.objects.filter(dex__network=network), {p for f in findings for p in f.cycle.pools}
    )
    claimed = opportunities_claim(
        network=network,
        items=items,
        native_prices=native_prices,
        native_usd_price=native_usd_price,
        ids=RowIds(
            tokens={address: row.pk for address, row in tokens.items()},
            pools={address.lower(): row.pk for address, row in rows.items()},
        ),
    )
    prices = Prices(native_prices or {}, native_usd_price)
    contexts = {}
    for finding in findings:
        if finding.key not in claimed:
            continue
        start, evaluation = finding.cycle.start_token, finding.evaluation
        contexts[finding.key] = _context(
            claimed[finding.key],
            network.pk,
            tokens[start.lower()],
            amounts=(finding.sized.amount_in, evaluation.gross, evaluation.gas_cost_start_token),
            path=finding.cycle.path(),
            rows=rows,
            reference_prices=(prices.native_price(start), prices.usd),
        )
    trading_live = config.mode == "live" if live is None else live
    return DecisionClaim(
        config=config,
        contexts=contexts,
        loss=daily_loss_wei(network=network) if trading_live and claimed else None,
    )


def pools_confirm(*, addresses: list[str]) -> int:
    """Record that the factory named these pools; returns the rows changed."""
    return Pool.objects.filter(address__in=addresses).update(factory_confirmed=True)


def pool_refuse(*, address: str, reason: str) -> int:
    """Disable a pool its factory does not name, so no route goes through it again."""
    logger.warning("pool %s disabled: %s", address, reason)
    return Pool.objects.filter(address=address).update(enabled=False, factory_confirmed=False)


def trade_record_simulated(
    *,
    opportunity_id: int,
    amount_in: int,
    profit: int,
    gas_used: int,
    gas_cost_wei: int,
    reference_prices: tuple[int | None, int | None] | None = None,
) -> Trade:
    """A dry-run trade: the simulated numbers, nothing sent.

    ``reference_prices``: the opportunity's (``ExecutionContext``); read when not given.
    """
    with transaction.atomic():
        native_price, native_usd_price = (
            reference_prices if reference_prices is not None else _reference_prices(opportunity_id)
        )
        trade = Trade.objects.create(
            opportunity_id=opportunity_id,
            mode=TradeMode.DRY_RUN,
            status=TradeStatus.SIMULATED,
            amount_in=amount_in,
            realized_profit=profit,
            gas_used=gas_used,
            gas_cost_wei=gas_cost_wei,
            native_price=native_price,
            native_usd_price=native_usd_price,
            net_profit=net_after_gas(profit, gas_cost_wei, native_price),
        )
        Opportunity.objects.filter(pk=opportunity_id).update(
            status=OpportunityStatus.EXECUTED,
            status_reason="dry run: simulated, nothing sent",
            reason_code=ReasonCode.DRY_RUN,
            updated_at=timezone.now(),
        )
        _publish_trade_on_commit(trade)
    _publish_opportunity(opportunity_id)
    return trade


def trade_record_pending(
    *,
    opportunity_id: int,
    amount_in: int,
    tx_hash: str,
    nonce: int,
    max_fee_per_gas: int,
    max_priority_fee_per_gas: int,
    l1_fee_wei: int,
    unless_paused: bool = False,
    reference_prices: tuple[int | None, int | None] | None = None,
) -> Trade | None:
    """Record a live trade *before* it is broadcast, so a crash leaves a trace to reconcile.

    ``unless_paused``: the kill switch is read in the same transaction, and
    nothing is recorded (None) when it is on. ``reference_prices``: the
    opportunity's (``ExecutionContext``); read when not given.
    """
    with transaction.atomic():
        if unless_paused and BotConfig.objects.filter(pk=1, paused=True).exists():
            return None
        native_price, native_usd_price = (
            reference_prices if reference_prices is not None else _reference_prices(opportunity_id)
        )
        trade = Trade.objects.create(
            native_price=native_price,
            native_usd_price=native_usd_price,
            opportunity_id=opportunity_id,
            mode=TradeMode.LIVE,
            status=TradeStatus.PENDING,
            amount_in=amount_in,
            tx_hash=tx_hash,
            tx_hashes=[tx_hash],
            nonce=nonce,
            max_fee_per_gas=max_fee_per_gas,
            max_priority_fee_per_gas=max_priority_fee_per_gas,
            l1_fee_wei=l1_fee_wei,
            sent_at=timezone.now(),
            sending=True,
        )
        _publish_trade_on_commit(trade)
    return trade


def trade_mark_sent(*, trade_id: int) -> None:
    """The broadcast was answered (or its answer lost): reconciliation may judge the row now."""
    Trade.objects.filter(pk=trade_id, sending=True).update(sending=False, updated_at=timezone.now())


def trade_add_replacement(
    *, trade_id: int, tx_hash: str, max_fee_per_gas: int, max_priority_fee_per_gas: int
) -> None:
    """A fee bump replaced the pending transaction: remember every hash."""
    with transaction.atomic():
        trade = Trade.objects.select_for_update().get(pk=trade_id)
        trade.tx_hashes = [*trade.tx_hashes, tx_hash]
        trade.tx_hash = tx_hash
        trade.max_fee_per_gas = max_fee_per_gas
        trade.max_priority_fee_per_gas = max_priority_fee_per_gas
        trade.save(
            update_fields=[
                "tx_hashes",
                "tx_hash",
                "max_fee_per_gas",
                "max_priority_fee_per_gas",
                "updated_at",
            ]
        )


def trade_settle(
    *,
    trade_id: int,
    status: str,
    tx_hash: str = "",
    realized_profit: int | None = None,
    gas_used: int | None = None,
    gas_cost_wei: int | None = None,
    block_number: int | None = None,
    error: str = "",
    reason_code: str | None = None,
) -> Trade:
    """Record how a live trade ended and mark its opportunity accordingly.

    ``reason_code`` is the category of ``error``; without it, it follows from the
    status (reverted on chain, dropped) or the words.

    Settling again with what the row already says changes nothing and raises
    no second alert, so the engine and a reconciliation may both settle a trade.
    """
    with transaction.atomic():
        trade = Trade.objects.select_for_update().get(pk=trade_id)
        unchanged = (
            trade.status == status
            and trade.block_number == block_number
            and (not tx_hash or trade.tx_hash == tx_hash)
            and trade.realized_profit == realized_profit
            and not trade.sending
        )
        if unchanged:
            return trade
        trade.status = status
        trade.sending = False
        if tx_hash:
            trade.tx_hash = tx_hash
        trade.realized_profit = realized_profit
        trade.gas_used = gas_used
        trade.gas_cost_wei = gas_cost_wei
        trade.block_number = block_number
        error = printable(error, 4000)
        trade.error = error
        trade.reason_code = (
            reason_code if reason_code is not None else trade_reason_code(status, error)
        )
        trade.net_profit = net_after_gas(realized_profit, gas_cost_wei, trade.native_price)
        trade.confirmed_at = timezone.now() if block_number else None
        trade.save()
        opportunity_status = (
            OpportunityStatus.EXECUTED
            if status == TradeStatus.SUCCESS
            else OpportunityStatus.FAILED
        )
        reason = "" if status == TradeStatus.SUCCESS else f"trade {status}: {error}".strip(": ")
        Opportunity.objects.filter(pk=trade.opportunity_id).update(
            status=opportunity_status,
            status_reason=printable(reason, 2000),
            reason_code=trade.reason_code,
            updated_at=timezone.now(),
        )
        _publish_trade_on_commit(trade)
        _alert_trade(trade)
    _publish_opportunity(trade.opportunity_id)
    return trade


def trade_reason_code(status: str, error: str) -> str:
    """The reason category of a trade settled with ``status`` and ``error``."""
    if status in (TradeStatus.SUCCESS, TradeStatus.SIMULATED):
        return ReasonCode.NONE
    if status == TradeStatus.REVERTED:
        return ReasonCode.REVERTED_ON_CHAIN
    if status == TradeStatus.DROPPED:
        return ReasonCode.DROPPED
    return reason_code_for(error)


def _reference_prices(opportunity_id: int) -> tuple[int | None, int | None]:
    """The prices recorded with the opportunity (its last block): the trade keeps them."""
    row = (
        Opportunity.objects.filter(pk=opportunity_id)
        .values_list("native_price", "native_usd_price")
        .first()
    )
    return row if row is not None else (None, None)


def trade_reopen(*, trade_id: int, reason: str) -> bool:
    """Put a settled live trade back to pending (its block left the chain); True if changed.

    Reconciliation settles it again from the receipt on the new chain.
    """
    with transaction.atomic():
        changed = (
            Trade.objects.filter(pk=trade_id, mode=TradeMode.LIVE)
            .exclude(status=TradeStatus.PENDING)
            .update(
                status=TradeStatus.PENDING,
                realized_profit=None,
                gas_used=None,
                gas_cost_wei=None,
                block_number=None,
                confirmed_at=None,
                net_profit=None,
                error=printable(reason, 4000),
                reason_code=ReasonCode.REORG,
                updated_at=timezone.now(),
            )
        )
        if not changed:
            return False
        trade = Trade.objects.get(pk=trade_id)
        Opportunity.objects.filter(pk=trade.opportunity_id).update(
            status=OpportunityStatus.EXECUTING,
            status_reason=printable(reason, 2000),
            reason_code=ReasonCode.REORG,
            updated_at=timezone.now(),
        )
        _publish_trade_on_commit(trade)
    _publish_opportunity(trade.opportunity_id)
    return True


def opportunity_fail_unless_traded(*, opportunity_id: int, reason: str) -> bool:
    """Mark a claimed opportunity failed unless a live trade was recorded for it.

    A trade row means a transaction may be on its way: its receipt decides the
    outcome (reconciliation settles it), never the error that came after.
    """
    changed = (
        Opportunity.objects.filter(pk=opportunity_id, status=OpportunityStatus.EXECUTING)
        .exclude(trades__mode=TradeMode.LIVE)
        .update(
            status=OpportunityStatus.FAILED,
            status_reason=printable(reason, 2000),
            reason_code=reason_code_for(reason),
            updated_at=timezone.now(),
        )
    )
    if changed:
        _publish_opportunity(opportunity_id)
    return changed == 1


def _alert_trade(trade: Trade) -> None:
    from trading.services.alerts import alert_raise

    token = trade.opportunity.start_token
    alert_raise(
        event="trade_executed" if trade.status == TradeStatus.SUCCESS else "trade_failed",
        payload={
            "trade": trade.pk,
            "opportunity": trade.opportunity_id,
            "status": trade.status,
            "tx_hash": trade.tx_hash,
            "token": token.symbol,
            "realized_profit": str(trade.realized_profit or 0),
            "gas_cost_wei": str(trade.gas_cost_wei or 0),
            "error": trade.error,
        },
    )


# A send still marked in progress this long after its row was written belongs to
# an engine that died mid-send: reconciliation may judge it then.
SEND_GRACE = dt.timedelta(minutes=2)


def pending_live_trades(*, now: dt.datetime | None = None) -> list[Trade]:
    """Live trades awaiting a verdict, except those whose send is still in progress."""
    now = now or timezone.now()
    in_progress = Q(sending=True, sent_at__gt=now - SEND_GRACE)
    return list(Trade.objects.live().pending().exclude(in_progress).order_by("nonce", "id"))


def unconfirmed_live_trades(*, head: int, confirmations: int) -> list[Trade]:
    """Live trades settled from a receipt that a reorg could still take back."""
    return list(Trade.objects.live().unconfirmed(head=head, confirmations=confirmations))


def confirmations_required() -> int:
    return BotConfig.load().confirmations


def claims_release_abandoned(*, now: dt.datetime | None = None) -> list[int]:
    """Fail claims held longer than ``SEND_GRACE`` without any live trade; returns their ids."""
    now = now or timezone.now()
    ids = list(
        Opportunity.objects.filter(
            status=OpportunityStatus.EXECUTING, updated_at__lt=now - SEND_GRACE
        )
        .exclude(trades__mode=TradeMode.LIVE)
        .values_list("pk", flat=True)
    )
    return [
        pk
        for pk in ids
        if opportunity_fail_unless_traded(
            opportunity_id=pk, reason="claim abandoned: its execution never finished"
        )
    ]


def trade_start_token(*, trade_id: int) -> tuple[str, int, str]:
    """(address, decimals, symbol) of the start token of a trade's opportunity."""
    address, decimals, symbol = Trade.objects.values_list(
        "opportunity__start_token__address",
        "opportunity__start_token__decimals",
        "opportunity__start_token__symbol",
    ).get(pk=trade_id)
    return address, decimals, symbol


def trade_for_reconcile(*, trade_id: int) -> Trade:
    return Trade.objects.get(pk=trade_id)


def disagreeing_live_trades(*, since: dt.datetime) -> list[Trade]:
    """Recent settled live trades whose opportunity says otherwise, or that were dropped.

    A dropped trade is looked at again because a transaction the node had
    forgotten can still be mined from another node's pool.
    """
    recent = Trade.objects.live().filter(updated_at__gte=since).select_related("opportunity")
    rows = []
    for trade in recent.filter(
        status__in=[TradeStatus.SUCCESS, TradeStatus.REVERTED, TradeStatus.DROPPED]
    ):
        expected = (
            OpportunityStatus.EXECUTED
            if trade.status == TradeStatus.SUCCESS
            else OpportunityStatus.FAILED
        )
        if trade.status == TradeStatus.DROPPED or trade.opportunity.status != expected:
            rows.append(trade)
    return rows


def opportunity_match_trade(*, trade_id: int) -> bool:
    """Make a settled trade's opportunity say what the trade says; True if it did not."""
    trade = Trade.objects.get(pk=trade_id)
    code = trade.reason_code
    if trade.status == TradeStatus.SUCCESS:
        status, reason, code = OpportunityStatus.EXECUTED, "", ReasonCode.NONE
    elif trade.status in (TradeStatus.REVERTED, TradeStatus.DROPPED, TradeStatus.FAILED):
        status = OpportunityStatus.FAILED
        reason = f"trade {trade.status}: {trade.error}".strip(": ")
    else:
        return False
    changed = (
        Opportunity.objects.filter(pk=trade.opportunity_id)
        .exclude(status=status)
        .update(
            status=status,
            status_reason=printable(reason, 2000),
            reason_code=code,
            updated_at=timezone.now(),
        )
    )
    if changed:
        _publish_opportunity(trade.opportunity_id)
    return changed == 1


def daily_loss_wei(*, network: Network | None, now: dt.datetime | None = None) -> int:
    """Today's realized loss of live trading in native wei (0 when in profit).

    Gas of every live trade counts against it; realized profit offsets it only
    when it is in the wrapped native token (other tokens have no exact price here).
    """
    now = now or timezone.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = Trade.objects.live().filter(created_at__gte=midnight)
    sums: dict[str, Any] = {"gas": AmountSum("gas_cost_wei")}
    if network is not None and network.wrapped_native_token_id:
        sums["offset"] = AmountSum(
            "realized_profit",
            filter=Q(
                status=TradeStatus.SUCCESS,
                opportunity__start_token_id=network.wrapped_native_token_id,
            ),
        )
    totals = today.aggregate(**sums)  # one query
    return max(0, totals["gas"] - totals.get("offset", 0))


def daily_loss_limit_hit(*, loss_wei: int, limit_wei: int) -> BotConfig:
    """Turn the kill switch on because today's loss reached the limit, and say so."""
    from trading.services.alerts import alert_raise
    from trading.services.controls import bot_config_set_paused

    reason = (
        f"daily loss limit reached ({format_amount(loss_wei, 18, 'ETH')} lost today, "
        f"limit {format_amount(limit_wei, 18, 'ETH')})"
    )
    with transaction.atomic():
        config = bot_config_set_paused(paused=True, reason=reason)
        alert_raise(
            event="daily_loss_limit",
            payload={"loss_wei": str(loss_wei), "limit_wei": str(limit_wei)},
        )
    return config


def _publish_opportunity(opportunity_id: int) -> None:
    events.opportunity_changed_after_commit(opportunity_id)


def _publish_trade_on_commit(trade: Trade) -> None:
    events.trade_changed_after_commit(trade.pk)


def active_network() -> Network | None:
    return Network.objects.active()


def load_config() -> BotConfig:
    return BotConfig.load()
