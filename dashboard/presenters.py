"""View models from rows: what pages, exports and live events show.

Views, the CSV exports and the domain-event receivers all build their rows
here, so a page, a download and a live update never disagree. Each builder
takes a constant number of queries, however many rows it is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import prefetch_related_objects
from django.utils import timezone

from dashboard.events import (
    ComponentStatus,
    GasEvent,
    Hop,
    MarketPair,
    MarketPrice,
    OpportunityEvent,
    StatsEvent,
    StatusEvent,
    TokenTotal,
    TradeEvent,
)
from dashboard.redaction import scrub
from trading import selectors
from trading.formatting import format_amount
from trading.models import BotConfig, GasSnapshot, Network, Opportunity, Token, Trade

NATIVE_DECIMALS = 18
GWEI_DECIMALS = 9


def _iso(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _native_symbols(networks: Iterable[Network | None]) -> dict[int, str]:
    """Native currency symbol per network id: its wrapped token minus the W (WETH → ETH)."""
    wrapped_ids = {n.wrapped_native_token_id for n in networks if n and n.wrapped_native_token_id}
    symbols = dict(Token.objects.filter(pk__in=wrapped_ids).values_list("pk", "symbol"))
    out: dict[int, str] = {}
    for network in networks:
        if network is None:
            continue
        symbol = symbols.get(network.wrapped_native_token_id or 0, "")
        if len(symbol) > 1 and symbol.startswith("W"):
            symbol = symbol[1:]
        out[network.pk] = symbol or "ETH"
    return out


def _hops(opportunity: Opportunity, tokens: dict[str, Token]) -> tuple[Hop, ...]:
    pools = selectors.path_pools(opportunity)
    hops = []
    for step in opportunity.path or []:
        if not isinstance(step, dict):
            continue
        pool_address = str(step.get("pool") or "")
        pool = pools.get(pool_address.lower())
        names = []
        for key in ("token_in", "token_out"):
            address = str(step.get(key) or "")
            token = tokens.get(address.lower())
            names.append(token.symbol if token else _short_address(address))
        hops.append(
            Hop(
                token_in=names[0],
                token_out=names[1],
                dex=pool.dex.name if pool else "",
                pool=pool_address,
                fee=pool.fee_label if pool else "",
            )
        )
    return tuple(hops)


def _route(hops: tuple[Hop, ...], fallback: str) -> tuple[str, str]:
    if not hops:
        return fallback, ""
    route = " → ".join([hops[0].token_in, *(h.token_out for h in hops)])
    dexes = ", ".join(dict.fromkeys(h.dex for h in hops if h.dex))
    return route, dexes


def _path_tokens(opportunities: Iterable[Opportunity]) -> dict[str, Token]:
    addresses: list[str] = []
    for opp in opportunities:
        for step in opp.path or []:
            if isinstance(step, dict):
                addresses.extend(str(step.get(k) or "") for k in ("token_in", "token_out"))
    return selectors.tokens_by_address(addresses)


def opportunity_events(opportunities: Iterable[Opportunity]) -> list[OpportunityEvent]:
    """Payloads for many opportunities in a constant number of queries."""
    opps = list(opportunities)
    prefetch_related_objects(opps, "start_token", "pools__dex")
    tokens = _path_tokens(opps)
    events = []
    for opp in opps:
        token = opp.start_token
        hops = _hops(opp, tokens)
        route, dexes = _route(hops, token.symbol)

        def fmt(amount: int, token: Token = token) -> str:
            return format_amount(amount, token.decimals, token.symbol)

        events.append(
            OpportunityEvent(
                id=opp.pk,
                status=opp.status,
                status_label=opp.get_status_display(),
                symbol=token.symbol,
                decimals=token.decimals,
                route=route,
                dexes=dexes,
                hops=hops,
                amount_in=str(opp.amount_in),
                amount_in_display=fmt(opp.amount_in),
                expected_profit=str(opp.expected_profit),
                expected_profit_display=fmt(opp.expected_profit),
                gas_cost=str(opp.gas_cost),
                gas_cost_display=fmt(opp.gas_cost),
                net_profit=str(opp.net_profit),
                net_profit_display=fmt(opp.net_profit),
                block_number=opp.block_number,
                detected_at=_iso(opp.detected_at),
                status_reason=scrub(opp.status_reason, limit=300),
            )
        )
    return events


def opportunity_event(opportunity: Opportunity) -> OpportunityEvent:
    """The payload of one opportunity."""
    return opportunity_events([opportunity])[0]


def trade_events(trades: Iterable[Trade]) -> list[TradeEvent]:
    """Payloads for many trades in a constant number of queries."""
    items = list(trades)
    prefetch_related_objects(
        items,
        "opportunity__start_token__network",
        "opportunity__network",
        "opportunity__pools__dex",
    )
    opps = [t.opportunity for t in items]
    tokens = _path_tokens(opps)
    # Older rows may lack the network: the start token always knows it.
    networks = {o.pk: o.network or o.start_token.network for o in opps}
    natives = _native_symbols(set(networks.values()))
    events = []
    for trade in items:
        opp = trade.opportunity
        token = opp.start_token
        hops = _hops(opp, tokens)
        route, dexes = _route(hops, token.symbol)
        network = networks[opp.pk]
        native = natives.get(network.pk, "ETH")
        explorer = network.explorer_url.rstrip("/")
        if not explorer.startswith(("https://", "http://")):
            explorer = ""  # only web links, whatever was typed in admin
        events.append(
            TradeEvent(
                id=trade.pk,
                opportunity_id=opp.pk,
                mode=trade.mode,
                mode_label=trade.get_mode_display(),
                status=trade.status,
                status_label=trade.get_status_display(),
                symbol=token.symbol,
                decimals=token.decimals,
                route=route,
                dexes=dexes,
                realized_profit="" if trade.realized_profit is None else str(trade.realized_profit),
                realized_profit_display=format_amount(
                    trade.realized_profit, token.decimals, token.symbol
                ),
                gas_used=trade.gas_used,
                gas_cost_wei="" if trade.gas_cost_wei is None else str(trade.gas_cost_wei),
                gas_cost_display=format_amount(
                    trade.gas_cost_wei, NATIVE_DECIMALS, native, max_fraction_digits=8
                ),
                tx_hash=trade.tx_hash,
                tx_url=f"{explorer}/tx/{trade.tx_hash}" if explorer and trade.tx_hash else "",
                block_number=trade.block_number,
                created_at=_iso(trade.created_at),
                error=scrub(trade.error, limit=300),
            )
        )
    return events


def trade_event(trade: Trade) -> TradeEvent:
    """The payload of one trade."""
    return trade_events([trade])[0]


def _price_text(value: Any) -> tuple[str, Decimal | None]:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value or "—")[:40], None
    if not number.is_finite():
        return "—", None
    # Eight significant digits are plenty to compare prices across DEXs.
    return f"{number:.8g}", number


def _market(raw: Any) -> tuple[MarketPair, ...]:
    """Sanitised market rows from EngineState.market (JSON written by the engine)."""
    if not isinstance(raw, list):
        return ()
    pairs = []
    for item in raw[:50]:
        if not isinstance(item, dict):
            continue
        parsed = []
        for price in (item.get("prices") or [])[:20]:
            if isinstance(price, dict):
                text, number = _price_text(price.get("price"))
                parsed.append(
                    (str(price.get("dex") or "?"), str(price.get("pool") or ""), text, number)
                )
        numbers = [n for *_, n in parsed if n is not None]
        high = max(numbers) if len(numbers) > 1 else None
        low = min(numbers) if len(numbers) > 1 else None
        prices = tuple(
            MarketPrice(
                dex=dex,
                pool=pool,
                price=text,
                is_high=high is not None and number == high and high != low,
                is_low=low is not None and number == low and high != low,
            )
            for dex, pool, text, number in parsed
        )
        spread = item.get("best_spread_bps")
        if spread is None and high is not None and low:
            spread = (high - low) / low * 10_000
        spread_text = ""
        if spread is not None:
            try:
                spread_text = f"{Decimal(str(spread)):.1f}"
            except (InvalidOperation, ValueError):
                spread_text = str(spread)[:20]
        pairs.append(
            MarketPair(
                pair=str(item.get("pair") or "?")[:40], prices=prices, best_spread_bps=spread_text
            )
        )
    return tuple(pairs)


def status_event() -> StatusEvent:
    """The current bot, engine, component and market state (four queries)."""
    config = BotConfig.load()
    state = selectors.engine_state()
    network = Network.objects.active()
    block_ms = network.block_time_ms if network else 2000
    components = tuple(
        ComponentStatus(
            name=c.name,
            initialized=c.initialized,
            healthy=c.healthy,
            last_success_at=_iso(c.last_success_at),
            last_error=scrub(c.last_error, limit=300),
            last_error_at=_iso(c.last_error_at),
            restarts=c.restarts,
        )
        for c in selectors.component_health()
    )
    return StatusEvent(
        mode=config.mode,
        mode_label=config.get_mode_display(),
        paused=config.paused,
        paused_reason=scrub(config.paused_reason, limit=255),
        network=network.name if network else "",
        chain_id=network.chain_id if network else None,
        engine_running=bool(state and state.running),
        engine_started_at=_iso(state.started_at if state else None),
        heartbeat_at=_iso(state.heartbeat_at if state else None),
        last_block=state.last_block if state else None,
        blocks_processed=state.blocks_processed if state else 0,
        blocks_skipped=state.blocks_skipped if state else 0,
        # Ten missed blocks (at least 30 s) without a heartbeat: call the engine stale.
        stale_after_seconds=max(30, 10 * block_ms // 1000),
        components=components,
        market=_market(state.market if state else []),
        **_last_reorg(),
    )


def _last_reorg() -> dict[str, str]:
    reorg = selectors.latest_reorg()
    if reorg is None:
        return {}
    text = f"reorg of {reorg.depth} block(s) above {reorg.common_ancestor}"
    if reorg.trades_reopened:
        text += f", {len(reorg.trades_reopened)} trade(s) settled again"
    return {"last_reorg": text, "last_reorg_at": _iso(reorg.detected_at)}


def gas_event(snapshot: GasSnapshot) -> GasEvent:
    """The payload of one gas snapshot; fees in gwei, the L1 fee in native units."""

    def gwei(wei: int) -> str:
        return format_amount(wei, GWEI_DECIMALS, "gwei", max_fraction_digits=4)

    network = snapshot.network
    native = _native_symbols([network]).get(network.pk, "ETH") if network.pk else "ETH"
    return GasEvent(
        network=network.name,
        block_number=snapshot.block_number,
        base_fee=gwei(snapshot.base_fee_wei),
        priority_slow=gwei(snapshot.priority_fee_slow_wei),
        priority_normal=gwei(snapshot.priority_fee_normal_wei),
        priority_urgent=gwei(snapshot.priority_fee_urgent_wei),
        l1_fee=""
        if snapshot.l1_fee_wei is None
        else format_amount(snapshot.l1_fee_wei, NATIVE_DECIMALS, native, max_fraction_digits=9),
        created_at=_iso(snapshot.created_at),
    )


def stats_event() -> StatsEvent:
    """Counts and memory-bank totals (seven queries, whatever the table sizes)."""
    bank = selectors.memory_bank()
    zone = selectors.operator_zone()
    midnight = timezone.localtime(timezone.now(), zone).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    today = Opportunity.objects.filter(detected_at__gte=midnight).count()
    native = "ETH"
    network = Network.objects.active()
    if network is not None:
        native = _native_symbols([network]).get(network.pk, "ETH")
    rate = bank.success_rate
    unconfirmed = selectors.unconfirmed_profit_by_token()
    return StatsEvent(
        opportunities=bank.opportunities,
        opportunities_today=today,
        trades=bank.trades,
        successful_trades=bank.successful_trades,
        pending_trades=bank.pending_trades,
        settled_trades=bank.settled_trades,
        success_rate="" if rate is None else f"{rate * 100:.1f}%",
        gas_total_display=format_amount(bank.gas_cost_wei, NATIVE_DECIMALS, native),
        oldest_opportunity_at=_iso(bank.oldest_opportunity_at),
        newest_opportunity_at=_iso(bank.newest_opportunity_at),
        oldest_trade_at=_iso(bank.oldest_trade_at),
        newest_trade_at=_iso(bank.newest_trade_at),
        retention_days=bank.retention_days,
        retention_max_rows=bank.retention_max_rows,
        last_retention_at=_iso(bank.last_retention_at),
        totals=tuple(
            TokenTotal(
                symbol=t.symbol,
                opportunities=t.opportunities,
                net_profit_display=format_amount(t.net_profit, t.decimals, t.symbol),
                trades=t.trades,
                realized_profit=str(t.realized_profit),
                realized_profit_display=format_amount(t.realized_profit, t.decimals, t.symbol),
                gas_display=format_amount(t.gas_cost_wei, NATIVE_DECIMALS, native),
                unconfirmed_profit_display=format_amount(
                    unconfirmed[t.token_id], t.decimals, t.symbol
                )
                if unconfirmed.get(t.token_id)
                else "",
            )
            for t in bank.totals
        ),
    )
