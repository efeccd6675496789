"""The engine's view of every watched pool, kept current block by block.

:class:`DexManager` holds one immutable :mod:`trading.amm` snapshot per pool.
``refresh_all()`` reads every pool (``ceil(pools / 500)`` round trips, Solidly
fees included); after that, ``update(block)`` asks for the block's
Sync/Swap/Mint/Burn logs in one ``eth_getLogs`` and brings the pools they
name to that block. Where the logs carry the whole new state it is applied
from them with no read: a V2 or Solidly pool's last ``Sync`` gives its
reserves, and a V3 pool that only swapped (no Mint/Burn) takes price,
liquidity and tick from its last ``Swap`` as long as the tick stays in the
bitmap word it was read around (its ticks are unchanged). Every other pool
is re-read at that block. Pools added since the last read are read with the
next update. Processing the same block twice rewrites the same states.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from trading.amm import PoolState, SolidlyPoolState, V2PoolState, V3PoolState
from trading.chain import readers
from trading.chain.client import ChainClient, RpcError
from trading.dex import solidly, uniswap_v2, uniswap_v3
from trading.dex.base import PoolSpec
from trading.dex.reading import DEFAULT_GAS_BUDGET, DEFAULT_WORD_RADIUS, StateBatch, read_states
from trading.dex.registry import FAMILIES
from trading.dex.slipstream import FEE_MODULE_TOPICS
from trading.dex.solidly import SET_CUSTOM_FEE
from trading.dex.uniswap_v4 import pool_id_topic
from trading.lifecycle import Component

logger = logging.getLogger(__name__)

# How long a block announced before the node serves its logs is waited for (seconds),
# and how often the node's head is asked meanwhile.
HEAD_WAIT = 0.5
HEAD_POLL = 0.02


def state_topics() -> list[str]:
    """Every pool event topic that means a state change, across families (deduplicated)."""
    topics: list[str] = []
    for family in FAMILIES.values():
        for topic in family.state_topics:
            if topic not in topics:
                topics.append(topic)
    return topics


class DexManager(Component):
    """Pool states in memory: full reads when needed, log-driven re-reads per block."""

    name = "dex"

    def __init__(
        self,
        client: ChainClient,
        pools: Sequence[PoolSpec] = (),
        *,
        solidly_factories: Iterable[str] = (),
        word_radius: int = DEFAULT_WORD_RADIUS,
        chunk_size: int = readers.MAX_POOLS_PER_CALL,
        gas_budget: int = DEFAULT_GAS_BUDGET,
        concurrency: int = 4,
    ) -> None:
        super().__init__()
        self.client = client
        self.word_radius = word_radius
        self.chunk_size = chunk_size
        self.gas_budget = gas_budget
        self.concurrency = concurrency
        self._pools: dict[str, PoolSpec] = {}
        self._by_lower: dict[str, str] = {}
        self._states: dict[str, PoolState] = {}
        self._pending: set[str] = set()
        self._solidly_factories = {f.lower() for f in solidly_factories}
        # Uniswap V4: the PoolManagers whose logs name a pool by id, not by emitter.
        self._v4_managers: set[str] = set()
        self.failed: dict[str, str] = {}
        self.last_block: int | None = None
        # Seconds the last update() spent reading logs, then re-reading pools.
        self.last_update_seconds: tuple[float, float] = (0.0, 0.0)
        self.set_pools(pools)

    # ---- pools and states -------------------------------------------------

    @property
    def pools(self) -> Mapping[str, PoolSpec]:
        """Watched pools by (checksummed) address."""
        return MappingProxyType(self._pools)

    @property
    def states(self) -> Mapping[str, PoolState]:
        """The latest snapshot of every readable pool, by address (read-only view)."""
        return MappingProxyType(self._states)

    def state(self, address: str) -> PoolState | None:
        """The snapshot of one pool, or None when unknown or unreadable."""
        key = self._by_lower.get(address.lower())
        return self._states.get(key) if key else None

    def set_pools(
        self, pools: Sequence[PoolSpec], *, solidly_factories: Iterable[str] = ()
    ) -> None:
        """Watch exactly ``pools``: new ones are read with the next update, gone ones dropped."""
        new = {p.address: p for p in pools}
        for address in set(self._pools) - set(new):
            self._states.pop(address, None)
            self.failed.pop(address, None)
        self._pending |= {a for a, p in new.items() if self._pools.get(a) != p}
        self._pending &= set(new)
        self._pools = new
        self._by_lower = {a.lower(): a for a in new}
        self._solidly_factories |= {f.lower() for f in solidly_factories}
        self._v4_managers = {p.manager.lower() for p in new.values() if p.manager}

    # ---- lifecycle -----------------------------------------------------------

    async def _initialize(self) -> None:
        await self.refresh_all()

    # ---- reads ----------------------------------------------------------------

    async def refresh_all(self, block: int | str = "latest") -> StateBatch:
        """Read every watched pool (with Solidly fees) and replace all states."""
        batch = await self._read(list(self._pools.values()), block, with_fee=True)
        self._states = {a: s for a, s in batch.states.items() if a in self._pools}
        for address, state in self._states.items():
            self._remember_fee(self._pools[address], state)
        self.failed = dict(batch.failed)
        self._pending.clear()
        self.last_block = batch.block_number
        self.count("full_refreshes")
        return batch

    async def refresh(
        self, addresses: Iterable[str], block: int | str = "latest", *, with_fee: bool = False
    ) -> StateBatch:
        """Re-read some pools and update their states."""
        specs = [self._pools[a] for a in self._resolve(addresses)]
        batch = await self._read(specs, block, with_fee=with_fee)
        self._apply(specs, batch)
        return batch

    async def _logs(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``eth_getLogs``; asked again once when the node had not reached ``toBlock`` yet.

        A block is announced (a subscription, another endpoint) a moment before
        the node asked serves its logs ("block height is N but requested was
        N+1"): waited for, at most ``HEAD_WAIT`` seconds, rather than failing
        the block.
        """
        try:
            return await self.client.get_logs(params)
        except RpcError:
            if not await self._reached(params["toBlock"]):
                raise
            self.count("logs_asked_again")
            return await self.client.get_logs(params)

    async def _reached(self, block_number: int) -> bool:
        """Whether the node's head reaches ``block_number`` within ``HEAD_WAIT`` seconds."""
        loop = asyncio.get_running_loop()
        until = loop.time() + HEAD_WAIT
        while await self.client.block_number() < block_number:
            if loop.time() >= until:
                return False
            await asyncio.sleep(HEAD_POLL)
        return True

    async def update(self, block_number: int, *, from_block: int | None = None) -> set[str]:
        """Bring states to ``block_number`` from its logs (or from ``from_block`` on).

        Returns the addresses whose state was re-read.
        """
        start = block_number if from_block is None else from_block
        began = time.perf_counter()
        logs = await self._logs(
            {"fromBlock": start, "toBlock": block_number, "topics": [self._topics()]}
        )
        logs_read = time.perf_counter()
        changed, fee_changed = self._pools_in(logs)
        # A dynamic fee changes without a log: such pools are read every block.
        dynamic = {a for a, p in self._pools.items() if p.dynamic_fee}
        targets = changed | fee_changed | self._pending | dynamic
        carried = changed - fee_changed - self._pending - dynamic
        from_logs = self._states_from_logs(logs, block_number, carried)
        self._states.update(from_logs)
        to_read = targets - from_logs.keys()
        if to_read:
            specs = [self._pools[a] for a in to_read]
            batch = await self._read(
                specs, block_number, with_fee=False, fee_for=fee_changed | self._pending
            )
            self._apply(specs, batch)
            self._pending -= targets
        self.last_block = block_number
        # Stage timings for the engine's metrics: reading the logs, then the pools.
        self.last_update_seconds = (logs_read - began, time.perf_counter() - logs_read)
        self.count("blocks")
        self.count("log_updates", len(targets))
        self.count("states_from_logs", len(from_logs))
        return targets

    # ---- internals ------------------------------------------------------------

    def _topics(self) -> list[str]:
        topics = state_topics()
        if self._solidly_factories:
            topics.append(SET_CUSTOM_FEE)
        if any(p.kind == "slipstream" for p in self._pools.values()):
            topics.extend(FEE_MODULE_TOPICS)
        return topics

    def _pools_in(self, logs: Sequence[dict[str, Any]]) -> tuple[set[str], set[str]]:
        changed: set[str] = set()
        fee_changed: set[str] = set()
        for log in logs:
            emitter = str(log.get("address", "")).lower()
            topics = log.get("topics") or []
            if topics and topics[0] == SET_CUSTOM_FEE and emitter in self._solidly_factories:
                if len(topics) > 1:
                    pool = "0x" + str(topics[1])[-40:]
                    key = self._by_lower.get(pool.lower())
                    if key:
                        fee_changed.add(key)
                continue
            if topics and topics[0] in FEE_MODULE_TOPICS:
                # From whichever fee module the factory uses: at worst a needless re-read.
                if len(topics) > 1:
                    key = self._by_lower.get("0x" + str(topics[1])[-40:].lower())
                    if key and self._pools[key].kind == "slipstream":
                        changed.add(key)
                continue
            if emitter in self._v4_managers:
                # The PoolManager emits for all its pools: the id is the first topic.
                if len(topics) > 1:
                    key = self._by_lower.get(pool_id_topic(topics[1]))
                    if key:
                        changed.add(key)
                continue
            key = self._by_lower.get(emitter)
            if key:
                changed.add(key)
        return changed, fee_changed

    def _states_from_logs(
        self, logs: Sequence[dict[str, Any]], block_number: int, candidates: set[str]
    ) -> dict[str, PoolState]:
        """New states of the ``candidates`` whose logs carry all of it (see the module doc)."""
        by_pool: dict[str, list[dict[str, Any]]] = {}
        for log in logs:
            key = self._by_lower.get(str(log.get("address", "")).lower())
            if key in candidates:
                by_pool.setdefault(key, []).append(log)
        states: dict[str, PoolState] = {}
        for address, pool_logs in by_pool.items():
            state = self._states.get(address)
            if state is None or any(log.get("removed") for log in pool_logs):
                continue
            pool_logs.sort(key=_log_position)
            try:
                new = _state_from_logs(state, pool_logs, block_number)
            except (ValueError, TypeError, KeyError):
                new = None  # data not as expected: read the pool instead
            if new is not None:
                states[address] = new
        return states

    def _resolve(self, addresses: Iterable[str]) -> list[str]:
        resolved = []
        for address in addresses:
            key = self._by_lower.get(address.lower())
            if key is None:
                raise KeyError(f"{address} is not a watched pool")
            resolved.append(key)
        return resolved

    def _known_ticks(self) -> dict[str, int]:
        # Ticks in the full window: a pool read through a narrower one counts as if it
        # were read whole (ticks spread evenly), so its window does not widen again.
        # At least 1, because 0 means never read.
        full = 2 * self.word_radius + 1
        return {
            address: max(1, len(state.ticks) * full // max(1, state.max_word - state.min_word + 1))
            for address, state in self._states.items()
            if isinstance(state, V3PoolState)
        }

    async def _read(
        self,
        specs: Sequence[PoolSpec],
        block: int | str,
        *,
        with_fee: bool,
        fee_for: Iterable[str] = (),
    ) -> StateBatch:
        before = self.client.round_trips
        try:
            batch = await read_states(
                self.client,
                specs,
                block=block,
                with_fee=with_fee,
                fee_for=frozenset(fee_for),
                word_radius=self.word_radius,
                chunk_size=self.chunk_size,
                gas_budget=self.gas_budget,
                known_ticks=self._known_ticks(),
                concurrency=self.concurrency,
            )
        except Exception as exc:
            self.record_error(exc)
            raise
        self.count("pools_read", len(specs))
        self.count("round_trips", self.client.round_trips - before)
        if batch.failed:
            self.count("pools_failed", len(batch.failed))
            for address, reason in batch.failed.items():
                logger.debug("pool %s: %s", address, reason)
        self.record_success()
        return batch

    def _apply(self, specs: Sequence[PoolSpec], batch: StateBatch) -> None:
        for spec in specs:
            state = batch.states.get(spec.address)
            if state is not None:
                self._states[spec.address] = state
                self.failed.pop(spec.address, None)
                self._remember_fee(spec, state)
            else:
                # A pool that cannot be read must not keep a stale price.
                self._states.pop(spec.address, None)
                self.failed[spec.address] = batch.failed.get(spec.address, "not read")

    def _remember_fee(self, spec: PoolSpec, state: PoolState) -> None:
        # Later reads skip the fee, so they must start from the last one read, not the
        # one known at discovery.
        if isinstance(state, SolidlyPoolState) and (
            spec.fee_bps != state.fee_bps or spec.stable != state.stable
        ):
            self._pools[spec.address] = replace(spec, fee=state.fee_bps * 100, stable=state.stable)


def _log_position(log: dict[str, Any]) -> tuple[int, int]:
    return _int(log.get("blockNumber", 0)), _int(log.get("logIndex", 0))


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _words(log: dict[str, Any]) -> list[int]:
    data = log.get("data") or "0x"
    raw = bytes.fromhex(data[2:] if isinstance(data, str) else bytes(data).hex())
    return [int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)]


