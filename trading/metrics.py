"""Prometheus metrics of the bot itself: the families, defined once, and how they are served.

The domain records into these families where the work happens (the engine's
per-block stages, the RPC client, the lifecycle locks, the execution claim,
Celery tasks, the dashboard socket); each process exposes its own registry.
The web process serves it at ``/metrics``, the engine and the Celery worker on
ports of their own (:func:`serve`), and the embedded ``run`` process serves
everything it runs at ``/metrics``. With ``PROMETHEUS_MULTIPROC_DIR`` set
(several web workers behind one port, or Celery's prefork children) the
library's multiprocess mode aggregates the processes' files.

Labels take only bounded values: stage, component, lock and task names from
the code, RPC endpoints by position (``rpc0``, ``rpc1`` …; a URL may carry an
API key), JSON-RPC method names, statuses. Never an address or a hash.

Money here is a convenience for graphs (floats in native units); the database
holds the exact amounts.

No Django and no web3: importable from any layer and any process.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import ThreadingWSGIServer, _get_best_family, _SilentHandler
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

TOKEN_ENV = "LISTONIAN_METRICS_TOKEN"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NATIVE_DECIMALS = 18

# The per-block stages, in pipeline order.
STAGES = (
    "logs",
    "pool_update",
    "analysis",
    "recording",
    "execution",
    "recording_after",
    "publishing",
)

# Block work ranges from a millisecond (nothing changed) to seconds (a full scan).
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)

# --- engine: the per-block path ---------------------------------------------------------

BLOCK_STAGE_SECONDS = Histogram(
    "listonian_block_stage_seconds",
    "Time spent in each stage of the per-block pipeline.",
    ["stage"],
    buckets=_STAGE_BUCKETS,
)
BLOCK_DECISION_SECONDS = Histogram(
    "listonian_block_decision_latency_seconds",
    "From a block's arrival to the engine's decision on it (execution included).",
    buckets=_STAGE_BUCKETS,
)
BLOCKS_PROCESSED = Counter("listonian_blocks_processed", "Blocks the engine processed.")
BLOCKS_SKIPPED = Counter(
    "listonian_blocks_skipped", "Blocks jumped over because the previous one took too long."
)
REORGS = Counter("listonian_reorgs", "Chain reorganisations the engine saw and corrected.")
HEAD_LAG = Gauge(
    "listonian_head_lag_blocks",
    "Blocks between the chain head seen and the last block processed.",
)
CYCLES_INDEXED = Gauge("listonian_cycles_indexed", "Cycles in the engine's cycle index.")
CYCLES_AFFECTED = Counter(
    "listonian_cycles_affected", "Cycles re-evaluated because a pool on them changed."
)
CYCLES_SIZED = Counter(
    "listonian_cycles_sized", "Cycles that passed the pre-filter and were optimally sized."
)
OPPORTUNITIES_RECORDED = Counter(
    "listonian_opportunities_recorded", "Opportunity rows written, by status.", ["status"]
)
TRADES = Counter("listonian_trades", "Execution outcomes, by status and mode.", ["status", "mode"])
REALIZED_PROFIT_NATIVE = Counter(
    "listonian_realized_profit_native",
    "Gross profit of successful trades, in native currency (graphs only; the database is exact).",
)
GAS_SPENT_NATIVE = Counter(
    "listonian_gas_spent_native",
    "Gas paid by mined trades (success or revert), in native currency.",
)

# --- chain --------------------------------------------------------------------------------

RPC_ROUND_TRIPS = Counter(
    "listonian_rpc_round_trips", "HTTP round trips to RPC endpoints.", ["endpoint", "method"]
)
RPC_ERRORS = Counter(
    "listonian_rpc_errors",
    "Round trips that failed (transport, timeout, HTTP error, rate limit).",
    ["endpoint", "method"],
)
RPC_LATENCY_SECONDS = Histogram(
    "listonian_rpc_latency_seconds",
    "Latency of successful RPC round trips.",
    ["endpoint"],
    buckets=_RPC_BUCKETS,
)
RPC_FAILOVERS = Counter(
    "listonian_rpc_failovers", "Requests that moved on to another endpoint after a failure."
)

# --- components and locks ---------------------------------------------------------------

COMPONENT_UP = Gauge(
    "listonian_component_up",
    "1 when the engine component is initialized and healthy.",
    ["component"],
)
COMPONENT_RESTARTS = Counter(
    "listonian_component_restarts", "Restart attempts of failed components.", ["component"]
)
LOCK_WAIT_SECONDS = Histogram(
    "listonian_lock_wait_seconds",
    "Time spent waiting for a lock (component lifecycle locks, the opportunity claim).",
    ["lock"],
    buckets=_WAIT_BUCKETS,
)
EVENT_LOOP_LAG_SECONDS = Gauge(
    "listonian_event_loop_lag_seconds",
    "How late the event loop woke a timer at the last check.",
    multiprocess_mode="max",
)

# --- dashboard and jobs ------------------------------------------------------------------

WEBSOCKET_CLIENTS = Gauge(
    "listonian_websocket_clients",
    "Dashboard websockets connected.",
    multiprocess_mode="livesum",
)
WEBSOCKET_FRAMES = Counter("listonian_websocket_frames_sent", "Frames sent to dashboard sockets.")
CHANNEL_SEND_FAILURES = Counter(
    "listonian_channel_layer_send_failures", "Dashboard events the channel layer did not take."
)
TASK_SECONDS = Histogram(
    "listonian_task_duration_seconds", "Celery task run time.", ["task"], buckets=_TASK_BUCKETS
)
TASK_FAILURES = Counter("listonian_task_failures", "Celery tasks that raised.", ["task"])


# --- recording helpers --------------------------------------------------------------------


def endpoint_label(index: int) -> str:
    """The label of the ``index``-th configured RPC endpoint (never its URL)."""
    return f"rpc{index}"


def native(wei: int) -> float:
    """``wei`` in whole native units, for graphs."""
    return wei / 10**NATIVE_DECIMALS


@contextmanager
def lock_wait(lock: str) -> Iterator[None]:
    """Time the body as a wait for ``lock`` (wrap the acquisition only)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        LOCK_WAIT_SECONDS.labels(lock).observe(time.perf_counter() - started)


