"""Live dashboard under load: websocket fan-out and commit-to-screen latency.

Starts the real ASGI application under Daphne (in a thread of this process, on
a throwaway SQLite database), connects ``--clients`` websocket clients
authenticated by a session cookie (in a separate process, so that the clients
do not compete with the server for this interpreter), broadcasts ``--rate``
opportunity events a second for ``--duration`` seconds, and prints:

- delivered/sent: frames received over frames expected (events times clients);
- p50/p95/max delay from broadcast to receipt;
- with a browser (default): p50/p95 from an opportunity's commit to its row
  being in the page of a headless Chromium (``--samples`` commits).

The in-memory channel layer is used unless ``--redis`` (REDIS_URL, default
redis://127.0.0.1:6379/0, under a prefix of its own). It prints numbers and
never fails on timing.

    .venv/bin/python benchmarks/dashboard_ws.py [--clients 100] [--rate 50] [--duration 30]
                                                [--redis] [--samples 50] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = re.compile(r"published ([0-9]+\.[0-9]+)")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


# --- Client process -------------------------------------------------------------------------


async def _client_worker(url: str, origin: str, cookie: str, clients: int) -> None:
    """Connect ``clients`` sockets, record every frame's delay, report on "stop"."""
    from websockets.asyncio.client import connect

    received = [0] * clients
    delays: list[float] = []
    sockets = []

    async def listen(index: int, ws: Any) -> None:
        try:
            async for frame in ws:
                now = time.time()
                match = PUBLISHED.search(frame if isinstance(frame, str) else "")
                received[index] += 1
                if match:
                    delays.append(now - float(match.group(1)))
        except Exception:
            return

    for _ in range(clients):
        ws = await connect(url, origin=origin, additional_headers={"Cookie": cookie}, max_size=None)
        sockets.append(ws)
    tasks = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(sockets)]
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "stop":
            break
        if line.strip() == "count":
            print(f"COUNT {sum(received)}", flush=True)
    for ws in sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    print(
        "RESULT "
        + json.dumps(
            {
                "received": sum(received),
                "per_client_min": min(received),
                "per_client_max": max(received),
                "p50": percentile(delays, 50),
                "p95": percentile(delays, 95),
                "p99": percentile(delays, 99),
                "max": max(delays) if delays else float("nan"),
            }
        ),
        flush=True,
    )


# --- Server process (this one) ---------------------------------------------------------------


def _configure(args: argparse.Namespace, workdir: Path) -> None:
    """Environment for Django before it is set up: throwaway database, chosen layer."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "listonian_site.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("LISTONIAN_LOG_LEVEL", "WARNING")
    if args.redis:
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
        os.environ["LISTONIAN_CHANNEL_PREFIX"] = f"bench-{uuid.uuid4().hex[:10]}"
    else:
        os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))


def _setup_database() -> tuple[str, dict[str, Any]]:
    """Migrate, create a user and a little market; return a session cookie and the rows."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from trading.models import Dex, Network, Pool, Token

    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user(username="bench", password="bench-pass-123456")
    client = Client()
    client.force_login(user)
    net = Network.objects.create(
        name="Bench", chain_id=31337, rpc_urls="http://127.0.0.1:1", active=True
    )
    weth = Token.objects.create(network=net, symbol="WETH", decimals=18, address="0x" + "1" * 40)
    usdc = Token.objects.create(network=net, symbol="USDC", decimals=6, address="0x" + "2" * 40)
    uni = Dex.objects.create(
        network=net, name="UniswapV2", kind="uniswap_v2", factory="0x" + "3" * 40
    )
    aero = Dex.objects.create(
        network=net, name="Aerodrome", kind="solidly", factory="0x" + "4" * 40
    )
    pools = [
        Pool.objects.create(dex=uni, address="0x" + "5" * 40, token0=weth, token1=usdc, fee=3000),
        Pool.objects.create(dex=aero, address="0x" + "6" * 40, token0=usdc, token1=weth, fee=500),
    ]
    return f"sessionid={client.cookies['sessionid'].value}", {
        "weth": weth,
        "usdc": usdc,
        "pools": pools,
    }


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


def _synthetic_event(i: int) -> Any:
    from dashboard.events import OpportunityEvent

    return OpportunityEvent(
        id=10_000_000 + i,
        status="detected",
        status_label="Detected",
        symbol="WETH",
        decimals=18,
        route="WETH → USDC → WETH",
        dexes="UniswapV2, Aerodrome",
        amount_in=str(10**18),
        amount_in_display="1 WETH",
        expected_profit=str(10**16),
        expected_profit_display="0.01 WETH",
        gas_cost=str(10**15),
        gas_cost_display="0.001 WETH",
        net_profit=str(9 * 10**15 + i),
        net_profit_display="0.009 WETH",
        block_number=1_000_000 + i,
        detected_at="2026-01-01T00:00:00+00:00",
    )


async def _broadcast(rate: float, duration: float) -> tuple[int, int, float]:
    """Publish ``rate`` events a second for ``duration`` seconds; return (sent, failed, seconds)."""
    from dashboard import broadcast

    total = int(rate * duration)
    sent = failed = 0
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if await broadcast.apublish(_synthetic_event(i)):
            sent += 1
        else:
            failed += 1
    return sent, failed, time.monotonic() - start


