"""ASGI entry point: HTTP (dashboard, admin, static files) and the dashboard websocket."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (routing -> consumers).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Static files (htmx, charts) are served by the app itself: a
        # self-hosted control room needs no separate web server.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
