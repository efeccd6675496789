"""The committed contract build files match the Solidity sources."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from trading.chain.artifacts import project_root


@pytest.mark.parametrize("script", ["compile_contracts.js", "compile_external.js"])
def test_build_files_match_sources(script: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required to check contracts/build (install Node.js)")
    result = subprocess.run(
        [node, f"scripts/{script}", "--check"],
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout
