"""Opportunities: what the analyzer reads before a scan, and how its findings are stored.

- :func:`analysis_inputs` gathers everything a scan needs from the database
  (network, base tokens, operator limits, enabled pools, token facts) as plain
  frozen data, so the analysis itself never touches the ORM.
- :func:`opportunities_record` writes a scan's profitable cycles. A cycle has at
  most one ``detected`` row: seen again, that row is updated (amounts, block)
  instead of a new one being added; evaluated again and no longer profitable,
  it becomes ``stale`` with the reason. Writes are bulk, so a call costs the
  same handful of queries whether it records one cycle or a thousand, and one
  ``opportunities_recorded`` domain event announces them all after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from trading import events
from trading.analysis import Evaluation, Rejection, SizedCycle
from trading.analysis import evaluation as verdicts
from trading.dex.base import PoolSpec
from trading.formatting import format_amount
from trading.models import (
    READ_GAS_BUDGET_DEFAULT,
    BotConfig,
    Dex,
    Network,
    Opportunity,
    OpportunityStatus,
    Pool,
    Token,
)
from trading.reasons import ReasonCode, reason_code_for
from trading.services.networks import active_network_required
from trading.services.pools import pool_specs_for_network

logger = logging.getLogger(__name__)

# What a detected row's re-detection rewrites (detected_at and first_block stay; its
# path is its cycle's, as its key is): per row, then what one block's recording sets
# alike on every row.
ROW_FIELDS = ["amount_in", "expected_profit", "gas_cost", "net_profit", "native_price"]
BLOCK_FIELDS = ["block_number", "native_usd_price", "updated_at"]
UPDATED_FIELDS = ROW_FIELDS + BLOCK_FIELDS
# Symbols that name a chain's wrapped native token when the network does not say which.
WRAPPED_NATIVE_SYMBOLS = ("WETH", "WETH9")
# Stablecoins that stand for the dollar when the network does not say which, in preference order.
USD_SYMBOLS = ("USDC", "USDBC", "USDT", "DAI")


# --- Reads the analyzer needs -----------------------------------------------------------


@dataclass(frozen=True)
class TokenFacts:
    """A token as the analyzer and its reports see it."""

    address: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class AnalysisInputs:
    """Everything one scan needs from the database, as plain data.

    Amounts named ``*_wei`` are in the native currency (BotConfig's units);
    the scan converts them into each start token at the pools' prices.
    ``wrapped_native_guessed`` says the network has no wrapped native token
    set and a base token was picked by its symbol instead.
    """

    network_id: int
    network_name: str
    chain_id: int
    is_op_stack: bool
    base_tokens: tuple[str, ...]
    wrapped_native: str | None
    max_hops: int
    max_trade_size_wei: int
    min_net_profit_wei: int
    pools: tuple[PoolSpec, ...]
    tokens: Mapping[str, TokenFacts] = field(default_factory=dict)
    enabled_dexes: tuple[str, ...] = ()
    wrapped_native_guessed: bool = False
    mode: str = "dry_run"
    # The dollar reference: a stablecoin and, optionally, the pool that prices the native in it.
    usd_token: str | None = None
    usd_token_decimals: int = 6
    usd_pool: str | None = None
    # Gas one batched pool-state read may be planned to use (Network.read_gas_budget).
    read_gas_budget: int = READ_GAS_BUDGET_DEFAULT


def analysis_inputs(*, network: Network | None = None) -> AnalysisInputs:
    """Load what a scan of ``network`` (default: the active one) needs.

    Raises ``ValidationError`` when there is no active network. An empty
    ``enabled_dexes`` or ``pools`` is returned as is: the caller says what to do.
    """
    network = network or active_network_required()
    config = BotConfig.load()
    base = list(network.base_tokens.order_by("symbol").values_list("address", "symbol"))
    wrapped = network.wrapped_native_token
    guessed = False
    if wrapped is None:
        # add_network does not ask for it: a base token called WETH is the usual answer.
        by_symbol = {symbol.upper(): address for address, symbol in base}
        wrapped_address = next(
            (by_symbol[s] for s in WRAPPED_NATIVE_SYMBOLS if s in by_symbol), None
        )
        guessed = wrapped_address is not None
    else:
        wrapped_address = wrapped.address
    usd_token, usd_decimals = _usd_token(network, base)
    reference = network.usd_reference_pool
    usd_pool = reference.address if reference is not None else None
    pools = pool_specs_for_network(network)
    used = {address for spec in pools for address in (spec.token0, spec.token1)}
    used.update(address for address, _ in base)
    if wrapped_address:
        used.add(wrapped_address)
    tokens = {
        address: TokenFacts(address, symbol, decimals)
        for address, symbol, decimals in Token.objects.filter(
            network=network, address__in=sorted(used)
        ).values_list("address", "symbol", "decimals")
    }
    dexes = tuple(
        Dex.objects.filter(network=network, enabled=True)
        .order_by("name")
        .values_list("name", flat=True)
    )
    return AnalysisInputs(
        network_id=network.pk,
        network_name=network.name,
        chain_id=network.chain_id,
        is_op_stack=network.is_op_stack,
        base_tokens=tuple(address for address, _ in base),
        wrapped_native=wrapped_address,
        max_hops=config.max_hops,
        max_trade_size_wei=config.max_trade_size_wei,
        min_net_profit_wei=config.min_net_profit_wei,
        pools=tuple(pools),
        tokens=tokens,
        enabled_dexes=dexes,
        wrapped_native_guessed=guessed,
        mode=config.mode,
        usd_token=usd_token,
        usd_token_decimals=usd_decimals,
        usd_pool=usd_pool,
        read_gas_budget=network.read_gas_budget,
    )


def _usd_token(network: Network, base: list[tuple[str, str]]) -> tuple[str | None, int]:
    """The stablecoin counted as the dollar: the network's choice, else a base token by symbol."""
    if network.usd_token_id:
        token = network.usd_token
        assert token is not None
        return token.address, token.decimals
    by_symbol = {symbol.upper(): address for address, symbol in base}
    address = next((by_symbol[s] for s in USD_SYMBOLS if s in by_symbol), None)
    if address is None:
        return None, 6
    decimals = Token.objects.filter(network=network, address=address).values_list(
        "decimals", flat=True
    )
    return address, decimals.first() or 6


# --- Recording ----------------------------------------------------------------------------


class ProfitableCycle(Protocol):
    """What :func:`opportunities_record` needs per cycle: its sizing and its profit."""

    @property
    def sized(self) -> SizedCycle: ...

    @property
    def evaluation(self) -> Evaluation: ...


@dataclass(frozen=True)
class RecordResult:
    """Which opportunity rows one call created, updated and made stale (ids)."""

    created: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    staled: tuple[int, ...] = ()

    @property
    def changed(self) -> tuple[int, ...]:
        """Every id whose row changed, for publishing events."""
        return self.created + self.updated + self.staled


# Up to this many judged cycle keys, only their own rows are read (one indexed lookup).
FEW_KEYS = 500


def opportunities_record(
    *,
    network: Network,
    block_number: int,
    evaluations: Iterable[ProfitableCycle],
    evaluated_keys: Collection[str] | None = None,
    reasons: Mapping[str, Rejection | str] | None = None,
    native_prices: Mapping[str, int] | None = None,
    native_usd_price: int | None = None,
) -> RecordResult:
    """Store the profitable cycles of a scan at ``block_number``.

    ``evaluations`` are the cycles worth an opportunity. ``evaluated_keys``
    are the cycle keys this scan looked at: ``None`` means every cycle of the
    network (a full scan), so every other detected opportunity of the
    network becomes stale; otherwise only detected opportunities among those
    keys can. ``reasons`` says per cycle key why it no longer pays (a
    :class:`Rejection`, said here in the start token's units, or words).

    A cycle with a detected row gets that row updated; one whose row is being
    executed gets no new row (the executor owns that gap). Rows are locked
    for the duration, so a claim waits for the write instead of racing it.
    """
    reasons = reasons or {}
    prices = Prices(native_prices or {}, native_usd_price)
    latest: dict[str, ProfitableCycle] = {}
    for item in evaluations:
        latest[item.sized.cycle.key] = item  # a key seen twice keeps its last evaluation
    now = timezone.now()
    with transaction.atomic():
        if evaluated_keys is not None and len(evaluated_keys) <= FEW_KEYS:
            # A few cycles judged (the best of a busy block): only their rows can change.
            candidates = open_by_cycle(network, {*latest, *evaluated_keys})
        elif evaluated_keys is not None:
            # Many judged (thousands, listed only on demand): the open rows' keys first,
            # as plain values, then only the rows those keys and the findings can change,
            # locked and read whole. Their status is read again under the lock.
            open_keys = open_by_network(network).values_list("cycle_key", flat=True)
            judged = [key for key in open_keys if key in evaluated_keys]
            candidates = open_by_cycle(network, {*latest, *judged})
        else:
            candidates = open_by_network(network)
        open_rows = list(
            # The start token comes along (not locked) to say a stale row's reason in its units.
            candidates.select_for_update(of=("self",))
            .select_related("start_token")
            .only("id", "cycle_key", "status", "start_token__decimals", "start_token__symbol")
        )
        detected = {r.cycle_key: r for r in open_rows if r.status == OpportunityStatus.DETECTED}
        executing = {r.cycle_key for r in open_rows if r.status == OpportunityStatus.EXECUTING}

        to_update = []
        fresh: list[ProfitableCycle] = []
        for key, item in latest.items():
            row = detected.get(key)
            if row is not None:
                _apply(row, item, block_number, now, prices)
                to_update.append(row)
            elif key not in executing:
                fresh.append(item)

        created = list(_create(network, block_number, fresh, now, prices).values())
        if to_update:
            # A CASE per row and field costs the ORM far more than the statement costs
            # the database: the fields the block sets alike go in a plain update.
            detected_rows = Opportunity.objects.filter(status=OpportunityStatus.DETECTED)
            detected_rows.bulk_update(to_update, ROW_FIELDS)
            alike = to_update[0]  # every row has this block's values (_apply)
            detected_rows.filter(pk__in=[row.pk for row in to_update]).update(
                **{field: getattr(alike, field) for field in BLOCK_FIELDS}
            )

        # Asked key by key: a block's evaluated keys are many and only listed on demand.
        scope = (
            detected.keys()
            if evaluated_keys is None
            else {key for key in detected if key in evaluated_keys}
        )
        staled = [detected[key] for key in sorted(scope) if key not in latest]
        for row in staled:
            row.status = OpportunityStatus.STALE
            token = row.start_token
            words, code = _stale_reason(
                reasons.get(row.cycle_key), (token.decimals, token.symbol), block_number
            )
            row.status_reason = words[:2000]
            row.reason_code = code
            row.updated_at = now
        if staled:
            Opportunity.objects.filter(status=OpportunityStatus.DETECTED).bulk_update(
                staled, ["status", "status_reason", "reason_code", "updated_at"]
            )
        # One event per call (the engine records once per block), sent after commit.
        events.opportunities_recorded_after_commit(
            created=created,
            updated=[row.pk for row in to_update],
            staled=[row.pk for row in staled],
        )
    return RecordResult(
        created=tuple(created),
        updated=tuple(row.pk for row in to_update),
        staled=tuple(row.pk for row in staled),
    )


def open_by_network(network: Network) -> QuerySet[Opportunity]:
    """Every open (detected or executing) row of ``network``."""
    return Opportunity.objects.filter(
        network=network, status__in=[OpportunityStatus.DETECTED, OpportunityStatus.EXECUTING]
    )


def open_by_cycle(network: Network, keys: Iterable[str]) -> QuerySet[Opportunity]:
    """The open (detected or executing) rows of these cycles: by key, through the
    ``opportunity_open_by_cycle`` index."""
    return open_by_network(network).filter(cycle_key__in=sorted(keys))


@dataclass(frozen=True)
class RowIds:
    """Row ids by lower-case address, of start tokens and of pools."""

    tokens: Mapping[str, int]
    pools: Mapping[str, int]


def opportunities_claim(
    *,
    network: Network,
    items: Sequence[tuple[ProfitableCycle, int]],
    native_prices: Mapping[str, int] | None = None,
    native_usd_price: int | None = None,
    ids: RowIds | None = None,
) -> dict[str, int]:
    """Write the rows of the findings a block trades, claimed (``executing``): key -> id.

    ``items`` are (finding, the block it was judged at). A cycle with a detected
    row gets that row updated and claimed, one without an open row a new one; a
    cycle whose row is being executed already is not claimed (not in the answer).
    ``ids``: the start tokens' and pools' row ids, when the caller has read them.
    The engine decides from its findings in memory: these are the only rows it
    writes before its trades are sent.
    """
    prices = Prices(native_prices or {}, native_usd_price)
    latest = {item.sized.cycle.key: (item, block) for item, block in items}
    if not latest:
        return {}
    now = timezone.now()
    with transaction.atomic():
        open_rows = list(
            open_by_cycle(network, latest).select_for_update().only("id", "cycle_key", "status")
        )
        detected = {r.cycle_key: r for r in open_rows if r.status == OpportunityStatus.DETECTED}
        executing = {r.cycle_key for r in open_rows if r.status == OpportunityStatus.EXECUTING}
        to_update = []
        fresh: dict[int, list[ProfitableCycle]] = {}
        for key, (item, block) in latest.items():
            row = detected.get(key)
            if row is not None:
                _apply(row, item, block, now, prices)
                row.status = OpportunityStatus.EXECUTING
                to_update.append(row)
            elif key not in executing:
                fresh.setdefault(block, []).append(item)
        created: dict[str, int] = {}
        for block, found in fresh.items():
            created.update(
                _create(network, block, found, now, prices, OpportunityStatus.EXECUTING, ids)
            )
        if to_update:
            Opportunity.objects.filter(status=OpportunityStatus.DETECTED).bulk_update(
                to_update, [*UPDATED_FIELDS, "status"]
            )
        events.opportunities_recorded_after_commit(
            created=list(created.values()), updated=[row.pk for row in to_update]
        )
    claimed = {row.cycle_key: row.pk for row in to_update}
    claimed.update(created)
    return {key: claimed[key] for key in latest if key in claimed}


# A rejection's kind (trading.analysis.evaluation) -> the reason category of its row.
REJECTION_CODES: dict[str, ReasonCode] = {
    verdicts.NO_STATE: ReasonCode.UNQUOTABLE,
    verdicts.UNQUOTABLE: ReasonCode.UNQUOTABLE,
    verdicts.NO_TERMS: ReasonCode.UNQUOTABLE,
    verdicts.SIZE_LIMIT: ReasonCode.TRADE_SIZE,
    verdicts.CEILING_BELOW_MINIMUM: ReasonCode.BELOW_THRESHOLD,
    verdicts.CEILING_BELOW_NEEDED: ReasonCode.BELOW_THRESHOLD,
    verdicts.GROSS_BELOW_NEEDED: ReasonCode.BELOW_THRESHOLD,
    verdicts.NET_BELOW_MINIMUM: ReasonCode.BELOW_THRESHOLD,
    verdicts.NO_LONGER_PAYS: ReasonCode.BELOW_THRESHOLD,
}


def _stale_reason(
    reason: Rejection | str | None, units: tuple[int, str], block_number: int
) -> tuple[str, str]:
    """The words (amounts in the start token's units) and the category of a stale row."""
    if reason is None:
        return f"no longer profitable at block {block_number}", ReasonCode.STALE
    if isinstance(reason, str):
        return reason, reason_code_for(reason)
    decimals, symbol = units

    def in_units(amount: int) -> str:
        return format_amount(amount, decimals, symbol)

    return reason.describe(in_units), REJECTION_CODES.get(reason.kind, ReasonCode.OTHER)


@dataclass(frozen=True)
class Prices:
    """A block's reference prices (see :mod:`trading.analysis.valuation`)."""

    native: Mapping[str, int]
    usd: int | None

    def native_price(self, token: str) -> int | None:
        return self.native.get(token) or self.native.get(token.lower())


def _apply(
    row: Opportunity,
    item: ProfitableCycle,
    block_number: int,
    now: dt.datetime,
    prices: Prices,
) -> None:
    sized, evaluation = item.sized, item.evaluation
    row.native_price = prices.native_price(sized.cycle.start_token)
    row.native_usd_price = prices.usd
    row.amount_in = sized.amount_in
    row.expected_profit = evaluation.gross
    row.gas_cost = evaluation.gas_cost_start_token
    row.net_profit = evaluation.net
    row.path = sized.cycle.path()
    row.block_number = block_number
    row.updated_at = now


def _create(
    network: Network,
    block_number: int,
    items: list[ProfitableCycle],
    now: dt.datetime,
    prices: Prices,
    status: str = OpportunityStatus.DETECTED,
    ids: RowIds | None = None,
) -> dict[str, int]:
    """Insert new rows and their pool links (two queries, plus two lookups unless
    ``ids`` has them): key -> id."""
    if not items:
        return {}
    if ids is None:
        start_addresses = {item.sized.cycle.start_token for item in items}
        pool_addresses = {pool for item in items for pool in item.sized.cycle.pools}
        # Keyed by lower case: a cycle may spell an address in another case than the row.
        ids = RowIds(
            tokens={
                address.lower(): pk
                for address, pk in Token.objects.filter(
                    network=network, address__in=sorted(start_addresses)
                ).values_list("address", "id")
            },
            pools={
                address.lower(): pk
                for address, pk in Pool.objects.filter(
                    dex__network=network, address__in=sorted(pool_addresses)
                ).values_list("address", "id")
            },
        )
    tokens, pools = ids.tokens, ids.pools
    rows = []
    links = []
    for item in items:
        cycle = item.sized.cycle
        token_id = tokens.get(cycle.start_token.lower())
        if token_id is None:
            logger.warning("cycle %s: start token is not a known token; not recorded", cycle.key)
            continue
        row = Opportunity(
            network=network,
            start_token_id=token_id,
            cycle_key=cycle.key,
            first_block=block_number,
            block_number=block_number,
            detected_at=now,
            status=status,
        )
        _apply(row, item, block_number, now, prices)
        rows.append(row)
        links.append([pools[p.lower()] for p in cycle.pools if p.lower() in pools])
    Opportunity.objects.bulk_create(rows)
    through = Opportunity.pools.through
    through.objects.bulk_create(
        [
            through(opportunity_id=row.pk, pool_id=pool_id)
            for row, pool_ids in zip(rows, links, strict=True)
            for pool_id in dict.fromkeys(pool_ids)
        ]
    )
    return {row.cycle_key: row.pk for row in rows}
