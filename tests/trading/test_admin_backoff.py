"""Simulation back-offs in admin: listed read-only, reset by staff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from trading.models import SimulationBackoff

from . import factories as f

pytestmark = pytest.mark.django_db


def test_staff_reset_a_back_off(staff_client) -> None:
    net = f.network()
    row = SimulationBackoff.objects.create(
        network=net, kind="token", address=f.address(0x8D0), failures=5, until_block=1_000
    )
    url = reverse("admin:trading_simulationbackoff_changelist")
    listing = staff_client.get(url).content.decode()
    # Listed in its checksum form (this address has a capital in it).
    assert row.address.lower() in listing.lower() and "Reset the back-off" in listing
    assert staff_client.get(reverse("admin:trading_simulationbackoff_add")).status_code == 403

    response = staff_client.post(
        url, {"action": "reset", "_selected_action": [row.pk]}, follow=True
    )
    assert "1 back-off reset." in response.content.decode()
    row.refresh_from_db()
    assert (row.failures, row.until_block) == (0, 0)
