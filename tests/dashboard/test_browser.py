"""The dashboard in headless Chromium against the real ASGI server (Daphne).

Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from trading import events
from trading.models import BotConfig, ComponentHealth, EngineState, GasSnapshot

from ..trading import factories as f
from .helpers import cycle
from .live_server import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    SubprocessDaphne,
    ThreadedDaphne,
    chromium_path,
    free_port,
    off_loop,
)

pytestmark = pytest.mark.browser

from playwright import sync_api as playwright_sync  # noqa: E402 - in requirements.txt

expect = playwright_sync.expect


@pytest.fixture(scope="session")
def live_daphne():
    """Daphne in a thread for the whole session (Twisted's reactor cannot restart)."""
    server = ThreadedDaphne()
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _close_worker_connections():
    """The ORM worker thread's connection must not outlive the test database."""
    yield
    from django.db import connections

    off_loop(connections.close_all)


@pytest.fixture
def chromium():
    path = chromium_path()
    # `make test` installs it; a browser test never passes without a browser.
    assert path, "needs the distribution's chromium package: apt-get install chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    # One Playwright per test: its sync API holds an event loop in this thread,
    # which must not outlive the test (async tests follow).
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _page(chromium, errors: list[str]):
    page = chromium.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page


def _log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "live")


def _wait_for(predicate, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_live_events_appear_without_reload_and_the_bot_pauses(
    live_daphne, operator, market, chromium
):
    # Pausing needs the bot config right (or staff).
    off_loop(
        lambda: operator.user_permissions.add(Permission.objects.get(codename="change_botconfig"))
    )
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "operator", "op-secret-pass-1")
    expect(page.locator("#opportunity-feed")).to_contain_text("No opportunities yet")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    def write_and_publish():
        opp = cycle(market, net_profit=4_200_000_000_000_000)
        trade = f.trade(opp, realized_profit=3 * 10**15, tx_hash="0x" + "ef" * 32)
        events.send(events.opportunities_recorded, created=(opp.pk,))
        events.send(events.trade_changed, trade_id=trade.pk)
        events.send(events.status_changed)  # brings the counts the throttle held back
        return opp, trade

    opp, trade = off_loop(write_and_publish)
    expect(page.locator(f"#opp-{opp.pk}")).to_contain_text("0.0042 WETH")
    expect(page.locator(f"#trade-{trade.pk}")).to_contain_text("0.0029 WETH")  # net of its gas
    expect(page.locator("#opportunity-count")).to_have_text("1")
    expect(page.locator("#trade-count")).to_have_text("1")
    expect(page.locator("#opportunity-feed .empty-row")).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True

    # A status change of a row already shown updates it in place.
    def execute():
        opp.status = "executed"
        opp.save(update_fields=["status"])
        events.send(events.opportunity_changed, opportunity_id=opp.pk)

    off_loop(execute)
    expect(page.locator(f"#opp-{opp.pk}")).to_contain_text("Executed")
    assert page.locator(f"#opp-{opp.pk}").count() == 1
    page.screenshot(path=ARTIFACTS / "overview-live.png", full_page=True)

    page.fill("#bot-status input[name=reason]", "checking the browser")
    page.click("#pause-button")
    expect(page.locator("#bot-state")).to_have_text("Paused: checking the browser")
    assert _wait_for(lambda: off_loop(lambda: BotConfig.load().paused))
    # Every open page learns it through the status event.
    expect(page.locator("#bot-pill")).to_contain_text("Paused")
    page.screenshot(path=ARTIFACTS / "overview-paused.png", full_page=True)

    page.click("#resume-button")
    expect(page.locator("#bot-state")).to_have_text("Active")
    assert _wait_for(lambda: not off_loop(lambda: BotConfig.load().paused))
    assert page.evaluate("window.__sameDocument") is True
    assert errors == []


STALE_REASON = (
    "prices after fees allow at most 0.001234 WETH gross profit, below the 0.0015 WETH that gas "
    "and the minimum net profit need"
)
SKIPPED_REASON = "gas price 12.5 gwei above the limit 10 gwei"
REVERTED_REASON = (
    "reverted on chain: unprofitable: would have earned 0.001234 WETH, needed 0.0015 WETH "
    "(gas used 143,210 of 600,000)"
)


