"""Back-off of pools and tokens whose cycles keep failing simulation.

A cycle through a fee-on-transfer token, or a pool that lies in ``balanceOf``,
shows a profit that always fails simulation, and a griefer poking the pool
every block makes it a fresh opportunity every block. After
``BACKOFF_AFTER`` failures in a row, cycles through such a pool or token are
skipped for ``BACKOFF_BLOCKS`` blocks, doubling with every further failure up
to ``MAX_BACKOFF_BLOCKS``. The network's base tokens are never backed off:
every cycle goes through one, so a griefer could otherwise stop all trading.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from trading.addresses import normalize_address, normalize_pool_address
from trading.models import Opportunity, SimulationBackoff

BACKOFF_AFTER = 3
BACKOFF_BLOCKS = 4
MAX_BACKOFF_BLOCKS = 7_200  # about four hours of Base blocks


def backoff_blocks(failures: int) -> int:
    """Blocks to leave a pool or token out after ``failures`` simulation failures in a row."""
    if failures < BACKOFF_AFTER:
        return 0
    return min(MAX_BACKOFF_BLOCKS, BACKOFF_BLOCKS * 2 ** min(failures - BACKOFF_AFTER, 32))


def _subjects(opportunity: Opportunity) -> list[tuple[str, str]]:
    exempt = {opportunity.start_token.address.lower()}
    if opportunity.network is not None:
        exempt.update(t.address.lower() for t in opportunity.network.base_tokens.all())
    subjects: list[tuple[str, str]] = []
    for hop in opportunity.path or []:
        subjects.append((SimulationBackoff.Kind.POOL, normalize_pool_address(hop["pool"])))
        for token in (hop["token_in"], hop["token_out"]):
            subject = (SimulationBackoff.Kind.TOKEN, normalize_address(token))
            if token.lower() not in exempt and subject not in subjects:
                subjects.append(subject)
    return subjects


def backoff_note(
    *,
    opportunity_id: int,
    block: int,
    failed: bool,
    reason: str = "",
    traded_pools: Collection[str] = (),
) -> list[str]:
    """Count a simulation failure (or clear the count after a success) on the cycle's parts.

    A failure is not counted when the cycle shares a pool with ``traded_pools``
    (pools a trade of this block already moved: the gap closed, nobody lied).
    Returns the cycle's pools.
    """
    opportunity = Opportunity.objects.select_related("network", "start_token").get(
        pk=opportunity_id
    )
    subjects = _subjects(opportunity)
    pools = [address for kind, address in subjects if kind == SimulationBackoff.Kind.POOL]
    if opportunity.network is None:
        return pools
    traded = {address.lower() for address in traded_pools}
    if failed and any(address.lower() in traded for address in pools):
        return pools
    rows = SimulationBackoff.objects.filter(network=opportunity.network)
    if not failed:
        # One statement for every subject, and only rows that hold a count.
        held = Q()
        for kind, address in subjects:
            held |= Q(kind=kind, address=address)
        if subjects:  # (an empty Q would match every row)
            rows.filter(held).exclude(failures=0, until_block=0).update(failures=0, until_block=0)
        return pools
    with transaction.atomic():
        for kind, address in subjects:
            row, _ = rows.select_for_update().get_or_create(
                network=opportunity.network, kind=kind, address=address
            )
            row.failures += 1
            row.until_block = max(row.until_block, block + backoff_blocks(row.failures))
            row.last_reason = reason[:255]
            row.save()
    return pools


def backed_off(*, network_ids: Iterable[int], block: int) -> set[str]:
    """Addresses (lower case) of the pools and tokens left out at ``block`` on these networks."""
    return set(backed_off_until(network_ids=network_ids, block=block))


def backed_off_until(*, network_ids: Iterable[int], block: int) -> dict[str, int]:
    """The pools and tokens (lower case) left out at ``block`` on these networks -> the
    last block each is left out at."""
    until: dict[str, int] = {}
    for address, last in SimulationBackoff.objects.filter(
        network_id__in=list(network_ids), until_block__gte=block, failures__gt=0
    ).values_list("address", "until_block"):
        key = address.lower()
        until[key] = max(last, until.get(key, last))
    return until


def backoff_reset(rows: QuerySet[SimulationBackoff] | Sequence[Any]) -> int:
    """Clear the failures of ``rows``: their pools and tokens trade again at once."""
    ids = [row.pk for row in rows]
    return SimulationBackoff.objects.filter(pk__in=ids).update(failures=0, until_block=0)
