from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_schedules(sender: Any, **kwargs: Any) -> None:
    from trading.jobs.schedules import install_schedules

    install_schedules()


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        # Registers the exact-sum SQLite aggregate on every new connection.
        from trading import fields  # noqa: F401

        # Periodic jobs appear in admin (django-celery-beat) after every migrate.
        post_migrate.connect(_install_schedules, sender=self, dispatch_uid="listonian-schedules")
