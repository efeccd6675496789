"""The pure packages import with no Django settings and pull in neither Django nor web3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Anything that would mean a node or a database behind the maths.
FORBIDDEN = ("django", "web3", "eth_abi", "eth_utils", "rlp", "channels", "celery")


@pytest.mark.parametrize(
    "module", ["trading.analysis", "trading.analysis.evaluation", "trading.amm"]
)
def test_it_imports_in_a_clean_environment(module: str) -> None:
    code = (
        "import sys\n"
        f"import {module}\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r}))\n"
        "assert not loaded, f'imported {loaded}'\n"
    )
    # Only PATH and the project on the path: no DJANGO_SETTINGS_MODULE, nothing inherited.
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
