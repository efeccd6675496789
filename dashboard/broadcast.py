"""Live dashboard events: typed payloads, the group name and the publishing API.

Services, the engine and Celery tasks tell open dashboards what happened:

- sync code: ``publish_opportunity(opp)``, ``publish_trade(trade)``,
  ``publish_status()``, ``publish_gas(snapshot)``, ``publish_stats()``;
- async code: the same names prefixed with ``a`` (``apublish_trade`` …);
- inside a transaction: the ``*_on_commit`` variants, so that an event only
  goes out for rows that were committed.

Events are high level and carry everything their fragments show, already
formatted, so the websocket consumer renders them without a database query:
100 open dashboards cost one payload build per event, not 100 queries. Amounts
travel as decimal strings because the Redis layer serialises with msgpack,
which has no integers above 2**64. Publishing is best effort: a channel layer
that is down is logged, never raised into the engine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import threading
import time
import typing
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from dashboard.redaction import scrub
from trading import metrics, selectors
from trading.formatting import format_amount
from trading.models import BotConfig, GasSnapshot, Network, Opportunity, Token, Trade

logger = logging.getLogger(__name__)

# Every dashboard socket joins this one group; pages pick what they show.
DASHBOARD_GROUP = "dashboard"

NATIVE_DECIMALS = 18
GWEI_DECIMALS = 9


class MalformedEvent(ValueError):
    """A channel message that is not a dashboard event this code understands."""


# --- Payloads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One swap of a cycle: token symbols, the pool and its DEX."""

    token_in: str
    token_out: str
    dex: str = ""
    pool: str = ""
    fee: str = ""


@dataclass(frozen=True)
class OpportunityEvent:
    """An opportunity was detected or changed status."""

    type: ClassVar[str] = "dashboard.opportunity"

    id: int
    status: str
    status_label: str
    symbol: str
    decimals: int
    route: str
    dexes: str
    amount_in: str
    amount_in_display: str
    expected_profit: str
    expected_profit_display: str
    gas_cost: str
    gas_cost_display: str
    net_profit: str
    net_profit_display: str
    block_number: int
    detected_at: str
    hops: tuple[Hop, ...] = ()
    status_reason: str = ""

    @property
    def net_negative(self) -> bool:
        return self.net_profit.startswith("-")


@dataclass(frozen=True)
class TradeEvent:
    """A trade was simulated, sent, confirmed or failed."""

    type: ClassVar[str] = "dashboard.trade"

    id: int
    opportunity_id: int
    mode: str
    mode_label: str
    status: str
    status_label: str
    symbol: str
    decimals: int
    route: str
    dexes: str
    realized_profit: str
    realized_profit_display: str
    gas_used: int | None
    gas_cost_wei: str
    gas_cost_display: str
    tx_hash: str
    tx_url: str
    block_number: int | None
    created_at: str
    error: str = ""

    @property
    def profit_negative(self) -> bool:
        return self.realized_profit.startswith("-")

    @property
    def tx_short(self) -> str:
        h = self.tx_hash
        return f"{h[:10]}…{h[-6:]}" if len(h) > 20 else h


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    initialized: bool
    healthy: bool
    last_success_at: str = ""
    last_error: str = ""
    last_error_at: str = ""
    restarts: int = 0


@dataclass(frozen=True)
class MarketPrice:
    dex: str
    price: str
    pool: str = ""
    is_high: bool = False
    is_low: bool = False


@dataclass(frozen=True)
class MarketPair:
    pair: str
    prices: tuple[MarketPrice, ...] = ()
    best_spread_bps: str = ""


@dataclass(frozen=True)
class StatusEvent:
    """The bot's mode and kill switch, the engine's state, component health and market."""

    type: ClassVar[str] = "dashboard.status"

    mode: str
    mode_label: str
    paused: bool
    paused_reason: str
    network: str
    chain_id: int | None
    engine_running: bool
    engine_started_at: str
    heartbeat_at: str
    last_block: int | None
    blocks_processed: int
    blocks_skipped: int
    stale_after_seconds: int
    components: tuple[ComponentStatus, ...] = ()
    market: tuple[MarketPair, ...] = ()


@dataclass(frozen=True)
class GasEvent:
    """A new gas snapshot (fee levels at one block)."""

    type: ClassVar[str] = "dashboard.gas"

    network: str
    block_number: int
    base_fee: str
    priority_slow: str
    priority_normal: str
    priority_urgent: str
    l1_fee: str
    created_at: str


