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

The index keeps an adjacency map token -> pools and a pool -> cycle keys map,
so building costs one walk per base token (no pair-of-pools scans) and
finding the cycles hit by a set of changed pools costs only the size of the
answer. Addresses are used exactly as given: pass one canonical spelling
(the project uses checksummed addresses).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Protocol


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


class CycleIndex:
    """All cycles of up to ``max_hops`` pools that start and end in a base token."""

    def __init__(
        self, pools: Iterable[PoolInput] = (), base_tokens: Iterable[str] = (), max_hops: int = 3
    ) -> None:
        if max_hops < 2:
            raise ValueError("max_hops must be at least 2")
        self.max_hops = max_hops
        self.base_tokens: frozenset[str] = frozenset(base_tokens)
        self._pools: dict[str, PoolRef] = {}
        # token -> {pool address: the pool's other token}
        self._adjacent: dict[str, dict[str, str]] = {}
        # sorted token pair -> {pool address: None} (an ordered set)
        self._pairs: dict[tuple[str, str], dict[str, None]] = {}
        self._cycles: dict[str, Cycle] = {}
        self._by_pool: dict[str, set[str]] = {}
        self.rebuild(pools)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._cycles)

    def __iter__(self) -> Iterator[Cycle]:
        return iter(self._cycles.values())

    def __contains__(self, key: object) -> bool:
        return key in self._cycles

    @property
    def cycles(self) -> list[Cycle]:
        """Every cycle, sorted by key."""
        return [self._cycles[key] for key in sorted(self._cycles)]

    @property
    def pool_addresses(self) -> frozenset[str]:
        """The pools currently indexed."""
        return frozenset(self._pools)

    def get(self, key: str) -> Cycle | None:
        """The cycle with this key, if indexed."""
        return self._cycles.get(key)

    def cycles_through(self, pool_addresses: Iterable[str]) -> list[Cycle]:
        """Cycles that use any of ``pool_addresses``, sorted by key, each once."""
        keys: set[str] = set()
        for address in pool_addresses:
            keys.update(self._by_pool.get(address, ()))
        return [self._cycles[key] for key in sorted(keys)]

    # ---------------------------------------------------------------- mutations

    def rebuild(
        self, pools: Iterable[PoolInput] | None = None, base_tokens: Iterable[str] | None = None
    ) -> None:
        """Recompute everything, optionally with new pools and/or base tokens."""
        if base_tokens is not None:
            self.base_tokens = frozenset(base_tokens)
        refs = list(self._pools.values()) if pools is None else [as_pool_ref(p) for p in pools]
        self._pools = {}
        self._adjacent = {}
        self._pairs = {}
        self._cycles = {}
        self._by_pool = {}
        for ref in refs:
            self._link(ref)
        for start in sorted(self.base_tokens):
            if start in self._adjacent:
                for cycle in self._cycles_from(start):
                    self._store(cycle)

    def add_pool(self, pool: PoolInput) -> list[Cycle]:
        """Index one more pool; returns the cycles it adds (sorted by key)."""
        ref = as_pool_ref(pool)
        if ref.address in self._pools:
            if self._pools[ref.address] == ref:
                return []
            self.remove_pool(ref.address)
        self._link(ref)
        added = [cycle for cycle in self._cycles_containing(ref) if cycle.key not in self._cycles]
        for cycle in added:
            self._store(cycle)
        return sorted(added, key=lambda c: c.key)

    def remove_pool(self, address: str) -> list[Cycle]:
        """Forget a pool and every cycle through it; returns the removed cycles."""
        ref = self._pools.pop(address, None)
        if ref is None:
            return []
        for token in (ref.token0, ref.token1):
            neighbours = self._adjacent.get(token)
            if neighbours is not None:
                neighbours.pop(address, None)
                if not neighbours:
                    del self._adjacent[token]
        pair = _pair_key(ref.token0, ref.token1)
        same_pair = self._pairs.get(pair)
        if same_pair is not None:
            same_pair.pop(address, None)
            if not same_pair:
                del self._pairs[pair]
        removed = []
        for key in sorted(self._by_pool.pop(address, set())):
            cycle = self._cycles.pop(key)
            removed.append(cycle)
            for other in cycle.pools:
                if other != address:
                    keys = self._by_pool.get(other)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del self._by_pool[other]
        return removed

    # ---------------------------------------------------------------- internals

    def _link(self, ref: PoolRef) -> None:
        if ref.token0 == ref.token1:
            raise ValueError(f"pool {ref.address} has the same token twice")
        self._pools[ref.address] = ref
        self._adjacent.setdefault(ref.token0, {})[ref.address] = ref.token1
        self._adjacent.setdefault(ref.token1, {})[ref.address] = ref.token0
        self._pairs.setdefault(_pair_key(ref.token0, ref.token1), {})[ref.address] = None

    def _store(self, cycle: Cycle) -> None:
        key = cycle.key
        self._cycles[key] = cycle
        for pool in cycle.pools:
            self._by_pool.setdefault(pool, set()).add(key)

    def _paths_back(
        self, hops: list[Hop], used_pools: set[str], visited: set[str], target: str
    ) -> Iterator[tuple[Hop, ...]]:
        """Depth-first: every way to close ``hops`` back to ``target`` within ``max_hops``."""
        token = hops[-1].token_out
        if len(hops) + 1 == self.max_hops:
            # Only a closing hop fits: look the pair up instead of scanning a hub's pools.
            for pool in self._pairs.get(_pair_key(token, target), ()):
                if pool not in used_pools:
                    yield (*hops, Hop(pool, token, target))
            return
        for pool, nxt in self._adjacent.get(token, {}).items():
            if pool in used_pools:
                continue
            if nxt == target:
                yield (*hops, Hop(pool, token, target))
                continue
            if nxt in visited:
                continue
            hops.append(Hop(pool, token, nxt))
            used_pools.add(pool)
            visited.add(nxt)
            yield from self._paths_back(hops, used_pools, visited, target)
            visited.discard(nxt)
            used_pools.discard(pool)
            hops.pop()

    def _cycles_from(self, start: str) -> Iterator[Cycle]:
        """Every cycle starting at the base token ``start``."""
        for pool, nxt in list(self._adjacent.get(start, {}).items()):
            first = Hop(pool, start, nxt)
            for ring in self._paths_back([first], {pool}, {start, nxt}, start):
                yield Cycle(start, ring)

    def _cycles_containing(self, ref: PoolRef) -> Iterator[Cycle]:
        """Every cycle that uses ``ref``, in either direction, from any base token in it."""
        for token_a, token_b in ((ref.token0, ref.token1), (ref.token1, ref.token0)):
            first = Hop(ref.address, token_a, token_b)
            for ring in self._paths_back([first], {ref.address}, {token_a, token_b}, token_a):
                # The ring starts at token_a; rotate it to start at each base token in it.
                for i, hop in enumerate(ring):
                    if hop.token_in in self.base_tokens:
                        yield Cycle(hop.token_in, ring[i:] + ring[:i])


def _pair_key(token_a: str, token_b: str) -> tuple[str, str]:
    return (token_a, token_b) if token_a < token_b else (token_b, token_a)
