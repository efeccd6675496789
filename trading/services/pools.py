"""Pools: discover the pools of enabled DEXs and keep the useful ones.

``pools_sync`` resumes each DEX from its ``discovery_cursor``, so re-runs only
look at pools created since. A pool is kept when both tokens are usable
(symbol and decimals readable), allowed by the network's token allow-list, and
the pool holds at least each token's ``min_liquidity``; every other pool is
counted under its reason, logged, and not stored. The cursor is saved after
every page, so an interrupted sync loses nothing. A factory entry that could
not be read (its ``allPairs``/``allPools`` call reverted) is not skipped for
good: its index is kept in ``Dex.discovery_unread`` and read again first by
every later sync (the command and the periodic job) until it succeeds.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from trading.amm import (
    PoolState,
    SolidlyPoolState,
    V2PoolState,
    V3PoolState,
    V4PoolState,
    pool_holdings,
)
from trading.dex.base import DexInfo, DiscoveredPool, DiscoveryPage, PoolSpec
from trading.dex.reading import read_states
from trading.dex.registry import family_class
from trading.models import Dex, Network, Pool, Token
from trading.services.chain_access import ChainSession
from trading.services.networks import active_network_required
from trading.services.tokens import tokens_ensure

logger = logging.getLogger(__name__)

# Called as progress(dex name, done, total) after every discovery page.
SyncProgress = Callable[[str, int, int], None]

REASON_ALLOWLIST = "token not in the network's allow-list"
REASON_LIQUIDITY = "below minimum liquidity"
REASON_UNREADABLE = "pool state unreadable"


@dataclass
class DexSyncReport:
    """What one DEX's sync did."""

    dex: str
    kind: str
    added: int = 0
    known: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    cursor_before: int = 0
    cursor_after: int = 0
    round_trips: int = 0
    error: str = ""
    # Factory entries read again (left unread by an earlier sync) and those still unread.
    retried: int = 0
    unread: list[int] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        """Pools left out, whatever the reason."""
        return sum(self.skipped.values())


@dataclass
class SyncReport:
    """What ``pools_sync`` did, per DEX."""

    dexes: list[DexSyncReport] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(d.added for d in self.dexes)

    @property
    def skipped(self) -> int:
        return sum(d.skipped_total for d in self.dexes)

    @property
    def failed(self) -> bool:
        return any(d.error for d in self.dexes)

    @property
    def unread(self) -> int:
        """Factory entries still unread, kept to be read again by the next sync."""
        return sum(len(d.unread) for d in self.dexes)


def dex_info(dex: Dex) -> DexInfo:
    """The chain-side description of a ``Dex`` row."""
    return DexInfo(
        name=dex.name,
        kind=dex.kind,
        factory=dex.factory,
        fee_bps=dex.fee_bps,
        start_block=dex.start_block,
    )


def pool_spec(pool: Pool) -> PoolSpec:
    """The chain-side description of a ``Pool`` row (tokens and DEX must be loaded).

    A V2-family pool charges its DEX's current ``fee_bps`` (an operator may
    correct it in admin after discovery); other pools carry their own fee.
    """
    fee = pool.dex.fee_bps * 100 if pool.dex.kind == "uniswap_v2" else pool.fee
    return PoolSpec(
        address=pool.address,
        kind=pool.dex.kind,
        token0=pool.token0.address,
        token1=pool.token1.address,
        fee=fee,
        decimals0=pool.token0.decimals,
        decimals1=pool.token1.decimals,
        tick_spacing=pool.tick_spacing,
        stable=pool.stable,
        dex=pool.dex.name,
        **_v4_fields(pool.dex, pool.hooks, pool.dynamic_fee),
    )


def _v4_fields(dex: Dex, hooks: str, dynamic_fee: bool) -> dict[str, Any]:
    # A V4 pool lives in its DEX's PoolManager (the DEX's factory).
    if dex.kind != "uniswap_v4":
        return {}
    return {"manager": dex.factory, "hooks": hooks, "dynamic_fee": dynamic_fee}


def pool_specs_for_network(network: Network) -> list[PoolSpec]:
    """Every enabled pool of the network's enabled DEXs, ready for the DEX manager."""
    pools = (
        Pool.objects.enabled()
        .filter(dex__network=network)
        .select_related("dex", "token0", "token1")
        .order_by("id")
    )
    return [pool_spec(pool) for pool in pools]


