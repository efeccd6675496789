"""trading.vitals: percentiles, stage figures, a process's own figures, RPC and lock windows."""

from __future__ import annotations

import pytest

from trading import metrics, vitals


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert vitals.percentile(values, 50) == 50.0
    assert vitals.percentile(values, 95) == 95.0
    assert vitals.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert vitals.percentile([7.0], 95) == 7.0
    assert vitals.percentile([], 95) == 0.0


def test_stage_figures_cover_the_blocks_each_stage_ran_in() -> None:
    blocks = [(10, {"pool_update": 0.5, "analysis": 0.2})]  # a full scan reads no logs
    blocks += [(10 + i, {"logs": 0.001 * i, "analysis": 0.01 * i}) for i in range(1, 11)]
    figures = vitals.stage_figures(blocks)
    stages = {s["stage"]: s for s in figures["stages"]}
    assert [s["stage"] for s in figures["stages"]] == list(metrics.STAGES)
    assert stages["analysis"]["blocks"] == 11
    assert stages["analysis"]["p50_ms"] == 60.0  # 10..100 ms and 200 ms: the 6th of 11
    assert stages["analysis"]["p95_ms"] == 200.0
    assert stages["analysis"]["last_ms"] == 100.0
    assert stages["logs"]["blocks"] == 10 and stages["logs"]["last_ms"] == 10.0
    assert stages["pool_update"]["last_ms"] is None  # did not run for the last block
    assert figures["series"]["blocks"] == list(range(10, 21))
    assert figures["series"]["stages"]["logs"][0] == 0.0
    assert figures["series"]["stages"]["pool_update"][0] == 500.0


def test_no_block_yet_gives_empty_figures() -> None:
    figures = vitals.stage_figures([])
    assert all(s["blocks"] == 0 and s["last_ms"] is None for s in figures["stages"])
    assert figures["series"]["blocks"] == []


def test_a_process_measures_its_memory_and_cpu() -> None:
    meter = vitals.ProcessMeter()
    first = meter.sample()
    assert first["rss_bytes"] > 10 * 2**20  # a Python process with Django loaded
    assert first["cpu_seconds"] > 0 and first["cpu_percent"] is None  # no interval yet
    sum(i * i for i in range(300_000))  # burn some CPU
    second = meter.sample()
    assert second["cpu_percent"] is not None and second["cpu_percent"] >= 0
    assert second["open_fds"] > 0
    assert vitals.instance().endswith(f":{first['pid']}")


def test_rpc_figures_per_endpoint_and_over_the_last_window() -> None:
    meter = vitals.EngineMeter(window=60)
    endpoint = "rpc9"  # a label no other test uses: the registry is process-wide
    before = _rpc(meter.sample(now=0.0), endpoint)
    metrics.RPC_ROUND_TRIPS.labels(endpoint, "eth_call").inc(4)
    metrics.RPC_ERRORS.labels(endpoint, "eth_call").inc(1)
    for latency in (0.01, 0.03, 0.02):
        metrics.RPC_LATENCY_SECONDS.labels(endpoint).observe(latency)
    row = _rpc(meter.sample(now=10.0), endpoint)
    assert row["round_trips"] - (before["round_trips"] if before else 0) == 4
    assert row["round_trips_recent"] == 4 and row["errors_recent"] == 1
    assert row["latency_ms"] == pytest.approx(20.0)
    # A minute later with no traffic, the recent figures are back to nothing.
    meter.sample(now=65.0)
    quiet = _rpc(meter.sample(now=80.0), endpoint)
    assert quiet["round_trips_recent"] == 0 and quiet["errors_recent"] == 0
    assert quiet["latency_ms"] is None and quiet["errors"] == row["errors"]


def test_lock_waits_and_event_loop_lag() -> None:
    meter = vitals.EngineMeter()
    meter.sample(now=0.0)
    metrics.LOCK_WAIT_SECONDS.labels("vitals.test").observe(0.2)
    metrics.LOCK_WAIT_SECONDS.labels("vitals.test").observe(0.4)
    metrics.EVENT_LOOP_LAG_SECONDS.set(0.25)
    figures = meter.sample(now=1.0)
    (lock,) = [lock for lock in figures["locks"] if lock["lock"] == "vitals.test"]
    assert lock["waits"] == 2
    assert lock["mean_ms"] == pytest.approx(300.0)
    assert lock["recent_mean_ms"] == pytest.approx(300.0)
    assert figures["event_loop_lag_ms"] == 250.0
    metrics.EVENT_LOOP_LAG_SECONDS.set(0)


def _rpc(figures: dict, endpoint: str) -> dict | None:
    return next((row for row in figures["rpc"] if row["endpoint"] == endpoint), None)


def test_a_process_remembers_its_memory_of_up_to_an_hour_ago() -> None:
    meter = vitals.ProcessMeter()
    first = meter.sample(now=0.0)
    assert first["rss_before_bytes"] == first["rss_bytes"] and first["rss_before_seconds"] == 0
    assert meter.sample(now=30.0)["rss_before_seconds"] == 30
    meter.sample(now=100.0)
    late = meter.sample(now=3650.0)  # the sample at 0 is more than an hour old
    assert late["rss_before_seconds"] == 3550 and late["rss_before_bytes"] > 0