@dataclass(frozen=True)
class TokenTotal:
    symbol: str
    opportunities: int
    net_profit_display: str
    trades: int
    realized_profit: str
    realized_profit_display: str
    gas_display: str

    @property
    def profit_negative(self) -> bool:
        return self.realized_profit.startswith("-")


@dataclass(frozen=True)
class StatsEvent:
    """Counts and the memory bank: what is stored, outcomes, exact totals, retention."""

    type: ClassVar[str] = "dashboard.stats"

    opportunities: int
    opportunities_today: int
    trades: int
    successful_trades: int
    pending_trades: int
    settled_trades: int
    success_rate: str
    gas_total_display: str
    oldest_opportunity_at: str
    newest_opportunity_at: str
    oldest_trade_at: str
    newest_trade_at: str
    retention_days: int
    retention_max_rows: int
    last_retention_at: str
    totals: tuple[TokenTotal, ...] = ()


Event = OpportunityEvent | TradeEvent | StatusEvent | GasEvent | StatsEvent

EVENT_TYPES: dict[str, type] = {
    cls.type: cls for cls in (OpportunityEvent, TradeEvent, StatusEvent, GasEvent, StatsEvent)
}


# --- Messages --------------------------------------------------------------------------------


def to_message(event: Event) -> dict[str, Any]:
    """The channel-layer message for ``event``.

    ``event_id`` lets every consumer of a process share one rendering of the
    event; ``published_at`` (Unix seconds) lets anyone measure delivery delay.
    """
    return {
        "type": event.type,
        "event_id": uuid.uuid4().hex,
        "published_at": time.time(),
        "payload": dataclasses.asdict(event),
    }


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _nested(hint: Any) -> type | None:
    """The dataclass X of a ``tuple[X, ...]`` hint, else None."""
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if args and dataclasses.is_dataclass(args[0]):
            return args[0]
    return None


def _build(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise MalformedEvent(f"{cls.__name__} payload is not a mapping")
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        # Unknown keys are ignored and missing ones take their defaults, so a
        # publisher one version ahead or behind does not break the dashboard.
        if f.name not in data:
            continue
        value = data[f.name]
        inner = _nested(hints[f.name])
        if inner is not None:
            value = tuple(_build(inner, item) for item in (value or ()))
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise MalformedEvent(f"{cls.__name__}: {exc}") from None


def from_message(message: Any) -> Event:
    """Rebuild the typed event carried by a channel-layer message."""
    if not isinstance(message, dict):
        raise MalformedEvent("message is not a mapping")
    cls = EVENT_TYPES.get(message.get("type"))
    if cls is None:
        raise MalformedEvent(f"unknown event type {message.get('type')!r}")
    return _build(cls, message.get("payload"))


# --- Building payloads from rows ---------------------------------------------------------------


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
    addresses = []
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
    )


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
            )
            for t in bank.totals
        ),
    )


# --- Delivery --------------------------------------------------------------------------------

# The loop the websocket consumers of this process run on. The in-memory layer
# keeps asyncio queues that belong to that loop, so a publisher on another
# thread (an eager Celery task, a test, a benchmark) hands its send over to it
# instead of touching the queues from a foreign loop.
_serving_loop: asyncio.AbstractEventLoop | None = None
# Fire-and-forget sends started from a loop thread, kept so they are not
# garbage-collected before they finish.
_pending: set[asyncio.Future[Any]] = set()


