"""Operator accounts."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction


@transaction.atomic
def operator_ensure_admin(*, username: str = "admin") -> tuple[str, str] | None:
    """Create a superuser with a generated password if there is no superuser yet.

    Returns ``(username, password)`` when one was created (the only moment the
    password exists in clear: it is not stored anywhere but as a hash), else None.
    """
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(15)
    User.objects.create_superuser(username=username, email="", password=password)
    return username, password
