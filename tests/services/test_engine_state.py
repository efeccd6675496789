"""Engine state and component health as the engine writes them."""

from __future__ import annotations

import pytest

from trading.lifecycle import HealthReport
from trading.models import ComponentHealth, EngineState
from trading.services.engine_state import engine_state_save

pytestmark = pytest.mark.django_db


def _report(name: str) -> HealthReport:
    return HealthReport(
        name=name,
        initialized=True,
        healthy=True,
        last_success_at=None,
        last_error="",
        last_error_at=None,
        restarts=0,
    )


def test_health_rows_follow_the_components_the_engine_reports():
    engine_state_save(state={"last_block": 7}, health=[_report("chain"), _report("distribution")])
    assert set(ComponentHealth.objects.values_list("name", flat=True)) == {"chain", "distribution"}

    # A component renamed since (the wallet watch was called "distribution") leaves no stale row.
    engine_state_save(state={"last_block": 8}, health=[_report("chain"), _report("wallet")])
    assert set(ComponentHealth.objects.values_list("name", flat=True)) == {"chain", "wallet"}
    assert EngineState.objects.get(pk=1).last_block == 8


def test_state_without_health_keeps_the_rows():
    engine_state_save(state={}, health=[_report("chain")])
    engine_state_save(state={"last_block": 9}, health=[])
    assert list(ComponentHealth.objects.values_list("name", flat=True)) == ["chain"]
