from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        # The domain announces what happened; the dashboard turns it into broadcasts.
        from dashboard import receivers

        receivers.connect()
