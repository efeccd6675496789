"""View models from rows: what pages, exports and live events show.

Views, the CSV exports and the domain-event receivers all build their rows
here, so a page, a download and a live update never disagree. Each builder
takes a constant number of queries, however many rows it is given.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import prefetch_related_objects
from django.utils import timezone

from dashboard.events import (
    ComponentStatus,
    EndpointFigures,
    GasEvent,
    Hop,
    LockFigures,
    MarketPair,
    MarketPrice,
    OpportunityEvent,
    ProcessFigures,
    StageTiming,
    StatsEvent,
    StatusEvent,
    SystemEvent,
    TokenTotal,
    TradeEvent,
)
from dashboard.redaction import scrub
from trading import selectors
from trading.analysis.valuation import (
    NATIVE_DECIMALS,
    NATIVE_UNIT,
    USD_DECIMALS,
    net_after_gas,
    value_of,
)
from trading.formatting import format_amount
from trading.models import (
    BotConfig,
    EngineState,
    GasSnapshot,
    Network,
    Opportunity,
    Token,
    Trade,
    TradeStatus,
)
from trading.services.engine_state import MARKET_PAIRS

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


def usd_display(micros: int | None) -> str:
    """Millionths of a dollar as dollars and cents ("" without a price)."""
    if micros is None:
        return ""
    return format_amount(micros, USD_DECIMALS, "USD", max_fraction_digits=2)


def native_display(wei: int | None, symbol: str) -> str:
    """Native wei for reading: eight decimals at most ("" without a price)."""
    if wei is None:
        return ""
    return format_amount(wei, NATIVE_DECIMALS, symbol, max_fraction_digits=8)


def _text_or_blank(amount: int | None) -> str:
    return "" if amount is None else str(amount)


def _native_price(row: Opportunity | Trade, token: Token, network: Network | None) -> int | None:
    """The row's stored price; a start token that is the wrapped native needs none."""
    if row.native_price:
        return row.native_price
    if network is not None and network.wrapped_native_token_id == token.pk:
        return NATIVE_UNIT
    return None


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
                reason_code=opp.reason_code,
                reason_label=opp.get_reason_code_display() if opp.reason_code else "",
                updated_at=_iso(opp.updated_at),
                first_block=opp.first_block,
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
        net = trade.net_profit
        if net is None and trade.status != TradeStatus.PENDING:
            # Rows recorded before net profit was stored: computed the same way.
            net = net_after_gas(
                trade.realized_profit, trade.gas_cost_wei, _native_price(trade, token, network)
            )
        value = (
            None
            if net is None
            else value_of(net, _native_price(trade, token, network), trade.native_usd_price)
        )
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
                reason_code=trade.reason_code,
                reason_label=trade.get_reason_code_display() if trade.reason_code else "",
                net_profit="" if net is None else str(net),
                net_profit_display=format_amount(net, token.decimals, token.symbol),
                net_native_display=native_display(value.native_wei if value else None, native),
                net_usd_display=usd_display(value.usd_micros if value else None),
                net_native_wei=_text_or_blank(value.native_wei if value else None),
                net_usd_micros=_text_or_blank(value.usd_micros if value else None),
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
    for item in raw[:MARKET_PAIRS]:
        if not isinstance(item, dict):
            continue
        parsed = []
        for price in (item.get("prices") or [])[:20]:
            if isinstance(price, dict):
                text, number = _price_text(price.get("price"))
                parsed.append(
                    (
                        str(price.get("dex") or "?"),
                        str(price.get("pool") or ""),
                        str(price.get("fee") or "")[:12],
                        text,
                        number,
                    )
                )
        numbers = [n for *_, n in parsed if n is not None]
        high = max(numbers) if len(numbers) > 1 else None
        low = min(numbers) if len(numbers) > 1 else None
        prices = tuple(
            MarketPrice(
                dex=dex,
                pool=pool,
                fee=fee,
                price=text,
                is_high=high is not None and number == high and high != low,
                is_low=low is not None and number == low and high != low,
            )
            for dex, pool, fee, text, number in parsed
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


Loaded = tuple[EngineState | None, Network | None]


def engine_and_network() -> Loaded:
    """The engine state row and the active network, loaded once for several payloads."""
    return selectors.engine_state(), Network.objects.active()


def status_event(loaded: Loaded | None = None) -> StatusEvent:
    """The current bot, engine, component and market state (four queries)."""
    config = BotConfig.load()
    state, network = loaded or engine_and_network()
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
        test_chain=bool(network and network.is_local_test_chain),
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
    """Counts and memory-bank totals (nine queries, whatever the table sizes)."""
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
        failed_trades=bank.failed_trades,
        net_native=str(bank.net_native_wei),
        net_native_display=native_display(bank.net_native_wei, native),
        net_usd_display=usd_display(bank.net_usd_micros),
        totals=tuple(
            TokenTotal(
                symbol=t.symbol,
                opportunities=t.opportunities,
                net_profit_display=format_amount(t.net_profit, t.decimals, t.symbol),
                trades=t.trades,
                realized_profit=str(t.realized_profit),
                realized_profit_display=format_amount(t.realized_profit, t.decimals, t.symbol),
                gas_display=format_amount(t.gas_cost_wei, NATIVE_DECIMALS, native),
                trade_net_profit=str(t.trade_net_profit),
                trade_net_display=format_amount(t.trade_net_profit, t.decimals, t.symbol),
                net_native_display=native_display(t.net_native_wei, native),
                net_usd_display=usd_display(t.net_usd_micros),
                open_opportunities=t.open_opportunities,
                open_net_display=format_amount(t.open_net_profit, t.decimals, t.symbol),
                unconfirmed_profit_display=format_amount(
                    unconfirmed[t.token_id], t.decimals, t.symbol
                )
                if unconfirmed.get(t.token_id)
                else "",
            )
            for t in bank.totals
        ),
    )


