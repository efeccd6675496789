"""Every page: login required, local assets only, navigation, settings links."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from trading.models import EngineState

PAGES = [
    "dashboard:overview",
    "dashboard:opportunities",
    "dashboard:trades",
    "dashboard:performance",
    "dashboard:system",
    "dashboard:settings",
    "dashboard:performance_data",
    "dashboard:opportunities_csv",
    "dashboard:trades_csv",
]


@pytest.mark.parametrize("name", PAGES)
def test_pages_require_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES[:6])
def test_pages_use_local_assets_only_and_link_every_page(operator_client, name):
    body = operator_client.get(reverse(name)).content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', body)
    assert sources and all(s.startswith(("/static/", "data:")) for s in sources), sources
    for page in PAGES[:6]:
        assert f'href="{reverse(page)}"' in body
    assert 'id="ws-status"' in body and 'id="connection-banner"' in body
    assert 'id="bot-pill"' in body
    # Two badges, two meanings: the trading mode and the page's live-update socket.
    pill = body[body.index('id="bot-pill"') :].split("</span>")[0]
    socket = body[body.index('id="ws-status"') :].split("</span>")[0]
    assert "Trading: Dry run" in pill and "Updates:" in socket


def test_settings_links_into_admin_for_staff(staff_client):
    body = staff_client.get(reverse("dashboard:settings")).content.decode()
    for model in ("botconfig", "dex", "token", "network"):
        assert reverse(f"admin:trading_{model}_changelist") in body
    assert reverse("admin:django_celery_beat_periodictask_changelist") in body


def test_settings_tell_operators_to_ask_an_admin(operator_client):
    body = operator_client.get(reverse("dashboard:settings")).content.decode()
    assert "/admin/" not in body
    assert "Ask an administrator" in body


def test_settings_never_render_secrets(staff_client, monkeypatch, settings):
    key = "0x" + "ab" * 32
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", key)
    from ..trading import factories as f

    f.network(active=True, rpc_urls="https://rpc.example/v2/APIKEY123")
    body = staff_client.get(reverse("dashboard:settings")).content.decode()
    assert "LISTONIAN_PRIVATE_KEY environment variable" in body
    assert key[2:] not in body and "APIKEY123" not in body
    assert settings.SECRET_KEY not in body


def test_settings_show_the_engine_signing_account_the_web_has_no_key_for(
    staff_client, monkeypatch
):
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY_FILE", raising=False)
    body = staff_client.get(reverse("dashboard:settings")).content.decode()
    assert "not configured" in body
    state = EngineState.load()
    state.balances = {"signer": {"address": "0x" + "Ab" * 20}}
    state.save()
    body = staff_client.get(reverse("dashboard:settings")).content.decode()
    assert "held by the engine" in body and "0x" + "Ab" * 20 in body
