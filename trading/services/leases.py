"""The engine lease: one engine per network and signing account.

Taken and renewed with conditional UPDATEs: a row held by someone else whose
``expires_at`` has not passed is never overwritten, so of two engines exactly
one holds it at any time (the database decides, whatever the clocks say about
each other, since every write compares against the same ``now``).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from trading.models import EngineLease


def lease_key(*, network_id: int, signer: str | None) -> str:
    return f"network {network_id} signer {(signer or 'none').lower()}"


def lease_acquire(*, key: str, holder: str, ttl_seconds: float) -> tuple[bool, EngineLease]:
    """Take or renew the lease for ``holder``; ``(held, row)`` — the row names the holder."""
    now = timezone.now()
    expires = now + dt.timedelta(seconds=ttl_seconds)
    taken = (
        EngineLease.objects.filter(key=key)
        .filter(Q(holder=holder) | Q(expires_at__lt=now))
        .update(holder=holder, renewed_at=now, expires_at=expires)
    )
    if not taken:
        try:
            with transaction.atomic():
                EngineLease.objects.create(
                    key=key, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires
                )
            taken = 1
        except IntegrityError:  # someone holds it (or created it just now)
            pass
    row = EngineLease.objects.get(key=key)
    return bool(taken) and row.holder == holder, row


def lease_release(*, key: str, holder: str) -> bool:
    """Give the lease up (a clean stop), so a standby takes over at once."""
    return EngineLease.objects.filter(key=key, holder=holder).delete()[0] > 0