# --- The System page: the bot's own figures ------------------------------------------------

STAGE_LABELS = {
    "logs": "Logs",
    "pool_update": "Pool update",
    "analysis": "Analysis",
    "recording": "Recording",
    "execution": "Execution",
    "recording_after": "Recording after the decision",
    "publishing": "Publishing",
}
# A process that has not written its figures for this long is called stale.
PROCESS_STALE_SECONDS = 60
# Thresholds of the words on the page (the alerts have their own, in BotConfig).
HEAD_LAG_WARN_BLOCKS = 3
RPC_SLOW_MS = 500.0
LOOP_LAG_WARN_MS = 100.0
LOCK_WAIT_WARN_MS = 50.0
# Memory that grew by half and by 100 MB within the last hour (at least 10 minutes).
MEMORY_GROWTH_RATIO = 1.5
MEMORY_GROWTH_BYTES = 100 * 2**20
MEMORY_GROWTH_MIN_SECONDS = 600


def duration_text(ms: Any) -> str:
    """Milliseconds for people: ``0.42 ms``, ``12.3 ms``, ``1.8 s``; ``—`` when unknown."""
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return "—"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2g} ms" if ms < 1 else f"{ms:.1f} ms"


def bytes_text(value: Any) -> str:
    if not isinstance(value, int) or value <= 0:
        return "—"
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value} B"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _dicts(value: Any, limit: int = 50) -> list[dict[str, Any]]:
    return [v for v in value[:limit] if isinstance(v, dict)] if isinstance(value, list) else []


