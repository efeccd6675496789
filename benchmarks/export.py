"""CSV export benchmark: time to the first bytes and peak memory of the streamed exports.

    .venv/bin/python benchmarks/export.py               # 100,000 opportunities and trades
    .venv/bin/python benchmarks/export.py --rows 10000  # a quicker run
    .venv/bin/python benchmarks/export.py --database-url postgres://postgres@127.0.0.1:5432/bench
                                                        # on PostgreSQL (an empty database)

A throwaway SQLite database (or the empty database of ``--database-url``) gets
``--rows`` opportunities (three-hop routes on two DEXs) and as many trades; both
exports are then downloaded from the real
ASGI application served by Daphne, as a browser would, reading the body in
chunks. For each it prints the time to the response headers and to the first
body bytes, the total time, the size, and the peak of Python memory allocated
while the download ran (tracemalloc, every thread: the server's included),
next to the size of the file, which an export built in memory would at least
need.

It prints numbers and never fails on timing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_BATCH = 5_000


def _configure(workdir: Path, database_url: str = "") -> None:
    """Environment for Django before it is set up: a throwaway database, quiet logs."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "listonian_site.settings"
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("LISTONIAN_LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))


def _seed(rows: int) -> str:
    """Migrate, create a user and ``rows`` opportunities with a trade each; return a cookie."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from trading.models import Dex, Network, Opportunity, Pool, Token, Trade

    call_command("migrate", interactive=False, verbosity=0)
    if Opportunity.objects.exists():
        raise SystemExit("The benchmark seeds its own rows: give it an empty database.")
    user = get_user_model().objects.create_user(username="bench", password="bench-pass-123456")
    client = Client()
    client.force_login(user)
    net = Network.objects.create(
        name="Bench", chain_id=31337, rpc_urls="http://127.0.0.1:1", active=True
    )
    weth, usdc, aero = (
        Token.objects.create(network=net, symbol=s, decimals=d, address="0x" + c * 40)
        for s, d, c in (("WETH", 18, "1"), ("USDC", 6, "2"), ("AERO", 18, "3"))
    )
    uni = Dex.objects.create(
        network=net, name="UniswapV2", kind="uniswap_v2", factory="0x" + "4" * 40
    )
    velo = Dex.objects.create(
        network=net, name="Aerodrome", kind="solidly", factory="0x" + "5" * 40
    )
    pools = [
        Pool.objects.create(dex=uni, address="0x" + "6" * 40, token0=weth, token1=usdc, fee=3000),
        Pool.objects.create(dex=velo, address="0x" + "7" * 40, token0=usdc, token1=aero, fee=500),
        Pool.objects.create(dex=uni, address="0x" + "8" * 40, token0=aero, token1=weth, fee=3000),
    ]
    path = [
        {"pool": pool.address, "token_in": a.address, "token_out": b.address}
        for pool, (a, b) in zip(pools, [(weth, usdc), (usdc, aero), (aero, weth)], strict=True)
    ]
    now = timezone.now()
    for start in range(0, rows, _BATCH):
        count = min(_BATCH, rows - start)
        opportunities = Opportunity.objects.bulk_create(
            Opportunity(
                network=net,
                start_token=weth,
                amount_in=10**18 + i,
                expected_profit=10**16 + i,
                gas_cost=10**15,
                net_profit=9 * 10**15 + i,
                path=path,
                cycle_key=f"bench-{i}",
                block_number=1_000 + i,
                detected_at=now,
                status="executed",
            )
            for i in range(start, start + count)
        )
        Trade.objects.bulk_create(
            Trade(
                opportunity=opp,
                mode="live",
                status="success" if i % 10 else "reverted",
                realized_profit=8 * 10**15 if i % 10 else 0,
                gas_used=150_000,
                gas_cost_wei=10**14,
                net_profit=8 * 10**15 - 10**14 if i % 10 else -(10**14),
                native_price=10**18,
                tx_hash="0x" + f"{i:064x}",
                block_number=1_000 + i,
                created_at=now,
            )
            for i, opp in zip(range(start, start + count), opportunities, strict=True)
        )
        print(f"  seeded {start + count:,} rows", end="\r", flush=True)
    print()
    return f"sessionid={client.cookies['sessionid'].value}"


def _start_daphne() -> tuple[Any, int]:
    from daphne.server import Server

    from listonian_site.asgi import application

    server = Server(
        application=application,
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        signal_handlers=False,
        verbosity=0,
    )
    threading.Thread(target=server.run, name="daphne", daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.listening_addresses:
        if time.monotonic() > deadline:
            raise SystemExit("Daphne did not start")
        time.sleep(0.05)
    return server, server.listening_addresses[0][1]


def _download(port: int, path: str, cookie: str) -> dict[str, float]:
    """Fetch ``path`` as a browser would, in 64 KiB reads; time it (and track memory when
    tracemalloc runs: it slows Python down several times, so timings come from a run
    without it)."""
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0] if tracing else 0
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
    response = conn.getresponse()
    headers_at = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status}")
    first_at, size, lines = None, 0, 0
    while chunk := response.read1(65_536):
        if first_at is None:
            first_at = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    conn.close()
    peak = tracemalloc.get_traced_memory()[1] if tracing else 0
    return {
        "headers": headers_at,
        "first": first_at or total,
        "total": total,
        "size": size,
        "lines": lines,
        "peak": peak - base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="opportunities (and trades)")
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty database to seed instead of a throwaway SQLite file (e.g. PostgreSQL)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listonian-export-") as workdir:
        _configure(Path(workdir), args.database_url)
        import django

        django.setup()
        print(f"Seeding {args.rows:,} opportunities and {args.rows:,} trades…")
        seeded = time.perf_counter()
        cookie = _seed(args.rows)
        print(f"  in {time.perf_counter() - seeded:.1f} s")
        server, port = _start_daphne()
        paths = ("/opportunities/export.csv", "/trades/export.csv")
        try:
            print(
                f"\n{'export':<28} {'rows':>9} {'headers':>9} {'1st bytes':>10} {'total':>8} "
                f"{'size':>9} {'peak mem':>9}"
            )
            timed = {path: _download(port, path, cookie) for path in paths}
            tracemalloc.start()
            for path in paths:
                r = timed[path]
                peak = _download(port, path, cookie)["peak"]
                print(
                    f"{path:<28} {int(r['lines']) - 1:>9,} {r['headers']:>8.3f}s "
                    f"{r['first']:>9.3f}s {r['total']:>7.2f}s {r['size'] / 2**20:>7.1f}MB "
                    f"{peak / 2**20:>7.1f}MB"
                )
        finally:
            tracemalloc.stop()
            server.stop()


if __name__ == "__main__":
    main()
