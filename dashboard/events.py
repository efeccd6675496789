"""Dashboard events: the typed payloads open pages receive, and their wire format.

Events are high level and carry everything their fragments show, already
formatted, so the websocket consumer renders them without a database query:
100 open dashboards cost one payload build per event, not 100 queries. Amounts
travel as decimal strings because the Redis layer serialises with msgpack,
which has no integers above 2**64. :mod:`dashboard.presenters` builds them
from rows; :mod:`dashboard.broadcast` delivers them.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import typing
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar


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
    # The reason's category (trading.reasons.ReasonCode) and its short label.
    reason_code: str = ""
    reason_label: str = ""
    # When the row last changed (seen again, claimed, settled, staled) and the
    # block it was first seen at: the live feed is ordered by the former.
    updated_at: str = ""
    first_block: int | None = None

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
    # The category of ``error`` (trading.reasons.ReasonCode) and its short label.
    reason_code: str = ""
    reason_label: str = ""
    # Realized profit minus gas, in the start token, the native currency and dollars.
    net_profit: str = ""
    net_profit_display: str = "—"
    net_native_display: str = ""
    net_usd_display: str = ""
    net_native_wei: str = ""
    net_usd_micros: str = ""

    @property
    def profit_negative(self) -> bool:
        return self.realized_profit.startswith("-")

    @property
    def net_negative(self) -> bool:
        return self.net_profit.startswith("-")

    @property
    def net_positive(self) -> bool:
        return bool(self.net_profit) and not self.net_negative and self.net_profit != "0"

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
    fee: str = ""  # the pool's fee tier, "0.05%"


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
    # The active network is a local development chain: live trades cost nothing real.
    test_chain: bool = False
    # The last chain reorganisation the engine corrected ("" if none).
    last_reorg: str = ""
    last_reorg_at: str = ""

    @property
    def down_components(self) -> tuple[ComponentStatus, ...]:
        """Components the running engine has released and is restarting."""
        if not self.engine_running:
            return ()
        return tuple(c for c in self.components if not c.initialized)


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
    # Net profit after gas of the trades, in the token, native currency and dollars.
    trade_net_profit: str = "0"
    trade_net_display: str = ""
    net_native_display: str = ""
    net_usd_display: str = ""
    # What detected opportunities, not yet traded nor stale, could still earn.
    open_opportunities: int = 0
    open_net_display: str = ""
    # The part of the realized profit not yet final ("" when all of it is).
    unconfirmed_profit_display: str = ""

    @property
    def profit_negative(self) -> bool:
        return self.realized_profit.startswith("-")

    @property
    def net_negative(self) -> bool:
        return self.trade_net_profit.startswith("-")


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
    failed_trades: int = 0
    net_native: str = "0"
    net_native_display: str = ""
    net_usd_display: str = ""

    @property
    def net_negative(self) -> bool:
        return self.net_native.startswith("-")


@dataclass(frozen=True)
class StageTiming:
    """One pipeline stage over the engine's last blocks (milliseconds, as text)."""

    stage: str
    label: str
    p50: str
    p95: str
    last: str = ""


@dataclass(frozen=True)
class EndpointFigures:
    """One RPC endpoint, by name (never its URL)."""

    endpoint: str
    round_trips: int
    errors: int
    errors_recent: int
    latency: str = ""


@dataclass(frozen=True)
class LockFigures:
    lock: str
    waits: int
    mean: str
    recent_mean: str = ""


@dataclass(frozen=True)
class ProcessFigures:
    """One process's own figures, as it last wrote them."""

    role: str
    instance: str
    memory: str
    cpu: str
    cpu_seconds: str
    open_fds: str
    event_loop_lag: str
    websocket_clients: str
    updated_at: str
    stale: bool = False
    # Words when memory kept growing over the last hour, else "".
    memory_growth: str = ""


@dataclass(frozen=True)
class SystemEvent:
    """The bot's own health: stage timings, keeping up, RPC, locks, processes, in words."""

    type: ClassVar[str] = "dashboard.system"

    engine_running: bool
    updated_at: str
    last_block: int | None
    head_lag: int | None
    skipped_recent: int
    blocks_measured: int
    rpc_failovers: int
    stages: tuple[StageTiming, ...] = ()
    endpoints: tuple[EndpointFigures, ...] = ()
    locks: tuple[LockFigures, ...] = ()
    processes: tuple[ProcessFigures, ...] = ()
    websocket_clients: int = 0
    engine_event_loop_lag: str = ""
    # What is wrong, in words; empty when all is well.
    problems: tuple[str, ...] = ()
    # The chart's data: {"blocks": [...], "stages": {stage: [ms, ...]}} as JSON text.
    series_json: str = ""


Event = OpportunityEvent | TradeEvent | StatusEvent | GasEvent | StatsEvent | SystemEvent

EVENT_TYPES: dict[str, type] = {
    cls.type: cls
    for cls in (OpportunityEvent, TradeEvent, StatusEvent, GasEvent, StatsEvent, SystemEvent)
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
        if args and isinstance(args[0], type) and dataclasses.is_dataclass(args[0]):
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
        elif typing.get_origin(hints[f.name]) is tuple and isinstance(value, list):
            value = tuple(value)  # the wire has lists only
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise MalformedEvent(f"{cls.__name__}: {exc}") from None


def from_message(message: Any) -> Event:
    """Rebuild the typed event carried by a channel-layer message."""
    if not isinstance(message, dict):
        raise MalformedEvent("message is not a mapping")
    cls = EVENT_TYPES.get(str(message.get("type")))
    if cls is None:
        raise MalformedEvent(f"unknown event type {message.get('type')!r}")
    return _build(cls, message.get("payload"))