def solidly_factories_for_network(network: Network) -> list[str]:
    """Factories of the network's enabled Solidly DEXs (their fee events concern the engine)."""
    return list(
        Dex.objects.filter(network=network, kind="solidly", enabled=True)
        .order_by("name")
        .values_list("factory", flat=True)
    )


def pools_sync(
    *,
    dex_name: str | None = None,
    network: Network | None = None,
    progress: SyncProgress | None = None,
    session: ChainSession | None = None,
) -> SyncReport:
    """Discover new pools of the enabled DEXs (or the one named) of the active network.

    Returns a report per DEX: pools added, already known, skipped and why. A
    DEX whose discovery fails is reported with its error; the others still run.
    """
    network = network or active_network_required()
    dexes = Dex.objects.filter(network=network)
    if dex_name is not None:
        dexes = dexes.filter(name=dex_name)
        if not dexes.exists():
            names = ", ".join(Dex.objects.filter(network=network).values_list("name", flat=True))
            raise Dex.DoesNotExist(
                f"No DEX named {dex_name!r} on {network.name} (known: {names or 'none'})."
            )
    else:
        dexes = dexes.filter(enabled=True)
    report = SyncReport()
    own_session = session is None
    session = session or ChainSession.for_network(network)
    if own_session:
        session.__enter__()
    try:
        for dex in dexes.order_by("name"):
            report.dexes.append(_sync_dex(dex, network, session, progress))
    finally:
        if own_session:
            session.__exit__(None, None, None)
    return report


def _sync_dex(
    dex: Dex, network: Network, session: ChainSession, progress: SyncProgress | None
) -> DexSyncReport:
    client = session.client
    family = family_class(dex.kind)(client, dex_info(dex))
    report = DexSyncReport(dex=dex.name, kind=dex.kind, cursor_before=dex.discovery_cursor)
    report.cursor_after = dex.discovery_cursor
    trips_before = client.round_trips
    known = set(Pool.objects.filter(dex=dex).values_list("address", flat=True))
    allowlist = network.token_allowlist_set
    latest = session.run(client.block_number()) if family.discovers_by_logs else None
    cursor = dex.discovery_cursor
    unread = sorted(set(dex.discovery_unread or []))
    report.unread = unread

    def keep(page: DiscoveryPage) -> list[Pool]:
        for skipped in page.skipped:
            report.skipped[skipped.reason] += 1
            logger.info("%s: skipped pool %s: %s", dex.name, skipped.address, skipped.reason)
        fresh = [p for p in page.pools if p.address not in known]
        report.known += len(page.pools) - len(fresh)
        kept = _filter_pools(dex, network, fresh, allowlist, session, report)
        report.added += len(kept)
        return kept

    try:
        if unread:
            report.retried = len(unread)
            page = session.run(family.rediscover(unread))
            kept = keep(page)
            unread = sorted(page.unread)
            with transaction.atomic():
                Pool.objects.bulk_create(kept, ignore_conflicts=True)
                Dex.objects.filter(pk=dex.pk).update(discovery_unread=unread)
            known.update(p.address for p in kept)
            report.unread = unread
        while True:
            page = session.run(family.discover(cursor, latest_block=latest))
            kept = keep(page)
            unread = sorted({*unread, *page.unread})
            with transaction.atomic():
                Pool.objects.bulk_create(kept, ignore_conflicts=True)
                # The cursor moves past unread entries only together with their record.
                Dex.objects.filter(pk=dex.pk).update(
                    discovery_cursor=page.next_cursor, discovery_unread=unread
                )
            known.update(p.address for p in kept)
            report.unread = unread
            cursor = report.cursor_after = page.next_cursor
            if progress:
                progress(dex.name, page.progress, page.total)
            if page.done:
                break
    except Exception as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        logger.exception("pool discovery of %s failed at cursor %s", dex.name, cursor)
    else:
        Dex.objects.filter(pk=dex.pk).update(last_synced_at=timezone.now())
    if report.unread:
        logger.warning(
            "%s: %d factory entries unreadable (indexes %s), kept to be read again",
            dex.name,
            len(report.unread),
            indexes_text(report.unread),
        )
    report.round_trips = client.round_trips - trips_before
    return report


def indexes_text(indexes: Sequence[int], shown: int = 10) -> str:
    """Pool indexes for a one-line message: the first ``shown``, then how many more."""
    text = ", ".join(str(i) for i in indexes[:shown])
    return f"{text} and {len(indexes) - shown} more" if len(indexes) > shown else text


