"""The bot's own figures for the System page, as plain JSON-ready dicts.

Each process samples itself here (resident memory, CPU, event-loop lag) and
the engine adds what only it knows: the per-stage timings of its last blocks,
RPC round trips, errors and latency per endpoint, lock waits. The figures come
from the same families Prometheus scrapes (:mod:`trading.metrics`), read back
through the client library's public ``collect()``, so the page and Grafana
never disagree. Endpoints are names (``rpc0`` …), never URLs.

No Django and no web3: the writers (services) store what these return.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import Metric
from prometheus_client.process_collector import ProcessCollector

from trading import metrics

# Rates and averages on the page cover this much recent time.
WINDOW_SECONDS = 60.0


def instance() -> str:
    """This process on this host (``host:pid``): the key of its figures."""
    return f"{socket.gethostname()}:{os.getpid()}"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) of ``values`` by nearest rank; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def stage_figures(blocks: Iterable[tuple[int, Mapping[str, float]]]) -> dict[str, Any]:
    """Per-stage p50/p95/last in milliseconds and the chart series, from (block, stages) pairs.

    A stage that did not run for a block (a full scan reads no logs) is left
    out of that stage's percentiles and drawn as 0.
    """
    rows = list(blocks)
    stages: list[dict[str, Any]] = []
    for stage in metrics.STAGES:
        values = [s[stage] for _, s in rows if stage in s]
        last = rows[-1][1].get(stage) if rows else None
        stages.append(
            {
                "stage": stage,
                "p50_ms": _ms(percentile(values, 50)),
                "p95_ms": _ms(percentile(values, 95)),
                "last_ms": None if last is None else _ms(last),
                "blocks": len(values),
            }
        )
    series = {
        "blocks": [number for number, _ in rows],
        "stages": {stage: [_ms(s.get(stage, 0.0)) for _, s in rows] for stage in metrics.STAGES},
    }
    return {"stages": stages, "series": series}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _flatten(families: Iterable[Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in families:
        for metric in family.collect():
            for sample in metric.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


# Memory growth is judged over this long, from one sample a minute.
GROWTH_WINDOW_SECONDS = 3600.0


class ProcessMeter:
    """Resident memory, CPU and open files of this process; CPU % since the last sample.

    It also remembers the memory of up to an hour ago (``rss_before_bytes``,
    ``rss_before_seconds``), so a page can say when memory keeps growing.
    """

    def __init__(self) -> None:
        self._collector = ProcessCollector(registry=None)
        self._last: tuple[float, float] | None = None
        self._memory: deque[tuple[float, int]] = deque()

    def sample(self, now: float | None = None) -> dict[str, Any]:
        """This process's figures now (``now``: a monotonic time, for tests)."""
        values: dict[str, float] = {}
        metric: Metric
        for metric in self._collector.collect():  # empty where /proc is missing
            for sample in metric.samples:
                values[sample.name] = sample.value
        now = time.monotonic() if now is None else now
        cpu = values.get("process_cpu_seconds_total")
        percent = None
        if cpu is not None and self._last is not None and now > self._last[0]:
            percent = round(max(0.0, cpu - self._last[1]) / (now - self._last[0]) * 100, 1)
        if cpu is not None:
            self._last = (now, cpu)
        rss = int(values.get("process_resident_memory_bytes", 0))
        if rss and (not self._memory or now - self._memory[-1][0] >= 60):
            self._memory.append((now, rss))
        while self._memory and now - self._memory[0][0] > GROWTH_WINDOW_SECONDS:
            self._memory.popleft()
        before_at, before = self._memory[0] if self._memory else (now, rss)
        return {
            "pid": os.getpid(),
            "rss_bytes": rss,
            "rss_before_bytes": before,
            "rss_before_seconds": round(now - before_at),
            "cpu_seconds": round(cpu, 2) if cpu is not None else None,
            "cpu_percent": percent,
            "open_fds": int(values["process_open_fds"]) if "process_open_fds" in values else None,
        }


class EngineMeter:
    """The engine's RPC, lock and loop figures, with one-minute rates from its own samples."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._history: deque[tuple[float, dict[Any, float]]] = deque()

    def sample(self, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        current = _flatten(
            [
                metrics.RPC_ROUND_TRIPS,
                metrics.RPC_ERRORS,
                metrics.RPC_LATENCY_SECONDS,
                metrics.RPC_FAILOVERS,
                metrics.LOCK_WAIT_SECONDS,
                metrics.EVENT_LOOP_LAG_SECONDS,
            ]
        )
        self._history.append((now, current))
        while len(self._history) > 1 and now - self._history[0][0] > self.window:
            self._history.popleft()
        before = self._history[0][1]

        def recent(key: Any) -> float:
            return current.get(key, 0.0) - before.get(key, 0.0)

        endpoints: dict[str, dict[str, float]] = {}
        for (name, labels), value in current.items():
            label = dict(labels)
            if name in ("listonian_rpc_round_trips_total", "listonian_rpc_errors_total"):
                row = endpoints.setdefault(label["endpoint"], _endpoint_row())
                kind = "round_trips" if "round_trips" in name else "errors"
                row[kind] += value
                row[f"{kind}_recent"] += recent((name, labels))
        rpc = []
        for endpoint in sorted(endpoints):
            row = endpoints[endpoint]
            key = (("endpoint", endpoint),)
            count = recent(("listonian_rpc_latency_seconds_count", key))
            total = recent(("listonian_rpc_latency_seconds_sum", key))
            rpc.append(
                {
                    "endpoint": endpoint,
                    "round_trips": int(row["round_trips"]),
                    "errors": int(row["errors"]),
                    "round_trips_recent": int(row["round_trips_recent"]),
                    "errors_recent": int(row["errors_recent"]),
                    "latency_ms": _ms(total / count) if count else None,
                }
            )
        locks = []
        for (name, labels), value in sorted(current.items()):
            if name != "listonian_lock_wait_seconds_count":
                continue
            lock = dict(labels)["lock"]
            total = current.get(("listonian_lock_wait_seconds_sum", labels), 0.0)
            count_recent = recent((name, labels))
            sum_recent = recent(("listonian_lock_wait_seconds_sum", labels))
            locks.append(
                {
                    "lock": lock,
                    "waits": int(value),
                    "mean_ms": _ms(total / value) if value else 0.0,
                    "recent_mean_ms": _ms(sum_recent / count_recent) if count_recent else None,
                }
            )
        return {
            "window_seconds": self.window,
            "rpc": rpc,
            "rpc_failovers": int(current.get(("listonian_rpc_failovers_total", ()), 0)),
            "locks": locks,
            "event_loop_lag_ms": _ms(current.get(("listonian_event_loop_lag_seconds", ()), 0.0)),
        }


def _endpoint_row() -> dict[str, float]:
    return {"round_trips": 0.0, "errors": 0.0, "round_trips_recent": 0.0, "errors_recent": 0.0}
