"""A real Celery worker keeps the log redaction filter."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
KEY = "0x" + "5c" * 32


def test_a_worker_never_logs_the_key(tmp_path):
    broker = tmp_path / "broker"
    broker.mkdir()
    options = {"data_folder_in": str(broker), "data_folder_out": str(broker)}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "listonian_site.settings",
        "LISTONIAN_PRIVATE_KEY": KEY,
        "LISTONIAN_TEST_BROKER_DIR": str(broker),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.support.celery_worker_app",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            sender = Celery(broker="filesystem://")
            sender.conf.broker_transport_options = options
            sender.send_task("tests.log_the_key")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = log.read_text()
                if "succeeded" in text or worker.poll() is not None:
                    break
                time.sleep(0.25)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    text = log.read_text()
    assert "tests.log_the_key" in text and "succeeded" in text, text[-3000:]
    assert "signing with [redacted]" in text
    assert "task logger: [redacted]" in text
    assert "without prefix: [redacted]" in text
    assert "5c" * 32 not in text.lower()