def _seed_history(market) -> int:
    """Thirty opportunities, fifteen trades, gas, health and market: every page has rows."""
    now = timezone.now()
    for i in range(30):
        moment = now - dt.timedelta(hours=7 * i)
        opp = cycle(
            market,
            start="usdc" if i % 4 == 0 else "weth",
            net_profit=(i + 1) * (10**4 if i % 4 == 0 else 10**15),
            amount_in=5_000 * 10**6 if i % 4 == 0 else 10**18,
            detected_at=moment,
            block=1000 + i,
            status=["detected", "executed", "stale", "skipped"][i % 4],
            # The longest reasons the project writes: the Reason column must still fit.
            status_reason=["", "", STALE_REASON, SKIPPED_REASON][i % 4],
            reason_code=["", "", "below_threshold", "gas_price"][i % 4],
        )
        if i % 2:
            reverted = not i % 3
            f.trade(
                opp,
                created_at=moment,
                realized_profit=(i - 10) * 10**14,
                gas_cost_wei=(i + 3) * 10**13,
                gas_used=140_000 + i,
                status="reverted" if reverted else "success",
                tx_hash="0x" + f"{i:02x}" * 32,
                block_number=1000 + i,
                error=REVERTED_REASON if reverted else "",
                reason_code="reverted_on_chain" if reverted else "",
            )
    GasSnapshot.objects.create(
        network=market["net"],
        block_number=1029,
        base_fee_wei=4_123_456,
        priority_fee_slow_wei=1_000_000,
        priority_fee_normal_wei=1_500_000,
        priority_fee_urgent_wei=3_000_000,
        l1_fee_wei=25 * 10**9,
    )
    for name, healthy in [("chain", True), ("dex", True), ("execution", False)]:
        ComponentHealth.objects.create(
            name=name,
            initialized=True,
            healthy=healthy,
            last_success_at=now,
            last_error="" if healthy else "nonce too low (resynced)",
            last_error_at=None if healthy else now,
        )
    state = EngineState.load()
    state.running = True
    state.heartbeat_at = now
    state.last_block = 1029
    state.market = [
        {
            "pair": "WETH/USDC",
            # As the engine writes them: long venue names, fee tiers, ten significant digits.
            "prices": [
                {"dex": "UniswapV2", "pool": "0x1", "fee": "0.3%", "price": "3012.554019"},
                {"dex": "Aerodrome", "pool": "0x2", "fee": "0.05%", "price": "3018.101123"},
                {
                    "dex": "Aerodrome Slipstream",
                    "pool": "0x3",
                    "fee": "0.05%",
                    "price": "3015.882207",
                },
                {"dex": "PancakeSwap V3", "pool": "0x4", "fee": "0.25%", "price": "3001.088431"},
            ],
            "best_spread_bps": "18.4",
        }
    ]
    state.save()
    from trading.models import Trade

    return Trade.objects.order_by("-id").first().pk


