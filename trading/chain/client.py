"""The engine's JSON-RPC client: failover across endpoints, retries, health, round trips.

One :class:`ChainClient` talks to one chain through an ordered list of HTTP(S)
endpoints (the active network's RPC URLs, or ``LISTONIAN_RPC_URL``). Every
request goes to the first healthy endpoint; transport failures, timeouts,
HTTP errors and rate limits count against that endpoint, put it in a short
cool-down and send the request to the next one, with exponential backoff
between full rounds. JSON-RPC errors that are answers (a revert, a bad
parameter) are returned to the caller, not retried.

At start the client asks every endpoint for ``eth_chainId`` and refuses to run
when one answers with another chain than the network's: trading on the wrong
chain is the one mistake that must never happen quietly.

It counts HTTP round trips (a batch is one) and requests per method, and keeps
per-endpoint health (ok, errors, latency, last error) for the dashboard. URLs
in health reports are redacted because RPC URLs often embed an API key.
``client.w3`` is an ``AsyncWeb3`` whose requests go through the same path.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from web3 import AsyncWeb3
from web3.providers.async_base import AsyncJSONBaseProvider

from trading import metrics
from trading.chain.readers import reader_call, words_from_response
from trading.lifecycle import Component

logger = logging.getLogger(__name__)

RPC_URL_ENV = "LISTONIAN_RPC_URL"
# JSON-RPC error codes that mean "this endpoint is overloaded", not "your request is wrong".
_RATE_LIMIT_CODES = {-32029, 429}
_RETRYABLE_HTTP = {408, 425, 429, 502, 503, 504}


class RpcConfigurationError(ValueError):
    """The RPC endpoints are missing or unusable as configured."""


class ChainMismatchError(RuntimeError):
    """An endpoint serves a different chain than the network it is configured for."""


class RpcUnavailableError(ConnectionError):
    """No endpoint could answer a request."""


class RpcError(RuntimeError):
    """A JSON-RPC error answer (e.g. a revert): the endpoint is fine, the request failed."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.code = error.get("code")
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method} failed: {self.message} (code {self.code})")


class _EndpointFailure(Exception):
    """Internal: the endpoint, not the request, failed."""


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…`` without path, query or credentials (API keys live there)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{hidden}"


def split_rpc_urls(text: str) -> list[str]:
    """Split a comma-, space- or newline-separated list of URLs."""
    return [
        item.strip()
        for item in text.replace("\n", ",").replace(" ", ",").split(",")
        if item.strip()
    ]


def resolve_rpc_urls(
    configured: Sequence[str] | str, environ: dict[str, str] | None = None
) -> list[str]:
    """The endpoints to use: ``LISTONIAN_RPC_URL`` when set, else the configured ones.

    Only http(s) endpoints carry requests; ws(s) URLs are left to subscribers.
    """
    env = os.environ if environ is None else environ
    override = env.get(RPC_URL_ENV, "").strip()
    urls = (
        split_rpc_urls(override)
        if override
        else (split_rpc_urls(configured) if isinstance(configured, str) else list(configured))
    )
    http = [u for u in urls if u.lower().startswith(("http://", "https://"))]
    if not http:
        source = RPC_URL_ENV if override else "the network's RPC URLs"
        raise RpcConfigurationError(
            f"no http(s) RPC endpoint in {source}: give at least one http:// or https:// URL"
        )
    return http


@dataclass(frozen=True)
class EndpointHealth:
    """What the dashboard shows about one endpoint (URL redacted)."""

    url: str
    ok: bool
    requests: int
    errors: int
    consecutive_errors: int
    latency_ms: float | None
    last_error: str
    last_error_at: dt.datetime | None
    last_success_at: dt.datetime | None
    chain_id: int | None


class _Endpoint:
    def __init__(self, url: str, label: str) -> None:
        self.url = url
        self.label = label  # the metrics label: a position, never the URL
        self.health = EndpointHealth(
            url=redact_url(url),
            ok=True,
            requests=0,
            errors=0,
            consecutive_errors=0,
            latency_ms=None,
            last_error="",
            last_error_at=None,
            last_success_at=None,
            chain_id=None,
        )
        self.down_until = 0.0

    def succeeded(self, latency: float) -> None:
        h = self.health
        ms = latency * 1000
        # Exponential moving average: recent latency matters, one spike does not dominate.
        average = ms if h.latency_ms is None else 0.8 * h.latency_ms + 0.2 * ms
        self.health = replace(
            h,
            ok=True,
            requests=h.requests + 1,
            consecutive_errors=0,
            latency_ms=round(average, 3),
            last_success_at=dt.datetime.now(dt.UTC),
        )
        self.down_until = 0.0

    def failed(self, error: str, cooldown: float) -> None:
        h = self.health
        self.health = replace(
            h,
            ok=False,
            requests=h.requests + 1,
            errors=h.errors + 1,
            consecutive_errors=h.consecutive_errors + 1,
            last_error=error[:500],
            last_error_at=dt.datetime.now(dt.UTC),
        )
        self.down_until = time.monotonic() + cooldown


