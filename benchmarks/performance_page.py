"""Performance page benchmark: figures in one currency and the breakdown, for a large history.

    .venv/bin/python benchmarks/performance_page.py                 # 20,000 trades
    .venv/bin/python benchmarks/performance_page.py --trades 100000

A throwaway SQLite database gets ``--trades`` trades over the last week, in
two start tokens, on eight routes of two and three hops across three DEXs,
each with stored native and dollar prices. It then prints, each the best of
``--repeat`` runs:

- reading the trades (one query of the needed columns, then pools and tokens);
- converting and grouping them in Python, per grouping and currency;
- the whole page, its chart data and its CSV through Django's test client,
  with the number of SQL queries of each.

It prints numbers and never fails on timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_BATCH = 5_000


def _configure(workdir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "listonian_site.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("LISTONIAN_LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))


def _seed(trades: int) -> Any:
    """Migrate and write ``trades`` trades; return a logged-in test client."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from trading.models import Dex, Network, Opportunity, Pool, Token, Trade

    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user(username="bench", password="bench-pass-123456")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    net = Network.objects.create(
        name="Bench", chain_id=31337, rpc_urls="http://127.0.0.1:1", active=True
    )
    weth, usdc, aero = (
        Token.objects.create(network=net, symbol=s, decimals=d, address="0x" + c * 40)
        for s, d, c in (("WETH", 18, "1"), ("USDC", 6, "2"), ("AERO", 18, "3"))
    )
    net.wrapped_native_token = weth
    net.save()
    dexes = [
        Dex.objects.create(network=net, name=name, kind=kind, factory="0x" + c * 40)
        for name, kind, c in (
            ("UniswapV2", "uniswap_v2", "4"),
            ("Aerodrome", "solidly", "5"),
            ("UniswapV3", "uniswap_v3", "6"),
        )
    ]
    pairs = [(weth, usdc), (usdc, aero), (aero, weth)]
    pools = {}
    for d, dex in enumerate(dexes):
        for p, (a, b) in enumerate(pairs):
            address = "0x" + f"{d + 7:x}{p + 1:x}" * 20
            pools[(dex.pk, p)] = Pool.objects.create(
                dex=dex, address=address, token0=a, token1=b, fee=3000
            )

    def hop(dex: Any, pair: int, reverse: bool = False) -> dict[str, str]:
        a, b = pairs[pair]
        if reverse:
            a, b = b, a
        return {
            "pool": pools[(dex.pk, pair)].address,
            "token_in": a.address,
            "token_out": b.address,
        }

    uni, aerodrome, v3 = dexes
    routes = [
        (weth, [hop(uni, 0), hop(aerodrome, 0, True)]),
        (weth, [hop(v3, 0), hop(uni, 0, True)]),
        (weth, [hop(uni, 0), hop(aerodrome, 1), hop(v3, 2)]),
        (weth, [hop(aerodrome, 0), hop(uni, 1), hop(uni, 2)]),
        (usdc, [hop(uni, 0, True), hop(v3, 0)]),
        (usdc, [hop(aerodrome, 0, True), hop(uni, 0)]),
        (usdc, [hop(uni, 1), hop(aerodrome, 2), hop(v3, 0)]),
        (usdc, [hop(v3, 1), hop(v3, 2), hop(aerodrome, 0)]),
    ]
    now = timezone.now()
    for start in range(0, trades, _BATCH):
        count = min(_BATCH, trades - start)
        rows = range(start, start + count)
        opportunities = Opportunity.objects.bulk_create(
            Opportunity(
                network=net,
                start_token=routes[i % len(routes)][0],
                amount_in=10**18,
                expected_profit=10**16,
                gas_cost=10**15,
                net_profit=9 * 10**15,
                path=routes[i % len(routes)][1],
                cycle_key=f"bench-{i}",
                block_number=1_000 + i,
                detected_at=now - dt.timedelta(seconds=30 * i % (7 * 86_400)),
                status="executed",
            )
            for i in rows
        )
        Trade.objects.bulk_create(
            Trade(
                opportunity=opp,
                mode="live",
                status="success" if i % 10 else "reverted",
                realized_profit=(8 * 10**15 if opp.start_token_id == weth.pk else 24_000_000)
                if i % 10
                else 0,
                gas_used=150_000,
                gas_cost_wei=10**14 + i,
                net_profit=(
                    (8 * 10**15 if i % 10 else 0) - 10**14 - i
                    if opp.start_token_id == weth.pk
                    else (24_000_000 if i % 10 else 0)
                    - ((10**14 + i) * 3_000 * 10**6 + 10**18 - 1) // 10**18
                ),
                native_price=10**18 if opp.start_token_id == weth.pk else 3_000 * 10**6 + i,
                native_usd_price=3_000 * 10**6 + i,
                tx_hash="0x" + f"{i:064x}",
                block_number=1_000 + i,
                created_at=opp.detected_at,
            )
            for i, opp in zip(rows, opportunities, strict=True)
        )
        print(f"  seeded {start + count:,} trades", end="\r", flush=True)
    print()
    return client


def _best(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        _configure(Path(workdir))
        import django

        django.setup()
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from trading import selectors
        from trading.analysis import breakdown
        from trading.models import Token

        print(f"Seeding {args.trades:,} trades (SQLite)…")
        client = _seed(args.trades)
        until = selectors.now()
        since = until - dt.timedelta(days=7)
        perf = selectors.performance(since=since, until=until)

        seconds, facts = _best(
            args.repeat,
            lambda: selectors.trade_facts(since=since, until=until, starts=list(perf.buckets)),
        )
        print(f"read {len(facts):,} trades with their hops: {seconds * 1000:.0f} ms")
        usdc = Token.objects.get(symbol="USDC", network__name="Bench").pk
        for name, currency in (
            ("native", breakdown.Currency(breakdown.NATIVE)),
            ("usd", breakdown.Currency(breakdown.USD)),
            ("token USDC", breakdown.Currency(breakdown.TOKEN, usdc)),
        ):
            seconds, _ = _best(
                args.repeat, lambda c=currency: breakdown.series(facts, c, len(perf.buckets))
            )
            line = [f"series {seconds * 1000:.0f} ms"]
            for group in breakdown.GROUPINGS:
                seconds, rows = _best(
                    args.repeat, lambda c=currency, g=group: breakdown.breakdown(facts, c, g)
                )
                line.append(f"{group} {seconds * 1000:.0f} ms ({len(rows)} rows)")
            print(f"convert and group in {name}: " + ", ".join(line))

        for label, path in (
            ("page (by route, USD)", "/performance/?range=7d&currency=usd&group=route"),
            ("page (by DEX, native)", "/performance/?range=7d&group=dex"),
            ("chart data (USD)", "/performance/data.json?range=7d&currency=usd"),
            (
                "CSV (by pair, USDC)",
                f"/performance/export.csv?range=7d&currency=token&token={usdc}&group=pair",
            ),
        ):

            def fetch(path: str = path) -> int:
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path)
                    assert response.status_code == 200, response.status_code
                    if getattr(response, "streaming", False):
                        b"".join(response.streaming_content)
                return len(queries.captured_queries)

            seconds, count = _best(args.repeat, fetch)
            print(f"{label}: {seconds * 1000:.0f} ms, {count} SQL queries")


if __name__ == "__main__":
    main()
