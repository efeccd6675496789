"""The interface every DEX family implements, and the plain data it works with.

A family (``uniswap_v2``, ``uniswap_v3``, ``slipstream``, ``pancakeswap_v3``,
``uniswap_v4``, ``solidly``) knows three things:

- how to **discover** a factory's pools incrementally from a cursor (a pool
  index for V2/Solidly, a block number for the V3 family and V4's PoolManager)
  — :meth:`DexFamily.discover`;
- how to ask the shared ``PoolStateReader`` for a pool's state —
  :meth:`DexFamily.state_request`; and how to turn the answer into the
  immutable snapshot of :mod:`trading.amm` — :meth:`DexFamily.build_state`;
- which event topics mean "this pool's state changed" —
  :attr:`DexFamily.state_topics`.

Families never touch the database: they take :class:`DexInfo` and
:class:`PoolSpec` values and return :class:`DiscoveryPage` values; the
services turn rows into these and back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eth_utils import keccak

from trading.amm import PoolState

if TYPE_CHECKING:
    from trading.chain.client import ChainClient


def topic(signature: str) -> str:
    """The 0x-prefixed topic0 of an event signature."""
    return "0x" + keccak(text=signature).hex()


@dataclass(frozen=True)
class DexInfo:
    """What a family needs to know about one DEX (from a ``Dex`` row)."""

    name: str
    kind: str
    factory: str
    fee_bps: int = 30
    start_block: int = 0


@dataclass(frozen=True)
class DiscoveredPool:
    """A pool found on chain. ``fee`` is in pips (millionths) for every family."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int | None = None
    stable: bool = False
    created_block: int | None = None
    # Uniswap V4 only: the key's hooks, and whether the hooks set the fee
    # (then ``fee`` is 0 until the pool's slot0 is read).
    hooks: str = ""
    dynamic_fee: bool = False


@dataclass(frozen=True)
class SkippedPool:
    """A pool discovery left out, with the reason (shown in the sync summary)."""

    address: str
    reason: str


@dataclass(frozen=True)
class DiscoveryPage:
    """One step of discovery: pools found, pools skipped, where to resume.

    ``progress``/``total`` are in the family's cursor unit (pool indexes or
    blocks) for progress bars. ``unread`` holds the pool indexes whose factory
    entry could not be read (the call reverted): they are not pools skipped for
    good but entries to read again later.
    """

    pools: tuple[DiscoveredPool, ...]
    skipped: tuple[SkippedPool, ...]
    next_cursor: int
    done: bool
    progress: int = 0
    total: int = 0
    unread: tuple[int, ...] = ()


@dataclass(frozen=True)
class PoolSpec:
    """A known pool, with what reading and modelling its state requires.

    ``fee`` is in pips; ``decimals0``/``decimals1`` are the tokens' decimals
    (Solidly's stable curve needs them).
    """

    address: str
    kind: str
    token0: str
    token1: str
    fee: int
    decimals0: int = 18
    decimals1: int = 18
    tick_spacing: int | None = None
    stable: bool = False
    dex: str = ""
    # Uniswap V4 only: ``address`` is then the pool id, ``manager`` the
    # PoolManager holding it, ``hooks`` its key's hooks; a dynamic-fee pool's
    # fee changes without a log, so it is re-read every block.
    manager: str = ""
    hooks: str = ""
    dynamic_fee: bool = False

    @property
    def fee_bps(self) -> int:
        """The fee in basis points (V2 and Solidly maths use these)."""
        return self.fee // 100


ProgressCallback = Callable[[int, int], None]


class DexFamily(ABC):
    """One DEX family: discovery, state requests and state building."""

    kind: ClassVar[str]
    # Pool events after which the pool's state must be read again.
    state_topics: ClassVar[tuple[str, ...]] = ()
    # Which list of the PoolStateReader call this family's pools go into.
    reader_section: ClassVar[str]
    # Discovery scans factory logs from a block cursor (else: a pool-index cursor).
    discovers_by_logs: ClassVar[bool] = False

    def __init__(self, client: ChainClient, dex: DexInfo) -> None:
        self.client = client
        self.dex = dex

    @abstractmethod
    async def discover(self, cursor: int, *, latest_block: int | None = None) -> DiscoveryPage:
        """Find pools from ``cursor`` on: one bounded step (one or two round trips)."""

    async def rediscover(self, indexes: Sequence[int]) -> DiscoveryPage:
        """Read again the factory entries at ``indexes`` (a page's ``unread``).

        Only families that list pools by index leave entries unread.
        """
        raise NotImplementedError(f"{self.kind} discovery leaves no entry to read again")

    @classmethod
    @abstractmethod
    def state_request(cls, pool: PoolSpec, *, with_fee: bool, word_radius: int) -> Any:
        """The PoolStateReader request for ``pool`` (its section's item type)."""

    @classmethod
    @abstractmethod
    def build_state(cls, pool: PoolSpec, raw: Any, block_number: int) -> PoolState | None:
        """The :mod:`trading.amm` snapshot from the reader's answer, or None when unreadable."""

    @classmethod
    def estimated_gas(
        cls, pool: PoolSpec, *, with_fee: bool, word_radius: int, known_ticks: int = 0
    ) -> int:
        """Rough gas of reading ``pool`` in a batch (for sizing reader calls)."""
        return 10_000
