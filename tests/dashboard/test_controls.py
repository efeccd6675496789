"""Pause and resume (the kill switch) from the dashboard."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from dashboard import broadcast
from trading.models import BotConfig, ControlChange
from trading.services.controls import bot_config_set_paused

HTMX = {"HX-Request": "true", "HX-Target": "bot-status"}


@pytest.fixture
def sent(monkeypatch, fresh_stats_throttle):
    events = []
    monkeypatch.setattr(broadcast, "publish", lambda event: events.append(event) or True)
    return events


@pytest.fixture
def operator(operator):
    """In this file the operator holds the right to pause and resume trading."""
    operator.user_permissions.add(Permission.objects.get(codename="change_botconfig"))
    return operator


@pytest.fixture
def viewer(django_user_model):
    """A logged-in user who may read the dashboard but not touch the kill switch."""
    return django_user_model.objects.create_user(username="viewer", password="view-pass-12345")


@pytest.mark.parametrize("name", ["dashboard:bot_pause", "dashboard:bot_resume"])
def test_it_requires_login(client, db, name):
    response = client.post(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert BotConfig.load().paused is False


@pytest.mark.parametrize("name", ["dashboard:bot_pause", "dashboard:bot_resume"])
def test_it_requires_post(operator_client, name):
    assert operator_client.get(reverse(name)).status_code == 405
    assert BotConfig.load().paused is False


def test_it_requires_the_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(reverse("dashboard:bot_pause")).status_code == 403
    assert BotConfig.load().paused is False
    page = client.get(reverse("dashboard:overview"))
    token = page.cookies["csrftoken"].value
    # The page sends the token in a header set by hx-headers on <body>.
    assert "X-CSRFToken" in page.content.decode()
    response = client.post(reverse("dashboard:bot_pause"), headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert BotConfig.load().paused is True


def test_it_pauses_and_resumes(operator_client, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("dashboard:bot_pause"), {"reason": "gas spike"}, headers=HTMX
        )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<article class="card bot-card is-paused" id="bot-status"')
    assert "Paused: gas spike" in body and "Resume trading" in body
    config = BotConfig.load()
    assert config.paused and config.paused_reason == "gas spike"
    assert [e.type for e in sent] == ["dashboard.status"] and sent[0].paused

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(reverse("dashboard:bot_resume"), headers=HTMX)
    assert "Pause" in response.content.decode()
    config = BotConfig.load()
    assert not config.paused and config.paused_reason == ""
    assert sent[-1].paused is False


def test_without_htmx_it_redirects_to_the_overview(operator_client, sent):
    response = operator_client.post(reverse("dashboard:bot_pause"))
    assert response.status_code == 302 and response.url == reverse("dashboard:overview")


def test_the_service_names_who_paused(operator, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        config = bot_config_set_paused(paused=True, user=operator)
    assert config.paused_reason == "Paused from the dashboard by operator"
    assert sent and sent[0].paused_reason == config.paused_reason
    long = bot_config_set_paused(paused=True, reason="x" * 400, user=operator)
    assert len(long.paused_reason) == 255


@pytest.mark.parametrize("name", ["dashboard:bot_pause", "dashboard:bot_resume"])
def test_it_requires_the_control_right(client, viewer, name):
    config = BotConfig.load()
    config.paused = name.endswith("resume")
    config.paused_reason = "exploit suspected" if config.paused else ""
    config.save()
    client.force_login(viewer)
    response = client.post(reverse(name), {"reason": "mine"}, headers=HTMX)
    assert response.status_code == 403
    after = BotConfig.load()
    assert (after.paused, after.paused_reason) == (config.paused, config.paused_reason)
    assert not ControlChange.objects.exists()


def test_staff_may_pause_without_an_explicit_right(staff_client, sent):
    response = staff_client.post(reverse("dashboard:bot_pause"), headers=HTMX)
    assert response.status_code == 200 and BotConfig.load().paused


def test_the_buttons_show_only_to_users_with_the_right(client, viewer, operator_client):
    assert 'id="pause-button"' in operator_client.get(reverse("dashboard:overview")).text
    client.force_login(viewer)
    body = client.get(reverse("dashboard:overview")).text
    assert 'id="bot-status"' in body
    assert 'id="pause-button"' not in body and "bot_pause" not in body
    assert reverse("dashboard:bot_pause") not in body


def test_every_change_is_recorded_and_shown(operator_client, sent):
    operator_client.post(reverse("dashboard:bot_pause"), {"reason": "exploit suspected"})
    operator_client.post(reverse("dashboard:bot_resume"))
    changes = list(ControlChange.objects.order_by("id"))
    assert [(c.action, c.actor, c.source, c.reason) for c in changes] == [
        ("pause", "operator", "dashboard", "exploit suspected"),
        ("resume", "operator", "dashboard", ""),
    ]
    assert all(c.user.username == "operator" and c.created_at for c in changes)
    body = operator_client.get(reverse("dashboard:settings")).text
    assert 'id="control-changes"' in body
    assert "exploit suspected" in body and "Resumed" in body and "Paused" in body


def test_a_pause_by_the_engine_is_recorded(db, sent):
    bot_config_set_paused(paused=True, reason="daily loss limit reached")
    change = ControlChange.objects.get()
    assert (change.action, change.actor, change.source, change.user) == (
        "pause",
        "the engine",
        "engine",
        None,
    )
    assert change.reason == "daily loss limit reached"