def system_problems(
    system: dict[str, Any],
    processes: Iterable[ProcessFigures],
    *,
    engine_running: bool,
    block_time_ms: int | None,
) -> tuple[str, ...]:
    """What is wrong with the bot itself, in words (empty when nothing is)."""
    problems: list[str] = []
    if not engine_running:
        problems.append("The engine is not running: no block is being processed.")
    else:
        stages = _dicts(system.get("stages"))
        last = [(s, _number(s.get("last_ms"))) for s in stages]
        timed = [(s, ms) for s, ms in last if ms is not None]
        skipped = _int(system.get("skipped_last_10"))
        if skipped and timed:
            slowest, ms = max(timed, key=lambda pair: pair[1])
            label = STAGE_LABELS.get(str(slowest.get("stage")), str(slowest.get("stage")))
            problems.append(
                f"{label} took {duration_text(ms)}; blocks are being skipped "
                f"({skipped} in the last 10 blocks)."
            )
        elif skipped:
            problems.append(f"Blocks are being skipped ({skipped} in the last 10 blocks).")
        for s in stages:
            p95 = _number(s.get("p95_ms"))
            if block_time_ms and p95 is not None and p95 > block_time_ms:
                label = STAGE_LABELS.get(str(s.get("stage")), str(s.get("stage")))
                problems.append(
                    f"{label} takes {duration_text(p95)} at p95, longer than a block "
                    f"({duration_text(block_time_ms)})."
                )
        lag = _int(system.get("head_lag"))
        if lag >= HEAD_LAG_WARN_BLOCKS:
            problems.append(f"The engine is {lag} blocks behind the chain head.")
        for e in _dicts(system.get("rpc")):
            name = str(e.get("endpoint") or "?")[:16]
            errors = _int(e.get("errors_recent"))
            if errors:
                problems.append(
                    f"RPC {name}: {errors} failed request{'s' if errors != 1 else ''} "
                    "in the last minute."
                )
            latency = _number(e.get("latency_ms"))
            if latency is not None and latency > RPC_SLOW_MS:
                problems.append(
                    f"RPC {name} is slow: {duration_text(latency)} per request on average."
                )
        loop_lag = _number(system.get("event_loop_lag_ms"))
        if loop_lag is not None and loop_lag > LOOP_LAG_WARN_MS:
            problems.append(f"The engine's event loop runs {duration_text(loop_lag)} late.")
        for lock in _dicts(system.get("locks")):
            wait = _number(lock.get("recent_mean_ms"))
            if wait is not None and wait > LOCK_WAIT_WARN_MS:
                problems.append(
                    f"Waiting for the {str(lock.get('lock'))[:40]} lock takes "
                    f"{duration_text(wait)} on average."
                )
    for p in processes:
        if p.stale and not (p.role == "engine" and not engine_running):
            problems.append(f"The {p.role} process ({p.instance}) has stopped reporting.")
        elif p.memory_growth:
            problems.append(f"The {p.role} process's memory {p.memory_growth}.")
    return tuple(problems)


def memory_growth(figures: dict[str, Any]) -> str:
    """Words for memory that keeps growing ("grew from … to … in 45 min"), else ""."""
    now, before = figures.get("rss_bytes"), figures.get("rss_before_bytes")
    seconds = _number(figures.get("rss_before_seconds")) or 0.0
    if not isinstance(now, int) or not isinstance(before, int) or before <= 0:
        return ""
    if seconds < MEMORY_GROWTH_MIN_SECONDS:
        return ""
    if now - before < MEMORY_GROWTH_BYTES or now < before * MEMORY_GROWTH_RATIO:
        return ""
    return f"grew from {bytes_text(before)} to {bytes_text(now)} in {seconds / 60:.0f} min"


