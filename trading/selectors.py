"""Read-side queries used by views, commands and the engine."""

from __future__ import annotations

from dataclasses import dataclass

from trading.models import BotConfig, Network, Opportunity, Trade, TradeStatus


@dataclass(frozen=True)
class OverviewSummary:
    mode: str
    mode_label: str
    paused: bool
    paused_reason: str
    network: Network | None
    opportunities: int
    opportunities_today: int
    trades: int
    successful_trades: int
    pending_trades: int


def overview_summary() -> OverviewSummary:
    """Counts and bot state shown at the top of the overview page."""
    config = BotConfig.load()
    return OverviewSummary(
        mode=config.mode,
        mode_label=config.get_mode_display(),
        paused=config.paused,
        paused_reason=config.paused_reason,
        network=Network.objects.active(),
        opportunities=Opportunity.objects.count(),
        opportunities_today=Opportunity.objects.today().count(),
        trades=Trade.objects.count(),
        successful_trades=Trade.objects.filter(status=TradeStatus.SUCCESS).count(),
        pending_trades=Trade.objects.filter(status=TradeStatus.PENDING).count(),
    )