def bind_serving_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Remember the event loop websocket consumers run on (called by the consumer)."""
    global _serving_loop
    _serving_loop = loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _handoff_loop(layer: Any) -> asyncio.AbstractEventLoop | None:
    loop = _serving_loop
    if (
        isinstance(layer, InMemoryChannelLayer)
        and loop is not None
        and loop.is_running()
        and not loop.is_closed()
        and loop is not _running_loop()
    ):
        return loop
    return None


async def _group_send(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _handoff_loop(layer)
    if loop is not None:
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(layer.group_send(DASHBOARD_GROUP, message), loop)
        )
    else:
        await layer.group_send(DASHBOARD_GROUP, message)


def publish(event: Event) -> bool:
    """Send ``event`` to every open dashboard, from sync code. False if it failed."""
    message = to_message(event)
    try:
        layer = get_channel_layer()
        if layer is None:
            return False
        loop = _handoff_loop(layer)
        running = _running_loop()
        if loop is not None:
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(DASHBOARD_GROUP, message), loop
            )
            future.result(timeout=10)
        elif running is not None:
            # Sync code on an event loop thread cannot block on the loop it
            # runs on: schedule the send instead.
            task = running.create_task(layer.group_send(DASHBOARD_GROUP, message))
            _pending.add(task)
            task.add_done_callback(_pending.discard)
        else:
            async_to_sync(layer.group_send)(DASHBOARD_GROUP, message)
    except Exception as exc:  # never let the dashboard break the bot
        metrics.CHANNEL_SEND_FAILURES.inc()
        logger.warning("Dashboard event %s not delivered: %s", event.type, exc)
        return False
    return True


async def apublish(event: Event) -> bool:
    """Send ``event`` to every open dashboard, from async code. False if it failed."""
    try:
        await _group_send(to_message(event))
    except Exception as exc:
        metrics.CHANNEL_SEND_FAILURES.inc()
        logger.warning("Dashboard event %s not delivered: %s", event.type, exc)
        return False
    return True


def publish_on_commit(build: Callable[[], Event], *, using: str | None = None) -> None:
    """Build and publish an event once the current transaction commits (now if none).

    The payload is built after the commit, so it shows the committed rows.
    """

    def send() -> None:
        publish(build())

    transaction.on_commit(send, using=using, robust=True)


# Counts and the memory bank follow row events by themselves: at most once a
# second (a busy block does not cost a stats query per row), and whatever that
# throttle held back goes out with the next status event, which the engine
# sends every block.
STATS_INTERVAL = 1.0
_stats_lock = threading.Lock()
_stats_last = 0.0
_stats_pending = False


def _stats_now(*, flush: bool = False) -> bool:
    """Whether stats should be published now, after a row event (or on ``flush``)."""
    global _stats_last, _stats_pending
    with _stats_lock:
        now = time.monotonic()
        if flush and not _stats_pending:
            return False
        if not flush and now - _stats_last < STATS_INTERVAL:
            _stats_pending = True
            return False
        _stats_last, _stats_pending = now, False
        return True


def _follow_with_stats(*, flush: bool = False) -> None:
    if _stats_now(flush=flush):
        publish(stats_event())


async def _afollow_with_stats(*, flush: bool = False) -> None:
    if _stats_now(flush=flush):
        await apublish(await sync_to_async(stats_event)())


# One function per event, in the three flavours.


def publish_opportunity(opportunity: Opportunity) -> bool:
    """Tell dashboards about a new or changed opportunity (and, throttled, the counts)."""
    sent = publish(opportunity_event(opportunity))
    _follow_with_stats()
    return sent


async def apublish_opportunity(opportunity: Opportunity) -> bool:
    sent = await apublish(await sync_to_async(opportunity_event)(opportunity))
    await _afollow_with_stats()
    return sent


def publish_opportunity_on_commit(opportunity: Opportunity) -> None:
    transaction.on_commit(lambda: publish_opportunity(opportunity), robust=True)


def publish_trade(trade: Trade) -> bool:
    """Tell dashboards about a new or changed trade (and, throttled, the counts)."""
    sent = publish(trade_event(trade))
    _follow_with_stats()
    return sent


async def apublish_trade(trade: Trade) -> bool:
    sent = await apublish(await sync_to_async(trade_event)(trade))
    await _afollow_with_stats()
    return sent


def publish_trade_on_commit(trade: Trade) -> None:
    transaction.on_commit(lambda: publish_trade(trade), robust=True)


def publish_status() -> bool:
    """Tell dashboards the bot's current state (mode, kill switch, engine, components, market)."""
    sent = publish(status_event())
    _follow_with_stats(flush=True)
    return sent


async def apublish_status() -> bool:
    sent = await apublish(await sync_to_async(status_event)())
    await _afollow_with_stats(flush=True)
    return sent


def publish_status_on_commit() -> None:
    transaction.on_commit(publish_status, robust=True)


def publish_gas(snapshot: GasSnapshot) -> bool:
    """Tell dashboards about a new gas snapshot."""
    return publish(gas_event(snapshot))


async def apublish_gas(snapshot: GasSnapshot) -> bool:
    return await apublish(await sync_to_async(gas_event)(snapshot))


def publish_gas_on_commit(snapshot: GasSnapshot) -> None:
    transaction.on_commit(lambda: publish_gas(snapshot), robust=True)


def publish_stats() -> bool:
    """Tell dashboards the counts and memory-bank totals."""
    global _stats_last, _stats_pending
    with _stats_lock:
        _stats_last, _stats_pending = time.monotonic(), False
    return publish(stats_event())


async def apublish_stats() -> bool:
    return await apublish(await sync_to_async(stats_event)())


def publish_stats_on_commit() -> None:
    transaction.on_commit(publish_stats, robust=True)


def channel_layer_name() -> str:
    """ "Redis" or "in-memory": shown on the settings page."""
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return "Redis" if "redis" in backend.lower() else "in-memory"
