"""The Procfile's processes are restarted when they exit, and stop on a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_procfile_process_is_kept_running() -> None:
    lines = (ROOT / "Procfile").read_text().strip().splitlines()
    assert lines and all("scripts/keep-running " in line for line in lines)


def test_an_exiting_command_is_started_again_and_a_signal_stops_both(tmp_path) -> None:
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "keep-running"), "sh", "-c", f"echo run >> {runs}; exit 3"],
        env={**os.environ, "KEEP_RUNNING_DELAY": "0.1"},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as honcho starts it
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            not runs.exists() or len(runs.read_text().splitlines()) < 3
        ):
            time.sleep(0.05)
        assert len(runs.read_text().splitlines()) >= 3
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # what honcho does on stop
        process.wait(timeout=10)
    assert "exited with status 3" in process.stderr.read()
