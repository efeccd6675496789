"""``/metrics``: this process's Prometheus metrics, for loopback or a bearer token.

The families are defined in :mod:`trading.metrics`; in the embedded ``run``
process this one endpoint serves the web side, the engine and the jobs alike.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET

from trading import metrics


@require_GET
def metrics_endpoint(request: HttpRequest) -> HttpResponse:
    """The exposition text; 403 unless from loopback or with ``Bearer <token>``."""
    allowed = metrics.scrape_allowed(
        request.META.get("REMOTE_ADDR"),
        request.headers.get("Authorization", ""),
        settings.LISTONIAN_METRICS_TOKEN,
    )
    if not allowed:
        return HttpResponseForbidden(
            "metrics are served to loopback or with the bearer token", content_type="text/plain"
        )
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
