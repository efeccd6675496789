"""The distributions page: balances, recipients, what each was paid, every sweep."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trading import selectors
from trading.models import BotConfig, EngineState, Network


def _balances() -> dict[str, Any]:
    state = EngineState.objects.filter(pk=1).first()
    balances = (state.balances if state else None) or {}
    signer = balances.get("signer") or {}
    executor = balances.get("executor") or {}
    return {
        "block": balances.get("block"),
        "signer": signer,
        "signer_balance": int(signer["balance_wei"]) if signer.get("balance_wei") else None,
        "signer_minimum": int(signer.get("minimum_wei") or 0),
        "executor_address": executor.get("address", ""),
        "executor_tokens": [
            SimpleNamespace(**{**token, "balance": int(token["balance"])})
            for token in executor.get("tokens", [])
        ],
        "checked_at": state.heartbeat_at if state else None,
    }


@login_required
def distributions(request: HttpRequest) -> HttpResponse:
    """Profit sweeps: balances now, recipients and their totals, the sweep history."""
    network = Network.objects.active()
    context = {
        "network": network,
        "config": BotConfig.load(),
        "balances": _balances(),
        "recipients": selectors.profit_recipients(),
        "totals": selectors.recipient_totals(),
        "history": selectors.distribution_history(),
        "thresholds": list(
            network.tokens.filter(distribution_threshold__isnull=False).order_by("symbol")
        )
        if network
        else [],
    }
    return render(request, "dashboard/distributions.html", context)