@pytest.mark.django_db(transaction=True)
def test_every_page_renders_in_a_browser(live_daphne, staff, market, chromium):
    trade_id = off_loop(lambda: _seed_history(market))
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "boss", "boss-secret-pass-1")
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)

    page.goto(f"{live_daphne.url}/opportunities/")
    page.select_option("select[name=status]", "executed")
    expect(page).to_have_url(
        f"{live_daphne.url}/opportunities/?status=executed&token=&dex=&reason=&min_profit=&max_profit=&since=&until="
    )
    expect(page.locator("#results h2")).to_contain_text("match")
    page.screenshot(path=ARTIFACTS / "opportunities.png", full_page=True)
    # The reason filter: only the rows skipped for the gas price, their words on hover.
    page.goto(f"{live_daphne.url}/opportunities/")
    page.select_option("select[name=reason]", "gas_price")
    expect(page).to_have_url(re.compile(r"[?&]reason=gas_price(&|$)"))
    expect(page.locator("#results h2")).to_contain_text("7 opportunities match")
    reasons = page.locator("td.reason-cell")
    expect(reasons).to_have_count(7)
    expect(reasons.first).to_have_text("Gas price above limit")
    expect(reasons.first).to_have_attribute("title", SKIPPED_REASON)

    page.goto(f"{live_daphne.url}/trades/")
    page.screenshot(path=ARTIFACTS / "trades.png", full_page=True)
    page.goto(f"{live_daphne.url}/trades/{trade_id}/")
    expect(page.locator("#opportunity-link")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "trade-detail.png", full_page=True)

    page.goto(f"{live_daphne.url}/performance/?range=7d")
    expect(page.locator("#charts")).to_have_attribute("data-loaded", "1")
    page.screenshot(path=ARTIFACTS / "performance.png", full_page=True)

    page.goto(f"{live_daphne.url}/settings/")
    expect(page.locator("body")).to_contain_text("Bot configuration")
    page.screenshot(path=ARTIFACTS / "settings.png", full_page=True)
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_performance_switches_currency_and_refreshes_live(live_daphne, operator, market, chromium):
    def trade(profit: int) -> None:
        moment = timezone.now() - dt.timedelta(minutes=30)
        opp = cycle(market, detected_at=moment)
        row = f.trade(
            opp,
            created_at=moment,
            realized_profit=profit,
            gas_cost_wei=10**15,
            native_usd_price=3_000 * 10**6,
        )
        events.send(events.trade_changed, trade_id=row.pk)

    off_loop(lambda: trade(4 * 10**15))  # nets 0.003 ETH, $9
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "operator", "op-secret-pass-1")
    page.goto(f"{live_daphne.url}/performance/?range=24h")
    expect(page.locator("#performance-net")).to_have_text("0.003 ETH")
    expect(page.locator("#charts")).to_have_attribute("data-loaded", "1")

    # Picking a currency shows every figure in it, the range kept.
    page.select_option("#id_currency", "usd")
    expect(page.locator("#performance-net")).to_have_text("9 USD")
    assert "range=24h" in page.url and "currency=usd" in page.url
    expect(page.locator("#breakdown tbody td.num").nth(2)).to_have_text("9 USD")
    expect(page.locator("#charts")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # Two trades settle: the figures follow without a reload.
    off_loop(lambda: trade(5 * 10**15))  # nets $12
    off_loop(lambda: trade(2 * 10**15))  # nets $3
    expect(page.locator("#performance-net")).to_have_text("24 USD")
    expect(page.locator("#performance-figures")).to_have_attribute("data-trades", "3")
    expect(page.locator("#charts")).to_have_attribute("data-loaded", "2")
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=ARTIFACTS / "performance-live.png", full_page=True)
    assert errors == []


# Collects every Content-Security-Policy violation a page reports, from its first script.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective}: ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.mark.django_db(transaction=True)
def test_every_page_passes_the_content_security_policy(live_daphne, staff, market, chromium):
    def seed():
        opp = cycle(market, block=7)
        trade = f.trade(opp, tx_hash="0x" + "cd" * 32, block_number=8)
        return opp.pk, trade.pk

    opportunity_id, trade_id = off_loop(seed)
    errors: list[str] = []
    page = _page(chromium, errors)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    base = live_daphne.url
    violations: dict[str, list[str]] = {}

    def visit(path: str, ready: str = "body") -> None:
        response = page.goto(f"{base}{path}")
        assert response is not None
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)  # let deferred scripts and htmx settle
        found = page.evaluate("window.__cspViolations")
        if found:
            violations[path] = found

    visit("/login/")
    _log_in(page, base, "boss", "boss-secret-pass-1")
    visit("/", "#ws-status[data-state=live]")
    visit("/opportunities/")
    visit(f"/opportunities/{opportunity_id}/")
    visit("/trades/")
    visit(f"/trades/{trade_id}/")
    visit("/performance/?range=7d", "#charts[data-loaded='1']")
    visit("/settings/")
    visit("/distributions/")
    visit("/system/")
    visit("/admin/")
    visit("/admin/trading/opportunity/")
    visit("/admin/trading/botconfig/")
    assert violations == {}
    assert [e for e in errors if "Content Security Policy" in e] == []


MISSED_WHILE_OFFLINE = """
from trading.models import Network, Opportunity, Token
net = Network.objects.create(name="Offline", chain_id=1, rpc_urls="http://127.0.0.1:1")
weth = Token.objects.create(network=net, symbol="WETH", decimals=18, address="0x" + "1" * 40)
Opportunity.objects.create(
    start_token=weth, amount_in=10**18, expected_profit=2 * 10**16, gas_cost=10**15,
    net_profit=19 * 10**15, path=[], cycle_key="offline", block_number=1,
)
"""