def _topic0(log: dict[str, Any]) -> str:
    topics = log.get("topics") or []
    first = topics[0] if topics else ""
    return (first if isinstance(first, str) else "0x" + bytes(first).hex()).lower()


def _state_from_logs(
    state: PoolState, logs: Sequence[dict[str, Any]], block_number: int
) -> PoolState | None:
    """``state`` after ``logs`` (its own, in order), or None when they do not carry it all."""
    topics = [_topic0(log) for log in logs]
    if type(state) is V2PoolState or type(state) is SolidlyPoolState:
        sync = uniswap_v2.SYNC if type(state) is V2PoolState else solidly.SYNC
        last = [log for log, t in zip(logs, topics, strict=True) if t == sync.lower()]
        if not last:
            return None
        # Every reserve change ends in a Sync: the last one is the state after the block.
        reserve0, reserve1 = _words(last[-1])[:2]
        return replace(state, reserve0=reserve0, reserve1=reserve1, block_number=block_number)
    if type(state) is V3PoolState:
        swap = uniswap_v3.SWAP.lower()
        if any(t != swap for t in topics):
            return None  # liquidity positions changed: ticks must be read
        words = _words(logs[-1])
        sqrt_price, liquidity, tick = words[2], words[3], words[4]
        if tick >= 2**255:
            tick -= 2**256
        if (tick // state.tick_spacing) >> 8 != (state.tick // state.tick_spacing) >> 8:
            return None  # a re-read centres the known bitmap words on the new tick
        return replace(
            state,
            sqrt_price_x96=sqrt_price,
            liquidity=liquidity,
            tick=tick,
            block_number=block_number,
        )
    return None
