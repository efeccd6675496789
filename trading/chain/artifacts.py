"""Contract ABIs and bytecode: Uniswap's published build artifacts and our own.

Uniswap V2/V3 artifacts come from the npm packages in ``node_modules``; the
project's contracts come from ``contracts/build`` (written by
``npm run compile``). Both are plain JSON read once and cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


class ArtifactNotFound(FileNotFoundError):
    """An artifact file is missing; the message says how to produce it."""


def project_root() -> Path:
    """Return the project folder: the nearest parent holding manage.py and package.json."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "manage.py").is_file() or (folder / "package.json").is_file():
            return folder
    # Fall back on the layout (trading/chain/artifacts.py) if neither marker exists yet.
    return here.parents[2]


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its ABI and creation/runtime bytecode as 0x-prefixed hex."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


def _hex(value: str) -> str:
    return value if value.startswith("0x") else f"0x{value}"


def _read_json(path: Path, hint: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactNotFound(f"{path} is missing: {hint}") from None


@cache
def uniswap_v2_artifact(name: str) -> Artifact:
    """Return a Uniswap V2 core artifact, e.g. ``UniswapV2Factory`` or ``UniswapV2Pair``."""
    path = project_root() / "node_modules" / "@uniswap" / "v2-core" / "build" / f"{name}.json"
    data = _read_json(path, "run `npm ci` (or `make`) to install @uniswap/v2-core")
    evm = data.get("evm", {})
    deployed = evm.get("deployedBytecode", {}).get("object", "")
    return Artifact(name, data["abi"], _hex(data["bytecode"]), _hex(deployed))


@cache
def uniswap_v3_artifact(name: str) -> Artifact:
    """Return a Uniswap V3 core artifact, e.g. ``UniswapV3Factory`` or ``UniswapV3Pool``."""
    base = project_root() / "node_modules" / "@uniswap" / "v3-core" / "artifacts" / "contracts"
    candidates = [base / f"{name}.sol" / f"{name}.json", *base.glob(f"**/{name}.sol/{name}.json")]
    path = next((p for p in candidates if p.is_file()), candidates[0])
    data = _read_json(path, "run `npm ci` (or `make`) to install @uniswap/v3-core")
    return Artifact(name, data["abi"], _hex(data["bytecode"]), _hex(data["deployedBytecode"]))


@cache
def project_artifact(name: str) -> Artifact:
    """Return one of the project's compiled contracts from ``contracts/build``."""
    path = project_root() / "contracts" / "build" / f"{name}.json"
    data = _read_json(path, "run `make` or `npm run compile` to compile contracts/*.sol")
    return Artifact(name, data["abi"], data["bytecode"], data["deployedBytecode"])


@cache
def pancakeswap_v3_artifact(name: str) -> Artifact:
    """Return a PancakeSwap V3 core artifact: ``PancakeV3Factory`` or ``PancakeV3Pool``."""
    path = (
        project_root()
        / "node_modules"
        / "@pancakeswap"
        / "v3-core"
        / "artifacts"
        / "contracts"
        / f"{name}.sol"
        / f"{name}.json"
    )
    data = _read_json(path, "run `npm ci` (or `make`) to install @pancakeswap/v3-core")
    return Artifact(name, data["abi"], _hex(data["bytecode"]), _hex(data["deployedBytecode"]))


@cache
def external_artifact(name: str) -> Artifact:
    """Return a real third-party contract compiled from npm sources (Aerodrome, Slipstream).

    ``CLFactory``, ``CLPool``, ``CustomSwapFeeModule``, ``Pool``, ``PoolFactory``:
    built into ``contracts/build/external`` by ``scripts/compile_external.js``.
    """
    path = project_root() / "contracts" / "build" / "external" / f"{name}.json"
    data = _read_json(path, "run `make` or `npm run compile` to compile the external contracts")
    return Artifact(name, data["abi"], data["bytecode"], data["deployedBytecode"])
