"""Arbitrage cycles through pools, and an index to find the ones a block touched.

A cycle starts with a base token (WETH, USDC, ...), swaps through 2 or 3
pools (``max_hops``) and ends in the same token, never using a pool twice and
never visiting a token twice on the way. Both directions of a ring are
distinct cycles, and so is the same ring started from another base token in
it (the profit is then counted in that token).

Public API (stable):

- ``Hop(pool, token_in, token_out)`` and ``Cycle(start_token, hops)``
  (frozen). ``Cycle.key`` is a stable string ``"pool1>pool2>pool3|start"``;
  ``Cycle.pools``, ``Cycle.tokens`` and ``Cycle.path()`` (the list of
  ``{"pool", "token_in", "token_out"}`` dicts stored on an opportunity).
- ``PoolRef(address, token0, token1)``; any object with those attributes, or
  a 3-tuple, is accepted wherever pools are passed.
- ``CycleIndex(pools, base_tokens, max_hops=3)`` with ``cycles_through(
  pool_addresses)``, ``add_pool(pool)``, ``remove_pool(address)``,
  ``rebuild(pools=None, base_tokens=None)``, ``get(key)``, ``cycles``,
  ``len()``, iteration and ``in`` (by key).
- The array form, for the per-block hot path: ``CycleIndex.table`` (a
  :class:`CycleTable`), ``ids_through(pool_addresses)`` and ``alive_ids()``
  (cycle ids as numpy arrays), ``cycle(id)`` to build one :class:`Cycle`.

The index holds no per-cycle Python objects: a :class:`CycleTable` keeps each
cycle as a row of edge ids (``2 * pool id + direction``, direction 0 when
token0 goes in) and its start token id, and per pool an ``array`` of the ids
of the cycles through it. Removing a pool tombstones its cycles (ids are
never reused, so ids handed out stay valid); ``rebuild`` starts a new table.
Building costs one walk per base token (no pair-of-pools scans) and finding
the cycles hit by a set of changed pools costs only the size of the answer.
Addresses are used exactly as given: pass one canonical spelling (the
project uses checksummed addresses).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

# Cycle ids, ascending.
type Ids = npt.NDArray[np.intp]


def union_ids(*parts: npt.ArrayLike) -> Ids:
    """The ids in any of ``parts``, ascending, each once.

    ``np.union1d`` gives the same, but its hash table takes tens of
    milliseconds on the 200,000 ids a block through the hub pools touches;
    marking the ids in a mask as long as the largest takes well under one.
    """
    arrays = [np.asarray(part, dtype=np.intp) for part in parts]
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return np.zeros(0, dtype=np.intp)
    if min(int(a.min()) for a in arrays) < 0:
        raise ValueError("cycle ids are never negative")
    mask = np.zeros(max(int(a.max()) for a in arrays) + 1, dtype=bool)
    for a in arrays:
        mask[a] = True
    return np.flatnonzero(mask)


class PoolRef(NamedTuple):
    """The three facts the index needs about a pool."""

    address: str
    token0: str
    token1: str


class PoolLike(Protocol):
    """Anything that names a pool and its two tokens: a pool state, a ``PoolSpec``."""

    @property
    def address(self) -> str: ...

    @property
    def token0(self) -> str: ...

    @property
    def token1(self) -> str: ...


type PoolInput = PoolRef | tuple[str, str, str] | PoolLike


def as_pool_ref(pool: PoolInput) -> PoolRef:
    """A :class:`PoolRef` from a pool state, a model row, a ``PoolRef`` or a 3-tuple."""
    if isinstance(pool, PoolRef):
        return pool
    if isinstance(pool, tuple) and len(pool) == 3:
        return PoolRef(*pool)
    return PoolRef(pool.address, pool.token0, pool.token1)


@dataclass(frozen=True, slots=True)
class Hop:
    """One swap of a cycle: sell ``token_in`` for ``token_out`` in ``pool``."""

    pool: str
    token_in: str
    token_out: str


@dataclass(frozen=True)
class Cycle:
    """A closed path of hops starting and ending in ``start_token``."""

    start_token: str
    hops: tuple[Hop, ...]

    def __post_init__(self) -> None:
        if len(self.hops) < 2:
            raise ValueError("a cycle needs at least two hops")
        if self.hops[0].token_in != self.start_token or self.hops[-1].token_out != self.start_token:
            raise ValueError("a cycle must start and end in its start token")
        for before, after in zip(self.hops, self.hops[1:], strict=False):
            if before.token_out != after.token_in:
                raise ValueError("consecutive hops must share a token")
        if len({hop.pool for hop in self.hops}) != len(self.hops):
            raise ValueError("a cycle never uses a pool twice")

    @cached_property
    def key(self) -> str:
        """Stable identity: pools in swap order, then the start token."""
        return ">".join(hop.pool for hop in self.hops) + "|" + self.start_token

    @property
    def pools(self) -> tuple[str, ...]:
        """Pool addresses in swap order."""
        return tuple(hop.pool for hop in self.hops)

    @property
    def tokens(self) -> tuple[str, ...]:
        """Tokens visited, starting and ending with the start token."""
        return (self.start_token, *(hop.token_out for hop in self.hops))

    def path(self) -> list[dict[str, str]]:
        """The hops as ``{"pool", "token_in", "token_out"}`` dicts, in swap order."""
        return [
            {"pool": hop.pool, "token_in": hop.token_in, "token_out": hop.token_out}
            for hop in self.hops
        ]

    def __len__(self) -> int:
        return len(self.hops)


# Keys remembered by CycleTable.find (forgotten all at once past this many).
FOUND_KEYS = 1 << 17


class CycleTable:
    """Cycles as integer arrays: the storage behind :class:`CycleIndex`.

    ``hops[i]`` holds cycle ``i``'s edge ids in swap order, padded with -1
    (so a per-edge array with one identity element at its end can be
    indexed with it directly); ``start[i]`` its start token id; ``alive[i]``
    is False once a pool of it was removed.
    """

    def __init__(self, max_hops: int) -> None:
        self.max_hops = max_hops
        self.pools: list[str] = []
        self.pool_ids: dict[str, int] = {}
        self.refs: list[PoolRef] = []
        # token ids of each pool's token0 and token1, by pool id
        self.pool_tokens: list[tuple[int, int]] = []
        self.tokens: list[str] = []
        self.token_ids: dict[str, int] = {}
        # Column-major: one hop position of many cycles is contiguous, which is how the
        # pre-filter reads it.
        self.hops = np.full((0, max_hops), -1, dtype=np.int32, order="F")
        self.start = np.zeros(0, dtype=np.int32)
        self.alive = np.zeros(0, dtype=bool)
        self.size = 0  # ids handed out (alive or not)
        self.count = 0  # alive cycles
        self.by_pool: dict[int, array[int]] = {}
        # Keys found before -> id (a key asked every block, e.g. a detected row's).
        self._found: dict[str, int] = {}

    @property
    def edges(self) -> int:
        """Edge ids run from 0 to this (exclusive)."""
        return 2 * len(self.pools)

    def token_id(self, token: str) -> int:
        """The id of ``token`` (a new one the first time it is seen)."""
        tid = self.token_ids.get(token)
        if tid is None:
            tid = self.token_ids[token] = len(self.tokens)
            self.tokens.append(token)
        return tid

    def pool_id(self, ref: PoolRef) -> int:
        """The id of ``ref`` (a new one the first time, or when its tokens changed)."""
        pid = self.pool_ids.get(ref.address)
        if pid is None or self.refs[pid] != ref:
            pid = self.pool_ids[ref.address] = len(self.pools)
            self.pools.append(ref.address)
            self.refs.append(ref)
            self.pool_tokens.append((self.token_id(ref.token0), self.token_id(ref.token1)))
        return pid

    def append(self, rows: list[tuple[int, ...]], starts: list[int]) -> Ids:
        """Store cycles (edge-id rows and start token ids); returns their ids."""
        n = len(rows)
        if n == 0:
            return np.zeros(0, dtype=np.intp)
        self._found = {}  # a key stored again gets a newer id
        if self.size + n > len(self.start):
            capacity = max(self.size + n, 2 * len(self.start), 64)
            hops = np.full((capacity, self.max_hops), -1, dtype=np.int32, order="F")
            hops[: self.size] = self.hops[: self.size]
            start = np.zeros(capacity, dtype=np.int32)
            start[: self.size] = self.start[: self.size]
            alive = np.zeros(capacity, dtype=bool)
            alive[: self.size] = self.alive[: self.size]
            self.hops, self.start, self.alive = hops, start, alive
        block = np.full((n, self.max_hops), -1, dtype=np.int32)
        for width in range(2, self.max_hops + 1):
            at = [i for i, row in enumerate(rows) if len(row) == width]
            if at:
                block[at, :width] = [rows[i] for i in at]
        first = self.size
        self.hops[first : first + n] = block
        self.start[first : first + n] = starts
        self.alive[first : first + n] = True
        by_pool = self.by_pool
        for cid, row in enumerate(rows, first):
            for edge in row:
                through = by_pool.get(edge >> 1)
                if through is None:
                    through = by_pool[edge >> 1] = array("i")
                through.append(cid)
        self.size += n
        self.count += n
        return np.arange(first, first + n, dtype=np.intp)

    def ids_through(self, pool_ids: Iterable[int]) -> Ids:
        """Alive cycle ids through any of ``pool_ids``, ascending, each once."""
        lists = [self.by_pool[p] for p in pool_ids if p in self.by_pool]
        if not lists:
            return np.zeros(0, dtype=np.intp)
        mask = np.zeros(self.size, dtype=bool)
        for through in lists:
            mask[np.frombuffer(through, dtype=np.int32)] = True
        mask &= self.alive[: self.size]
        return np.flatnonzero(mask)

    def cycle(self, cid: int) -> Cycle:
        """The :class:`Cycle` with id ``cid``."""
        hops = []
        for edge in self.hops[cid].tolist():
            if edge < 0:
                break
            ref = self.refs[edge >> 1]
            if edge & 1:
                hops.append(Hop(ref.address, ref.token1, ref.token0))
            else:
                hops.append(Hop(ref.address, ref.token0, ref.token1))
        return Cycle(self.tokens[int(self.start[cid])], tuple(hops))

    def key(self, cid: int) -> str:
        """:attr:`Cycle.key` of cycle ``cid``, without building the cycle."""
        pools = self.pools
        route = ">".join(pools[edge >> 1] for edge in self.hops[cid].tolist() if edge >= 0)
        return route + "|" + self.tokens[int(self.start[cid])]

    def find(self, key: str) -> int | None:
        """The id of the cycle with this key, alive or not (None if never stored)."""
        known = self._found.get(key)
        if known is not None:
            return known
        route, _, start = key.partition("|")
        pids = [self.pool_ids.get(name) for name in route.split(">")]
        sid = self.token_ids.get(start)
        if sid is None or len(pids) > self.max_hops or pids[0] not in self.by_pool:
            return None
        candidates = np.frombuffer(self.by_pool[pids[0]], dtype=np.int32)
        rows = self.hops[candidates]
        match = self.start[candidates] == sid
        for position in range(self.max_hops):
            column = rows[:, position]
            wanted = pids[position] if position < len(pids) else -1
            if wanted is None:
                return None
            match &= (column < 0) if wanted < 0 else (column >= 0) & ((column >> 1) == wanted)
        found = candidates[match]
        if not len(found):
            return None
        if len(self._found) >= FOUND_KEYS:
            self._found = {}
        cid = self._found[key] = int(found[-1])
        return cid


class CycleIndex:
    """All cycles of up to ``max_hops`` pools that start and end in a base token."""

    def __init__(
        self, pools: Iterable[PoolInput] = (), base_tokens: Iterable[str] = (), max_hops: int = 3
    ) -> None:
        if max_hops < 2:
            raise ValueError("max_hops must be at least 2")
        self.max_hops = max_hops
        self.base_tokens: frozenset[str] = frozenset(base_tokens)
        self.table = CycleTable(max_hops)
        # by token id: {pool id: the pool's other token id}
        self._adjacent: dict[int, dict[int, int]] = {}
        # sorted token-id pair -> {pool id: None} (an ordered set)
        self._pairs: dict[tuple[int, int], dict[int, None]] = {}
        self.rebuild(pools)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self.table.count

    def __iter__(self) -> Iterator[Cycle]:
        table = self.table
        return (table.cycle(cid) for cid in self.alive_ids().tolist())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    @property
    def cycles(self) -> list[Cycle]:
        """Every cycle, sorted by key."""
        return sorted(self, key=lambda c: c.key)

    @property
    def pool_addresses(self) -> frozenset[str]:
        """The pools currently indexed."""
        return frozenset(self.table.pools[pid] for pid in self._live_pools())

    def get(self, key: str) -> Cycle | None:
        """The cycle with this key, if indexed."""
        cid = self.table.find(key)
        if cid is None or not self.table.alive[cid]:
            return None
        return self.table.cycle(cid)

    def alive_ids(self) -> Ids:
        """Ids of every indexed cycle, ascending."""
        return np.flatnonzero(self.table.alive[: self.table.size])

    def ids_through(self, pool_addresses: Iterable[str]) -> Ids:
        """Ids of the cycles that use any of ``pool_addresses``, ascending, each once."""
        ids = self.table.pool_ids
        return self.table.ids_through(ids[a] for a in pool_addresses if a in ids)

    def cycle(self, cid: int) -> Cycle:
        """The cycle with id ``cid``."""
        return self.table.cycle(cid)

    def cycles_through(self, pool_addresses: Iterable[str]) -> list[Cycle]:
        """Cycles that use any of ``pool_addresses``, sorted by key, each once."""
        table = self.table
        cycles = [table.cycle(cid) for cid in self.ids_through(pool_addresses).tolist()]
        return sorted(cycles, key=lambda c: c.key)

    # ---------------------------------------------------------------- mutations

    def rebuild(
        self, pools: Iterable[PoolInput] | None = None, base_tokens: Iterable[str] | None = None
    ) -> None:
        """Recompute everything, optionally with new pools and/or base tokens."""
        if base_tokens is not None:
            self.base_tokens = frozenset(base_tokens)
        refs = (
            [self.table.refs[pid] for pid in self._live_pools()]
            if pools is None
            else [as_pool_ref(p) for p in pools]
        )
        self.table = table = CycleTable(self.max_hops)
        self._adjacent = {}
        self._pairs = {}
        for ref in refs:
            self._link(ref)
        rows: list[tuple[int, ...]] = []
        starts: list[int] = []
        for start in sorted(self.base_tokens):
            sid = table.token_ids.get(start)
            if sid is not None and sid in self._adjacent:
                for ring in self._rings_from(sid):
                    rows.append(ring)
                    starts.append(sid)
        table.append(rows, starts)

    def add_pool(self, pool: PoolInput) -> list[Cycle]:
        """Index one more pool; returns the cycles it adds (sorted by key)."""
        ref = as_pool_ref(pool)
        table = self.table
        pid = table.pool_ids.get(ref.address)
        if pid is not None and self._is_live(pid):
            if table.refs[pid] == ref:
                return []
            self.remove_pool(ref.address)
        pid = self._link(ref)
        rows, starts = self._rings_containing(pid)
        ids = table.append(rows, starts)
        return sorted((table.cycle(cid) for cid in ids.tolist()), key=lambda c: c.key)

    def remove_pool(self, address: str) -> list[Cycle]:
        """Forget a pool and every cycle through it; returns the removed cycles."""
        table = self.table
        pid = table.pool_ids.get(address)
        if pid is None or not self._is_live(pid):
            return []
        token0, token1 = table.pool_tokens[pid]
        for token in (token0, token1):
            neighbours = self._adjacent.get(token)
            if neighbours is not None:
                neighbours.pop(pid, None)
                if not neighbours:
                    del self._adjacent[token]
        pair = _pair_key(token0, token1)
        same_pair = self._pairs.get(pair)
        if same_pair is not None:
            same_pair.pop(pid, None)
            if not same_pair:
                del self._pairs[pair]
        through = table.by_pool.pop(pid, None)
        if through is None:
            return []
        ids = np.frombuffer(through, dtype=np.int32)
        ids = ids[table.alive[ids]]
        removed = sorted((table.cycle(cid) for cid in ids.tolist()), key=lambda c: c.key)
        table.alive[ids] = False  # tombstones: ids are never reused
        table.count -= len(ids)
        return removed

    # ---------------------------------------------------------------- internals

    def _is_live(self, pid: int) -> bool:
        token0, _ = self.table.pool_tokens[pid]
        return pid in self._adjacent.get(token0, {})

    def _live_pools(self) -> list[int]:
        return [pid for pid in self.table.pool_ids.values() if self._is_live(pid)]

    def _link(self, ref: PoolRef) -> int:
        if ref.token0 == ref.token1:
            raise ValueError(f"pool {ref.address} has the same token twice")
        pid = self.table.pool_id(ref)
        token0, token1 = self.table.pool_tokens[pid]
        self._adjacent.setdefault(token0, {})[pid] = token1
        self._adjacent.setdefault(token1, {})[pid] = token0
        self._pairs.setdefault(_pair_key(token0, token1), {})[pid] = None
        return pid

    def _edge(self, pid: int, token_in: int) -> int:
        return 2 * pid + (0 if self.table.pool_tokens[pid][0] == token_in else 1)

    def _paths_back(
        self, path: list[int], token: int, used_pools: set[int], visited: set[int], target: int
    ) -> Iterator[tuple[int, ...]]:
        """Depth-first: every way to close ``path`` (edge ids, now at ``token``) back to
        ``target`` within ``max_hops``."""
        edge = self._edge
        if len(path) + 1 == self.max_hops:
            # Only a closing hop fits: look the pair up instead of scanning a hub's pools.
            for pid in self._pairs.get(_pair_key(token, target), ()):
                if pid not in used_pools:
                    yield (*path, edge(pid, token))
            return
        for pid, nxt in self._adjacent.get(token, {}).items():
            if pid in used_pools:
                continue
            if nxt == target:
                yield (*path, edge(pid, token))
                continue
            if nxt in visited:
                continue
            path.append(edge(pid, token))
            used_pools.add(pid)
            visited.add(nxt)
            yield from self._paths_back(path, nxt, used_pools, visited, target)
            visited.discard(nxt)
            used_pools.discard(pid)
            path.pop()

    def _rings_from(self, start: int) -> Iterator[tuple[int, ...]]:
        """Every cycle starting at the base token id ``start``, as edge ids."""
        for pid, nxt in list(self._adjacent.get(start, {}).items()):
            yield from self._paths_back([self._edge(pid, start)], nxt, {pid}, {start, nxt}, start)

    def _rings_containing(self, pid: int) -> tuple[list[tuple[int, ...]], list[int]]:
        """Every cycle that uses pool ``pid``, in either direction, from any base token in it."""
        table = self.table
        bases = {table.token_ids[t] for t in self.base_tokens if t in table.token_ids}
        rows: list[tuple[int, ...]] = []
        starts: list[int] = []
        token0, token1 = table.pool_tokens[pid]
        for token_a, token_b in ((token0, token1), (token1, token0)):
            first = [self._edge(pid, token_a)]
            for ring in self._paths_back(first, token_b, {pid}, {token_a, token_b}, token_a):
                # The ring starts at token_a; rotate it to start at each base token in it.
                for i, edge in enumerate(ring):
                    token_in = table.pool_tokens[edge >> 1][edge & 1]
                    if token_in in bases:
                        rows.append(ring[i:] + ring[:i])
                        starts.append(token_in)
        return rows, starts


def _pair_key(token_a: int, token_b: int) -> tuple[int, int]:
    return (token_a, token_b) if token_a < token_b else (token_b, token_a)
