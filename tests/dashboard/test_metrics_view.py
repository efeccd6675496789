"""``/metrics`` on the web process: loopback or the bearer token, and no secret in a scrape."""

from __future__ import annotations

import pytest

from tests.support.scrape import parse

TOKEN = "scrape-token-1"
REMOTE = "203.0.113.5"


@pytest.fixture
def token(settings) -> str:
    settings.LISTONIAN_METRICS_TOKEN = TOKEN
    return TOKEN


def test_it_serves_loopback_without_login(client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = parse(response.content.decode())
    assert ("listonian_blocks_processed_total", frozenset()) in samples


def test_it_refuses_a_remote_address_without_the_token(client, token: str) -> None:
    response = client.get("/metrics", REMOTE_ADDR=REMOTE)
    assert response.status_code == 403
    assert b"listonian_" not in response.content
    wrong = client.get("/metrics", REMOTE_ADDR=REMOTE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403


def test_it_serves_a_remote_address_with_the_token(client, token: str) -> None:
    response = client.get(
        "/metrics", REMOTE_ADDR=REMOTE, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert b"listonian_rpc_round_trips_total" in response.content


def test_without_a_configured_token_remote_scrapes_are_refused(client, settings) -> None:
    settings.LISTONIAN_METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR=REMOTE, headers={"Authorization": "Bearer "})
    assert response.status_code == 403


def test_it_only_answers_get(client) -> None:
    assert client.post("/metrics").status_code == 405