def test_the_page_reconnects_after_a_server_restart(chromium, tmp_path):
    server = SubprocessDaphne(tmp_path, free_port())
    server.manage("migrate", "--noinput")
    server.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "restart",
        "--email",
        "restart@example.com",
        DJANGO_SUPERUSER_PASSWORD="restart-secret-pass-1",
    )
    server.start()
    try:
        errors: list[str] = []
        page = _page(chromium, errors)
        _log_in(page, server.url, "restart", "restart-secret-pass-1")
        banner = page.locator("#connection-banner")
        expect(banner).to_be_hidden()
        page.evaluate("window.__sameDocument = true")

        server.stop()
        expect(banner).to_be_visible()
        expect(page.locator("#ws-status")).to_have_attribute("data-state", "down")
        page.screenshot(path=ARTIFACTS / "disconnected.png", full_page=False)

        # Written while the page is offline: it must catch up after reconnecting.
        server.manage("shell", "-c", MISSED_WHILE_OFFLINE)

        started = time.monotonic()
        server.start()
        expect(page.locator("#ws-status")).to_have_attribute("data-state", "live", timeout=20_000)
        expect(banner).to_be_hidden()
        reconnect_seconds = time.monotonic() - started
        expect(page.locator("#opportunity-feed tr[id^=opp-]")).to_have_count(1)
        expect(page.locator("#opportunity-count")).to_have_text("1")
        assert page.evaluate("window.__sameDocument") is True
        page.screenshot(path=ARTIFACTS / "reconnected.png", full_page=False)
        print(f"reconnected {reconnect_seconds:.1f} s after the server restarted")
    finally:
        server.stop()


