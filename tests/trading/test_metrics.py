"""trading.metrics: who may scrape, the ports of their own, lock waits, loop lag, task timings."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

import pytest
from celery import shared_task

from tests.support.scrape import parse, scrape, total, value
from trading import metrics

TOKEN = "s3cret-token"


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_scrape_without_a_token(address: str) -> None:
    assert metrics.scrape_allowed(address, "", TOKEN)
    assert metrics.scrape_allowed(address, "", "")


@pytest.mark.parametrize("address", ["203.0.113.5", "10.0.0.2", "::ffff:10.0.0.2", "", None, "x"])
def test_anyone_else_needs_the_token(address: str | None) -> None:
    assert not metrics.scrape_allowed(address, "", TOKEN)
    assert not metrics.scrape_allowed(address, "Bearer wrong", TOKEN)
    assert not metrics.scrape_allowed(address, TOKEN, TOKEN)  # the scheme is part of it
    assert metrics.scrape_allowed(address, f"Bearer {TOKEN}", TOKEN)


def test_no_token_configured_means_loopback_only() -> None:
    assert not metrics.scrape_allowed("203.0.113.5", "Bearer ", "")


def _call(app, remote: str, authorization: str = "") -> tuple[str, bytes]:
    status: list[str] = []
    environ = {"REMOTE_ADDR": remote, "REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    body = b"".join(app(environ, lambda s, headers: status.append(s)))
    return status[0], body


def test_the_port_app_refuses_a_remote_scraper_without_the_token() -> None:
    app = metrics.metrics_app(TOKEN)
    status, body = _call(app, "203.0.113.5")
    assert status.startswith("403") and b"listonian_" not in body
    status, body = _call(app, "203.0.113.5", f"Bearer {TOKEN}")
    assert status.startswith("200") and b"listonian_blocks_processed_total" in body


def test_a_port_of_its_own_serves_the_process_metrics() -> None:
    server = metrics.serve(0, "127.0.0.1", token=TOKEN)
    assert server is not None
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            samples = parse(response.read().decode())
        assert ("listonian_blocks_processed_total", frozenset()) in samples
        # The library's process collector: memory, CPU, file descriptors.
        assert value(samples, "process_resident_memory_bytes") > 0
        assert value(samples, "process_open_fds") > 0
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_in_use_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    server = metrics.serve(0, "127.0.0.1")
    assert server is not None
    try:
        assert metrics.serve(server.server_address[1], "127.0.0.1") is None
        assert "metrics not served" in caplog.text
    finally:
        server.shutdown()
        server.server_close()


def test_a_lock_wait_is_observed_under_its_name() -> None:
    before = scrape()
    with metrics.lock_wait("test_lock"):
        time.sleep(0.02)
    after = scrape()
    name = "listonian_lock_wait_seconds"
    assert (
        value(after, f"{name}_count", lock="test_lock")
        - value(before, f"{name}_count", lock="test_lock")
        == 1
    )
    waited = value(after, f"{name}_sum", lock="test_lock") - value(
        before, f"{name}_sum", lock="test_lock"
    )
    assert 0.02 <= waited < 1


async def test_a_blocked_event_loop_shows_as_lag() -> None:
    watcher = asyncio.create_task(metrics.watch_event_loop_lag(interval=0.05))
    await asyncio.sleep(0.01)
    time.sleep(0.3)  # hold the loop, as a CPU-bound block would
    await asyncio.sleep(0.01)
    watcher.cancel()
    assert value(scrape(), "listonian_event_loop_lag_seconds") >= 0.2


@shared_task(name="tests.metrics_ok")
def _ok() -> int:
    return 1


@shared_task(name="tests.metrics_fails")
def _fails() -> None:
    raise ValueError("boom")


def test_celery_tasks_are_timed_and_failures_counted(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    import listonian_site.celery  # noqa: F401  (connects the task signals)

    before = scrape()
    _ok.apply()
    _fails.apply(throw=False)
    after = scrape()

    def moved(name: str, task: str) -> float:
        return value(after, name, task=task) - value(before, name, task=task)

    assert moved("listonian_task_duration_seconds_count", "tests.metrics_ok") == 1
    assert moved("listonian_task_failures_total", "tests.metrics_fails") == 1
    assert moved("listonian_task_failures_total", "tests.metrics_ok") == 0
    assert total(after, "listonian_task_duration_seconds_count") >= 2
