"""Close the live sockets of a session that ends.

The websocket is authenticated once, when it opens. When its session ends
(logout) or its user loses access (deactivated, deleted), a ``dashboard.session_ended``
message goes to every web process through the dashboard group, and each socket
of that session or user closes itself. The session key travels only as a hash:
it is the cookie that logs a browser in.
"""

from __future__ import annotations

import dataclasses
import hashlib
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from dashboard import broadcast

SESSION_ENDED = "dashboard.session_ended"


@dataclasses.dataclass(frozen=True)
class SessionEndedEvent:
    """The sockets of this session (by hash) or of this user must close."""

    session_hash: str = ""
    user_id: int | None = None
    type: str = SESSION_ENDED


def session_hash(session_key: str | None) -> str:
    """A stable digest of a session key ("" for none)."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_is_valid(session_key: str | None, user_id: Any) -> bool:
    """Whether the session still exists and its user may still log in."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    if not store.exists(session_key):
        return False
    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


def publish_session_ended(*, session_key: str | None = None, user_id: Any = None) -> None:
    """Tell every web process, after commit, to close the sockets of a session or user."""
    event = SessionEndedEvent(session_hash=session_hash(session_key), user_id=user_id)
    transaction.on_commit(lambda: broadcast.publish(event))  # type: ignore[arg-type]


def _on_logout(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        publish_session_ended(session_key=session.session_key)


def _on_user_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        publish_session_ended(user_id=instance.pk)


def _on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    publish_session_ended(user_id=instance.pk)


def connect_receivers() -> None:
    """Connect the signals that end sessions (called once from the app's ``ready``)."""
    user_model = get_user_model()
    user_logged_out.connect(_on_logout, dispatch_uid="dashboard-session-logout")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="dashboard-session-user")
    post_delete.connect(
        _on_user_deleted, sender=user_model, dispatch_uid="dashboard-session-user-deleted"
    )
