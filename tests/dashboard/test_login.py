from django.urls import reverse

from trading.models import BotConfig
from trading.services.accounts import operator_ensure_admin

from ..trading import factories as f


def test_pages_require_login(client, db):
    response = client.get(reverse("dashboard:overview"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_login_page_is_styled_and_logs_in(client, operator):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Log in to Listonian" in page.content and b"listonian.css" in page.content
    response = client.post(
        reverse("login"), {"username": "operator", "password": "op-secret-pass-1"}
    )
    assert response.status_code == 302 and response.url == reverse("dashboard:overview")
    assert client.get(reverse("dashboard:overview")).status_code == 200


def test_failed_logins_are_rate_limited(client, operator):
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "operator", "password": "wrong"})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    # Even the right password is refused while locked out.
    locked = client.post(reverse("login"), {"username": "operator", "password": "op-secret-pass-1"})
    assert locked.status_code == 429
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_spraying_many_usernames_from_one_ip_is_limited(client, operator, settings):
    settings.LISTONIAN_LOGIN_IP_FAILURE_LIMIT = 8
    # Each guessed name stays under the per-username limit of 5.
    for i in range(7):
        response = client.post(reverse("login"), {"username": f"guess{i}", "password": "x"})
        assert response.status_code == 200
    response = client.post(reverse("login"), {"username": "guess7", "password": "x"})
    assert response.status_code == 429
    locked = client.post(reverse("login"), {"username": "operator", "password": "op-secret-pass-1"})
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    # Another address is not affected.
    elsewhere = client.post(
        reverse("login"),
        {"username": "operator", "password": "op-secret-pass-1"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert elsewhere.status_code == 302


def test_a_few_failures_from_one_ip_do_not_lock_it(client, operator, settings):
    settings.LISTONIAN_LOGIN_IP_FAILURE_LIMIT = 8
    for i in range(7):
        client.post(reverse("login"), {"username": f"typo{i}", "password": "x"})
    ok = client.post(reverse("login"), {"username": "operator", "password": "op-secret-pass-1"})
    assert ok.status_code == 302


def test_logout(operator_client):
    response = operator_client.post(reverse("logout"))
    assert response.status_code == 302
    assert operator_client.get(reverse("dashboard:overview")).status_code == 302


def test_overview_shows_counts_and_mode(operator_client):
    net = f.network(active=True, name="Localnet")
    weth = f.token(net, "WETH")
    for _ in range(3):
        f.trade(f.opportunity(weth))
    f.opportunity(weth)
    config = BotConfig.load()
    config.mode = "live"
    config.save()
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert 'id="opportunity-count">4<' in body
    assert 'id="trade-count">3<' in body
    assert "Live" in body and "Localnet" in body


def test_overview_empty_state_says_what_to_do(operator_client):
    body = operator_client.get(reverse("dashboard:overview")).content.decode()
    assert "No opportunities yet" in body and "sync_pools" in body


def test_ensure_admin_creates_one_account_once(db):
    created = operator_ensure_admin()
    assert created is not None
    username, password = created
    assert len(password) >= 16
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    assert user.is_superuser and user.check_password(password)
    assert user.password != password
    assert operator_ensure_admin() is None
