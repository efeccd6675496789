"""Market analyzer benchmark: cycle index, per-block and full re-evaluation, quote speed.

    .venv/bin/python benchmarks/analysis.py              # 5,000 V2 + 500 V3, 10,000 V2 + 1,000 V3
    .venv/bin/python benchmarks/analysis.py --quick      # a small market, for a smoke run
    .venv/bin/python benchmarks/analysis.py --no-degenbot

Synthetic markets are built in memory from a fixed seed: hub tokens (WETH,
USDC, USDT, DAI, WBTC) and long-tail tokens with 6, 8, 9 or 18 decimals,
pools on several fee levels with $20k-$20M of liquidity and prices about a
tenth of a percent apart (as arbitrage leaves them), V3 pools with 2-6
positions around the price and the tick-bitmap words a reader sees (two
either side of the price). Every cycle of up to three pools through WETH or
USDC is indexed. Then:

- full re-evaluation: every cycle judged after gas (Base-like gas: 0.01 gwei
  per gas plus an L1 fee), either ruled out by its marginal prices after
  fees or sized on the exact quotes;
- one block: 5% of the pools swap, and only the cycles through them are
  re-evaluated (what the engine does every block);
- quotes: the same V2 and V3 quotes with this project's maths (the V2 quote
  from the native module that ``make setup`` builds, where it is built) and
  with the ``degenbot`` package (``requirements-bench.txt``), if it is installed. Its
  pool classes read their state from a node and a database when built, so
  the benchmark gives them the same in-memory state directly instead.

It prints numbers and never fails on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Pure maths only: no Django settings, no database, no node.
from trading.amm import AmmError, PoolState, V2PoolState, V3PoolState  # noqa: E402
from trading.amm import v3_math as m  # noqa: E402
from trading.amm.uniswap_v2 import NATIVE_QUOTE  # noqa: E402
from trading.analysis import (  # noqa: E402
    Cycle,
    CycleIndex,
    EdgeRates,
    GasTerms,
    NativePricer,
    StartTerms,
    evaluate_ids,
    native_prices,
    start_terms,
)
from trading.analysis.cycles import union_ids  # noqa: E402
from trading.analysis.evaluation import SIZING_BUDGET  # noqa: E402
from trading.analysis.sizing import local_optimum, search_optimum  # noqa: E402

E18 = 10**18
GWEI = 10**9
BASE_GAS = GasTerms(gas_price_wei=GWEI // 100, l1_fees={2: 3 * 10**11, 3: 4 * 10**11})
V3_TIERS = ((500, 10, 0.4), (3000, 60, 0.45), (10000, 200, 0.15))
V2_FEES = (30, 30, 25, 20)  # Uniswap V2 / SushiSwap, PancakeSwap-like, BaseSwap-like
HUB_POOLS = 20  # the busiest pools swap in every block, as the hubs do on mainnet


@dataclass(frozen=True)
class Token:
    address: str
    symbol: str
    decimals: int
    usd: float  # a synthetic reference price, only to shape reserves


@dataclass
class Market:
    tokens: list[Token]
    states: dict[str, PoolState]
    base: tuple[str, ...]
    native: str

    @property
    def v2(self) -> list[V2PoolState]:
        return [s for s in self.states.values() if isinstance(s, V2PoolState)]

    @property
    def v3(self) -> list[V3PoolState]:
        return [s for s in self.states.values() if isinstance(s, V3PoolState)]


# ------------------------------------------------------------------------- the market


def make_tokens(rng: random.Random, long_tail: int) -> list[Token]:
    hubs = [
        ("WETH", 18, 3_000.0),
        ("USDC", 6, 1.0),
        ("USDT", 6, 1.0),
        ("DAI", 18, 1.0),
        ("WBTC", 8, 60_000.0),
    ]
    tokens = [Token(f"0x{i + 1:040x}", s, d, p) for i, (s, d, p) in enumerate(hubs)]
    for i in range(long_tail):
        decimals = rng.choice((18, 18, 18, 18, 18, 18, 6, 8, 9))
        usd = 10 ** rng.uniform(-3, 3)
        tokens.append(Token(f"0x{0x1000 + i:040x}", f"TK{i}", decimals, usd))
    return tokens


def pick_pair(rng: random.Random, tokens: list[Token], weights: list[float]) -> tuple[Token, Token]:
    """Most pools pair a token with WETH or USDC; a few pair hubs; the rest the long tail."""
    hubs, tail = tokens[:5], tokens[5:]
    roll = rng.random()
    while True:
        if roll < 0.60:
            pair = (rng.choices(hubs, (6, 3, 0.5, 0.5, 0.5))[0], rng.choices(tail, weights)[0])
        elif roll < 0.63:
            pair = tuple(rng.sample(hubs, 2))
        else:
            pair = tuple(rng.choices(tail, weights, k=2))
        if pair[0] != pair[1]:
            return pair[0], pair[1]


def raw_amounts(rng: random.Random, a: Token, b: Token) -> tuple[int, int]:
    """Reserves worth $20k-$20M, the second side off the reference price by a little."""
    side = 10 ** rng.uniform(4, 7)
    drift = math.exp(rng.gauss(0, 0.001))
    return (
        max(1, int(side / a.usd * 10**a.decimals)),
        max(1, int(side * drift / b.usd * 10**b.decimals)),
    )


def make_v2(rng: random.Random, index: int, a: Token, b: Token) -> V2PoolState:
    amount_a, amount_b = raw_amounts(rng, a, b)
    if a.address > b.address:
        a, b, amount_a, amount_b = b, a, amount_b, amount_a
    return V2PoolState(
        f"0x{0xA0000000 + index:040x}", a.address, b.address, amount_a, amount_b,
        rng.choice(V2_FEES),
    )  # fmt: skip


def make_v3(rng: random.Random, index: int, a: Token, b: Token) -> V3PoolState:
    amount_a, amount_b = raw_amounts(rng, a, b)
    if a.address > b.address:
        a, b, amount_a, amount_b = b, a, amount_b, amount_a
    fee, spacing, _ = rng.choices(V3_TIERS, [w for *_, w in V3_TIERS])[0]
    price = Fraction(amount_b, amount_a)
    sqrt_price = math.isqrt((price.numerator << 192) // price.denominator)
    sqrt_price = min(max(sqrt_price, m.MIN_SQRT_RATIO + 1), m.MAX_SQRT_RATIO - 2)
    tick = m.get_tick_at_sqrt_ratio(sqrt_price)
    # Liquidity of a full-range position holding these amounts, concentrated by the ranges.
    depth = math.isqrt(amount_a * amount_b)
    lowest = -(m.MAX_TICK // spacing) * spacing
    centre = tick // spacing * spacing
    net: dict[int, int] = {}
    active = 0
    positions = [(lowest, -lowest, max(1, depth // 10))] if rng.random() < 0.6 else []
    for _ in range(rng.randint(2, 6)):
        lower = centre - rng.randint(1, 150) * spacing
        upper = centre + rng.randint(1, 150) * spacing
        positions.append((max(lowest, lower), min(-lowest, upper), depth * rng.randint(1, 8)))
    for lower, upper, liquidity in positions:
        net[lower] = net.get(lower, 0) + liquidity
        net[upper] = net.get(upper, 0) - liquidity
        if lower <= tick < upper:
            active += liquidity
    # What a reader returns: two bitmap words either side of the price, their ticks only.
    word = (tick // spacing) >> 8
    min_word, max_word = word - 2, word + 2
    known = {t: n for t, n in net.items() if n and min_word <= (t // spacing) >> 8 <= max_word}
    return V3PoolState(
        f"0x{0xB0000000 + index:040x}", a.address, b.address, fee, spacing, sqrt_price, tick,
        active, known, min_word, max_word,
    )  # fmt: skip


def build_market(seed: int, v2_pools: int, v3_pools: int) -> Market:
    rng = random.Random(seed)
    tokens = make_tokens(rng, max(40, v2_pools // 4))
    weights = [1 / math.sqrt(rank + 1) for rank in range(len(tokens) - 5)]  # a long tail
    states: dict[str, PoolState] = {}
    for i in range(v2_pools):
        state = make_v2(rng, i, *pick_pair(rng, tokens, weights))
        states[state.address] = state
    for i in range(v3_pools):
        state = make_v3(rng, i, *pick_pair(rng, tokens, weights))
        states[state.address] = state
    weth, usdc = tokens[0].address, tokens[1].address
    return Market(tokens, states, (weth, usdc), weth)


# -------------------------------------------------------------------------- measuring


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.perf_counter()
    yield box
    box.append((time.perf_counter() - started) * 1000)


def terms_for(market: Market, pricer: NativePricer | None = None) -> dict[str, StartTerms]:
    """Start-token terms as the scanner computes them (``pricer``: its price reader)."""
    if pricer is None:
        prices = native_prices(market.states.values(), market.native, market.base)
    else:
        prices = pricer(market.states)
    return {t: start_terms(t, p, 10 * E18, 0) for t, p in prices.items()}


def swap_one(rng: random.Random, state: PoolState) -> PoolState:
    """``state`` after a swap of 0.001%-0.1% of what it holds, in a random direction."""
    token = rng.choice((state.token0, state.token1))
    if isinstance(state, V3PoolState):
        held = state.liquidity * (m.Q96 if token == state.token0 else state.sqrt_price_x96)
        held //= state.sqrt_price_x96 if token == state.token0 else m.Q96
    else:
        held = state.reserve0 if token == state.token0 else state.reserve1
    amount = max(1, int(held * 10 ** rng.uniform(-5, -3)))
    try:
        return state.after_swap(token, amount)
    except AmmError:
        return state


def swap_some(rng: random.Random, states: dict[str, PoolState], share: float) -> list[str]:
    """Swap in ``share`` of the pools; the addresses changed."""
    changed = rng.sample(sorted(states), max(1, int(len(states) * share)))
    for address in changed:
        states[address] = swap_one(rng, states[address])
    return changed


def busiest_pools(index: CycleIndex, count: int) -> list[str]:
    """The pools with the most cycles through them: the hubs every real block touches."""
    through = sorted((len(index.cycles_through([a])), a) for a in index.pool_addresses)
    return [address for _, address in through[-count:]]


def rss_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class ScenarioResult:
    pools: int
    cycles: int
    hub_p50: float
    hub_p95: float
    full_ms: float
    index_mb: float


def time_blocks(
    index: CycleIndex,
    market: Market,
    rng: random.Random,
    blocks: int,
    hubs: Sequence[str] = (),
    drift: bool = False,
    budget: int | None = None,
) -> tuple[list[float], list[int], list[int]]:
    """Per block: ``hubs`` and a uniform 5% of the pools swap; their cycles are re-judged.

    ``budget``: at most that many cycles judged exactly per block, the most
    promising first, as the engine's scanner does (``SIZING_BUDGET``); the
    others wait and join the next block's cycles.

    Arbitraged (the default): each block's swaps start from the market as
    arbitrage left it, as on mainnet where the gaps of a block are closed in
    the next. ``drift``: the swaps pile up block after block and nobody closes
    the gaps (a stress: by the last blocks hundreds of cycles pay).
    """
    states = dict(market.states)
    rates = EdgeRates()  # kept across blocks, as the engine's scanner keeps it
    rates.sync(index.table, states)
    pricer = NativePricer(market.states.values(), market.native, market.base)
    timings, counts, sized_counts = [], [], []
    previous: list[str] = []
    waiting = np.zeros(0, dtype=np.intp)
    for _ in range(blocks):
        if not drift:
            for address in previous:  # arbitrage closed last block's gaps
                states[address] = market.states[address]
        changed = swap_some(rng, states, 0.05)
        for address in hubs:
            states[address] = swap_one(rng, states[address])
        changed = sorted(set(changed) | set(hubs))
        previous = changed
        with stopwatch() as block:
            affected = union_ids(index.ids_through(changed), waiting)
            terms = terms_for(Market([], states, market.base, market.native), pricer)
            verdicts = evaluate_ids(
                index, affected, dict(states), terms, BASE_GAS, rates=rates, budget=budget
            )
            waiting = verdicts.deferred
        timings.append(block[0])
        counts.append(len(affected))
        sized_counts.append(verdicts.sized)
    return timings, counts, sized_counts


def run_scenario(
    seed: int, v2_pools: int, v3_pools: int, blocks: int, stress: bool = False
) -> ScenarioResult:
    market = build_market(seed, v2_pools, v3_pools)
    print(
        f"\n== {v2_pools:,} V2 + {v3_pools:,} V3 pools, {len(market.tokens):,} tokens "
        f"(seed {seed}) =="
    )
    gc.collect()
    before = rss_mb()
    with stopwatch() as built:
        index = CycleIndex(market.states.values(), market.base, max_hops=3)
    gc.collect()
    index_mb = rss_mb() - before
    print(
        f"index:            {len(index):>9,} cycles (base WETH, USDC; up to 3 hops) "
        f"built in {built[0]:,.0f} ms, {index_mb:,.0f} MB resident"
    )
    with stopwatch() as full:
        analysis = evaluate_ids(
            index, index.alive_ids(), market.states, terms_for(market), BASE_GAS
        )
    print(
        f"full evaluation:  {len(index):>9,} cycles in {full[0]:,.0f} ms "
        f"({full[0] * 1000 / max(1, len(index)):.1f} µs/cycle): {analysis.sized:,} sized, "
        f"{len(analysis.findings):,} pay"
    )

    hubs = busiest_pools(index, HUB_POOLS)
    workloads: list[tuple[str, Sequence[str], bool, int | None]] = [
        ("uniform 5%", [], False, None),
        ("hubs + 5%", hubs, False, None),
    ]
    if stress:
        workloads.append(("hubs + 5%, drifting", hubs, True, None))
        workloads.append(
            (f"hubs + 5%, drifting, budget {SIZING_BUDGET}", hubs, True, SIZING_BUDGET)
        )
    summary: list[float] = []
    for label, changed_hubs, drift, budget in workloads:
        timings, counts, sized_counts = time_blocks(
            index, market, random.Random(seed + 1), blocks, changed_hubs, drift, budget
        )
        print(
            f"block ({label}): {statistics.mean(counts):>9,.0f} cycles per block in "
            f"{statistics.median(timings):,.1f} ms median, p95 {percentile(timings, 0.95):,.1f}, "
            f"max {max(timings):,.1f} ({blocks} blocks; "
            f"{statistics.mean(sized_counts):,.0f} sized per block)"
        )
        if label == "hubs + 5%":
            summary = timings
    return ScenarioResult(
        len(market.states), len(index), statistics.median(summary),
        percentile(summary, 0.95), full[0], index_mb,
    )  # fmt: skip


# ------------------------------------------------------------------------ degenbot


def quote_cases(
    rng: random.Random, pools: Sequence[PoolState], count: int
) -> list[tuple[PoolState, str, int, int]]:
    """``(pool, token_in, amount, our output)`` for quotes this project's maths can answer."""
    cases = []
    while len(cases) < count:
        state = rng.choice(pools)
        token = rng.choice((state.token0, state.token1))
        if isinstance(state, V3PoolState):
            held = state.liquidity * m.Q96 // max(1, state.sqrt_price_x96)
            if token == state.token1:
                held = state.liquidity * state.sqrt_price_x96 // m.Q96
        else:
            held = state.reserve0 if token == state.token0 else state.reserve1
        amount = max(1, int(held * 10 ** rng.uniform(-5, -0.5)))
        try:
            out = state.amount_out(token, amount)
        except AmmError:
            continue
        cases.append((state, token, amount, out))
    return cases