class _FailoverProvider(AsyncJSONBaseProvider):
    """Lets ``AsyncWeb3`` send its requests through the client's failover path."""

    def __init__(self, client: ChainClient) -> None:
        super().__init__()
        self._client = client

    async def make_request(self, method: Any, params: Any) -> Any:
        return await self._client.request_raw(str(method), list(params or []))

    async def make_batch_request(self, requests: list[tuple[Any, Any]]) -> Any:
        return await self._client.batch_raw([(str(m), list(p or [])) for m, p in requests])

    async def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            await self._client.request("eth_chainId", [])
        except Exception:
            if show_traceback:
                raise
            return False
        return True


class ChainClient(Component):
    """Async JSON-RPC client with failover, retries, health and round-trip counts."""

    name = "chain"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        chain_id: int | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.2,
        cooldown: float = 15.0,
    ) -> None:
        super().__init__()
        if not urls:
            raise RpcConfigurationError("at least one RPC URL is required")
        self.chain_id = chain_id
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.cooldown = cooldown
        self._endpoints = [_Endpoint(url, metrics.endpoint_label(i)) for i, url in enumerate(urls)]
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self.round_trips = 0
        self.method_counts: Counter[str] = Counter()
        self._w3: AsyncWeb3 | None = None

    @classmethod
    def for_network(cls, network: Any, **options: Any) -> ChainClient:
        """A client for a ``Network`` row; ``LISTONIAN_RPC_URL`` overrides its URLs."""
        return cls(resolve_rpc_urls(network.rpc_urls), chain_id=network.chain_id, **options)

    # ---- lifecycle -------------------------------------------------------

    async def _initialize(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Content-Type": "application/json"},
            )
        if self.chain_id is not None:
            try:
                await self.verify_chain_id()
            except BaseException:
                # Not initialized, so cleanup() will not run: close the session here.
                await self._cleanup()
                raise

    async def _cleanup(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> ChainClient:
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cleanup()

    async def verify_chain_id(self) -> int:
        """Ask every endpoint for its chain id; refuse a mismatch, require one answer.

        An endpoint that does not answer is marked down (the others carry on);
        one that answers with another chain id stops the client, because its
        blocks and prices belong to another market.
        """
        answers: list[tuple[_Endpoint, int]] = []
        failures = []
        for endpoint in self._endpoints:
            try:
                response = await self._post(endpoint, self._payload("eth_chainId", []))
            except _EndpointFailure as exc:
                endpoint.failed(str(exc), self.cooldown)
                failures.append(f"{endpoint.health.url}: {exc}")
                continue
            if "error" in response:
                failures.append(f"{endpoint.health.url}: {response['error']}")
                continue
            chain_id = int(response["result"], 16)
            endpoint.health = replace(endpoint.health, chain_id=chain_id)
            answers.append((endpoint, chain_id))
        wrong = [(e, c) for e, c in answers if self.chain_id is not None and c != self.chain_id]
        if wrong:
            detail = ", ".join(f"{e.health.url} is on chain {c}" for e, c in wrong)
            raise ChainMismatchError(
                f"refusing to run: the network expects chain id {self.chain_id} but {detail}. "
                "Fix the RPC URL (or LISTONIAN_RPC_URL) or the network's chain id."
            )
        if not answers:
            raise RpcUnavailableError(
                "no RPC endpoint answered eth_chainId: " + "; ".join(failures)
            )
        return answers[0][1]

    # ---- requests ----------------------------------------------------------

    @property
    def w3(self) -> AsyncWeb3:
        """An ``AsyncWeb3`` that sends through this client (failover, counting)."""
        if self._w3 is None:
            self._w3 = AsyncWeb3(_FailoverProvider(self))
        return self._w3

    async def request(self, method: str, params: list[Any] | None = None) -> Any:
        """Send one request and return its ``result`` (:class:`RpcError` on an error answer)."""
        response = await self.request_raw(method, params or [])
        if "error" in response:
            raise RpcError(method, response["error"])
        return response.get("result")

    async def request_raw(self, method: str, params: list[Any]) -> dict[str, Any]:
        """Send one request and return the raw JSON-RPC response (``result`` or ``error``)."""
        self.method_counts[method] += 1
        response = await self._send(self._payload(method, params), method)
        if not isinstance(response, dict):
            raise RpcUnavailableError(f"{method}: endpoint returned a malformed response")
        return response

    async def batch_raw(self, requests: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Send several requests in one HTTP round trip; responses come back in request order."""
        if not requests:
            return []
        payload = [self._payload(method, params) for method, params in requests]
        for method, _ in requests:
            self.method_counts[method] += 1
        responses = await self._send(payload, "batch")
        if not isinstance(responses, list):
            # Some nodes answer a whole batch with one error object.
            raise RpcUnavailableError(f"batch refused: {responses}")
        by_id = {r.get("id"): r for r in responses if isinstance(r, dict)}
        return [
            by_id.get(p["id"], {"error": {"code": -32603, "message": "missing"}}) for p in payload
        ]

    async def read(
        self, data: str, block: int | str = "latest", gas: int | None = None
    ) -> list[int]:
        """Run a deployless reader (see :mod:`trading.chain.readers`) and return its words."""
        block_id = hex(block) if isinstance(block, int) else block
        response = await self.request_raw("eth_call", [reader_call(data, gas), block_id])
        return words_from_response(response)

    async def block_number(self) -> int:
        """The latest block number."""
        return int(await self.request("eth_blockNumber"), 16)

    async def get_logs(self, filter_params: dict[str, Any]) -> list[dict[str, Any]]:
        """Raw ``eth_getLogs`` (block numbers as ints are converted to hex)."""
        params = dict(filter_params)
        for key in ("fromBlock", "toBlock"):
            if isinstance(params.get(key), int):
                params[key] = hex(params[key])
        return await self.request("eth_getLogs", [params])

    # ---- health -------------------------------------------------------------

    def endpoint_health(self) -> list[EndpointHealth]:
        """Per-endpoint health, in configured order, URLs redacted."""
        return [endpoint.health for endpoint in self._endpoints]

    def health(self) -> Any:
        """Component health with round-trip counters."""
        report = super().health()
        counters = dict(report.counters)
        counters["round_trips"] = self.round_trips
        counters["endpoints_down"] = sum(1 for e in self._endpoints if not e.health.ok)
        return replace(report, counters=counters)

    def reset_counters(self) -> None:
        """Zero the round-trip and per-method counters (benchmarks, tests)."""
        self.round_trips = 0
        self.method_counts.clear()

    # ---- internals ------------------------------------------------------------

    def _payload(self, method: str, params: list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}

    def _order(self) -> list[_Endpoint]:
        # Healthy endpoints first in configured order; cooling-down ones as a last resort.
        now = time.monotonic()
        ready = [e for e in self._endpoints if e.down_until <= now]
        cooling = sorted(
            (e for e in self._endpoints if e.down_until > now), key=lambda e: e.down_until
        )
        return ready + cooling

    async def _send(self, payload: Any, what: str) -> Any:
        errors: list[str] = []
        first: _Endpoint | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            for endpoint in self._order():
                first = first or endpoint
                try:
                    response = await self._post(endpoint, payload)
                except _EndpointFailure as exc:
                    endpoint.failed(str(exc), self.cooldown)
                    errors.append(f"{endpoint.health.url}: {exc}")
                    logger.warning("RPC %s failed on %s: %s", what, endpoint.health.url, exc)
                    continue
                if endpoint is not first:
                    metrics.RPC_FAILOVERS.inc()
                self.record_success()
                return response
        message = (
            f"{what}: every RPC endpoint failed ({'; '.join(errors[-len(self._endpoints) :])})"
        )
        self.record_error(message)
        raise RpcUnavailableError(message)

    async def _post(self, endpoint: _Endpoint, payload: Any) -> Any:
        if self._session is None:
            raise RuntimeError("ChainClient is not initialized: await client.initialize() first")
        self.round_trips += 1
        method = payload.get("method", "?") if isinstance(payload, dict) else "batch"
        metrics.RPC_ROUND_TRIPS.labels(endpoint.label, method).inc()
        started = time.monotonic()
        try:
            decoded = await self._exchange(endpoint, payload)
        except _EndpointFailure:
            metrics.RPC_ERRORS.labels(endpoint.label, method).inc()
            raise
        latency = time.monotonic() - started
        metrics.RPC_LATENCY_SECONDS.labels(endpoint.label).observe(latency)
        endpoint.succeeded(latency)
        return decoded

    async def _exchange(self, endpoint: _Endpoint, payload: Any) -> Any:
        assert self._session is not None
        try:
            async with self._session.post(endpoint.url, data=json.dumps(payload)) as response:
                status = response.status
                body = await response.read()
        except TimeoutError as exc:
            raise _EndpointFailure(f"timed out after {self.timeout}s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _EndpointFailure(f"{type(exc).__name__}: {exc}") from exc
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        # Some providers send JSON-RPC error answers (a revert) with an HTTP error status:
        # those are answers. Overload statuses and anything else are endpoint failures.
        if status in _RETRYABLE_HTTP or (status >= 400 and not _is_rpc_answer(decoded)):
            text = body[:200].decode("utf-8", errors="replace")
            raise _EndpointFailure(f"HTTP {status}: {text}")
        if decoded is None:
            raise _EndpointFailure("answered with something that is not JSON")
        if isinstance(decoded, dict) and "error" in decoded:
            code = decoded["error"].get("code") if isinstance(decoded["error"], dict) else None
            if code in _RATE_LIMIT_CODES:
                raise _EndpointFailure(f"rate limited: {decoded['error']}")
        return decoded


def _is_rpc_answer(decoded: Any) -> bool:
    items = decoded if isinstance(decoded, list) else [decoded]
    return bool(items) and all(
        isinstance(item, dict) and ("result" in item or "error" in item) for item in items
    )


async def close_quietly(client: ChainClient) -> None:
    """Clean up a client, ignoring errors (for ``finally`` blocks)."""
    with contextlib.suppress(Exception):
        await client.cleanup()
