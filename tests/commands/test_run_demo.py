"""`manage.py run --demo` as a newcomer runs it: a real process, a real chain, a browser socket."""

from __future__ import annotations

import asyncio
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import websockets

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.chain


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return result.stdout


def _count(env: dict[str, str], expression: str) -> int:
    code = f"from trading.models import *; print({expression})"
    return int(_manage(env, "shell", "-c", code).strip().splitlines()[-1])


def _login(base: str) -> str:
    """Log in through the real login page; return the session cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/login/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {"username": "watcher", "password": "watcher-pass-123", "csrfmiddlewaretoken": csrf}
    ).encode()
    request = urllib.request.Request(
        base + "/login/", data=form, headers={"Referer": base + "/login/"}
    )
    opener.open(request).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


@pytest.fixture
def demo_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTONIAN_", "DJANGO_"))}
    # The embedded default: SQLite file and the in-memory channel layer.
    env.pop("REDIS_URL", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env["DJANGO_SECRET_KEY"] = "demo-test-secret-key-not-for-production"
    return env


def test_run_demo_trades_within_a_minute(demo_env):
    _manage(demo_env, "migrate", "-v0")
    _manage(
        demo_env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.create_user('watcher', password='watcher-pass-123')",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--demo", "--port", str(port)],
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    frames: list[str] = []
    try:
        started = time.monotonic()
        while True:  # wait for the page to answer
            try:
                urllib.request.urlopen(base + "/login/", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() - started < 90, "the server did not start"
                time.sleep(0.5)
        cookie = _login(base)

        async def watch() -> None:
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/dashboard/?page=overview",
                additional_headers={"Cookie": cookie, "Origin": base},
            ) as ws:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        frame = await asyncio.wait_for(ws.recv(), timeout=5)
                    except TimeoutError:
                        continue
                    frames.append(frame)
                    if "trade-feed-rows" in frame:
                        return

        asyncio.run(watch())
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert any("trade-feed-rows" in f for f in frames), output[-3000:]
    assert time.monotonic() - started < 120
    assert _count(demo_env, "Trade.objects.filter(status='success', mode='live').count()") >= 1
    assert _count(demo_env, "Opportunity.objects.filter(status='executed').count()") >= 1
    # Stopped cleanly: the engine recorded that it is no longer running.
    assert _count(demo_env, "int(EngineState.objects.get(pk=1).running)") == 0
