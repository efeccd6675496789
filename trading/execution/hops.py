"""How a cycle is described to the ArbitrageExecutor contract (pure: no web3).

``execute(Hop[] hops, uint256 amountIn, uint256 minProfit, bool flash, uint256
deadline)`` takes, per hop, the pool, its family, the direction, the V2-family
fee and the tokens it pays and receives (the contract checks that they chain
and never asks a pool which tokens it holds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Must match the KIND_* constants of contracts/ArbitrageExecutor.sol. Slipstream and
# PancakeSwap V3 pools swap through V3's swap(); the executor answers both callbacks.
KIND_CODES: dict[str, int] = {
    "uniswap_v2": 0,
    "uniswap_v3": 1,
    "slipstream": 1,
    "pancakeswap_v3": 1,
    "solidly": 2,
}


@dataclass(frozen=True)
class PoolInfo:
    """What the encoder needs to know about a pool."""

    address: str
    token0: str
    token1: str
    dex_kind: str  # a Dex kind
    fee_bps: int = 0  # V2 family only


@dataclass(frozen=True)
class ExecutorHop:
    pool: str
    kind: int
    zero_for_one: bool
    fee_bps: int
    token_in: str
    token_out: str

    def as_tuple(self) -> tuple[str, int, bool, int, str, str]:
        return (
            self.pool,
            self.kind,
            self.zero_for_one,
            self.fee_bps,
            self.token_in,
            self.token_out,
        )


class PathError(ValueError):
    """A path that the executor cannot run."""


def encode_hops(
    path: Sequence[Mapping[str, str]], pools: Mapping[str, PoolInfo]
) -> list[ExecutorHop]:
    """Turn an ``Opportunity.path`` into executor hops, checking that it is a cycle."""
    if len(path) < 2:
        raise PathError("a cycle needs at least two hops")
    hops: list[ExecutorHop] = []
    for index, step in enumerate(path):
        info = pools.get(step["pool"])
        if info is None:
            raise PathError(f"hop {index}: unknown pool {step['pool']}")
        if info.dex_kind not in KIND_CODES:
            raise PathError(f"hop {index}: unsupported DEX kind {info.dex_kind!r}")
        token_in, token_out = step["token_in"].lower(), step["token_out"].lower()
        pair = (info.token0.lower(), info.token1.lower())
        if (token_in, token_out) == pair:
            zero_for_one = True
        elif (token_out, token_in) == pair:
            zero_for_one = False
        else:
            raise PathError(f"hop {index}: pool {info.address} does not trade {step['token_in']}")
        if index and token_in != path[index - 1]["token_out"].lower():
            raise PathError(f"hop {index} does not start where hop {index - 1} ended")
        fee = info.fee_bps if info.dex_kind == "uniswap_v2" else 0
        tokens = (info.token0, info.token1) if zero_for_one else (info.token1, info.token0)
        hops.append(
            ExecutorHop(info.address, KIND_CODES[info.dex_kind], zero_for_one, fee, *tokens)
        )
    if path[0]["token_in"].lower() != path[-1]["token_out"].lower():
        raise PathError("the path must end in the token it starts with")
    return hops
