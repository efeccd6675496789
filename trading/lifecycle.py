"""The lifecycle every engine component follows.

``initialize()`` is idempotent and guarded by an ``asyncio.Lock``; ``cleanup()``
releases what the component holds. Each component keeps its own health
(initialized, last success, last error, counters) for the dashboard.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from trading import metrics

logger = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class HealthReport:
    name: str
    initialized: bool
    healthy: bool
    last_success_at: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None
    restarts: int
    counters: dict[str, int] = field(default_factory=dict)


class Component:
    """Base class of engine components.

    Subclasses implement ``_initialize`` and ``_cleanup`` (both may be no-ops)
    and call ``record_success`` / ``record_error`` / ``count`` as they work.
    """

    name: str = "component"

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._initialized = False
        self._last_success_at: dt.datetime | None = None
        self._last_error = ""
        self._last_error_at: dt.datetime | None = None
        self._restarts = 0
        self._counters: Counter[str] = Counter()

    @property
    def initialized(self) -> bool:
        return self._initialized

    async def initialize(self) -> None:
        """Acquire resources. A second call, even concurrent, does nothing."""
        waiting = time.perf_counter()
        async with self._lock:
            metrics.LOCK_WAIT_SECONDS.labels(f"{self.name}.initialize").observe(
                time.perf_counter() - waiting
            )
            if self._initialized:
                return
            try:
                await self._initialize()
            except Exception as exc:
                self.record_error(exc)
                raise
            self._initialized = True
            self.record_success()

    async def cleanup(self) -> None:
        """Release resources. Safe to call when not initialized."""
        async with self._lock:
            if not self._initialized:
                return
            try:
                await self._cleanup()
            finally:
                self._initialized = False

    async def _initialize(self) -> None:  # pragma: no cover - default no-op
        return None

    async def _cleanup(self) -> None:  # pragma: no cover - default no-op
        return None

    def record_success(self) -> None:
        self._last_success_at = _now()

    def record_error(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._last_error = text[:2000]
        self._last_error_at = _now()
        self._counters["errors"] += 1

    def count(self, key: str, amount: int = 1) -> None:
        self._counters[key] += amount

    def note_restart(self) -> None:
        self._restarts += 1
        metrics.COMPONENT_RESTARTS.labels(self.name).inc()

    def health(self) -> HealthReport:
        # Healthy: initialized and no error since the last success.
        healthy = self._initialized and (
            self._last_error_at is None
            or (self._last_success_at is not None and self._last_success_at >= self._last_error_at)
        )
        return HealthReport(
            name=self.name,
            initialized=self._initialized,
            healthy=healthy,
            last_success_at=self._last_success_at,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            restarts=self._restarts,
            counters=dict(self._counters),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} initialized={self._initialized}>"


@dataclass
class Backoff:
    """Exponential backoff with a ceiling: 1, 2, 4 … seconds up to ``maximum``."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    _current: float = 0.0

    def next_delay(self) -> float:
        self._current = (
            self.initial if not self._current else min(self._current * self.factor, self.maximum)
        )
        return self._current

    def reset(self) -> None:
        self._current = 0.0


class Lifecycle:
    """Initializes components in order, cleans them up in reverse, restarts failures."""

    def __init__(self, components: list[Component], *, backoff: Backoff | None = None) -> None:
        self.components = list(components)
        self._backoff_template = backoff or Backoff()
        self._backoffs: dict[str, Backoff] = {}
        self._retry_at: dict[str, float] = {}

    def __iter__(self) -> Any:
        return iter(self.components)

    def by_name(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    async def initialize(self) -> None:
        """Initialize every component in dependency (list) order; stop at the first failure."""
        for component in self.components:
            await component.initialize()

    async def cleanup(self) -> list[str]:
        """Clean up in reverse order; a failing cleanup is logged and the rest still run."""
        cleaned: list[str] = []
        for component in reversed(self.components):
            try:
                await component.cleanup()
            except Exception as exc:  # keep releasing the others
                component.record_error(exc)
                logger.exception("cleanup of %s failed", component.name)
            cleaned.append(component.name)
        return cleaned

    async def restart_failed(self, now: float | None = None) -> list[str]:
        """Re-initialize components that are down, honouring each one's backoff.

        Returns the names restarted successfully. A component waits for its own
        backoff delay between attempts so a broken dependency is not hammered.
        """
        loop_now = now if now is not None else asyncio.get_running_loop().time()
        restarted: list[str] = []
        for component in self.components:
            if component.initialized:
                continue
            if loop_now < self._retry_at.get(component.name, 0.0):
                continue
            backoff = self._backoffs.setdefault(
                component.name,
                Backoff(
                    self._backoff_template.initial,
                    self._backoff_template.maximum,
                    self._backoff_template.factor,
                ),
            )
            component.note_restart()
            try:
                await component.initialize()
            except Exception:
                delay = backoff.next_delay()
                self._retry_at[component.name] = loop_now + delay
                logger.warning("%s failed to restart; next try in %.1fs", component.name, delay)
                continue
            backoff.reset()
            self._retry_at.pop(component.name, None)
            restarted.append(component.name)
        return restarted

    async def mark_failed(self, component: Component, error: BaseException) -> None:
        """Record a runtime failure and release the component so it gets restarted."""
        component.record_error(error)
        logger.error("%s failed: %s", component.name, error)
        try:
            await component.cleanup()
        except Exception as exc:
            component.record_error(exc)

    def health(self) -> list[HealthReport]:
        return [component.health() for component in self.components]
