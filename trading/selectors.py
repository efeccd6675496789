"""Read-side queries used by views, commands and the engine.

Sums of token amounts use :class:`~trading.fields.AmountSum` (exact on SQLite
and PostgreSQL); conversions between smallest units and the decimal numbers
people type or read go through :func:`amount_from_units` and
:func:`amount_to_units`, which use ``Decimal`` with enough precision for any
uint256 and never a float.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Cast, Coalesce, TruncDay, TruncHour
from django.utils import timezone

from trading.addresses import normalize_address
from trading.analysis import breakdown, valuation
from trading.fields import AmountSum
from trading.models import (
    UNSUCCESSFUL_STATUSES,
    BotConfig,
    ComponentHealth,
    ControlChange,
    Distribution,
    DistributionPayout,
    EngineState,
    GasSnapshot,
    HistoryQuerySet,
    Opportunity,
    OpportunityQuerySet,
    PayoutStatus,
    Pool,
    ProcessVitals,
    ProfitRecipient,
    Reorg,
    SimulationBackoff,
    Token,
    Trade,
    TradeQuerySet,
    TradeStatus,
)

# Re-exported: views, charts and exports convert amounts through the selectors.
from trading.units import amount_from_units as amount_from_units
from trading.units import amount_to_units as amount_to_units

HistoryRows = TypeVar("HistoryRows", bound=HistoryQuerySet)

# --- Time zone -------------------------------------------------------------------------------


def operator_zone() -> dt.tzinfo:
    """The operator's time zone (LISTONIAN_TIME_ZONE), UTC when it is not a valid name."""
    try:
        return zoneinfo.ZoneInfo(settings.LISTONIAN_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


# --- Overview -------------------------------------------------------------------------------


def engine_state() -> EngineState | None:
    """The engine's state row, or None before the engine first ran (reads never create it)."""
    return EngineState.objects.filter(pk=1).first()


def unconfirmed_profit_by_token() -> dict[int, int]:
    """Realized profit (start-token id -> smallest units) a reorg could still take back.

    A live success is final once ``BotConfig.confirmations`` blocks are on top
    of its block, counted from the engine's last block. One query.
    """
    head = EngineState.objects.filter(pk=1).values("last_block")[:1]
    confirmations = BotConfig.objects.filter(pk=1).values("confirmations")[:1]
    rows = (
        Trade.objects.live()
        .successful()
        .filter(block_number__gt=Subquery(head) - Subquery(confirmations))
        .totals_by_token()
    )
    return {
        row["opportunity__start_token_id"]: row["realized_profit"]
        for row in rows
        if row["realized_profit"]
    }


def latest_reorg() -> Reorg | None:
    return Reorg.objects.order_by("-detected_at", "-id").first()


def component_health() -> list[ComponentHealth]:
    """Every engine component's health row, by name."""
    return list(ComponentHealth.objects.order_by("name"))


def process_vitals() -> list[ProcessVitals]:
    """Every process's latest own figures, newest first."""
    return list(ProcessVitals.objects.order_by("-updated_at", "role"))


def active_backoffs(limit: int = 20) -> list[SimulationBackoff]:
    """Pools and tokens left out after repeated simulation failures, as of the engine's block."""
    last_block = EngineState.objects.filter(pk=1).values("last_block")[:1]
    return list(
        SimulationBackoff.objects.filter(
            failures__gt=0, until_block__gte=Coalesce(Subquery(last_block), 1)
        )[:limit]
    )


def latest_gas_snapshot() -> GasSnapshot | None:
    """The most recent gas snapshot of any network."""
    return GasSnapshot.objects.select_related("network").order_by("-created_at", "-id").first()


def recent_opportunities(limit: int = 20) -> list[Opportunity]:
    """The opportunities last seen or changed most recently, newest first, with what
    their rows show already loaded (a cycle seen again every block stays on top)."""
    return list(
        Opportunity.objects.select_related("start_token", "network")
        .prefetch_related("pools__dex")
        .order_by("-updated_at", "-id")[:limit]
    )


def recent_trades(limit: int = 10) -> list[Trade]:
    """The newest trades, with what their rows show already loaded."""
    return list(
        Trade.objects.select_related("opportunity__start_token", "opportunity__network")
        .prefetch_related("opportunity__pools__dex")
        .order_by("-created_at", "-id")[:limit]
    )


def tokens_by_address(addresses: Iterable[str]) -> dict[str, Token]:
    """Tokens keyed by lower-case address (one query, whatever the number of addresses)."""
    wanted = set()
    # Checksumming costs a keccak: each distinct spelling once, however many
    # paths repeat it (an export reads thousands of paths over a few tokens).
    for address in set(addresses):
        try:
            wanted.add(normalize_address(address))
        except (ValidationError, TypeError):
            continue  # a malformed path entry shows as its raw text instead
    if not wanted:
        return {}
    found: dict[str, Token] = {}
    for token in Token.objects.filter(address__in=wanted).order_by("id"):
        found.setdefault(token.address.lower(), token)
    return found


# --- Memory bank ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenTotals:
    """Exact totals of one start token's history (amounts in smallest units)."""

    token_id: int
    symbol: str
    decimals: int
    opportunities: int = 0
    net_profit: int = 0
    trades: int = 0
    realized_profit: int = 0
    gas_cost_wei: int = 0
    # Net profit after gas: in the token, and at each trade's own prices in native wei and
    # millionths of a dollar. Open: what detected opportunities could still earn.
    trade_net_profit: int = 0
    net_native_wei: int = 0
    net_usd_micros: int = 0
    open_opportunities: int = 0
    open_net_profit: int = 0


@dataclass(frozen=True)
class NetTotal:
    """Net profit after gas of a set of trades, each converted at its own stored prices.

    ``unpriced`` counts trades whose native or dollar value could not be known
    (recorded without a reference price); they are left out of those sums.
    """

    native_wei: int = 0
    usd_micros: int = 0
    unpriced: int = 0


def net_totals(trades: QuerySet[Trade]) -> dict[int, NetTotal]:
    """Native and dollar net profit per start token id (exact integers, one query)."""
    rows = (
        trades.order_by()
        .exclude(net_profit=None)
        .values_list(
            "opportunity__start_token_id",
            "net_profit",
            "native_price",
            "native_usd_price",
            "opportunity__network__wrapped_native_token_id",
        )
    )
    sums: dict[int, list[int]] = {}
    for token_id, net, native_price, usd_price, wrapped_id in rows.iterator(chunk_size=2000):
        entry = sums.setdefault(token_id, [0, 0, 0])
        if net is None:
            continue  # excluded above; says so to the type checker
        if not native_price and token_id == wrapped_id:
            native_price = valuation.NATIVE_UNIT
        value = valuation.value_of(net, native_price, usd_price)
        if value.native_wei is None or value.usd_micros is None:
            entry[2] += 1
        if value.native_wei is not None:
            entry[0] += value.native_wei
        if value.usd_micros is not None:
            entry[1] += value.usd_micros
    return {token_id: NetTotal(*entry) for token_id, entry in sums.items()}


@dataclass(frozen=True)
class MemoryBank:
    """What the bot has stored: counts, outcomes, exact totals and retention."""

    opportunities: int
    trades: int
    successful_trades: int
    settled_trades: int
    pending_trades: int
    totals: tuple[TokenTotals, ...]
    oldest_opportunity_at: dt.datetime | None
    newest_opportunity_at: dt.datetime | None
    oldest_trade_at: dt.datetime | None
    newest_trade_at: dt.datetime | None
    retention_days: int
    retention_max_rows: int
    last_retention_at: dt.datetime | None
    gas_cost_wei: int = 0
    failed_trades: int = 0
    net_native_wei: int = 0
    net_usd_micros: int = 0
    unpriced_trades: int = 0

    @property
    def success_rate(self) -> Decimal | None:
        """Successful share of settled trades (0..1), None when none has settled."""
        if not self.settled_trades:
            return None
        return Decimal(self.successful_trades) / Decimal(self.settled_trades)


def memory_bank() -> MemoryBank:
    """Stored history at a glance, in eight queries whatever the table sizes."""
    config = BotConfig.load()
    opportunities = Opportunity.objects.order_by().aggregate(
        n=Count("id"), oldest=Min("detected_at"), newest=Max("detected_at")
    )
    settled = ~Q(status__in=[TradeStatus.PENDING, TradeStatus.SIMULATED])
    trades = Trade.objects.order_by().aggregate(
        n=Count("id"),
        ok=Count("id", filter=Q(status=TradeStatus.SUCCESS)),
        settled=Count("id", filter=settled),
        pending=Count("id", filter=Q(status=TradeStatus.PENDING)),
        failed=Count("id", filter=Q(status__in=UNSUCCESSFUL_STATUSES)),
        oldest=Min("created_at"),
        newest=Max("created_at"),
    )
    by_token: dict[int, dict] = {}
    for row in Opportunity.objects.totals_by_token():
        by_token[row["start_token_id"]] = {
            "token_id": row["start_token_id"],
            "symbol": row["start_token__symbol"],
            "decimals": row["start_token__decimals"],
            "opportunities": row["count"],
            "net_profit": row["net_profit"],
        }
    # Only detected rows can still be traded: stale, skipped and executed ones cannot.
    for row in Opportunity.objects.detected().totals_by_token():
        by_token[row["start_token_id"]].update(
            open_opportunities=row["count"], open_net_profit=row["net_profit"]
        )
    nets = net_totals(Trade.objects.all())
    for row in Trade.objects.totals_by_token():
        entry = by_token.setdefault(
            row["opportunity__start_token_id"],
            {
                "token_id": row["opportunity__start_token_id"],
                "symbol": row["opportunity__start_token__symbol"],
                "decimals": row["opportunity__start_token__decimals"],
            },
        )
        entry.update(
            trades=row["count"],
            realized_profit=row["realized_profit"],
            gas_cost_wei=row["gas_cost_wei"],
            trade_net_profit=row["net_profit"],
        )
        net = nets.get(row["opportunity__start_token_id"], NetTotal())
        entry.update(net_native_wei=net.native_wei, net_usd_micros=net.usd_micros)
    totals = tuple(
        TokenTotals(**entry) for entry in sorted(by_token.values(), key=lambda e: e["symbol"])
    )
    state = engine_state()
    return MemoryBank(
        opportunities=opportunities["n"],
        trades=trades["n"],
        successful_trades=trades["ok"],
        settled_trades=trades["settled"],
        pending_trades=trades["pending"],
        totals=totals,
        oldest_opportunity_at=opportunities["oldest"],
        newest_opportunity_at=opportunities["newest"],
        oldest_trade_at=trades["oldest"],
        newest_trade_at=trades["newest"],
        retention_days=config.retention_days,
        retention_max_rows=config.retention_max_rows,
        last_retention_at=state.last_retention_at if state else None,
        gas_cost_wei=sum(t.gas_cost_wei for t in totals),
        failed_trades=trades["failed"],
        net_native_wei=sum(n.native_wei for n in nets.values()),
        net_usd_micros=sum(n.usd_micros for n in nets.values()),
        unpriced_trades=sum(n.unpriced for n in nets.values()),
    )


# --- History with filters ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilters:
    """Filters of the opportunity and trade history pages (all optional).

    ``min_profit`` / ``max_profit`` are in token units as typed ("0.01") and are
    converted exactly into each start token's smallest unit.
    """

    status: str = ""
    token_id: int | None = None
    dex_id: int | None = None
    min_profit: Decimal | None = None
    max_profit: Decimal | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    mode: str = ""
    reason: str = ""  # a reason category (trading.reasons.ReasonCode)

    def apply(self, queryset: HistoryRows) -> HistoryRows:
        """``queryset`` narrowed by these filters (the trade mode is applied by trade_history)."""
        if self.status:
            queryset = queryset.with_status(self.status)
        if self.reason:
            queryset = queryset.with_reason(self.reason)
        if self.token_id is not None:
            queryset = queryset.starting_with(self.token_id)
        if self.dex_id is not None:
            queryset = queryset.through_dex(self.dex_id)
        if self.since is not None:
            queryset = queryset.since(self.since)
        if self.until is not None:
            queryset = queryset.until(self.until)
        # Last, so that only the start tokens still in the set are converted for.
        return queryset.with_profit_in_units(self.min_profit, self.max_profit)


def opportunity_history(filters: HistoryFilters) -> OpportunityQuerySet:
    """Opportunities matching ``filters``, newest first, ready for rows and CSV."""
    qs = Opportunity.objects.select_related("start_token", "network").prefetch_related("pools__dex")
    return filters.apply(qs).order_by("-detected_at", "-id")


def trade_history(filters: HistoryFilters) -> TradeQuerySet:
    """Trades matching ``filters`` (profit = realized profit), newest first."""
    qs = Trade.objects.select_related(
        "opportunity__start_token", "opportunity__network"
    ).prefetch_related("opportunity__pools__dex")
    if filters.mode:
        qs = qs.in_mode(filters.mode)
    return filters.apply(qs).order_by("-created_at", "-id")


def history_cursor(kind: str) -> int:
    """The highest opportunity (``kind="opportunities"``) or trade id stored now; 0 if none.

    A history page remembers it when it loads: rows with a higher id arrived since.
    """
    model = Opportunity if kind == "opportunities" else Trade
    return model.objects.aggregate(top=Max("id"))["top"] or 0


def start_tokens() -> QuerySet[Token]:
    """Tokens that some opportunity starts from (the choices of the token filter)."""
    return Token.objects.filter(
        pk__in=Opportunity.objects.order_by().values("start_token_id")
    ).order_by("symbol", "id")


def opportunity_detail(pk: int) -> Opportunity | None:
    """One opportunity with its pools, DEXs and trades loaded."""
    return (
        Opportunity.objects.select_related("start_token", "network")
        .prefetch_related("pools__dex", "pools__token0", "pools__token1", "trades")
        .filter(pk=pk)
        .first()
    )


def trade_detail(pk: int) -> Trade | None:
    """One trade with its opportunity, pools and DEXs loaded."""
    return (
        Trade.objects.select_related("opportunity__start_token", "opportunity__network")
        .prefetch_related(
            "opportunity__pools__dex", "opportunity__pools__token0", "opportunity__pools__token1"
        )
        .filter(pk=pk)
        .first()
    )


def path_pools(opportunity: Opportunity) -> dict[str, Pool]:
    """The opportunity's pools keyed by lower-case address (uses prefetched rows)."""
    return {pool.address.lower(): pool for pool in opportunity.pools.all()}


# --- Performance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSeries:
    """Net profit after gas of one start token per bucket (smallest units, exact)."""

    token_id: int
    symbol: str
    decimals: int
    profit: tuple[int, ...]
    trades: int
    # The range's net profit at each trade's own prices (see net_totals).
    net_native_wei: int = 0
    net_usd_micros: int = 0
    successful: int = 0
    gas_cost_wei: int = 0

    @property
    def cumulative(self) -> tuple[int, ...]:
        running, out = 0, []
        for value in self.profit:
            running += value
            out.append(running)
        return tuple(out)

    @property
    def total(self) -> int:
        return sum(self.profit)


@dataclass(frozen=True)
class Performance:
    """Time series over ``[since, until)`` in buckets of one hour or one day."""

    since: dt.datetime
    until: dt.datetime
    bucket: str
    buckets: tuple[dt.datetime, ...]
    tokens: tuple[TokenSeries, ...]
    gas_cost_wei: tuple[int, ...]
    trades: tuple[int, ...]
    successful: tuple[int, ...]
    settled: tuple[int, ...]
    opportunities: tuple[int, ...]
    mode: str = ""
    zone: dt.tzinfo = field(default=dt.UTC)
    # Every trade of the range as read (see trade_facts), for the figures in a currency.
    facts: tuple[breakdown.TradeFacts, ...] = field(default=(), repr=False, compare=False)

    @property
    def bucket_hours(self) -> int:
        return 1 if self.bucket == "hour" else 24


def _bucket_starts(since: dt.datetime, until: dt.datetime, bucket: str, zone: dt.tzinfo) -> list:
    """Bucket start times covering ``[since, until)``, aligned in ``zone``."""
    local = since.astimezone(zone)
    starts: list[dt.datetime] = []
    if bucket == "hour":
        current = local.replace(minute=0, second=0, microsecond=0)
        while current < until:
            starts.append(current)
            # Step in UTC so a DST change neither repeats nor skips an hour.
            current = (current.astimezone(dt.UTC) + dt.timedelta(hours=1)).astimezone(zone)
    else:
        day = local.date()
        while True:
            start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
            if start >= until:
                break
            starts.append(start)
            day += dt.timedelta(days=1)
    return starts


def performance(
    *,
    since: dt.datetime,
    until: dt.datetime,
    bucket: str | None = None,
    mode: str = "",
    zone: dt.tzinfo | None = None,
    with_hops: bool = False,
) -> Performance:
    """Profit, gas, success and opportunity series, summed exactly.

    ``bucket`` is ``"hour"`` or ``"day"``; by default hours for ranges up to two
    days, days beyond. Buckets are aligned to the operator's time zone. The
    trades are read once (``facts``; with their hops when ``with_hops``) and
    summed in Python with integers; opportunities are counted in the database.
    """
    zone = zone or operator_zone()
    if bucket not in {"hour", "day"}:
        bucket = "hour" if until - since <= dt.timedelta(days=2) else "day"
    trunc = TruncHour if bucket == "hour" else TruncDay
    starts = _bucket_starts(since, until, bucket, zone)
    index = {int(start.timestamp()): i for i, start in enumerate(starts)}
    size = len(starts)

    def slot(moment: dt.datetime) -> int | None:
        return index.get(int(moment.timestamp()))

    # One read of the trades serves every figure: the per-token series here,
    # and the figures in a currency and their breakdown (see ``trade_facts``).
    facts = trade_facts(since=since, until=until, mode=mode, starts=starts, with_hops=with_hops)
    gas = [0] * size
    n_trades = [0] * size
    ok = [0] * size
    settled = [0] * size
    profit: dict[int, list[int]] = {}
    meta: dict[int, tuple[str, int]] = {}
    counts: dict[int, int] = {}
    token_ok: dict[int, int] = {}
    token_gas: dict[int, int] = {}
    nets: dict[int, list[int]] = {}
    for fact in facts:
        token_id = fact.start_token_id
        if token_id not in meta:
            meta[token_id] = (fact.start_symbol, fact.start_decimals)
            profit[token_id] = [0] * size
            counts[token_id] = token_ok[token_id] = token_gas[token_id] = 0
            nets[token_id] = [0, 0]
        counts[token_id] += 1
        token_ok[token_id] += fact.successful
        token_gas[token_id] += fact.gas_cost_wei or 0
        if fact.net_profit is not None:
            # The range's net at each trade's own prices, as net_totals does.
            native_price = fact.native_price
            if not native_price and token_id == fact.wrapped_native_id:
                native_price = valuation.NATIVE_UNIT
            value = valuation.value_of(fact.net_profit, native_price, fact.native_usd_price)
            nets[token_id][0] += value.native_wei or 0
            nets[token_id][1] += value.usd_micros or 0
        i = fact.bucket
        if i is None:
            continue
        if fact.net_profit is not None:
            profit[token_id][i] += fact.net_profit
        gas[i] += fact.gas_cost_wei or 0
        n_trades[i] += 1
        ok[i] += fact.successful
        settled[i] += fact.settled

    opportunities = [0] * size
    opp_rows = (
        Opportunity.objects.since(since)
        .until(until)
        .order_by()
        .annotate(bucket=trunc("detected_at", tzinfo=zone))
        .values("bucket")
        .annotate(n=Count("id"))
    )
    for opp_row in opp_rows:
        i = slot(opp_row["bucket"])
        if i is not None:
            opportunities[i] += opp_row["n"]

    tokens = tuple(
        TokenSeries(
            token_id=token_id,
            symbol=meta[token_id][0],
            decimals=meta[token_id][1],
            profit=tuple(values),
            trades=counts[token_id],
            net_native_wei=nets[token_id][0],
            net_usd_micros=nets[token_id][1],
            successful=token_ok[token_id],
            gas_cost_wei=token_gas[token_id],
        )
        for token_id, values in sorted(profit.items(), key=lambda item: meta[item[0]][0])
    )
    return Performance(
        since=since,
        until=until,
        bucket=bucket,
        buckets=tuple(starts),
        tokens=tokens,
        gas_cost_wei=tuple(gas),
        trades=tuple(n_trades),
        successful=tuple(ok),
        settled=tuple(settled),
        opportunities=tuple(opportunities),
        mode=mode,
        zone=zone,
        facts=tuple(facts),
    )


UNKNOWN_DEX = "unknown DEX"


def trade_facts(
    *,
    since: dt.datetime,
    until: dt.datetime,
    mode: str = "",
    starts: list[dt.datetime] | None = None,
    with_hops: bool = True,
) -> list[breakdown.TradeFacts]:
    """Each trade of ``[since, until)`` as the breakdown sees it, in three queries.

    One query reads only the columns needed, one the pools and their DEXs,
    one the tokens' symbols. Currency conversion is per trade (each at its own
    prices), so the sums are made in Python; the path is read as JSON text and
    decoded once per distinct text, since many trades repeat a few cycles. With
    bucket ``starts``, each trade carries the index of its time bucket.
    """
    trades = Trade.objects.since(since).until(until)
    if mode:
        trades = trades.in_mode(mode)
    rows = trades.order_by().values_list(
        "status",
        "net_profit",
        "gas_cost_wei",
        "native_price",
        "native_usd_price",
        "opportunity__start_token_id",
        "opportunity__start_token__symbol",
        "opportunity__start_token__decimals",
        "opportunity__network__wrapped_native_token_id",
        "created_at",
        Cast("opportunity__path", TextField()) if with_hops else Value(""),
    )
    raw = list(rows.iterator(chunk_size=5000))

    paths: dict[str, list[dict[str, str]]] = {}
    for row in raw:
        text = row[10]
        if text and text not in paths:
            decoded = json.loads(text)
            paths[text] = decoded if isinstance(decoded, list) else []
    hops_of = _resolve_hops(paths)

    # Bucket starts are aligned in the operator's zone: a trade belongs to the
    # last start at or before it.
    moments = [start.timestamp() for start in starts or []]
    facts = []
    for status, net, gas, price, usd, token_id, symbol, decimals, wrapped_id, created, text in raw:
        bucket = None
        if moments:
            position = bisect_right(moments, created.timestamp()) - 1
            bucket = position if position >= 0 else None
        facts.append(
            breakdown.TradeFacts(
                status=status,
                net_profit=net,
                gas_cost_wei=gas,
                native_price=price,
                native_usd_price=usd,
                start_token_id=token_id,
                start_symbol=symbol,
                start_decimals=decimals,
                wrapped_native_id=wrapped_id,
                bucket=bucket,
                hops=hops_of.get(text, ()),
            )
        )
    return facts


def _resolve_hops(paths: dict[str, list[dict[str, str]]]) -> dict[str, tuple[breakdown.Hop, ...]]:
    """Each path's hops with DEX names and token symbols (two queries for all of them)."""
    pool_addresses: set[str] = set()
    token_addresses: set[str] = set()
    for path in paths.values():
        for hop in path:
            pool_addresses.add(str(hop.get("pool") or ""))
            token_addresses.add(str(hop.get("token_in") or ""))
            token_addresses.add(str(hop.get("token_out") or ""))
    pool_addresses.discard("")
    token_addresses.discard("")
    if not pool_addresses and not token_addresses:
        return {}
    # The address fields checksum what they are given: paths match in any case.
    dexes = {
        address.lower(): dex
        for address, dex in Pool.objects.filter(address__in=pool_addresses).values_list(
            "address", "dex__name"
        )
    }
    symbols = {
        address.lower(): symbol
        for address, symbol in Token.objects.filter(address__in=token_addresses).values_list(
            "address", "symbol"
        )
    }
    out = {}
    for text, path in paths.items():
        hops = []
        for hop in path:
            token_in = str(hop.get("token_in") or "").lower()
            token_out = str(hop.get("token_out") or "").lower()
            hops.append(
                breakdown.Hop(
                    token_in=token_in,
                    token_out=token_out,
                    dex=dexes.get(str(hop.get("pool") or "").lower(), UNKNOWN_DEX),
                    symbol_in=symbols.get(token_in, _short(token_in)),
                    symbol_out=symbols.get(token_out, _short(token_out)),
                )
            )
        out[text] = tuple(hops)
    return out


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def now() -> dt.datetime:
    """The current time (a seam for tests and callers that need one clock)."""
    return timezone.now()


# --- Profit distribution and balances ---------------------------------------------------------


@dataclass(frozen=True)
class RecipientTotal:
    """Exact total paid to one recipient in one token (confirmed payouts only)."""

    recipient: str
    label: str
    symbol: str
    decimals: int
    paid: int
    payouts: int


def recipient_totals() -> list[RecipientTotal]:
    """What each recipient has received, per token, from confirmed payouts."""
    labels = dict(ProfitRecipient.objects.values_list("address", "label"))
    rows = (
        DistributionPayout.objects.filter(status=PayoutStatus.CONFIRMED)
        .order_by()
        .values("recipient", "distribution__token__symbol", "distribution__token__decimals")
        .annotate(paid=AmountSum("amount"), n=Count("id"))
        .order_by("distribution__token__symbol", "recipient")
    )
    return [
        RecipientTotal(
            recipient=row["recipient"],
            label=labels.get(row["recipient"], ""),
            symbol=row["distribution__token__symbol"],
            decimals=row["distribution__token__decimals"],
            paid=row["paid"],
            payouts=row["n"],
        )
        for row in rows
    ]


def distribution_history(limit: int = 50) -> list[Distribution]:
    """The latest distributions with their token and payouts (two queries)."""
    return list(Distribution.objects.select_related("token").prefetch_related("payouts")[:limit])


def profit_recipients() -> list[ProfitRecipient]:
    return list(ProfitRecipient.objects.order_by("-active", "-share_bps", "id"))


def recent_control_changes(limit: int) -> list[ControlChange]:
    """The newest kill-switch changes (who paused or resumed, when, why)."""
    return list(ControlChange.objects.select_related("user")[:limit])
