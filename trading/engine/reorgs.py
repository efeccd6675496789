"""Reorg detection: the hashes of recent blocks, and the common ancestor when they change.

The engine shows every head to a ``HeadHistory``. A head whose parent is not
the block remembered at that height (or, after skipped blocks, a remembered
block whose hash has changed) means the chain was reorganised: the history
walks back to the last block both chains share and reports what was dropped.
The engine then re-checks what it recorded in the dropped blocks
(:mod:`trading.services.reorgs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class _Requester(Protocol):
    async def request(self, method: str, params: list[Any] | None = None) -> Any: ...


@dataclass(frozen=True)
class ReorgFound:
    """The old chain above ``common_ancestor`` is gone (``depth`` blocks of it)."""

    common_ancestor: int
    depth: int
    old_head: int
    new_head: int


class HeadHistory:
    """The hashes of the last ``keep`` blocks, as the engine saw them."""

    def __init__(self, client: _Requester, *, keep: int = 128) -> None:
        self.client = client
        self.keep = keep
        self._hashes: dict[int, str] = {}
        self.reorgs = 0

    @property
    def head(self) -> int | None:
        return max(self._hashes) if self._hashes else None

    def hash_at(self, number: int) -> str | None:
        return self._hashes.get(number)

    async def _header(self, number: int) -> dict[str, Any]:
        header = await self.client.request("eth_getBlockByNumber", [hex(number), False])
        if not header:
            raise LookupError(f"block {number} is not known to the node")
        return dict(header)

    async def observe(self, number: int) -> ReorgFound | None:
        """Remember the head ``number``; a ``ReorgFound`` if it does not extend what we saw."""
        header = await self._header(number)
        found: ReorgFound | None = None
        old_head = self.head
        if old_head is not None:
            parent = self._hashes.get(number - 1)
            if parent is not None:
                broken = parent != header["parentHash"]
            else:
                # Blocks were skipped (or the head went back): is our newest still there?
                check = min(old_head, number)
                if check == number:
                    broken = self._hashes.get(check) not in (None, header["hash"])
                else:
                    broken = (await self._header(check))["hash"] != self._hashes[check]
            if broken:
                ancestor = await self._common_ancestor(min(old_head, number - 1))
                found = ReorgFound(
                    common_ancestor=ancestor,
                    depth=old_head - ancestor,
                    old_head=old_head,
                    new_head=number,
                )
                self.reorgs += 1
                for stale in [n for n in self._hashes if n > ancestor]:
                    del self._hashes[stale]
        self._hashes[number] = header["hash"]
        self._hashes[number - 1] = header["parentHash"]
        for old in [n for n in self._hashes if n <= number - self.keep]:
            del self._hashes[old]
        return found

    async def _common_ancestor(self, start: int) -> int:
        """The newest remembered block, at or below ``start``, still on the chain.

        Blocks the engine skipped have no remembered hash; the ancestor is then
        the remembered block below them (conservative: a few more blocks are
        re-checked than strictly needed). Below everything remembered: the
        oldest remembered block minus one.
        """
        for number in sorted((n for n in self._hashes if n <= start), reverse=True):
            if (await self._header(number))["hash"] == self._hashes[number]:
                return number
        return (min(self._hashes) - 1) if self._hashes else start