def _filter_pools(
    dex: Dex,
    network: Network,
    pools: Sequence[DiscoveredPool],
    allowlist: set[str],
    session: ChainSession,
    report: DexSyncReport,
) -> list[Pool]:
    def skip(pool: DiscoveredPool, reason: str) -> None:
        report.skipped[reason] += 1
        logger.info("%s: skipped pool %s: %s", dex.name, pool.address, reason)

    candidates = []
    for pool in pools:
        if allowlist and (pool.token0 not in allowlist or pool.token1 not in allowlist):
            skip(pool, REASON_ALLOWLIST)
        else:
            candidates.append(pool)
    if not candidates:
        return []

    lookup = tokens_ensure(
        network=network,
        addresses={t for p in candidates for t in (p.token0, p.token1)},
        session=session,
    )
    usable: list[tuple[DiscoveredPool, Token, Token]] = []
    for pool in candidates:
        problem = lookup.problems.get(pool.token0) or lookup.problems.get(pool.token1)
        if problem:
            skip(pool, problem)
            continue
        usable.append((pool, lookup.tokens[pool.token0], lookup.tokens[pool.token1]))

    # Reserves are read only when a minimum applies to one of the tokens.
    needs_check = [u for u in usable if u[1].min_liquidity or u[2].min_liquidity]
    states: dict[str, PoolState] = {}
    if needs_check:
        specs = [_spec(dex, pool, t0, t1) for pool, t0, t1 in needs_check]
        batch = session.run(read_states(session.client, specs))
        states = batch.states

    rows = []
    checked = {u[0].address for u in needs_check}
    for pool, token0, token1 in usable:
        state = states.get(pool.address)
        if pool.address in checked:
            if state is None:
                skip(pool, REASON_UNREADABLE)
                continue
            amount0, amount1 = pool_holdings(state)
            if amount0 < (token0.min_liquidity or 0) or amount1 < (token1.min_liquidity or 0):
                skip(pool, REASON_LIQUIDITY)
                continue
        rows.append(_row(dex, pool, token0, token1, state))
    return rows


def _spec(dex: Dex, pool: DiscoveredPool, token0: Token, token1: Token) -> PoolSpec:
    return PoolSpec(
        address=pool.address,
        kind=dex.kind,
        token0=pool.token0,
        token1=pool.token1,
        fee=pool.fee,
        decimals0=token0.decimals,
        decimals1=token1.decimals,
        tick_spacing=pool.tick_spacing,
        stable=pool.stable,
        dex=dex.name,
        **_v4_fields(dex, pool.hooks, pool.dynamic_fee),
    )


def _row(
    dex: Dex, pool: DiscoveredPool, token0: Token, token1: Token, state: PoolState | None
) -> Pool:
    row = Pool(
        dex=dex,
        address=pool.address,
        token0=token0,
        token1=token1,
        fee=pool.fee,
        tick_spacing=pool.tick_spacing,
        stable=pool.stable,
        hooks=pool.hooks,
        dynamic_fee=pool.dynamic_fee,
        created_block=pool.created_block,
        factory_confirmed=True,  # listed by the factory itself
    )
    if state is not None:
        pool_apply_state(row, state)
    return row


def pool_apply_state(pool: Pool, state: PoolState) -> Pool:
    """Copy a snapshot's numbers onto a ``Pool`` row (not saved)."""
    if isinstance(state, V2PoolState | SolidlyPoolState):
        pool.reserve0, pool.reserve1 = state.reserve0, state.reserve1
    elif isinstance(state, V3PoolState):
        pool.sqrt_price_x96 = state.sqrt_price_x96
        pool.liquidity = state.liquidity
        pool.tick = state.tick
        if isinstance(state, V4PoolState) and pool.dynamic_fee:
            pool.fee = state.fee
    pool.state_block = state.block_number
    return pool


def pool_states_save(*, states: Sequence[PoolState], dex_network: Network | None = None) -> int:
    """Persist snapshots onto their ``Pool`` rows (for the dashboard); returns rows updated.

    Meant for occasional calls (every few blocks), not every block: the engine
    trades from memory.
    """
    by_address = {s.address: s for s in states}
    pools = Pool.objects.filter(address__in=list(by_address))
    if dex_network is not None:
        pools = pools.filter(dex__network=dex_network)
    changed = []
    for pool in pools:
        pool_apply_state(pool, by_address[pool.address])
        changed.append(pool)
    Pool.objects.bulk_update(
        changed,
        ["reserve0", "reserve1", "sqrt_price_x96", "liquidity", "tick", "fee", "state_block"],
    )
    return len(changed)
