import asyncio

import pytest

from trading.lifecycle import Backoff, Component, Lifecycle


class Recording(Component):
    def __init__(self, name, journal, fail_times=0):
        super().__init__()
        self.name = name
        self.journal = journal
        self.fail_times = fail_times
        self.inits = 0

    async def _initialize(self):
        await asyncio.sleep(0)  # let concurrent callers interleave
        self.inits += 1
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError(f"{self.name} cannot connect")
        self.journal.append(f"init {self.name}")

    async def _cleanup(self):
        self.journal.append(f"cleanup {self.name}")


async def test_double_initialize_is_one_initialization():
    journal = []
    component = Recording("chain", journal)
    await asyncio.gather(component.initialize(), component.initialize(), component.initialize())
    await component.initialize()
    assert component.inits == 1
    assert journal == ["init chain"]
    assert component.health().initialized and component.health().healthy


async def test_lifecycle_initializes_in_order_and_cleans_up_in_reverse():
    journal = []
    names = ["chain", "storage", "dex", "gas", "analysis", "execution", "wallet"]
    lifecycle = Lifecycle([Recording(n, journal) for n in names])
    await lifecycle.initialize()
    assert journal == [f"init {n}" for n in names]
    journal.clear()
    assert await lifecycle.cleanup() == list(reversed(names))
    assert journal == [f"cleanup {n}" for n in reversed(names)]
    assert not any(c.initialized for c in lifecycle)


async def test_a_failing_component_is_reported_and_restarted_with_backoff():
    journal = []
    flaky = Recording("dex", journal, fail_times=2)
    lifecycle = Lifecycle([Recording("chain", journal), flaky], backoff=Backoff(1.0, 8.0))
    with pytest.raises(ConnectionError):
        await lifecycle.initialize()
    report = flaky.health()
    assert not report.initialized and not report.healthy
    assert "cannot connect" in report.last_error and report.counters["errors"] == 1

    assert await lifecycle.restart_failed(now=100.0) == []  # fails again: backoff 1s
    assert await lifecycle.restart_failed(now=100.5) == []  # too early: not even tried
    assert flaky.inits == 2
    assert await lifecycle.restart_failed(now=101.0) == ["dex"]
    report = flaky.health()
    assert report.initialized and report.healthy and report.restarts == 2


async def test_runtime_failure_releases_the_component_for_restart():
    journal = []
    component = Recording("gas", journal)
    lifecycle = Lifecycle([component])
    await lifecycle.initialize()
    await lifecycle.mark_failed(component, TimeoutError("rpc timed out"))
    assert not component.initialized
    assert journal[-1] == "cleanup gas"
    assert await lifecycle.restart_failed(now=0.0) == ["gas"]
    assert component.health().healthy


def test_backoff_grows_to_a_ceiling_and_resets():
    backoff = Backoff(1.0, 5.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0
