"""Real servers for the browser tests: Daphne in a thread, or in a subprocess.

In a thread, the server shares this process's channel layer and test
database, so a test can write rows and publish events that the page receives.
Twisted's reactor runs once per process, so that server lives for the session.
A subprocess server can be stopped and started again: the reconnect test uses
one, with its own SQLite file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-orm")


def off_loop[T](fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a worker thread and return its result.

    Playwright's sync API keeps an event loop in the test's thread: the ORM
    refuses to run there, and the broadcaster would schedule onto that loop.
    A plain thread behaves like a service or a Celery task.
    """
    return _worker.submit(fn, *args, **kwargs).result(timeout=60)


def chromium_path() -> str | None:
    """The distribution's Chromium (never a downloaded build)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedDaphne:
    """Daphne serving the real ASGI application from a thread of this process."""

    def __init__(self) -> None:
        self.port = 0
        self._thread: threading.Thread | None = None
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        from daphne.server import Server

        from listonian_site.asgi import application

        ready = threading.Event()
        self._server = Server(
            application=application,
            endpoints=["tcp:port=0:interface=127.0.0.1"],
            signal_handlers=False,
            ready_callable=ready.set,
            verbosity=0,
        )
        self._thread = threading.Thread(target=self._server.run, name="daphne", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.listening_addresses:
            if time.monotonic() > deadline:
                raise RuntimeError("Daphne did not start listening")
            time.sleep(0.05)
        self.port = self._server.listening_addresses[0][1]

    def stop(self) -> None:
        from twisted.internet import reactor

        if self._thread and self._thread.is_alive():
            reactor.callFromThread(self._server.stop)
            self._thread.join(timeout=15)


class SubprocessDaphne:
    """Daphne in a child process on a fixed port, with its own SQLite database."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "daphne.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}},
            "DJANGO_SETTINGS_MODULE": "listonian_site.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, **env: str) -> None:
        """Run a management command against this server's database."""
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 30) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "listonian_site.asgi:application",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Daphne exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Daphne did not start listening")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
