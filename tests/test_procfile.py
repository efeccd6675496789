"""The Procfile gives the signing key only to the processes that sign; the web serves without."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[1]
KEY_VARIABLES = ("LISTONIAN_PRIVATE_KEY", "LISTONIAN_PRIVATE_KEY_FILE")
# anvil's first development key: a real key's shape, worthless anywhere else.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_only_the_engine_and_the_worker_keep_the_key() -> None:
    processes = _procfile()
    assert set(processes) >= {"web", "engine", "worker", "beat"}
    for name, command in processes.items():
        unsets = all(f"-u {variable}" in command for variable in KEY_VARIABLES)
        assert unsets == (name not in {"engine", "worker"}), name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str, str]:
    with opener.open(url, timeout=10) as response:
        return response.status, response.geturl(), response.read().decode()


def test_the_procfile_web_process_serves_without_the_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTONIAN_", "DJANGO_"))}
    env.pop("REDIS_URL", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    env["DJANGO_SECRET_KEY"] = "procfile-test-secret-key-not-for-production"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.create_user('watcher', password='watcher-pass-123')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    # The shell that starts the Procfile has the key; the web line must drop it.
    key_file = tmp_path / "key"
    key_file.write_text(DEV_KEY)
    env.update(LISTONIAN_PRIVATE_KEY=DEV_KEY, LISTONIAN_PRIVATE_KEY_FILE=str(key_file))
    port = _free_port()
    env["PORT"] = str(port)
    web = _procfile()["web"].replace(".venv/bin/daphne", f"{sys.executable} -m daphne")
    server = subprocess.Popen(
        ["sh", "-c", f"exec {web}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        started = time.monotonic()
        while True:
            try:
                status, _, page = _get(opener, base + "/login/")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() - started < 60, "the web process did not start"
                time.sleep(0.3)
        assert status == 200 and 'name="password"' in page
        # The serving process itself holds no key variable.
        environment = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        names = {item.split(b"=", 1)[0].decode() for item in environment if item}
        assert "DATABASE_URL" in names and not names & set(KEY_VARIABLES)

        csrf = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode(
            {"username": "watcher", "password": "watcher-pass-123", "csrfmiddlewaretoken": csrf}
        ).encode()
        request = urllib.request.Request(
            base + "/login/", data=form, headers={"Referer": base + "/login/"}
        )
        opener.open(request, timeout=10).read()
        for path in ("/", "/settings/"):
            status, final_url, page = _get(opener, base + path)
            assert (status, final_url) == (200, base + path)
        assert 'Signing key</dt><dd id="signing-key"><span class="muted">not configured' in page
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