def load_degenbot() -> Any | None:
    """Import degenbot with its configuration and database in a throw-away home folder."""
    home = tempfile.TemporaryDirectory(prefix="degenbot-bench-")
    config = Path(home.name) / ".config" / "degenbot"
    config.mkdir(parents=True)
    # Written first: degenbot's own first-run set-up of its SQLite database can fail.
    (config / "config.toml").write_text(f'[database]\npath = "{config / "degenbot.db"}"\n\n[rpc]\n')
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its set-up chatter
    previous = os.environ.get("HOME")
    os.environ["HOME"] = home.name
    try:
        import degenbot.uniswap.v2_liquidity_pool as v2
        import degenbot.uniswap.v2_types as v2_types
        import degenbot.uniswap.v3_liquidity_pool as v3
        import degenbot.uniswap.v3_types as v3_types
    except ImportError:
        home.cleanup()
        return None
    finally:
        if previous is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = previous
    return {"v2": v2, "v2_types": v2_types, "v3": v3, "v3_types": v3_types, "home": home}


def degenbot_v2(mods: dict[str, Any], state: V2PoolState) -> Any:
    """A degenbot UniswapV2Pool holding ``state`` (its constructor needs a node and a database)."""
    pool = object.__new__(mods["v2"].UniswapV2Pool)
    pool.address = state.address
    pool.token0, pool.token1 = state.token0, state.token1
    pool.fee_token0 = pool.fee_token1 = Fraction(state.fee_bps, 10_000)
    pool._state = mods["v2_types"].UniswapV2PoolState(
        address=state.address,
        block=1,
        reserves_token0=state.reserve0,
        reserves_token1=state.reserve1,
    )
    return pool