def observe_stages(seconds: dict[str, float]) -> None:
    """Record one block's stage durations (stages not in ``seconds`` did not run)."""
    for stage, value in seconds.items():
        BLOCK_STAGE_SECONDS.labels(stage).observe(value)


def set_components(health: Iterable[Any]) -> None:
    """Component health reports (``name``, ``healthy``) into ``listonian_component_up``."""
    for report in health:
        COMPONENT_UP.labels(report.name).set(1 if report.healthy else 0)


async def watch_event_loop_lag(interval: float = 0.5) -> None:
    """Measure how late the running loop wakes a timer, forever (run it as a task)."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG_SECONDS.set(max(0.0, loop.time() - started - interval))


def instrument_celery() -> None:
    """Time every Celery task this process runs and count the ones that raise."""
    from celery import signals

    started: dict[str, float] = {}

    def prerun(task_id: str = "", **_: Any) -> None:
        started[task_id] = time.perf_counter()

    def postrun(task_id: str = "", task: Any = None, **_: Any) -> None:
        began = started.pop(task_id, None)
        if began is not None and task is not None:
            TASK_SECONDS.labels(task.name).observe(time.perf_counter() - began)

    def failure(sender: Any = None, **_: Any) -> None:
        if sender is not None:
            TASK_FAILURES.labels(sender.name).inc()

    signals.task_prerun.connect(prerun, weak=False)
    signals.task_postrun.connect(postrun, weak=False)
    signals.task_failure.connect(failure, weak=False)


# --- exposition ----------------------------------------------------------------------------


def scrape_allowed(remote_addr: str | None, authorization: str, token: str) -> bool:
    """A scrape is allowed from loopback, or from anywhere with ``Bearer <token>``."""
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def registry() -> CollectorRegistry:
    """What this process exposes: its own registry, or every process's in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        aggregate = CollectorRegistry()
        MultiProcessCollector(aggregate)
        return aggregate
    return REGISTRY


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def metrics_app(token: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving the metrics to allowed scrapers, 403 to the rest."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        allowed = scrape_allowed(
            environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION", ""), token
        )
        if not allowed:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"metrics are served to loopback or with the bearer token\n"]
        body, content_type = render()
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    return app


def serve(port: int, host: str = "127.0.0.1", *, token: str = "") -> WSGIServer | None:
    """Serve this process's metrics on ``host:port`` from a daemon thread.

    Returns the server (``server.server_address`` has the port when ``port`` is
    0), or None when the port cannot be bound: metrics never stop the bot.
    """

    class Server(ThreadingWSGIServer):
        """A class of this call's own: its address family is set below, per host."""

    try:
        Server.address_family, address = _get_best_family(host, port)
        server = make_server(
            address, port, metrics_app(token), Server, handler_class=_SilentHandler
        )
    except OSError as exc:
        logger.warning("metrics not served on %s:%s: %s", host, port, exc)
        return None
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    logger.info("metrics served on http://%s:%s/metrics", host, server.server_address[1])
    return server
