"""The findings the engine decides from, kept in memory between blocks."""

from __future__ import annotations

import asyncio
import contextlib
from fractions import Fraction
from types import SimpleNamespace

from trading.analysis import Cycle, Hop
from trading.engine.engine import UNTRADED_BLOCKS, UNTRADED_ROWS, Engine, disjoint_routes

WETH, USDC, DAI = "0xWeth", "0xUsdc", "0xDai"


def found(pools: tuple[str, str], net: int, start: str = WETH, via: str = USDC):
    cycle = Cycle(start, (Hop(pools[0], start, via), Hop(pools[1], via, start)))
    return SimpleNamespace(key=cycle.key, cycle=cycle, evaluation=SimpleNamespace(net=net))


def scanned(block: int, findings=(), judged=(), full: bool = False):
    keys = {f.key for f in findings} | set(judged)
    return SimpleNamespace(
        block_number=block, findings=tuple(findings), evaluated_keys=keys, full=full
    )


def ranked(engine: Engine, block: int, prices=None) -> list[str]:
    prices = prices or {WETH: Fraction(1), DAI: Fraction(3000)}
    return [key for key, _, _ in engine.ranked_routes(prices, block)]


def test_findings_stay_candidates_until_judged_again_or_too_old() -> None:
    engine = Engine()
    a, b = found(("0xA", "0xB"), 5), found(("0xC", "0xD"), 9)
    engine.remember(scanned(100, [a, b]))
    assert ranked(engine, 100) == [b.key, a.key]
    # A later block that judges b without finding it drops it; a is not judged: it stays.
    engine.remember(scanned(101, judged=[b.key]))
    assert ranked(engine, 101) == [a.key]
    # Found again, a finding replaces the older one of its cycle.
    richer = found(("0xA", "0xB"), 50)
    engine.remember(scanned(102, [richer]))
    assert engine._candidates[a.key] == (richer, 102)
    # Past UNTRADED_BLOCKS blocks a finding leaves; a full scan starts afresh.
    engine.remember(scanned(102 + UNTRADED_BLOCKS))
    assert ranked(engine, 102 + UNTRADED_BLOCKS) == []
    engine.remember(scanned(200, [a]))
    engine.remember(scanned(201, [b], full=True))
    assert ranked(engine, 201) == [b.key]


def test_at_most_the_newest_candidates_are_kept() -> None:
    engine = Engine()
    for block in range(3):
        engine.remember(
            scanned(block, [found((f"0x{block}p{i}", f"0x{block}q{i}"), 1) for i in range(100)])
        )
    engine.remember(scanned(3, [found(("0xE", "0xF"), 1)]))
    blocks = [b for _, b in engine._candidates.values()]
    assert len(blocks) == UNTRADED_ROWS and blocks.count(3) == 1 and blocks.count(0) < 100
    assert min(blocks) == 0 and blocks.count(1) == blocks.count(2) == 100


def test_candidates_rank_by_native_value_and_leave_backed_off_parts_out() -> None:
    engine = Engine()
    in_weth = found(("0xA", "0xB"), 2 * 10**15)  # 0.002 WETH
    in_dai = found(("0xC", "0xD"), 3 * 10**18, start=DAI, via=WETH)  # 3 DAI = 0.001 WETH
    unpriced = found(("0xE", "0xF"), 10**30, start=USDC, via=WETH)
    engine.remember(scanned(10, [in_dai, unpriced, in_weth]))
    assert ranked(engine, 10) == [in_weth.key, in_dai.key, unpriced.key]
    # DAI dearer: its cycle is worth more in native terms now.
    assert ranked(engine, 10, {WETH: Fraction(1), DAI: Fraction(1000)})[0] == in_dai.key
    # Equal in native terms: the newer first.
    twin = found(("0xG", "0xH"), 2 * 10**15)
    engine.remember(scanned(11, [twin]))
    assert ranked(engine, 11)[:2] == [twin.key, in_weth.key]
    # A pool backed off up to block 11; then a token up to block 12.
    engine._backed_off = {"0xb": 11}
    assert ranked(engine, 11) == [twin.key, in_dai.key, unpriced.key]
    assert ranked(engine, 12) == [twin.key, in_weth.key, in_dai.key, unpriced.key]
    engine._backed_off = {"0xusdc": 12}
    assert ranked(engine, 12) == [in_dai.key]


def test_routes_chosen_together_share_no_pool_with_each_other_or_a_trade_in_flight() -> None:
    engine = Engine()
    best = found(("0xA", "0xB"), 30)
    shares = found(("0xB", "0xC"), 20)
    apart = found(("0xD", "0xE"), 10)
    engine.remember(scanned(5, [best, shares, apart]))
    routes = engine.ranked_routes({WETH: Fraction(1)}, 5)
    assert [k for k, _ in disjoint_routes(routes, 2)] == [best.key, apart.key]
    routes = engine.ranked_routes({WETH: Fraction(1)}, 5)
    assert [k for k, _ in disjoint_routes(routes, 2, {"0xa"})] == [shares.key, apart.key]


def test_a_profit_in_a_six_decimal_token_is_compared_by_its_native_value() -> None:
    engine = Engine()
    # 0.01 WETH against 1,000 USDC at 2,000 USDC per WETH: the USDC profit is worth more,
    # though it is the smaller integer.
    small_in_weth = found(("0xA", "0xB"), 10**16)
    big_in_usdc = found(("0xC", "0xD"), 1_000 * 10**6, start=USDC, via=WETH)
    engine.remember(scanned(7, [small_in_weth, big_in_usdc]))
    prices = {WETH: Fraction(1), USDC: Fraction(2_000 * 10**6, 10**18)}
    assert ranked(engine, 7, prices) == [big_in_usdc.key, small_in_weth.key]


async def test_the_lease_is_renewed_on_the_block_path_only_when_nothing_supervises() -> None:
    engine = Engine()
    renewals: list[bool] = []

    async def refresh(*, force: bool = False) -> bool:
        renewals.append(force)
        return True

    engine.lease = SimpleNamespace(refresh=refresh, valid=True)  # type: ignore[assignment]
    engine.execution = None  # nothing to trade: decide stops after the renewal
    await engine.decide(scanned(1))
    assert renewals == [False]
    # run() renews it from its supervisor, off the block path.
    engine._supervisor = asyncio.create_task(asyncio.sleep(60))
    try:
        await engine.decide(scanned(2))
        assert renewals == [False]
    finally:
        engine._supervisor.cancel()
    # A supervisor that is gone renews nothing: the block path does it again.
    with contextlib.suppress(asyncio.CancelledError):
        await engine._supervisor
    await engine.decide(scanned(3))
    assert renewals == [False, False]
