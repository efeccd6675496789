"""A local anvil node (npm ``@foundry-rs/anvil``) for tests, benchmarks and the demo.

``AnvilNode`` starts ``node_modules/.bin/anvil`` on 127.0.0.1 with a port the
operating system picks, waits until it answers JSON-RPC, and stops it together
with every process it spawned. Nodes still running when the interpreter exits
are stopped too, so a failing test never leaves one behind.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from trading.chain.artifacts import project_root

# The node's last lines kept for error messages.
KEPT_LINES = 200

_LISTENING = re.compile(r"Listening on ([0-9.]+):(\d+)")
_LIVE_NODES: set[AnvilNode] = set()
_LIVE_LOCK = threading.Lock()


class AnvilError(RuntimeError):
    """Anvil could not be started or did not answer."""


def anvil_binary() -> Path:
    """Return the anvil executable installed by npm under the project root.

    ``node_modules/.bin/anvil`` is a Node launcher that runs the platform's
    native binary from ``@foundry-rs/anvil-<os>-<arch>``. When that binary is
    present it is run directly: then the process we start is anvil itself, so
    stopping it reaps it instead of orphaning it behind an exited launcher.
    """
    modules = project_root() / "node_modules"
    launcher = modules / ".bin" / "anvil"
    if not launcher.exists():
        raise AnvilError(
            f"{launcher} is missing: run `npm ci` (or `make`) to install @foundry-rs/anvil"
        )
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = {"darwin": "darwin", "linux": "linux"}.get(sys.platform, sys.platform)
    native = modules / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    return native if native.is_file() and os.access(native, os.X_OK) else launcher


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to the launcher if this Python process dies.

    The launcher forwards SIGTERM to anvil itself, so even a killed test run
    does not leave a node behind.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class AnvilNode:
    """One anvil process listening on 127.0.0.1.

    Mining is automatic (one block per transaction) unless ``block_time`` gives
    an interval in seconds or ``no_mining`` leaves blocks to ``evm_mine``.
    Use as a context manager or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        chain_id: int = 31337,
        block_time: float | None = None,
        no_mining: bool = False,
        accounts: int = 10,
        balance: int = 10_000,
        gas_limit: int | None = None,
        code_size_limit: int | None = None,
        hardfork: str | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.chain_id = chain_id
        self.block_time = block_time
        self.no_mining = no_mining
        self.accounts_count = accounts
        self.balance = balance
        self.gas_limit = gas_limit
        self.code_size_limit = code_size_limit
        self.hardfork = hardfork
        self.extra_args = extra_args
        self.startup_timeout = startup_timeout
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.accounts: list[str] = []
        self.private_keys: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=KEPT_LINES)
        self._listening = threading.Event()
        self._reader: threading.Thread | None = None
        self._config_dir: tempfile.TemporaryDirectory[str] | None = None

    # ---- addresses -------------------------------------------------------

    @property
    def rpc_url(self) -> str:
        """HTTP JSON-RPC endpoint."""
        self._require_running()
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """WebSocket JSON-RPC endpoint (same port as HTTP)."""
        self._require_running()
        return f"ws://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the launcher, or None when stopped."""
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def output(self) -> str:
        """The last lines anvil printed, for error messages."""
        return "\n".join(self._output)

    # ---- lifecycle -------------------------------------------------------

    def command(self, config_path: Path) -> list[str]:
        """The command line that starts this node."""
        args = [
            str(anvil_binary()),
            "--host",
            self.host,
            "--port",
            "0",
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts_count),
            "--balance",
            str(self.balance),
            "--config-out",
            str(config_path),
            # States anvil moves out of memory on a long run (gigabytes for thousands
            # of pools) go beside the config, removed with it when the node stops.
            "--cache-path",
            str(config_path.parent / "states"),
            "--color",
            "never",
        ]
        if self.no_mining:
            args.append("--no-mining")
        elif self.block_time is not None:
            args += ["--block-time", _format_seconds(self.block_time)]
        if self.gas_limit is not None:
            args += ["--gas-limit", str(self.gas_limit)]
        if self.code_size_limit is not None:
            args += ["--code-size-limit", str(self.code_size_limit)]
        if self.hardfork:
            args += ["--hardfork", self.hardfork]
        return args + list(self.extra_args)

    def start(self) -> Self:
        """Start anvil and wait until it answers ``eth_chainId``."""
        if self.running:
            return self
        self._config_dir = tempfile.TemporaryDirectory(prefix="anvil-")
        config_path = Path(self._config_dir.name) / "config.json"
        self._output.clear()
        self._listening.clear()
        try:
            self._process = subprocess.Popen(
                self.command(config_path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                # Own process group: stop() signals the launcher and anvil together.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            self._cleanup_files()
            raise AnvilError(f"cannot start anvil: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE_NODES.add(self)
        self._reader = threading.Thread(target=self._drain, name="anvil-output", daemon=True)
        self._reader.start()
        try:
            self._wait_until_ready(config_path)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop anvil (SIGTERM, then SIGKILL) and every process it started."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait(timeout=timeout)
            # The native binary may outlive a launcher that died first.
            _signal_group(process.pid, signal.SIGKILL)
            if process.stdout:
                process.stdout.close()
        if self._reader is not None:
            self._reader.join(timeout=2)
        self._process = None
        self._reader = None
        with _LIVE_LOCK:
            _LIVE_NODES.discard(self)
        self._cleanup_files()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- JSON-RPC --------------------------------------------------------

    def rpc(self, method: str, params: list[Any] | None = None, timeout: float = 30.0) -> Any:
        """Make one JSON-RPC call with the standard library (no web3 needed)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
        request = urllib.request.Request(
            self.rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise AnvilError(f"{method} failed: {answer['error']}")
        return answer["result"]

    def snapshot(self) -> str:
        """Take an ``evm_snapshot`` and return its id."""
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> None:
        """Return to a snapshot (``evm_revert``); the snapshot is consumed."""
        if not self.rpc("evm_revert", [snapshot_id]):
            raise AnvilError(f"evm_revert({snapshot_id}) refused: unknown snapshot")

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks (or the pending transactions) now."""
        self.rpc("anvil_mine", [hex(blocks)])

    @contextlib.contextmanager
    def automine_paused(self) -> Iterator[None]:
        """Within: a sent transaction waits in the pool until ``mine`` is called."""
        self.rpc("evm_setAutomine", [False])
        try:
            yield
        finally:
            self.rpc("evm_setAutomine", [True])

    # ---- internals -------------------------------------------------------

    def _require_running(self) -> None:
        if self.port is None or not self.running:
            raise AnvilError("anvil is not running: call start() first")

    def _drain(self) -> None:
        # Reading continuously keeps anvil from blocking on a full pipe.
        process = self._process
        if process is None or process.stdout is None:
            return
        with contextlib.suppress(ValueError, OSError):
            for line in process.stdout:
                line = line.rstrip()
                self._output.append(line)
                match = _LISTENING.search(line)
                if match and not self._listening.is_set():
                    self.port = int(match.group(2))
                    self._listening.set()

    def _wait_until_ready(self, config_path: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not self._listening.wait(timeout=0.05):
            if self._process is None or self._process.poll() is not None:
                raise AnvilError(f"anvil exited during start-up:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AnvilError(
                    f"anvil did not start within {self.startup_timeout}s:\n{self.output()}"
                )
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                chain_id = int(self.rpc("eth_chainId", timeout=2), 16)
            except (OSError, urllib.error.URLError, AnvilError) as exc:
                last_error = exc
                time.sleep(0.05)
                continue
            if chain_id != self.chain_id:
                raise AnvilError(f"anvil answered chain id {chain_id}, expected {self.chain_id}")
            self._load_accounts(config_path)
            return
        raise AnvilError(f"anvil did not answer within {self.startup_timeout}s: {last_error}")

    def _load_accounts(self, config_path: Path) -> None:
        try:
            config = json.loads(config_path.read_text())
        except (OSError, ValueError):
            config = {}
        self.accounts = [_checksum(a) for a in config.get("available_accounts", [])]
        self.private_keys = list(config.get("private_keys", []))
        if not self.accounts:
            self.accounts = [_checksum(a) for a in self.rpc("eth_accounts")]

    def _cleanup_files(self) -> None:
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@atexit.register
def _stop_all_nodes() -> None:
    with _LIVE_LOCK:
        nodes = list(_LIVE_NODES)
    for node in nodes:
        with contextlib.suppress(Exception):
            node.stop(timeout=5)