def _process_figures(rows: Iterable[Any], now: dt.datetime) -> tuple[ProcessFigures, ...]:
    """Fresh rows, plus the newest stale one of a role that has no fresh row."""
    fresh: list[ProcessFigures] = []
    stale: dict[str, ProcessFigures] = {}
    for row in rows:  # newest first
        f = row.figures if isinstance(row.figures, dict) else {}
        is_stale = (now - row.updated_at).total_seconds() > PROCESS_STALE_SECONDS
        cpu = _number(f.get("cpu_percent"))
        cpu_seconds = _number(f.get("cpu_seconds"))
        clients = f.get("websocket_clients")
        figures = ProcessFigures(
            role=row.role,
            instance=row.instance,
            memory=bytes_text(f.get("rss_bytes")),
            cpu="—" if cpu is None else f"{cpu:.1f}%",
            cpu_seconds="—" if cpu_seconds is None else f"{cpu_seconds:.1f} s",
            open_fds=str(_int(f["open_fds"])) if f.get("open_fds") is not None else "—",
            event_loop_lag=duration_text(_number(f.get("event_loop_lag_ms"))),
            websocket_clients="" if clients is None else str(_int(clients)),
            updated_at=_iso(row.updated_at),
            stale=is_stale,
            memory_growth=memory_growth(f),
        )
        if not is_stale:
            fresh.append(figures)
        elif row.role not in stale and row.role != "web":
            # A web process writes only while a System page is open: an old
            # web row is a past process or an unwatched one, not a failure.
            stale[row.role] = figures
    roles = {p.role for p in fresh}
    chosen = fresh + [p for role, p in stale.items() if role not in roles]
    order = {"engine": 0, "web": 1, "worker": 2}
    return tuple(sorted(chosen, key=lambda p: (order.get(p.role, 9), p.instance)))


def system_event(loaded: Loaded | None = None) -> SystemEvent:
    """The bot's own figures for the System page and the overview (three queries)."""
    state, network = loaded or engine_and_network()
    now = timezone.now()
    system = state.system if state and isinstance(state.system, dict) else {}
    running = bool(state and state.running)
    processes = _process_figures(selectors.process_vitals(), now)
    stages = tuple(
        StageTiming(
            stage=str(s.get("stage")),
            label=STAGE_LABELS.get(str(s.get("stage")), str(s.get("stage"))),
            p50=duration_text(_number(s.get("p50_ms"))),
            p95=duration_text(_number(s.get("p95_ms"))),
            last=duration_text(_number(s.get("last_ms"))),
        )
        for s in _dicts(system.get("stages"))
    )
    endpoints = tuple(
        EndpointFigures(
            endpoint=str(e.get("endpoint") or "?")[:16],
            round_trips=_int(e.get("round_trips")),
            errors=_int(e.get("errors")),
            errors_recent=_int(e.get("errors_recent")),
            latency=duration_text(_number(e.get("latency_ms"))),
        )
        for e in _dicts(system.get("rpc"))
    )
    locks = tuple(
        LockFigures(
            lock=str(lock.get("lock"))[:40],
            waits=_int(lock.get("waits")),
            mean=duration_text(_number(lock.get("mean_ms"))),
            recent_mean=duration_text(_number(lock.get("recent_mean_ms"))),
        )
        for lock in _dicts(system.get("locks"))
    )
    series: dict[str, Any] = system["series"] if isinstance(system.get("series"), dict) else {}
    raw_stages: dict[str, Any] = series["stages"] if isinstance(series.get("stages"), dict) else {}
    blocks = [b for b in (series.get("blocks") or [])[:100] if isinstance(b, int)]
    chart = {
        "blocks": blocks,
        "stages": [
            {"stage": name, "label": label, "values": list(raw_stages.get(name) or [])[:100]}
            for name, label in STAGE_LABELS.items()
        ],
    }
    block_time_ms = network.block_time_ms if network else None
    return SystemEvent(
        engine_running=running,
        updated_at=_iso(state.heartbeat_at if state else None),
        last_block=state.last_block if state else None,
        head_lag=_int(system.get("head_lag")) if "head_lag" in system else None,
        skipped_recent=_int(system.get("skipped_recent")),
        blocks_measured=len(blocks),
        rpc_failovers=_int(system.get("rpc_failovers")),
        stages=stages,
        endpoints=endpoints,
        locks=locks,
        processes=processes,
        websocket_clients=sum(
            int(p.websocket_clients) for p in processes if p.websocket_clients and not p.stale
        ),
        engine_event_loop_lag=duration_text(_number(system.get("event_loop_lag_ms"))),
        problems=system_problems(
            system, processes, engine_running=running, block_time_ms=block_time_ms
        ),
        series_json=json.dumps(chart, separators=(",", ":")),
    )
