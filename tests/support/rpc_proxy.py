"""A JSON-RPC forwarding proxy for tests: counts requests, can fail on purpose.

It sits between a client and a real node (anvil) on 127.0.0.1, so tests can
count round trips where the provider sees them and simulate an endpoint that
is down, slow or rate limited, or one that handles a request and loses the
answer (``lose_next_answer``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from typing import Any, Self

import aiohttp
from aiohttp import web


def unused_port() -> int:
    """A local port with nothing listening (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RpcProxy:
    """Forwards POSTs to ``upstream``; counts HTTP requests and JSON-RPC methods."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.methods: Counter[str] = Counter()
        self.fail_next = 0
        self.fail_status = 503
        # When set, failures carry this JSON-RPC error object as their body.
        self.fail_error: dict[str, Any] | None = None
        self.delay = 0.0
        self.chain_id: int | None = None
        # Refuse eth_getLogs spanning more blocks than this, like hosted nodes do.
        self.max_log_range: int | None = None
        # An armed outage: the first request calling ``outage_trigger`` starts a
        # refusal of every request for ``outage_seconds`` (see ``arm_outage``).
        self.outage_trigger: str | None = None
        self.outage_seconds = 0.0
        self.outage_started: float | None = None
        self.outage_until = 0.0
        self.refused = 0
        # Methods whose next answer is lost after the upstream handled the request.
        self.lose_answer_of: Counter[str] = Counter()
        self.answers_lost = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    def arm_outage(self, method: str, seconds: float) -> None:
        """Refuse every request for ``seconds`` from the next one that calls ``method``."""
        self.outage_trigger, self.outage_seconds = method, seconds
        self.outage_started, self.outage_until = None, 0.0

    def lose_next_answer(self, method: str, times: int = 1) -> None:
        """Forward the next ``times`` calls of ``method``, then drop the connection unanswered."""
        self.lose_answer_of[method] += times

    @property
    def outage_over(self) -> bool:
        """True once an armed outage has started and ended."""
        loop = asyncio.get_running_loop()
        return self.outage_started is not None and loop.time() >= self.outage_until

    def _in_outage(self, methods: list[str]) -> bool:
        now = asyncio.get_running_loop().time()
        if self.outage_trigger is not None and self.outage_trigger in methods:
            self.outage_trigger = None
            self.outage_started, self.outage_until = now, now + self.outage_seconds
        return now < self.outage_until

    def reset(self) -> None:
        self.requests = 0
        self.methods.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.read()
        payload = json.loads(body)
        items = payload if isinstance(payload, list) else [payload]
        methods = [item.get("method", "?") for item in items]
        self.methods.update(methods)
        if self._in_outage(methods):
            self.refused += 1
            return web.Response(status=503, text="refused: outage")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            if self.fail_error is not None and not isinstance(payload, list):
                body = {"jsonrpc": "2.0", "id": payload.get("id"), "error": self.fail_error}
                return web.json_response(body, status=self.fail_status)
            return web.Response(status=self.fail_status, text="unavailable")
        refusal = self._refuse_logs(payload)
        if refusal is not None:
            return web.json_response(refusal)
        is_chain_id = not isinstance(payload, list) and payload.get("method") == "eth_chainId"
        if self.chain_id is not None and is_chain_id:
            answer: Any = {"jsonrpc": "2.0", "id": payload["id"], "result": hex(self.chain_id)}
            return web.json_response(answer)
        assert self._session is not None
        async with self._session.post(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        ) as upstream:
            answer = await upstream.read()
            lost = next((m for m in methods if self.lose_answer_of[m] > 0), None)
            if lost is not None:
                # The node saw it; the caller never hears back.
                self.lose_answer_of[lost] -= 1
                self.answers_lost += 1
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=502)
            return web.Response(
                body=answer, status=upstream.status, content_type="application/json"
            )

    def _refuse_logs(self, payload: Any) -> dict[str, Any] | None:
        if self.max_log_range is None or isinstance(payload, list):
            return None
        if payload.get("method") != "eth_getLogs":
            return None
        query = payload["params"][0]
        start, end = query.get("fromBlock", "0x0"), query.get("toBlock", "latest")
        if not (start.startswith("0x") and end.startswith("0x")):
            return None
        if int(end, 16) - int(start, 16) + 1 <= self.max_log_range:
            return None
        return {
            "jsonrpc": "2.0",
            "id": payload["id"],
            "error": {
                "code": -32602,
                "message": f"block range too large (max {self.max_log_range})",
            },
        }