@pytest.mark.chain
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_opportunity_recorded_by_the_engine_in_another_process_appears_live(
    live_daphne, operator, chromium, anvil, devnet
):
    """The overview is open; `runbot --once` in its own process records a price gap."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    from tests.commands.test_runbot import E6, register, two_dex_market
    from trading.models import Opportunity

    market = off_loop(lambda: two_dex_market(devnet, 300_000 * E6, 306_000 * E6))
    off_loop(lambda: register(anvil, market, [market.weth.address]))
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "operator", "op-secret-pass-1")
    expect(page.locator("#opportunity-count")).to_have_text("0")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    db = settings.DATABASES["default"]
    layer = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
            f"{db.get('PORT') or 5432}/{db['NAME']}"
        ),
        "LISTONIAN_CHANNEL_PREFIX": layer.get("prefix", "asgi"),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "runbot", "--once"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (opp,) = off_loop(lambda: list(Opportunity.objects.all()))
    row = page.locator(f"#opp-{opp.pk}")
    expect(row).to_contain_text("WETH → USDC → WETH")
    expect(row).to_contain_text("Detected")
    expect(page.locator("#opportunity-count")).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=ARTIFACTS / "overview-engine-process.png", full_page=True)
    assert errors == []


@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
def test_the_system_page_shows_live_stage_timings_while_the_engine_runs(
    live_daphne, operator, chromium, anvil, devnet
):
    import asyncio
    import threading

    from tests.commands.test_runbot import E6, register, two_dex_market
    from trading.engine.engine import Engine

    market = off_loop(lambda: two_dex_market(devnet, 300_000 * E6, 306_000 * E6))
    off_loop(lambda: register(anvil, market, [market.weth.address]))
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "operator", "op-secret-pass-1")
    page.click("nav >> text=System")
    page.wait_for_url(f"{live_daphne.url}/system/")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#system-stages")).to_contain_text("No block timed yet")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    done = threading.Event()

    def run_engine() -> None:
        async def main() -> None:
            engine = Engine(poll_interval=0.05)

            async def keep_mining() -> None:
                while True:
                    await asyncio.sleep(0.4)
                    await asyncio.to_thread(anvil.mine, 1)

            miner = asyncio.create_task(keep_mining())
            try:
                await asyncio.wait_for(engine.run(blocks=14), timeout=90)
            finally:
                miner.cancel()

        try:
            asyncio.run(main())
        finally:
            from django.db import connections

            connections.close_all()
            done.set()

    thread = threading.Thread(target=run_engine, name="engine", daemon=True)
    thread.start()
    try:
        last = page.locator("#stage-analysis .last")
        expect(last).to_have_text(re.compile(r"\d"), timeout=30_000)
        seen_blocks = {page.locator("#system-last-block").inner_text()}
        seen_timings = {last.inner_text()}
        assert _wait_for(
            lambda: (
                seen_blocks.add(page.locator("#system-last-block").inner_text())
                or seen_timings.add(last.inner_text())
                or (len(seen_blocks) >= 3 and len(seen_timings) >= 2)
            ),
            timeout=60,
        ), (seen_blocks, seen_timings)
        # The chart follows the same frames.
        assert int(page.locator("#chart-stages").get_attribute("data-blocks") or 0) >= 2
        assert page.evaluate("window.__sameDocument") is True
        page.screenshot(path=ARTIFACTS / "system-live.png", full_page=True)
    finally:
        done.wait(timeout=120)
        thread.join(timeout=5)


# The pages an operator reads, as (name, path); a trade detail page is added per test.
LAYOUT_PAGES = [
    ("overview", "/"),
    ("opportunities", "/opportunities/"),
    ("trades", "/trades/"),
    ("performance", "/performance/?range=30d"),
    ("performance-usd-by-route", "/performance/?range=30d&currency=usd&group=route"),
    ("performance-by-dex", "/performance/?range=30d&currency=token&group=dex"),
    ("distributions", "/distributions/"),
    ("settings", "/settings/"),
]

# Elements wider than the window, for the failure message.
_OVERFLOWING = """() => Array.from(document.querySelectorAll("body *"))
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
                  && !el.closest(".table-wrap"))
    .slice(0, 5).map(el => el.tagName + "." + el.className + "#" + el.id)"""

# Tables whose columns do not fit their panel (a scrollbar hides the last ones).
_CLIPPED_TABLES = """(selector) => Array.from(document.querySelectorAll(selector))
    .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1)
    .map(wrap => (wrap.closest("[id]") || wrap).id + ": " + wrap.scrollWidth
                 + " > " + wrap.clientWidth)"""


@pytest.mark.django_db(transaction=True)
def test_no_page_scrolls_sideways_on_a_phone_and_columns_fit_on_a_desktop(
    live_daphne, staff, market, chromium
):
    trade_id = off_loop(lambda: _seed_history(market))
    pages = [*LAYOUT_PAGES, ("trade-detail", f"/trades/{trade_id}/")]
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "boss", "boss-secret-pass-1")

    page.set_viewport_size({"width": 400, "height": 800})
    for name, path in pages:
        page.goto(f"{live_daphne.url}{path}")
        page.screenshot(path=ARTIFACTS / f"{name}-400.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (name, width, page.evaluate(_OVERFLOWING))
        if name == "overview":  # every price, profit and status in view, none behind a scrollbar
            panels = (
                "#market-panel .table-wrap, #opportunity-feed .table-wrap, #trade-feed .table-wrap"
            )
            assert page.evaluate(_CLIPPED_TABLES, panels) == []
            expect(page.locator("#market-panel .price b", has_text="3001.0884")).to_be_visible()
    # The top bar collapses into a menu that opens on demand.
    expect(page.locator(".nav a").first).to_be_hidden()
    page.click("#nav-toggle-label")
    expect(page.locator(".nav a", has_text="Trades")).to_be_visible()

    page.set_viewport_size({"width": 1400, "height": 1000})
    for name, path in pages:
        page.goto(f"{live_daphne.url}{path}")
        page.screenshot(path=ARTIFACTS / f"{name}-1400.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400, name
        if name in ("overview", "opportunities", "trades") or name.startswith("performance"):
            assert page.evaluate(_CLIPPED_TABLES, ".table-wrap") == [], name
    page.goto(f"{live_daphne.url}/opportunities/")
    expect(page.locator("table.history th", has_text="Status")).to_be_in_viewport()
    assert errors == []


def _send_trade(opp, n: int):
    from trading.services.execution import trade_record_pending

    return trade_record_pending(
        opportunity_id=opp.pk,
        amount_in=10**18,
        tx_hash="0x" + f"{n:02x}" * 32,
        nonce=n,
        max_fee_per_gas=2 * 10**9,
        max_priority_fee_per_gas=10**8,
        l1_fee_wei=10**12,
    )


@pytest.mark.django_db(transaction=True)
def test_history_pages_show_new_and_changed_rows_their_filters_keep(
    live_daphne, operator, market, chromium, monkeypatch
):
    from dashboard import views
    from trading.services.execution import trade_settle

    monkeypatch.setattr(views, "PAGE_SIZE", 2)  # the server runs in this process
    before = off_loop(lambda: [f.trade(cycle(market), status="success") for _ in range(3)])
    errors: list[str] = []
    # One browser context (one session cookie) for several tabs.
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    _log_in(page, live_daphne.url, "operator", "op-secret-pass-1")
    live_asks: list[str] = []

    def open_page(path: str):
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("request", lambda r: live_asks.append(r.url) if "live=" in r.url else None)
        tab.goto(f"{live_daphne.url}{path}")
        expect(tab.locator("#ws-status")).to_have_attribute("data-state", "live")
        return tab

    trades = open_page("/trades/")
    reverted = open_page("/trades/?status=reverted")
    older = open_page("/trades/?page=2")
    expect(trades.locator("#results tbody tr")).to_have_count(2)
    expect(reverted.locator("#results")).to_contain_text("No trade matches")
    trades.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # Through the engine's own service: the event goes out after the commit.
    opps = off_loop(lambda: [cycle(market), cycle(market)])
    first = off_loop(_send_trade, opps[0], 1)
    second = off_loop(_send_trade, opps[1], 2)

    rows = trades.locator("#results tbody tr")
    expect(rows).to_have_count(4)
    ids = [rows.nth(i).get_attribute("id") for i in range(4)]
    assert ids == [
        f"trade-{second.pk}",
        f"trade-{first.pk}",
        f"trade-{before[2].pk}",
        f"trade-{before[1].pk}",
    ]
    notice = trades.locator("#history-live-notice")
    expect(notice).to_have_text("2 new")
    expect(trades.locator(f"#trade-{second.pk}")).to_contain_text("Pending")
    expect(trades.locator(f"#trade-{second.pk}")).to_have_class(re.compile("live-new"))
    # A later page only says so, with a link to the first page.
    older_notice = older.locator("#history-live-notice")
    expect(older_notice).to_have_text("2 new — show")
    assert older_notice.get_attribute("href") == "/trades/"
    expect(older.locator("#results tbody tr")).to_have_count(1)

    # Settled: the row changes in place, nothing is added or counted again.
    off_loop(
        lambda: trade_settle(
            trade_id=first.pk,
            status="success",
            realized_profit=4 * 10**15,
            gas_used=150_000,
            gas_cost_wei=10**14,
            block_number=50,
        )
    )
    expect(trades.locator(f"#trade-{first.pk}")).to_contain_text("Success")
    expect(rows).to_have_count(4)
    assert rows.nth(1).get_attribute("id") == f"trade-{first.pk}"
    expect(notice).to_have_text("2 new")

    # Clicking the notice clears it and the highlight.
    notice.click()
    expect(notice).to_be_hidden()
    expect(trades.locator("#results tr.live-new")).to_have_count(0)
    assert trades.evaluate("window.__sameDocument") is True
    trades.screenshot(path=ARTIFACTS / "trades-live.png", full_page=True)

    # The filtered page heard of every row and asked, and its filter kept none.
    assert any("status=reverted" in url for url in live_asks)
    expect(reverted.locator("#results")).to_contain_text("No trade matches")
    expect(reverted.locator("#results tbody tr")).to_have_count(0)
    expect(reverted.locator("#history-live-notice")).to_be_hidden()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_the_live_feed_moves_a_row_seen_again_to_the_top(live_daphne, operator, market, chromium):
    from trading.models import Opportunity

    base = timezone.now() - dt.timedelta(minutes=30)
    older, newer = off_loop(
        lambda: [
            cycle(market, detected_at=base, block=10),
            cycle(market, detected_at=base + dt.timedelta(minutes=5), block=11),
        ]
    )
    off_loop(
        lambda: [
            Opportunity.objects.filter(pk=o.pk).update(updated_at=base + dt.timedelta(minutes=m))
            for o, m in ((older, 1), (newer, 6))
        ]
    )
    errors: list[str] = []
    page = _page(chromium, errors)
    _log_in(page, live_daphne.url, "operator", "op-secret-pass-1")
    feed = page.locator("#opportunity-feed-rows tr[id^=opp-]")
    expect(feed).to_have_count(2)
    assert [feed.nth(i).get_attribute("id") for i in range(2)] == [
        f"opp-{newer.pk}",
        f"opp-{older.pk}",
    ]

    def seen_again():
        Opportunity.objects.filter(pk=older.pk).update(block_number=12, updated_at=timezone.now())
        events.send(events.opportunities_recorded, updated=(older.pk,))
        return Opportunity.objects.get(pk=older.pk).updated_at

    seen_at = off_loop(seen_again)
    expect(page.locator(f"#opp-{older.pk}")).to_contain_text("block 12")
    assert [feed.nth(i).get_attribute("id") for i in range(2)] == [
        f"opp-{older.pk}",
        f"opp-{newer.pk}",
    ]
    row = page.locator(f"#opp-{older.pk}")
    local = timezone.localtime(seen_at)
    expect(row.locator(".last-seen")).to_have_text(local.strftime("%H:%M:%S"))
    first_seen = timezone.localtime(base).strftime("%H:%M:%S")
    expect(row.locator(".first-seen")).to_have_text(f"first {first_seen}")
    assert errors == []
