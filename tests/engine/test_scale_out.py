"""Scale-out on real services: PostgreSQL, Redis, a Celery worker, the engine and the
web process as separate processes, all against anvil."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import websockets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore

from trading.models import GasSnapshot, Opportunity

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.chain,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def _session_cookie(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


class Processes:
    def __init__(self, env):
        self.env = env
        self.running: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def stop_all(self) -> str:
        output = []
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                out, _ = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                out, _ = process.communicate()
            output.append(out or "")
        return "\n".join(o[-2000:] for o in output)


def test_engine_worker_and_web_as_separate_processes(arb, devnet, anvil):
    from trading.models import BotConfig

    config = BotConfig.load()
    config.mode = "dry_run"
    config.save()
    user = get_user_model().objects.create_user("ops", password="ops-password-123")
    cookie = _session_cookie(user)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
        LISTONIAN_CHANNEL_PREFIX=prefix,
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
    )
    port = _free_port()
    processes = Processes(env)
    bin_dir = Path(sys.executable).parent
    frames: list[str] = []
    try:
        processes.start(
            str(bin_dir / "celery"),
            "-A",
            "listonian_site",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            prefix,
            "--loglevel=WARNING",
        )
        processes.start(
            str(bin_dir / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "listonian_site.asgi:application",
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, processes.stop_all()
                time.sleep(0.2)

        async def watch() -> None:
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/dashboard/?page=overview",
                additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
            ) as ws:
                engine = processes.start(
                    sys.executable, "manage.py", "runbot", "--blocks", "4", "--dry-run"
                )
                stop = threading.Event()

                def mine():
                    while not stop.is_set():
                        anvil.mine(1)
                        time.sleep(0.3)

                miner = threading.Thread(target=mine, daemon=True)
                miner.start()
                try:
                    end = time.monotonic() + 60
                    while time.monotonic() < end:
                        try:
                            frame = await asyncio.wait_for(ws.recv(), timeout=2)
                        except TimeoutError:
                            if engine.poll() is not None:
                                break
                            continue
                        frames.append(frame)
                        if "opportunity-feed-rows" in frame:
                            break
                    # Blocks keep coming until the engine has done its N blocks.
                    await asyncio.to_thread(engine.wait, 60)
                finally:
                    stop.set()
                    miner.join()
                assert engine.returncode == 0

        asyncio.run(watch())

        # A Celery task sent through Redis runs in the worker and writes to PostgreSQL.
        from trading.tasks import gas_snapshot

        before = GasSnapshot.objects.count()
        gas_snapshot.apply_async(queue=prefix)
        deadline = time.monotonic() + 60
        while GasSnapshot.objects.count() == before:
            assert time.monotonic() < deadline, "the worker did not run the task"
            time.sleep(0.2)
    finally:
        output = processes.stop_all()
    assert any("opportunity-feed-rows" in f for f in frames), output
    assert Opportunity.objects.exists()
