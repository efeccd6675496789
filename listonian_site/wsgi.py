"""WSGI entry point (admin and pages only; the websocket needs the ASGI app)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")

application = get_wsgi_application()