def degenbot_v3(mods: dict[str, Any], state: V3PoolState) -> Any:
    """A degenbot UniswapV3Pool holding ``state``, its liquidity map marked complete."""
    types = mods["v3_types"]
    pool = object.__new__(mods["v3"].UniswapV3Pool)
    pool.address = state.address
    pool.token0, pool.token1 = state.token0, state.token1
    pool.fee, pool.tick_spacing = state.fee, state.tick_spacing
    pool.sparse_liquidity_map = False
    words: dict[int, int] = {}
    for tick, _ in state.ticks:
        word, bit = m.position(tick // state.tick_spacing)
        words[word] = words.get(word, 0) | (1 << bit)
    pool._state = types.UniswapV3PoolState(
        address=state.address,
        block=1,
        liquidity=state.liquidity,
        sqrt_price_x96=state.sqrt_price_x96,
        tick=state.tick,
        tick_bitmap={w: types.UniswapV3BitmapAtWord(bitmap=b) for w, b in words.items()},
        tick_data={
            t: types.UniswapV3LiquidityAtTick(liquidity_net=n, liquidity_gross=abs(n))
            for t, n in state.ticks
        },
    )
    pool._state_lock = threading.Lock()
    pool._swap_step_cache = {}
    pool._swap_step_cache_lock = threading.Lock()
    return pool


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def compare_quotes(market: Market, seed: int, count: int, mods: Any | None) -> None:
    print("\n== the same quotes with degenbot ==")
    if mods is None:
        print(
            "degenbot is not installed: `.venv/bin/pip install -r requirements-bench.txt` "
            "to compare (skipped)."
        )
        return
    print(
        "our V2 quote: "
        + ("native (trading/amm/_native.c)" if NATIVE_QUOTE else "Python (native module not built)")
    )
    rng = random.Random(seed + 2)
    for label, pools, build in (
        ("V2", market.v2, degenbot_v2),
        ("V3", market.v3, degenbot_v3),
    ):
        cases = quote_cases(rng, pools, count)
        theirs = {id(state): build(mods, state) for state, *_ in cases}

        def ours_run(cases: list[tuple[PoolState, str, int, int]] = cases) -> None:
            for state, token, amount, _ in cases:
                state.amount_out(token, amount)

        def their_run(
            cases: list[tuple[PoolState, str, int, int]] = cases,
            theirs: dict[int, Any] = theirs,
            cold: bool = label == "V3",
        ) -> None:
            for state, token, amount, _ in cases:
                pool = theirs[id(state)]
                if cold:
                    pool._swap_step_cache = {}  # as for a pool whose state just changed
                pool.calculate_tokens_out_from_tokens_in(token, amount)

        agree = 0
        for state, token, amount, out in cases:
            # A refusal counts as a disagreement, not a crash.
            with contextlib.suppress(Exception):
                agree += theirs[id(state)].calculate_tokens_out_from_tokens_in(token, amount) == out
        ours_ms = best_of(3, ours_run)
        their_ms = best_of(3, their_run)
        print(
            f"{label}: {len(cases):,} quotes  ours {ours_ms:8.2f} ms  degenbot {their_ms:8.2f} ms  "
            f"ours/degenbot = {ours_ms / their_ms:.2f}  (same result: {agree:,}/{len(cases):,})"
        )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- sizing


type SizingCase = tuple[Cycle, dict[str, PoolState], int]


def sizing_cases(market: Market, index: CycleIndex, seed: int, count: int) -> list[SizingCase]:
    """Cycles through a V3 pool that a large swap there (0.3%-3% of its depth) made pay."""
    rng = random.Random(seed + 3)
    terms = terms_for(market)
    cases: list[SizingCase] = []
    v3 = sorted(s.address for s in market.v3)
    for _ in range(count * 50):
        if len(cases) == count:
            break
        address = rng.choice(v3)
        ids = index.ids_through([address])
        if not len(ids):
            continue
        cycle = index.cycle(int(rng.choice(ids.tolist())))
        states = dict(market.states)
        state = states[address]
        assert isinstance(state, V3PoolState)
        token = rng.choice((state.token0, state.token1))
        held = state.liquidity * (m.Q96 if token == state.token0 else state.sqrt_price_x96)
        held //= state.sqrt_price_x96 if token == state.token0 else m.Q96
        try:
            states[address] = state.after_swap(token, max(1, int(held * rng.uniform(0.003, 0.03))))
        except AmmError:
            continue
        limit = terms[cycle.start_token].max_amount_in
        if search_optimum(cycle, states, limit) is not None:
            cases.append((cycle, states, limit))
    return cases


def compare_sizing(market: Market, cases: list[SizingCase], mods: Any | None) -> None:
    """Our V3 sizing against the bounded search on exact quotes, and against degenbot's."""
    print(f"\n== sizing {len(cases)} cycles with a V3 hop ==")
    if not cases:
        return
    evaluations: list[int] = []
    ours, reference, ratios = [], [], []
    for cycle, states, limit in cases:
        with stopwatch() as took:
            found = local_optimum(cycle, states, limit, evaluations=evaluations)
        ours.append(took[0])
        with stopwatch() as took:
            best = search_optimum(cycle, states, limit)
        reference.append(took[0])
        assert best is not None
        ratios.append((found.gross_profit if found else 0) / best.gross_profit)
    print(
        f"ours:   {statistics.mean(evaluations):.1f} exact evaluations per cycle "
        f"(max {max(evaluations)}), {sum(ours):,.1f} ms in all; profit vs the exact search: "
        f"min {min(ratios):.6f}, mean {statistics.mean(ratios):.6f}"
    )
    print(f"search: {sum(reference):,.1f} ms in all (golden section on exact quotes)")
    if mods is None:
        return
    from scipy.optimize import minimize_scalar  # degenbot's own dependency

    pools: dict[int, Any] = {}
    for _, states, _ in cases:
        for state in states.values():
            if id(state) not in pools:
                build = degenbot_v3 if isinstance(state, V3PoolState) else degenbot_v2
                pools[id(state)] = build(mods, state)
    theirs, agree = [], []
    for cycle, states, limit in cases:
        hops = [(pools[id(states[hop.pool])], hop.token_in) for hop in cycle.hops]

        def profit(x: float, hops: list[tuple[Any, str]] = hops) -> float:
            amount = int(x)
            try:
                for pool, token in hops:
                    if isinstance(pool, mods["v3"].UniswapV3Pool):
                        pool._swap_step_cache = {}  # as for a pool whose state just changed
                    amount = pool.calculate_tokens_out_from_tokens_in(token, amount)
            except Exception:
                return 0.0  # as degenbot's cycle does for an input a pool refuses
            return float(amount - int(x))

        with stopwatch() as took:
            # degenbot's UniswapLpCycle.calculate: a bounded scalar search on the quotes
            result = minimize_scalar(
                lambda x, profit=profit: -profit(x),
                method="bounded",
                bounds=(1.0, float(limit)),
                options={"xatol": 1.0},
            )
        theirs.append(took[0])
        agree.append(-result.fun)
    mine = [f.gross_profit if (f := local_optimum(c, s, lim)) else 0 for c, s, lim in cases]
    ratio = min(a / b for a, b in zip(mine, agree, strict=True) if b > 0)
    print(
        f"degenbot: {sum(theirs):,.1f} ms in all (scipy bounded search on its quotes); "
        f"ours/degenbot time = {sum(ours) / sum(theirs):.3f}; our profit / theirs: min {ratio:.6f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument("--blocks", type=int, default=20, help="blocks to time (default 20)")
    parser.add_argument("--quotes", type=int, default=2_000, help="quotes per family")
    parser.add_argument("--sizings", type=int, default=200, help="V3 cycles to size")
    parser.add_argument("--quick", action="store_true", help="one small market")
    parser.add_argument("--no-degenbot", action="store_true", help="skip the comparison")
    args = parser.parse_args(argv)

    scenarios = [(300, 100)] if args.quick else [(5_000, 500), (10_000, 1_000)]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load {load()}")
    results = [
        run_scenario(args.seed, v2, v3, args.blocks, stress=i == 0)
        for i, (v2, v3) in enumerate(scenarios)
    ]
    market = build_market(args.seed, *scenarios[0])
    mods = None if args.no_degenbot else load_degenbot()
    if not args.no_degenbot:
        compare_quotes(market, args.seed, 500 if args.quick else args.quotes, mods)
    index = CycleIndex(market.states.values(), market.base, max_hops=3)
    compare_sizing(market, sizing_cases(market, index, args.seed, args.sizings), mods)
    if mods is not None:
        mods["home"].cleanup()
    print(f"load after: {load()}")
    first = results[0]
    print(
        f"analysis: pools={first.pools} cycles={first.cycles} hub_block_p50_ms={first.hub_p50:.1f} "
        f"hub_block_p95_ms={first.hub_p95:.1f} full_ms={first.full_ms:.0f} "
        f"index_mb={first.index_mb:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
