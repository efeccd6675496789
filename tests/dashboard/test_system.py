"""The System page and the overview's System panel: the bot's own figures, live, in words."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboard import broadcast, frames, presenters
from dashboard import vitals as dashboard_vitals
from dashboard.events import SystemEvent, from_message, to_message
from trading import events, vitals
from trading.models import EngineState, Network, ProcessVitals

from .helpers import connect, receive_frame


def _engine_figures(*, analysis_s: float = 0.02, skipped: int = 0, **extra) -> dict:
    blocks = [(100 + i, {"logs": 0.002, "pool_update": 0.004, "analysis": 0.01}) for i in range(9)]
    blocks.append((109 + skipped, {"logs": 0.002, "pool_update": 0.004, "analysis": analysis_s}))
    system = vitals.stage_figures(blocks)
    system.update(
        head_lag=0,
        last_block=109 + skipped,
        skipped_recent=skipped,
        skipped_last_10=skipped,
        event_loop_lag_ms=1.5,
        rpc_failovers=0,
        rpc=[
            {
                "endpoint": "rpc0",
                "round_trips": 40,
                "errors": 0,
                "round_trips_recent": 12,
                "errors_recent": 0,
                "latency_ms": 3.2,
            }
        ],
        locks=[{"lock": "chain.initialize", "waits": 1, "mean_ms": 0.01, "recent_mean_ms": None}],
    )
    system.update(extra)
    return system


def _state(system: dict, *, running: bool = True) -> None:
    EngineState.objects.update_or_create(
        pk=1,
        defaults={"running": running, "system": system, "heartbeat_at": timezone.now()},
    )


def _process(role: str, *, age: float = 0.0, **figures) -> None:
    ProcessVitals.objects.create(
        role=role,
        instance=f"host:{len(role)}",
        figures={"rss_bytes": 150 * 2**20, "cpu_percent": 12.5, "cpu_seconds": 3.0, **figures},
        updated_at=timezone.now() - dt.timedelta(seconds=age),
    )


@pytest.mark.django_db
def test_the_page_needs_a_login(client):
    response = client.get("/system/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_the_page_shows_stage_percentiles_keeping_up_rpc_locks_and_processes(operator_client):
    _state(_engine_figures())
    _process("engine", event_loop_lag_ms=1.5)
    _process("web", websocket_clients=3)
    _process("worker")
    page = operator_client.get("/system/").content.decode()
    assert 'href="/system/" class="active"' in page  # in the top navigation
    assert 'id="stage-analysis"' in page
    assert "10 ms" in page and "20 ms" in page  # analysis p50 and last block
    assert "over the last 10 blocks" in page
    assert "rpc0" in page and "3.2 ms" in page
    assert "chain.initialize" in page
    assert page.count("150.0 MB") == 3 and "12.5%" in page
    assert 'id="system-sockets">3<' in page
    assert "All is well" in page
    assert 'id="system-series"' in page and "chart-stages" in page
    assert "<script>" not in page and " onclick=" not in page  # scripts are static files


@pytest.mark.django_db
def test_what_is_wrong_is_said_in_words(operator_client):
    _state(
        _engine_figures(
            analysis_s=1.8,
            skipped=2,
            head_lag=4,
            event_loop_lag_ms=250.0,
            rpc=[{"endpoint": "rpc1", "errors_recent": 5, "latency_ms": 640.0}],
            locks=[{"lock": "opportunity_claim", "waits": 9, "recent_mean_ms": 120.0}],
        )
    )
    Network.objects.filter(active=True).update(block_time_ms=2000)
    _process("worker", age=300)
    problems = presenters.system_event().problems
    assert problems[0] == (
        "Analysis took 1.8 s; blocks are being skipped (2 in the last 10 blocks)."
    )
    assert "The engine is 4 blocks behind the chain head." in problems
    assert "RPC rpc1: 5 failed requests in the last minute." in problems
    assert "RPC rpc1 is slow: 640 ms per request on average." in problems
    assert "The engine's event loop runs 250 ms late." in problems
    assert "Waiting for the opportunity_claim lock takes 120 ms on average." in problems
    assert "The worker process (host:6) has stopped reporting." in problems
    page = operator_client.get("/system/").content.decode()
    assert "Analysis took 1.8 s; blocks are being skipped" in page
    assert "All is well" not in page


@pytest.mark.django_db
def test_a_stage_slower_than_a_block_and_a_stopped_engine():
    network = Network.objects.create(name="slow", chain_id=99, rpc_urls="http://x", active=True)
    network.block_time_ms = 2000
    network.save()
    _state(_engine_figures(analysis_s=3.0))
    assert any(
        "Analysis takes 3.0 s at p95, longer than a block (2.0 s)" in p
        for p in presenters.system_event().problems
    )
    _state(_engine_figures(), running=False)
    assert presenters.system_event().problems == (
        "The engine is not running: no block is being processed.",
    )


@pytest.mark.django_db
def test_a_dead_process_is_shown_once_per_role_and_only_without_a_live_one():
    _process("worker", age=600)
    ProcessVitals.objects.create(role="worker", instance="host:99", figures={})
    processes = presenters.system_event().processes
    assert [(p.role, p.instance, p.stale) for p in processes] == [("worker", "host:99", False)]


@pytest.mark.django_db
def test_memory_that_keeps_growing_is_said_in_words():
    _state(_engine_figures())
    mb = 2**20
    _process("engine", rss_bytes=400 * mb, rss_before_bytes=150 * mb, rss_before_seconds=2700)
    _process("worker", rss_bytes=160 * mb, rss_before_bytes=150 * mb, rss_before_seconds=2700)
    _process("web", rss_bytes=400 * mb, rss_before_bytes=150 * mb, rss_before_seconds=300)
    assert presenters.system_event().problems == (
        "The engine process's memory grew from 150.0 MB to 400.0 MB in 45 min.",
    )


@pytest.mark.django_db
def test_a_web_process_that_no_one_watched_is_not_a_problem():
    # Web processes write only while a System page is open.
    _process("web", age=600)
    _state(_engine_figures())
    event = presenters.system_event()
    assert event.processes == () and event.problems == ()


@pytest.mark.django_db
def test_the_event_survives_the_wire_and_renders_per_page():
    _state(_engine_figures(skipped=1))
    message = to_message(presenters.system_event())
    event = from_message(message)
    assert isinstance(event, SystemEvent) and event.problems and event.stages
    assert event == presenters.system_event()
    system_frame = frames.render_frame({**message, "event_id": ""}, frames.SYSTEM)
    assert 'id="system-live"' in system_frame and "blocks are being skipped" in system_frame
    overview = frames.render_frame({**message, "event_id": ""}, frames.OVERVIEW)
    assert 'id="system-summary"' in overview and "system-live" not in overview
    assert frames.render_frame({**message, "event_id": ""}, frames.OTHER) == ""


@pytest.mark.django_db
def test_the_overview_has_a_system_panel(operator_client):
    _state(_engine_figures(analysis_s=1.8, skipped=3))
    page = operator_client.get("/").content.decode()
    assert 'id="system-summary"' in page and "blocks are being skipped" in page
    assert "#system-summary" in page  # caught up after a reconnect too


@pytest.mark.django_db
def test_a_domain_event_publishes_the_figures(monkeypatch):
    sent = []
    monkeypatch.setattr(broadcast, "publish", lambda event: sent.append(event) or True)
    _state(_engine_figures())
    events.send(events.system_changed)
    assert [type(e) for e in sent] == [SystemEvent]


@pytest.mark.django_db(transaction=True)
async def test_an_open_system_page_stores_the_web_process_figures_and_gets_them_live(
    operator, isolated_layer
):
    from asgiref.sync import sync_to_async

    clients_before = dashboard_vitals.websocket_clients()  # the gauge is process-wide
    socket = await connect(operator, page="system")
    try:
        frame = await receive_frame(socket, 'id="system-live"', timeout=10)
        assert "process-web" in frame
        row = await ProcessVitals.objects.aget(role="web")
        assert row.instance == vitals.instance()
        assert row.figures["websocket_clients"] == clients_before + 1
        assert row.figures["rss_bytes"] > 0
        # The engine's figures, stored by the engine process, come the same way.
        await sync_to_async(_state)(_engine_figures(skipped=2))
        await sync_to_async(events.send)(events.system_changed)
        frame = await receive_frame(socket, "blocks are being skipped", timeout=10)
        assert "rpc0" in frame
    finally:
        await socket.disconnect()
