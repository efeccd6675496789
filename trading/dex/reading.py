"""Batched pool-state reads: any mix of families, ≤500 pools per ``eth_call``.

Pools are packed into ``PoolStateReader`` calls of at most ``chunk_size``
pools and an estimated ``gas_budget`` (V3 pools with many ticks weigh more),
so a full refresh of N pools costs ``ceil(N / 500)`` round trips in the usual
case. The first chunk is read at the requested block ("latest" by default)
and the others at the block it answered from, so every state in one refresh
belongs to the same block.

The gas budget is what one call may be planned to use (``Network.read_gas_budget``):
the node caps ``eth_call`` gas (op-geth's ``--rpc.gascap`` is 50M by default,
anvil's cap is its block gas limit, 30M by default). The families' estimates
are measured gas plus a small margin, so a call is packed with up to 500 pools
whenever their real gas fits.

A V3-family pool can be packed with ticks by anyone (1,280 tiny positions near
the price cost about 14M gas to read), so: a pool whose window is known to hold
more than ``TICK_WINDOW`` ticks is read through fewer bitmap words; a call that
runs short of gas (a never-read pool heavier than planned, a node capping lower
than the budget) hands back the pools it read and the rest are read in another
call at the same block; and a call that still fails is split in halves down to
single pools, so one heavy or hostile pool costs only itself.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trading.amm import PoolState
from trading.chain import readers
from trading.chain.client import ChainClient
from trading.dex.base import PoolSpec
from trading.dex.registry import family_class

logger = logging.getLogger(__name__)

DEFAULT_WORD_RADIUS = 2
# The PoolStateReader's request lists, in its constructor's order.
_SECTIONS = ("v2", "solidly", "v3", "v4")
# Under the lowest common eth_call cap (anvil's default 30M block gas limit), with room for
# the call's own intrinsic gas and estimates that run short; Network.read_gas_budget's default.
DEFAULT_GAS_BUDGET = 25_000_000
# Most initialized ticks read per pool (about 4M gas); a denser pool gets a narrower window.
TICK_WINDOW = 400


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
    weighted = []
    for order, pool in enumerate(pools):
        known = ticks.get(pool.address, 0)
        radius = window_radius(known, word_radius)
        gas = family_class(pool.kind).estimated_gas(
            pool,
            with_fee=with_fee,
            word_radius=radius,
            known_ticks=-(-known * (2 * radius + 1) // (2 * word_radius + 1)),
        )
        weighted.append((gas, order, pool))
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


def window_radius(known_ticks: int, word_radius: int) -> int:
    """Bitmap words to read each side of the price for a pool with ``known_ticks``.

    ``known_ticks`` counts the pool's initialized ticks in the full window of
    ``word_radius`` words each side (0: never read). Ticks are assumed spread
    evenly over the words, so the window shrinks until it holds at most
    ``TICK_WINDOW`` of them; the word holding the price is always read.
    """
    words = 2 * word_radius + 1
    radius = word_radius
    while radius > 0 and known_ticks * (2 * radius + 1) > TICK_WINDOW * words:
        radius -= 1
    return radius


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
    chunk: Sequence[PoolSpec],
    *,
    with_fee: bool,
    fee_for: Collection[str],
    word_radius: int,
    known_ticks: Mapping[str, int],
) -> tuple[str, dict[str, list[Any]], dict[str, list[PoolSpec]]]:
    requests: dict[str, list[Any]] = {section: [] for section in _SECTIONS}
    owners: dict[str, list[PoolSpec]] = {section: [] for section in _SECTIONS}
    for pool in chunk:
        family = family_class(pool.kind)
        section = family.reader_section
        wants_fee = with_fee or pool.address in fee_for
        radius = window_radius(known_ticks.get(pool.address, 0), word_radius)
        requests[section].append(family.state_request(pool, with_fee=wants_fee, word_radius=radius))
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
    known_ticks: Mapping[str, int],
) -> StateBatch:
    """Read one planned call; a call that fails as a whole is split in halves.

    A pool that fails even alone is reported in ``failed`` with the error.
    """
    try:
        return await _read_call(
            client,
            chunk,
            block,
            with_fee=with_fee,
            fee_for=fee_for,
            word_radius=word_radius,
            known_ticks=known_ticks,
        )
    except readers.ReaderError as exc:
        # Halves must answer from one block, whatever "latest" becomes meanwhile.
        number = block if isinstance(block, int) else await client.block_number()
        if len(chunk) == 1:
            return StateBatch(number, failed={chunk[0].address: f"read failed: {exc}"})
        logger.info("state read of %s pools failed (%s); splitting it", len(chunk), exc)
    middle = len(chunk) // 2
    halves = [
        await _read_chunk(
            client,
            half,
            number,
            with_fee=with_fee,
            fee_for=fee_for,
            word_radius=word_radius,
            known_ticks=known_ticks,
        )
        for half in (chunk[:middle], chunk[middle:])
    ]
    return StateBatch(
        number,
        {**halves[0].states, **halves[1].states},
        {**halves[0].failed, **halves[1].failed},
        1 + halves[0].round_trips + halves[1].round_trips,
    )


async def _read_call(
    client: ChainClient,
    chunk: Sequence[PoolSpec],
    block: int | str,
    *,
    with_fee: bool,
    fee_for: Collection[str],
    word_radius: int,
    known_ticks: Mapping[str, int],
) -> StateBatch:
    data, requests, owners = _call_for(
        chunk,
        with_fee=with_fee,
        fee_for=fee_for,
        word_radius=word_radius,
        known_ticks=known_ticks,
    )
    words = await client.read(data, block)
    decoded = readers.decode_pool_states(
        words, requests["v2"], requests["solidly"], requests["v3"], requests["v4"], partial=True
    )
    if decoded.unread == len(chunk):
        raise readers.ReaderError("not one pool fits in the gas the node allows a call")
    states: dict[str, PoolState] = {}
    failed: dict[str, str] = {}
    sections = (
        ("v2", decoded.v2),
        ("solidly", decoded.solidly),
        ("v3", decoded.v3),
        ("v4", decoded.v4),
    )
    unread: list[PoolSpec] = []
    for section, raws in sections:
        unread += owners[section][len(raws) :]
        for pool, raw in zip(owners[section][: len(raws)], raws, strict=True):
            try:
                state = family_class(pool.kind).build_state(pool, raw, decoded.block_number)
            except ValueError as exc:  # a snapshot that the maths refuses (odd values)
                failed[pool.address] = f"unusable state: {exc}"
                continue
            if state is None:
                failed[pool.address] = "state unreadable (call failed or returned odd values)"
            else:
                states[pool.address] = state
    batch = StateBatch(decoded.block_number, states, failed, 1)
    if not unread:
        return batch
    # The node let the call spend less gas than planned: the rest goes in another call
    # at the same block.
    logger.info(
        "state read ran short of gas after %s pools; reading %s more",
        len(states) + len(failed),
        len(unread),
    )
    rest = await _read_chunk(
        client,
        unread,
        decoded.block_number,
        with_fee=with_fee,
        fee_for=fee_for,
        word_radius=word_radius,
        known_ticks=known_ticks,
    )
    return StateBatch(
        decoded.block_number,
        {**states, **rest.states},
        {**failed, **rest.failed},
        1 + rest.round_trips,
    )


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
    known_ticks = known_ticks or {}
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
        client,
        chunks[0],
        block,
        with_fee=with_fee,
        fee_for=fee_for,
        word_radius=word_radius,
        known_ticks=known_ticks,
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
                known_ticks=known_ticks,
            )

    round_trips = first.round_trips
    for batch in await asyncio.gather(*(read_rest(chunk) for chunk in chunks[1:])):
        states.update(batch.states)
        failed.update(batch.failed)
        round_trips += batch.round_trips
    return StateBatch(first.block_number, states, failed, round_trips)
