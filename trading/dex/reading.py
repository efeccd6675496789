"""Batched pool-state reads: any mix of families, ≤500 pools per ``eth_call``.

Pools are packed into ``PoolStateReader`` calls of at most ``chunk_size``
pools and an estimated ``gas_budget`` (V3 pools with many ticks weigh more),
so a full refresh of N pools costs ``ceil(N / 500)`` round trips in the usual
case. The first chunk is read at the requested block ("latest" by default)
and the others at the block it answered from, so every state in one refresh
belongs to the same block.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trading.amm import PoolState
from trading.chain import readers
from trading.chain.client import ChainClient
from trading.dex.base import PoolSpec
from trading.dex.registry import family_class

DEFAULT_WORD_RADIUS = 2
# The PoolStateReader's request lists, in its constructor's order.
_SECTIONS = ("v2", "solidly", "v3", "v4")
# Stays under the 30M block gas limit that anvil and many nodes apply to eth_call.
DEFAULT_GAS_BUDGET = 20_000_000


@dataclass(frozen=True)
class StateBatch:
    """The result of reading a set of pools at one block."""

    block_number: int
    states: dict[str, PoolState] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    round_trips: int = 0


def plan_chunks(
    pools: Iterable[PoolSpec],
    *,
    with_fee: bool = False,
    word_radius: int = DEFAULT_WORD_RADIUS,
    chunk_size: int = readers.MAX_POOLS_PER_CALL,
    gas_budget: int = DEFAULT_GAS_BUDGET,
    known_ticks: Mapping[str, int] | None = None,
) -> list[list[PoolSpec]]:
    """Split pools into as few reader calls as count and estimated gas allow.

    Starts from ``ceil(pools / chunk_size)`` calls and spreads the heaviest
    pools first over the lightest call (so V3 pools with many ticks share the
    load with cheap V2 pairs instead of needing calls of their own); a call is
    added only when the gas budget cannot be met otherwise.
    """
    chunk_size = max(1, min(chunk_size, readers.MAX_POOLS_PER_CALL))
    ticks = known_ticks or {}
    weighted = [
        (
            family_class(pool.kind).estimated_gas(
                pool,
                with_fee=with_fee,
                word_radius=word_radius,
                known_ticks=ticks.get(pool.address, 0),
            ),
            order,
            pool,
        )
        for order, pool in enumerate(pools)
    ]
    if not weighted:
        return []
    weighted.sort(key=lambda item: (-item[0], item[1]))
    total = sum(gas for gas, _, _ in weighted)
    count = max(math.ceil(len(weighted) / chunk_size), math.ceil(total / gas_budget))
    while True:
        chunks = _spread(weighted, count, chunk_size, gas_budget)
        if chunks is not None:
            # Keep the caller's order inside each call: easier to read in traces.
            return [
                [pool for _, _, pool in sorted(chunk, key=lambda item: item[1])] for chunk in chunks
            ]
        count += 1


def _spread(
    weighted: list[tuple[int, int, PoolSpec]], count: int, chunk_size: int, gas_budget: int
) -> list[list[tuple[int, int, PoolSpec]]] | None:
    chunks: list[list[tuple[int, int, PoolSpec]]] = [[] for _ in range(count)]
    heap = [(0, index) for index in range(count)]
    for item in weighted:
        while heap and len(chunks[heap[0][1]]) >= chunk_size:
            heapq.heappop(heap)
        if not heap:
            return None
        load, index = heapq.heappop(heap)
        if chunks[index] and load + item[0] > gas_budget:
            return None
        chunks[index].append(item)
        heapq.heappush(heap, (load + item[0], index))
    return [chunk for chunk in chunks if chunk]


def _call_for(
    chunk: Sequence[PoolSpec], *, with_fee: bool, fee_for: Collection[str], word_radius: int
) -> tuple[str, dict[str, list[Any]], dict[str, list[PoolSpec]]]:
    requests: dict[str, list[Any]] = {section: [] for section in _SECTIONS}
    owners: dict[str, list[PoolSpec]] = {section: [] for section in _SECTIONS}
    for pool in chunk:
        family = family_class(pool.kind)
        section = family.reader_section
        wants_fee = with_fee or pool.address in fee_for
        requests[section].append(
            family.state_request(pool, with_fee=wants_fee, word_radius=word_radius)
        )
        owners[section].append(pool)
    data = readers.pool_state_call_data(
        requests["v2"], requests["solidly"], requests["v3"], requests["v4"]
    )
    return data, requests, owners


async def _read_chunk(
    client: ChainClient,
    chunk: Sequence[PoolSpec],
    block: int | str,
    *,
    with_fee: bool,
    fee_for: Collection[str],
    word_radius: int,
) -> StateBatch:
    data, requests, owners = _call_for(
        chunk, with_fee=with_fee, fee_for=fee_for, word_radius=word_radius
    )
    words = await client.read(data, block)
    decoded = readers.decode_pool_states(
        words, requests["v2"], requests["solidly"], requests["v3"], requests["v4"]
    )
    states: dict[str, PoolState] = {}
    failed: dict[str, str] = {}
    sections = (
        ("v2", decoded.v2),
        ("solidly", decoded.solidly),
        ("v3", decoded.v3),
        ("v4", decoded.v4),
    )
    for section, raws in sections:
        for pool, raw in zip(owners[section], raws, strict=True):
            try:
                state = family_class(pool.kind).build_state(pool, raw, decoded.block_number)
            except ValueError as exc:  # a snapshot that the maths refuses (odd values)
                failed[pool.address] = f"unusable state: {exc}"
                continue
            if state is None:
                failed[pool.address] = "state unreadable (call failed or returned odd values)"
            else:
                states[pool.address] = state
    return StateBatch(decoded.block_number, states, failed, 1)


async def read_states(
    client: ChainClient,
    pools: Sequence[PoolSpec],
    *,
    block: int | str = "latest",
    with_fee: bool = False,
    fee_for: Collection[str] = (),
    word_radius: int = DEFAULT_WORD_RADIUS,
    chunk_size: int = readers.MAX_POOLS_PER_CALL,
    gas_budget: int = DEFAULT_GAS_BUDGET,
    known_ticks: Mapping[str, int] | None = None,
    concurrency: int = 4,
) -> StateBatch:
    """Read the states of ``pools`` in as few ``eth_call`` round trips as the limits allow.

    ``with_fee`` also reads every Solidly pool's curve and factory fee;
    ``fee_for`` does so only for the pools named.
    """
    fee_for = frozenset(fee_for)
    chunks = plan_chunks(
        pools,
        with_fee=with_fee,
        word_radius=word_radius,
        chunk_size=chunk_size,
        gas_budget=gas_budget,
        known_ticks=known_ticks,
    )
    if not chunks:
        number = block if isinstance(block, int) else await client.block_number()
        return StateBatch(number, round_trips=0 if isinstance(block, int) else 1)
    first = await _read_chunk(
        client, chunks[0], block, with_fee=with_fee, fee_for=fee_for, word_radius=word_radius
    )
    states = dict(first.states)
    failed = dict(first.failed)
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def read_rest(chunk: list[PoolSpec]) -> StateBatch:
        async with semaphore:
            return await _read_chunk(
                client,
                chunk,
                first.block_number,
                with_fee=with_fee,
                fee_for=fee_for,
                word_radius=word_radius,
            )

    for batch in await asyncio.gather(*(read_rest(chunk) for chunk in chunks[1:])):
        states.update(batch.states)
        failed.update(batch.failed)
    return StateBatch(first.block_number, states, failed, len(chunks))
