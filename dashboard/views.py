"""Dashboard pages. Views stay thin: reads go through selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trading import selectors


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    context = {"summary": selectors.overview_summary()}
    return render(request, "dashboard/overview.html", context)
