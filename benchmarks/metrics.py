"""What the Prometheus metrics cost on the per-block path, against the block's analysis.

    .venv/bin/python benchmarks/metrics.py [--v2 1000] [--v3 200] [--blocks 30]
                                           [--round-trips 6] [--seed 7]

Builds the synthetic market of ``benchmarks/analysis.py`` (same generator, same
seed), then for ``--blocks`` blocks swaps in 5% of the pools and re-evaluates
the cycles through them, as the engine does every block. For each block it
also times everything the engine records into the metrics for one block: the
engine's own per-block recording (``Engine._record_metrics``: stage
histograms, decision latency, blocks, head lag, cycles indexed/affected/sized,
the falling-behind check),
component health, recorded opportunities, two execution outcomes with their
claim's lock wait, and ``--round-trips`` RPC round trips (counter and latency
histogram each; a block on the engine makes 3-6).

It prints the median analysis time, the median metrics time and their ratio
(the budget is 1%), and what sampling the System page's figures costs
(``Engine.figures`` over the last 100 blocks: percentiles, the chart series,
RPC and lock windows, the process's memory and CPU), which the engine's state
flusher does at most once per flush interval, off the block path. Numbers
depend on the machine and its load; it never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The engine's modules need Django's settings (the analysis itself does not).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listonian_site.settings")
import django  # noqa: E402

django.setup()

from benchmarks.analysis import BASE_GAS, build_market, swap_some, terms_for  # noqa: E402
from trading import metrics, vitals  # noqa: E402
from trading.analysis import CycleIndex, evaluate_cycles  # noqa: E402
from trading.engine.behind import BehindThresholds, BehindWatch  # noqa: E402
from trading.engine.engine import BlockReport, Engine  # noqa: E402
from trading.engine.scan import ScanResult  # noqa: E402
from trading.lifecycle import HealthReport  # noqa: E402

COMPONENTS = ("chain", "storage", "dex", "gas", "analysis", "execution", "wallet")


def record_one_block(
    result: ScanResult, report: BlockReport, engine: SimpleNamespace, round_trips: int
) -> None:
    """Everything the metrics record for one block, through the code the engine runs."""
    for i in range(round_trips):
        metrics.RPC_ROUND_TRIPS.labels("rpc0", "eth_getLogs" if i == 0 else "batch").inc()
        metrics.RPC_LATENCY_SECONDS.labels("rpc0").observe(0.004)
    metrics.OPPORTUNITIES_RECORDED.labels("detected").inc(len(result.findings) or 1)
    for _ in range(2):
        with metrics.lock_wait("opportunity_claim"):
            pass
        metrics.TRADES.labels("simulated", "dry_run").inc()
    metrics.set_components(engine.health)
    Engine._record_metrics(engine, result, report)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--v2", type=int, default=1000)
    parser.add_argument("--v3", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--round-trips", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    market = build_market(args.seed, args.v2, args.v3)
    index = CycleIndex(market.states.values(), market.base, max_hops=3)
    health = [HealthReport(name, True, True, None, "", None, 0, {}) for name in COMPONENTS]
    engine = SimpleNamespace(
        watcher=SimpleNamespace(latest=10**6),
        health=health,
        head_lag=0,
        behind=BehindWatch(BehindThresholds(head_lag_blocks=3, skipped_blocks=0, blocks=10)),
        behind_changes=[],
        recent=[],
        last_block=None,
        network=SimpleNamespace(block_time_ms=2000),
        engine_meter=vitals.EngineMeter(),
        process_meter=vitals.ProcessMeter(),
    )
    print(
        f"{args.v2:,} V2 + {args.v3:,} V3 pools, {len(index):,} cycles; "
        f"{args.blocks} blocks with 5% of the pools swapped"
    )

    rng = random.Random(args.seed + 1)
    states = dict(market.states)
    analysis_ms, metrics_us, affected = [], [], []
    for number in range(args.blocks):
        changed = swap_some(rng, states, 0.05)
        began = time.perf_counter()
        cycles = index.cycles_through(changed)
        verdicts = evaluate_cycles(cycles, states, terms_for(market), BASE_GAS)
        analysis_ms.append((time.perf_counter() - began) * 1000)
        affected.append(len(cycles))
        result = ScanResult(
            block_number=10**6 + number,
            full=False,
            findings=verdicts.findings,
            rejections=verdicts.rejections,
            gas=BASE_GAS,
            pools_watched=len(states),
            pools_read=len(changed),
            pools_failed={},
            cycles_indexed=len(index),
            analysis_ms=analysis_ms[-1],
            cycles_sized=verdicts.sized,
        )
        report = BlockReport(
            block_number=result.block_number,
            skipped_before=0,
            pools_changed=len(changed),
            findings=len(result.findings),
            recorded=len(result.findings),
            latency_ms=analysis_ms[-1] * 1.5,
            stages={stage: 0.001 for stage in metrics.STAGES},
        )
        began = time.perf_counter()
        record_one_block(result, report, engine, args.round_trips)
        metrics_us.append((time.perf_counter() - began) * 1e6)
        engine.recent = [*engine.recent, report][-100:]
        engine.last_block = report.block_number

    analysis = statistics.median(analysis_ms)
    recording = statistics.median(metrics_us)
    print(
        f"analysis per block: {analysis:,.1f} ms median "
        f"(min {min(analysis_ms):,.1f}, max {max(analysis_ms):,.1f}; "
        f"{statistics.mean(affected):,.0f} cycles re-evaluated per block)"
    )
    print(
        f"metrics per block:  {recording:,.1f} µs median "
        f"(min {min(metrics_us):,.1f}, max {max(metrics_us):,.1f})"
    )
    print(f"overhead:           {recording / 1000 / analysis * 100:.3f}% of the analysis time")
    figures_us = []
    for _ in range(20):
        began = time.perf_counter()
        Engine.figures(engine)  # type: ignore[arg-type]
        figures_us.append((time.perf_counter() - began) * 1e6)
    print(
        f"System page figures: {statistics.median(figures_us):,.0f} µs median per flush "
        f"({len(engine.recent)} blocks; at most once per flush interval, off the block path)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
