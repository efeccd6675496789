"""Shared fixtures: a fixed cast of users, and the rules for service-backed tests.

Tests marked ``postgres`` run only when DATABASE_URL points at PostgreSQL and
``redis`` ones only when REDIS_URL is set (CI runs the suite both ways). When the
variable is set but the server is down, those tests error loudly: they never
pass without the real service.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

pytest_plugins = ["tests.support.chain_fixtures"]


def _database_vendor() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else engine.rsplit(".", 1)[-1]


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"database: {_database_vendor()}",
        f"channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = _database_vendor() == "postgresql"
    with_redis = bool(os.environ.get("REDIS_URL"))
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not with_redis:
            item.add_marker(skip_redis)


@pytest.fixture
def operator(django_user_model):
    """A logged-in-able dashboard user without admin rights."""
    return django_user_model.objects.create_user(username="operator", password="op-secret-pass-1")


@pytest.fixture
def staff(django_user_model):
    """An admin user."""
    return django_user_model.objects.create_superuser(
        username="boss", password="boss-secret-pass-1", email=""
    )


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def in_process_alerts(settings):
    """Deliver alerts from a background thread, as the embedded process does.

    With REDIS_URL set, alerts would go to a Celery worker that the test does not
    run; the worker path is the ``deliver_alert`` task, tested on its own.
    """
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(autouse=True)
def _no_metrics_ports(settings):
    """Commands under test do not bind the engine's or the worker's metrics port."""
    settings.LISTONIAN_ENGINE_METRICS_PORT = 0
    settings.LISTONIAN_WORKER_METRICS_PORT = 0