def _read_line(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            if process.poll() is not None:
                raise SystemExit(f"client process exited ({process.returncode})")
            continue
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise SystemExit(f"no {prefix!r} from the client process")


def _fanout(args: argparse.Namespace, port: int, cookie: str) -> None:
    worker = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--worker",
            "--url",
            f"ws://127.0.0.1:{port}/ws/dashboard/?page=overview",
            "--origin",
            f"http://127.0.0.1:{port}",
            "--cookie",
            cookie,
            "--clients",
            str(args.clients),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    _read_line(worker, "READY", timeout=60)
    print(f"{args.clients} clients connected; broadcasting {args.rate:g}/s for {args.duration:g} s")
    sent, failed, seconds = asyncio.run(_broadcast(args.rate, args.duration))
    expected = sent * args.clients
    # Let the last frames arrive (bounded), then collect the numbers.
    deadline = time.monotonic() + 15
    received = 0
    while time.monotonic() < deadline:
        worker.stdin.write("count\n")
        worker.stdin.flush()
        received = int(_read_line(worker, "COUNT", timeout=10))
        if received >= expected:
            break
        time.sleep(0.25)
    worker.stdin.write("stop\n")
    worker.stdin.flush()
    result = json.loads(_read_line(worker, "RESULT", timeout=30))
    worker.wait(timeout=30)
    print(f"layer:            {'Redis' if args.redis else 'in-memory'}")
    print(f"events sent:      {sent} in {seconds:.1f} s ({sent / seconds:.1f}/s), {failed} failed")
    print(f"frames expected:  {expected}")
    print(f"frames received:  {result['received']}")
    ratio = result["received"] / expected if expected else float("nan")
    print(f"delivered/sent:   {ratio:.4f}")
    print(
        f"per client:       min {result['per_client_min']}, max {result['per_client_max']} frames"
    )
    print(
        "broadcast→receipt "
        f"p50 {result['p50'] * 1000:.1f} ms, p95 {result['p95'] * 1000:.1f} ms, "
        f"p99 {result['p99'] * 1000:.1f} ms, max {result['max'] * 1000:.1f} ms"
    )


def _browser_latency(args: argparse.Namespace, port: int, cookie: str, rows: dict) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import transaction

    from trading import events
    from trading.models import Opportunity

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("commit→browser:   skipped (no chromium on PATH)")
        return
    from playwright.sync_api import sync_playwright

    # ORM work runs off Playwright's event loop (the ORM refuses async contexts).
    orm = ThreadPoolExecutor(max_workers=1)

    def commit_one(i: int) -> tuple[int, float]:
        committed: list[float] = []
        with transaction.atomic():
            opp = Opportunity.objects.create(
                start_token=rows["weth"],
                amount_in=10**18,
                expected_profit=10**16,
                gas_cost=10**15,
                net_profit=9 * 10**15,
                path=[
                    {
                        "pool": rows["pools"][0].address,
                        "token_in": rows["weth"].address,
                        "token_out": rows["usdc"].address,
                    },
                    {
                        "pool": rows["pools"][1].address,
                        "token_in": rows["usdc"].address,
                        "token_out": rows["weth"].address,
                    },
                ],
                cycle_key=f"bench-{i}",
                block_number=i,
            )
            opp.pools.set(rows["pools"])
            # Callbacks run in order right after the commit: the first notes its time.
            transaction.on_commit(lambda: committed.append(time.time()))
            events.opportunities_recorded_after_commit(created=[opp.pk])
        return opp.pk, committed[0]

    delays = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context()
        name, value = cookie.split("=", 1)
        context.add_cookies([{"name": name, "value": value, "url": f"http://127.0.0.1:{port}"}])
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector('#ws-status[data-state="live"]', timeout=15_000)
        page.evaluate(
            """() => {
              window.__seen = {};
              const rows = document.getElementById('opportunity-feed-rows');
              new MutationObserver(() => {
                const now = performance.timeOrigin + performance.now();
                for (const tr of rows.querySelectorAll('tr[id^="opp-"]')) {
                  if (!(tr.id in window.__seen)) window.__seen[tr.id] = now;
                }
              }).observe(rows, {childList: true, subtree: true});
            }"""
        )
        for i in range(args.samples):
            pk, committed = orm.submit(commit_one, i).result()
            page.wait_for_function(f"() => 'opp-{pk}' in window.__seen", timeout=10_000)
            seen = page.evaluate(f"() => window.__seen['opp-{pk}']") / 1000
            delays.append(seen - committed)
            time.sleep(0.05)
        browser.close()
    print(
        f"commit→browser:   {len(delays)} samples, p50 {percentile(delays, 50) * 1000:.1f} ms, "
        f"p95 {percentile(delays, 95) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of broadcasting")
    parser.add_argument("--redis", action="store_true", help="use the Redis channel layer")
    parser.add_argument("--samples", type=int, default=50, help="browser latency samples")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser part")
    # The client process.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        asyncio.run(_client_worker(args.url, args.origin, args.cookie, args.clients))
        return

    workdir = Path(tempfile.mkdtemp(prefix="listonian-bench-"))
    try:
        _configure(args, workdir)
        import django

        django.setup()
        cookie, rows = _setup_database()
        server, port = _start_daphne()
        print(f"Daphne on 127.0.0.1:{port}, database {workdir / 'bench.sqlite3'}")
        _fanout(args, port, cookie)
        if not args.no_browser and args.samples > 0:
            _browser_latency(args, port, cookie, rows)
        from twisted.internet import reactor

        reactor.callFromThread(server.stop)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
