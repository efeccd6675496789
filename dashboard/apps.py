from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        # The domain announces what happened; the dashboard turns it into broadcasts.
        from dashboard import receivers, sessions

        receivers.connect()
        # Sockets of a session that ends (logout, deactivation) are closed.
        sessions.connect_receivers()
