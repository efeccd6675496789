from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        # Registers the exact-sum SQLite aggregate on every new connection.
        from trading import fields  # noqa: F401
