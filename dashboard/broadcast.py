"""Event types and group names for live dashboard updates."""

from __future__ import annotations

DASHBOARD_GROUP = "dashboard"
