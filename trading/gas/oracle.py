"""Gas oracle: fees from ``eth_feeHistory``, limits from ``eth_estimateGas`` and, on
OP-stack chains, the L1 data fee from the GasPriceOracle predeploy."""

from __future__ import annotations

from typing import Any, Protocol

from eth_abi import decode, encode

from trading.gas.fees import (
    PERCENTILES,
    FeeHistory,
    FeeSuggestion,
    gas_limit_with_margin,
    suggest_fees,
)
from trading.lifecycle import Component

GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"
# getL1Fee(bytes) selector.
_GET_L1_FEE = bytes.fromhex("49948e0e")


class _Requester(Protocol):
    async def request(self, method: str, params: list[Any] | None = None) -> Any: ...


class GasOracle(Component):
    """Reads fee data from the node; the maths lives in :mod:`trading.gas.fees`."""

    name = "gas"

    def __init__(self, client: _Requester, *, op_stack: bool = False, blocks: int = 20) -> None:
        super().__init__()
        self.client = client
        self.op_stack = op_stack
        self.blocks = blocks
        self._has_l1_oracle: bool | None = None
        self.latest: FeeSuggestion | None = None

    async def _initialize(self) -> None:
        if self.op_stack:
            code = await self.client.request("eth_getCode", [GAS_PRICE_ORACLE, "latest"])
            self._has_l1_oracle = bool(code and code not in ("0x", "0x0"))

    async def fee_history(self) -> FeeHistory:
        percentiles = sorted(PERCENTILES.values())
        raw = await self.client.request("eth_feeHistory", [hex(self.blocks), "latest", percentiles])
        rewards = tuple(tuple(int(x, 16) for x in row) for row in (raw.get("reward") or []))
        return FeeHistory(
            oldest_block=int(raw["oldestBlock"], 16),
            base_fees=tuple(int(x, 16) for x in raw["baseFeePerGas"]),
            gas_used_ratios=tuple(float(x) for x in raw["gasUsedRatio"]),
            rewards=rewards,
            percentiles=tuple(percentiles),
        )

    async def suggest(self) -> FeeSuggestion:
        """Slow / normal / urgent fees for the next block."""
        try:
            suggestion = suggest_fees(await self.fee_history())
        except Exception as exc:
            self.record_error(exc)
            raise
        self.latest = suggestion
        self.record_success()
        self.count("fee_reads")
        return suggestion

    async def estimate_gas(self, transaction: dict[str, Any], margin_bps: int = 2_000) -> int:
        """``eth_estimateGas`` plus a margin."""
        estimate = int(await self.client.request("eth_estimateGas", [transaction]), 16)
        return gas_limit_with_margin(estimate, margin_bps)

    async def l1_fee(self, unsigned_transaction: bytes) -> int:
        """The L1 data fee of a transaction on OP-stack chains (0 elsewhere)."""
        if not self.op_stack:
            return 0
        if self._has_l1_oracle is None:
            await self._initialize()
        if not self._has_l1_oracle:
            return 0
        data = "0x" + (_GET_L1_FEE + encode(["bytes"], [unsigned_transaction])).hex()
        result = await self.client.request(
            "eth_call", [{"to": GAS_PRICE_ORACLE, "data": data}, "latest"]
        )
        (fee,) = decode(["uint256"], bytes.fromhex(result[2:]))
        return int(fee)
