"""Deployment helpers for local chains: tokens, real Uniswap V2/V3, Slipstream,
PancakeSwap V3 and Aerodrome (Solidly family) pools.

Used by the market builder (:mod:`trading.devchain.market`), the tests and
the benchmarks. Everything goes through a synchronous ``Web3`` connected to an
anvil node whose dev accounts are unlocked, so transactions are sent with
``eth_sendTransaction`` and no key handling.
Bulk set-ups (thousands of pools for benchmarks) send their transactions in
JSON-RPC batches with locally counted nonces and precomputed contract
addresses, which keeps them within seconds.

Addresses are returned checksummed inside small frozen dataclasses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import rlp
from eth_utils import keccak, to_bytes, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from trading.chain.artifacts import (
    Artifact,
    external_artifact,
    pancakeswap_v3_artifact,
    project_artifact,
    uniswap_v2_artifact,
    uniswap_v3_artifact,
    uniswap_v4_artifact,
)

if TYPE_CHECKING:
    from trading.devchain.market import Market

MAX_UINT256 = 2**256 - 1
MIN_TICK = -887272
MAX_TICK = 887272
# Fee tiers enabled by UniswapV3Factory's constructor, with their tick spacing.
V3_TICK_SPACING = {500: 10, 3000: 60, 10000: 200}
# Tick spacings enabled by Slipstream's CLFactory constructor, with their default fee.
SLIPSTREAM_TICK_SPACING_FEE = {1: 100, 50: 500, 100: 500, 200: 3000, 2000: 10000}
# Fee tiers enabled by PancakeV3Factory's constructor, with their tick spacing.
PANCAKESWAP_V3_TICK_SPACING = {100: 1, 500: 10, 2500: 50, 10000: 200}

_V2_PAIR_GAS = 5_000_000
_V3_POOL_GAS = 6_000_000
_SOLIDLY_POOL_GAS = 4_000_000
_CALL_GAS = 500_000
_BATCH_SIZE = 200


class DevnetError(RuntimeError):
    """A deployment or transaction on the local chain failed."""


@dataclass(frozen=True)
class TokenInfo:
    """A deployed test token.

    ``kind`` is ``standard``, ``bytes32``, ``no_decimals`` or ``gas_burner``.
    """

    address: str
    symbol: str
    name: str
    decimals: int | None
    kind: str = "standard"


@dataclass(frozen=True)
class V2Deployment:
    """A Uniswap V2 factory (real v2-core artifacts)."""

    factory: str


@dataclass(frozen=True)
class V2Pair:
    """A Uniswap V2 pair; tokens sorted as the pair sorts them."""

    address: str
    token0: str
    token1: str


@dataclass(frozen=True)
class V3Deployment:
    """A Uniswap V3 factory (real v3-core artifacts) and the helper that pays its callbacks."""

    factory: str
    helper: str


@dataclass(frozen=True)
class V3Pool:
    """A Uniswap V3 pool; ``fee`` in hundredths of a basis point (3000 = 0.3%)."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


@dataclass(frozen=True)
class SlipstreamDeployment:
    """A real Slipstream CLFactory, its custom swap-fee module and the V3 helper."""

    factory: str
    helper: str
    fee_module: str
    implementation: str


@dataclass(frozen=True)
class PancakeV3Deployment:
    """A real PancakeV3Factory, its pool deployer and the V3 helper."""

    factory: str
    helper: str
    pool_deployer: str


@dataclass(frozen=True)
class SolidlyDeployment:
    """A real Aerodrome PoolFactory and the Pool implementation it clones.

    ``implementation`` may be left empty: it is then read from the factory.
    """

    factory: str
    implementation: str = ""


@dataclass(frozen=True)
class SolidlyPool:
    """An Aerodrome pool: volatile (x*y) or stable (x3y+y3x)."""

    address: str
    token0: str
    token1: str
    stable: bool


@dataclass(frozen=True)
class V4Deployment:
    """A Uniswap V4 PoolManager and v4-core's test routers that pay for liquidity and swaps."""

    manager: str
    modify_router: str
    swap_router: str


@dataclass(frozen=True)
class V4Pool:
    """A Uniswap V4 pool: its id (``address``) and its key.

    ``fee`` is the key's fee: pips, or ``0x800000`` for a dynamic fee.
    """

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int
    hooks: str = "0x0000000000000000000000000000000000000000"

    @property
    def key(self) -> tuple[str, str, int, int, str]:
        """The ``PoolKey`` tuple (currency0, currency1, fee, tickSpacing, hooks)."""
        return (self.token0, self.token1, self.fee, self.tick_spacing, self.hooks)


# ---- pure helpers ---------------------------------------------------------


def sort_tokens(token_a: str, token_b: str) -> tuple[str, str]:
    """Sort two addresses the way every factory does (numerically)."""
    a, b = to_checksum_address(token_a), to_checksum_address(token_b)
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


def create_address(sender: str, nonce: int) -> str:
    """Address of the contract created by ``sender`` (account or contract) at ``nonce``."""
    encoded = rlp.encode([to_bytes(hexstr=sender), nonce])
    return to_checksum_address(keccak(encoded)[12:])


def create2_address(sender: str, salt: bytes, init_code_hash: bytes) -> str:
    """Address of a CREATE2 deployment."""
    digest = keccak(b"\xff" + to_bytes(hexstr=sender) + salt + init_code_hash)
    return to_checksum_address(digest[12:])


def minimal_proxy_init_code(implementation: str) -> bytes:
    """Creation code of an EIP-1167 clone of ``implementation`` (OpenZeppelin ``Clones``)."""
    return (
        bytes.fromhex("3d602d80600a3d3981f3363d3d373d3d3d363d73")
        + to_bytes(hexstr=implementation)
        + bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
    )


def aerodrome_pool_address(
    factory: str, implementation: str, token_a: str, token_b: str, stable: bool
) -> str:
    """Address of the pool Aerodrome's PoolFactory clones for ``(token_a, token_b, stable)``.

    The salt is ``keccak256(abi.encodePacked(token0, token1, stable))``.
    """
    token0, token1 = sort_tokens(token_a, token_b)
    salt = keccak(to_bytes(hexstr=token0) + to_bytes(hexstr=token1) + bytes([int(stable)]))
    return create2_address(factory, salt, keccak(minimal_proxy_init_code(implementation)))


def encode_sqrt_price_x96(amount1: int, amount0: int) -> int:
    """sqrt(amount1 / amount0) as a Q64.96, rounded down (price of token0 in token1)."""
    return math.isqrt((amount1 << 192) // amount0)


def sqrt_price_x96_for(price: Fraction | int | str) -> int:
    """Q64.96 square root of a raw price (token1 wei per token0 wei)."""
    value = Fraction(price)
    return math.isqrt((value.numerator << 192) // value.denominator)


def nearest_usable_tick(tick: int, tick_spacing: int) -> int:
    """Round ``tick`` to a multiple of ``tick_spacing`` inside the valid range."""
    rounded = round(tick / tick_spacing) * tick_spacing
    lowest = -(MAX_TICK // tick_spacing) * tick_spacing
    return max(lowest, min(-lowest, rounded))


def tick_at_price(price: Fraction | int | str) -> int:
    """The tick whose price is closest below ``price`` (floating point, for set-ups only)."""
    return math.floor(math.log(float(Fraction(price))) / math.log(1.0001))


# ---- the deployer ---------------------------------------------------------


class Devnet:
    """Deploys and drives contracts on a local chain from an unlocked account."""

    def __init__(self, w3: Web3, deployer: str | None = None) -> None:
        self.w3 = w3
        self.deployer = to_checksum_address(deployer or w3.eth.accounts[0])
        # Set by whoever deployed a market with this helper (the test fixtures do).
        self.market: Market | None = None

    # ---- generic ----

    def contract(self, artifact: Artifact, address: str) -> Contract:
        """A web3 contract object for ``artifact`` at ``address``."""
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)

    def deploy(self, artifact: Artifact, *args: Any, sender: str | None = None) -> str:
        """Deploy ``artifact`` with constructor ``args``; return its address."""
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx_hash = factory.constructor(*args).transact({"from": sender or self.deployer})
        receipt = self._receipt(tx_hash, f"deploy {artifact.name}")
        return to_checksum_address(receipt["contractAddress"])

    def transact(self, function: Any, *, sender: str | None = None, gas: int | None = None) -> Any:
        """Send a contract function call as a transaction and return its receipt."""
        params: dict[str, Any] = {"from": sender or self.deployer}
        if gas is not None:
            params["gas"] = gas
        tx_hash = function.transact(params)
        return self._receipt(tx_hash, function.fn_name)

    def send_batch(
        self, calls: Sequence[tuple[str | None, bytes | str, int]], sender: str | None = None
    ) -> list[str]:
        """Send many ``(to, calldata, gas)`` transactions quickly and check them all.

        On an automining anvil node the transactions go into as few blocks as
        possible (automine paused, block gas limit raised for the moment):
        anvil's cost per block grows with the state, so thousands of one-
        transaction blocks get slow. A ``to`` of None deploys ``calldata``.
        Returns the transaction hashes.
        """
        sender = to_checksum_address(sender or self.deployer)
        with self._bulk_mining(sum(gas for _, _, gas in calls)) as flush:
            nonce = self.w3.eth.get_transaction_count(sender, "pending")
            hashes: list[str] = []
            for offset, (to, data, gas) in enumerate(calls):
                tx: dict[str, Any] = {
                    "from": sender,
                    "data": data if isinstance(data, str) else "0x" + data.hex(),
                    "gas": hex(gas),
                    # Counted here: the node's own count lags behind a fast sender.
                    "nonce": hex(nonce + offset),
                }
                if to is not None:
                    tx["to"] = to_checksum_address(to)
                response = self.w3.provider.make_request("eth_sendTransaction", [tx])
                if "error" in response:
                    raise DevnetError(f"transaction refused: {response['error']}")
                hashes.append(response["result"])
            flush()
        self._check_receipts(hashes)
        return hashes

    @contextmanager
    def _bulk_mining(self, total_gas: int) -> Iterator[Callable[[], None]]:
        provider = self.w3.provider
        automine = provider.make_request("anvil_getAutomine", []).get("result")
        if automine is not True:
            # Not anvil, or interval mining: blocks come on their own.
            yield lambda: None
            return
        previous_limit = int(
            provider.make_request("eth_getBlockByNumber", ["pending", False])["result"]["gasLimit"],
            16,
        )
        provider.make_request("evm_setAutomine", [False])
        if total_gas > previous_limit:
            provider.make_request("evm_setBlockGasLimit", [hex(total_gas + 1_000_000)])

        def flush() -> None:
            for _ in range(100):
                provider.make_request("evm_mine", [])
                status = provider.make_request("txpool_status", []).get("result", {})
                if int(status.get("pending", "0x0"), 16) == 0:
                    return

        try:
            yield flush
        finally:
            if total_gas > previous_limit:
                provider.make_request("evm_setBlockGasLimit", [hex(previous_limit)])
            provider.make_request("evm_setAutomine", [True])

    def _check_receipts(self, hashes: list[str]) -> None:
        """Fail if a transaction reverted; wait for any not mined yet."""
        for start in range(0, len(hashes), _BATCH_SIZE):
            chunk = hashes[start : start + _BATCH_SIZE]
            responses = self.w3.provider.make_batch_request(
                [("eth_getTransactionReceipt", [h]) for h in chunk]
            )
            for tx_hash, response in zip(chunk, responses, strict=True):
                receipt = response.get("result")
                if receipt is None:
                    status = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)["status"]
                else:
                    status = int(receipt["status"], 16)
                if status != 1:
                    raise DevnetError(f"transaction {tx_hash} reverted")

    def _receipt(self, tx_hash: Any, what: str) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise DevnetError(
                f"{what} reverted (tx {tx_hash.hex() if hasattr(tx_hash, 'hex') else tx_hash})"
            )
        return receipt

    # ---- tokens ----

    def deploy_token(self, symbol: str, decimals: int = 18, name: str | None = None) -> TokenInfo:
        """Deploy a standard mintable ERC20 (TestToken)."""
        name = name or f"{symbol} Test Token"
        address = self.deploy(project_artifact("TestToken"), name, symbol, decimals)
        return TokenInfo(address, symbol, name, decimals)

    def deploy_tokens(
        self,
        symbols: Sequence[str],
        decimals: int | Sequence[int] = 18,
        names: Sequence[str | None] | None = None,
    ) -> list[TokenInfo]:
        """Deploy many standard tokens (addresses precomputed from the deployer's nonce).

        ``decimals`` is one value for all or one per symbol; ``names`` likewise.
        """
        artifact = project_artifact("TestToken")
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        nonce = self.w3.eth.get_transaction_count(self.deployer, "pending")
        calls: list[tuple[str | None, bytes | str, int]] = []
        tokens = []
        all_decimals = [decimals] * len(symbols) if isinstance(decimals, int) else list(decimals)
        all_names = list(names) if names is not None else [None] * len(symbols)
        for offset, (symbol, decimals, name) in enumerate(
            zip(symbols, all_decimals, all_names, strict=True)
        ):
            name = name or f"{symbol} Test Token"
            calls.append(
                (None, factory.constructor(name, symbol, decimals).data_in_transaction, 2_000_000)
            )
            address = create_address(self.deployer, nonce + offset)
            tokens.append(TokenInfo(address, symbol, name, decimals))
        self.send_batch(calls)
        return tokens

    def deploy_bytes32_token(
        self, symbol: str, decimals: int = 18, name: str | None = None
    ) -> TokenInfo:
        """Deploy a token whose name() and symbol() return bytes32 (like MKR)."""
        name = name or symbol
        address = self.deploy(
            project_artifact("Bytes32MetadataToken"),
            name.encode().ljust(32, b"\0"),
            symbol.encode().ljust(32, b"\0"),
            decimals,
        )
        return TokenInfo(address, symbol, name, decimals, kind="bytes32")

    def deploy_no_decimals_token(self, symbol: str, name: str | None = None) -> TokenInfo:
        """Deploy a token without decimals()."""
        name = name or f"{symbol} Token"
        address = self.deploy(project_artifact("NoDecimalsToken"), name, symbol)
        return TokenInfo(address, symbol, name, None, kind="no_decimals")

    def deploy_gas_burner_tokens(self, symbols: Sequence[str]) -> list[TokenInfo]:
        """Deploy hostile tokens whose metadata calls loop until out of gas (one batch)."""
        artifact = project_artifact("GasBurnerToken")
        nonce = self.w3.eth.get_transaction_count(self.deployer, "pending")
        self.send_batch([(None, artifact.bytecode, 1_000_000) for _ in symbols])
        return [
            TokenInfo(create_address(self.deployer, nonce + i), symbol, symbol, None, "gas_burner")
            for i, symbol in enumerate(symbols)
        ]

    def token(self, address: str) -> Contract:
        """A TestToken contract object (the ERC20 part works for every test token)."""
        return self.contract(project_artifact("TestToken"), address)

    def mint(self, token: str, to: str, amount: int) -> None:
        """Mint ``amount`` of ``token`` to ``to`` (test tokens only)."""
        self.transact(
            self.token(token).functions.mint(to_checksum_address(to), amount), gas=_CALL_GAS
        )

    def approve(
        self, token: str, spender: str, amount: int = MAX_UINT256, owner: str | None = None
    ) -> None:
        """Approve ``spender`` to move ``owner``'s tokens."""
        owner = owner or self.deployer
        self.transact(
            self.token(token).functions.approve(to_checksum_address(spender), amount),
            sender=owner,
            gas=_CALL_GAS,
        )

    def balance_of(self, token: str, account: str) -> int:
        """ERC20 balance of ``account``."""
        return self.token(token).functions.balanceOf(to_checksum_address(account)).call()

    def _ensure_approved(self, token: str, spender: str, owner: str) -> None:
        allowance = (
            self.token(token)
            .functions.allowance(to_checksum_address(owner), to_checksum_address(spender))
            .call()
        )
        if allowance < 2**255:
            self.approve(token, spender, MAX_UINT256, owner=owner)

    # ---- Uniswap V2 ----

    def deploy_uniswap_v2(self) -> V2Deployment:
        """Deploy the real UniswapV2Factory (fee recipient setter: the deployer)."""
        address = self.deploy(uniswap_v2_artifact("UniswapV2Factory"), self.deployer)
        return V2Deployment(factory=address)

    def v2_pair_address(self, factory: str, token_a: str, token_b: str) -> str:
        """CREATE2 address of the pair of two tokens (the factory's own formula)."""
        token0, token1 = sort_tokens(token_a, token_b)
        salt = keccak(to_bytes(hexstr=token0) + to_bytes(hexstr=token1))
        init_hash = keccak(to_bytes(hexstr=uniswap_v2_artifact("UniswapV2Pair").bytecode))
        return create2_address(factory, salt, init_hash)

    def create_v2_pair(
        self,
        deployment: V2Deployment,
        token_a: str,
        token_b: str,
        amount_a: int = 0,
        amount_b: int = 0,
    ) -> V2Pair:
        """Create a pair and, when amounts are given, mint them to it and add liquidity."""
        return self.create_v2_pairs(deployment, [(token_a, token_b, amount_a, amount_b)])[0]

    def create_v2_pairs(
        self, deployment: V2Deployment, specs: Iterable[tuple[str, str, int, int]]
    ) -> list[V2Pair]:
        """Create many pairs with liquidity: ``(token_a, token_b, amount_a, amount_b)`` each.

        Liquidity tokens are minted straight to the pair (test tokens only), then
        the pair's ``mint`` records them; LP tokens go to the deployer.
        """
        factory = self.contract(uniswap_v2_artifact("UniswapV2Factory"), deployment.factory)
        pair_artifact = uniswap_v2_artifact("UniswapV2Pair")
        token_abi = self.w3.eth.contract(abi=project_artifact("TestToken").abi)
        calls: list[tuple[str | None, bytes | str, int]] = []
        pairs: list[V2Pair] = []
        for token_a, token_b, amount_a, amount_b in specs:
            token0, token1 = sort_tokens(token_a, token_b)
            pair = self.v2_pair_address(deployment.factory, token0, token1)
            calls.append(
                (
                    deployment.factory,
                    factory.encode_abi("createPair", args=[token0, token1]),
                    _V2_PAIR_GAS,
                )
            )
            if amount_a or amount_b:
                calls.append(
                    (token_a, token_abi.encode_abi("mint", args=[pair, amount_a]), _CALL_GAS)
                )
                calls.append(
                    (token_b, token_abi.encode_abi("mint", args=[pair, amount_b]), _CALL_GAS)
                )
                pair_contract = self.w3.eth.contract(abi=pair_artifact.abi)
                calls.append(
                    (pair, pair_contract.encode_abi("mint", args=[self.deployer]), _CALL_GAS)
                )
            pairs.append(V2Pair(pair, token0, token1))
        self.send_batch(calls)
        return pairs

    def v2_pair(self, address: str) -> Contract:
        """A UniswapV2Pair contract object."""
        return self.contract(uniswap_v2_artifact("UniswapV2Pair"), address)

    def swap_v2(self, pair: str, token_in: str, amount_in: int, to: str | None = None) -> int:
        """Swap exactly ``amount_in`` of ``token_in`` through ``pair``; return the output.

        The input is minted to the pair (test tokens only) and the output is the
        V2 formula's maximum (0.3% fee), as a router would compute it.
        """
        contract = self.v2_pair(pair)
        token0 = contract.functions.token0().call()
        reserve0, reserve1, _ = contract.functions.getReserves().call()
        zero_for_one = to_checksum_address(token_in) == token0
        reserve_in, reserve_out = (reserve0, reserve1) if zero_for_one else (reserve1, reserve0)
        amount_with_fee = amount_in * 997
        amount_out = amount_with_fee * reserve_out // (reserve_in * 1000 + amount_with_fee)
        if amount_out == 0:
            raise DevnetError(f"swapping {amount_in} of {token_in} in {pair} would return nothing")
        self.mint(token_in, pair, amount_in)
        outs = (0, amount_out) if zero_for_one else (amount_out, 0)
        self.transact(
            contract.functions.swap(*outs, to_checksum_address(to or self.deployer), b""),
            gas=_CALL_GAS,
        )
        return amount_out

    # ---- Uniswap V3 ----

    def deploy_uniswap_v3(self) -> V3Deployment:
        """Deploy the real UniswapV3Factory and a V3PoolHelper."""
        factory = self.deploy(uniswap_v3_artifact("UniswapV3Factory"))
        helper = self.deploy(project_artifact("V3PoolHelper"))
        return V3Deployment(factory=factory, helper=helper)

    def v3_pool_address(self, factory: str, token_a: str, token_b: str, fee: int) -> str:
        """CREATE2 address of a V3 pool (the factory's own formula)."""
        token0, token1 = sort_tokens(token_a, token_b)
        salt = keccak(
            to_bytes(hexstr=token0).rjust(32, b"\0")
            + to_bytes(hexstr=token1).rjust(32, b"\0")
            + fee.to_bytes(32, "big")
        )
        init_hash = keccak(to_bytes(hexstr=uniswap_v3_artifact("UniswapV3Pool").bytecode))
        return create2_address(factory, salt, init_hash)

    def create_v3_pool(
        self,
        deployment: V3Deployment,
        token_a: str,
        token_b: str,
        fee: int,
        sqrt_price_x96: int,
        positions: Sequence[tuple[int, int, int]] = (),
    ) -> V3Pool:
        """Create and initialise a pool, then add ``(tick_lower, tick_upper, liquidity)`` positions.

        Liquidity is paid by the deployer through the helper (tokens are minted
        and approved as needed; test tokens only).
        """
        return self.create_v3_pools(
            deployment, [(token_a, token_b, fee, sqrt_price_x96, positions)]
        )[0]

    def create_v3_pools(
        self,
        deployment: V3Deployment,
        specs: Iterable[tuple[str, str, int, int, Sequence[tuple[int, int, int]]]],
    ) -> list[V3Pool]:
        """Create many initialised pools with positions, in batched transactions."""
        factory = self.contract(uniswap_v3_artifact("UniswapV3Factory"), deployment.factory)
        pool_abi = self.w3.eth.contract(abi=uniswap_v3_artifact("UniswapV3Pool").abi)
        helper = self.contract(project_artifact("V3PoolHelper"), deployment.helper)
        calls: list[tuple[str | None, bytes | str, int]] = []
        pools: list[V3Pool] = []
        tokens: set[str] = set()
        for token_a, token_b, fee, sqrt_price_x96, positions in specs:
            if fee not in V3_TICK_SPACING:
                raise DevnetError(
                    f"fee tier {fee} is not enabled (choose from {sorted(V3_TICK_SPACING)})"
                )
            token0, token1 = sort_tokens(token_a, token_b)
            tokens.update((token0, token1))
            pool = self.v3_pool_address(deployment.factory, token0, token1, fee)
            calls.append(
                (
                    deployment.factory,
                    factory.encode_abi("createPool", args=[token0, token1, fee]),
                    _V3_POOL_GAS,
                )
            )
            calls.append(
                (pool, pool_abi.encode_abi("initialize", args=[sqrt_price_x96]), _CALL_GAS)
            )
            for tick_lower, tick_upper, liquidity in positions:
                data = helper.encode_abi("mint", args=[pool, tick_lower, tick_upper, liquidity])
                calls.append((deployment.helper, data, 1_000_000))
            pools.append(V3Pool(pool, token0, token1, fee, V3_TICK_SPACING[fee]))
        for token in sorted(tokens):
            # Plenty of balance for every position; only test tokens can be minted.
            if self.balance_of(token, self.deployer) < 2**200:
                self.mint(token, self.deployer, 2**200)
            self._ensure_approved(token, deployment.helper, self.deployer)
        self.send_batch(calls)
        return pools

    def v3_pool(self, address: str) -> Contract:
        """A UniswapV3Pool contract object."""
        return self.contract(uniswap_v3_artifact("UniswapV3Pool"), address)

    def add_v3_liquidity(
        self, deployment: V3Deployment, pool: str, tick_lower: int, tick_upper: int, liquidity: int
    ) -> None:
        """Add a position to an existing pool (paid by the deployer through the helper)."""
        contract = self.v3_pool(pool)
        for token in (contract.functions.token0().call(), contract.functions.token1().call()):
            if self.balance_of(token, self.deployer) < 2**200:
                self.mint(token, self.deployer, 2**200)
            self._ensure_approved(token, deployment.helper, self.deployer)
        helper = self.contract(project_artifact("V3PoolHelper"), deployment.helper)
        self.transact(helper.functions.mint(pool, tick_lower, tick_upper, liquidity), gas=1_000_000)

    def swap_v3(
        self,
        deployment: V3Deployment,
        pool: str,
        token_in: str,
        amount_in: int,
        recipient: str | None = None,
        sqrt_price_limit_x96: int = 0,
        sender: str | None = None,
    ) -> tuple[int, int]:
        """Swap exactly ``amount_in`` of ``token_in`` paid by ``sender``; return the pool deltas."""
        sender = to_checksum_address(sender or self.deployer)
        contract = self.v3_pool(pool)
        zero_for_one = to_checksum_address(token_in) == contract.functions.token0().call()
        if self.balance_of(token_in, sender) < amount_in:
            self.mint(token_in, sender, amount_in)
        self._ensure_approved(token_in, deployment.helper, sender)
        helper = self.contract(project_artifact("V3PoolHelper"), deployment.helper)
        function = helper.functions.swapExactInput(
            to_checksum_address(pool),
            zero_for_one,
            amount_in,
            sqrt_price_limit_x96,
            to_checksum_address(recipient or sender),
        )
        amounts = function.call({"from": sender})
        self.transact(function, sender=sender, gas=2_000_000)
        return amounts[0], amounts[1]

    # ---- Slipstream (real Aerodrome CL contracts) ----

    def deploy_slipstream(self, helper: str | None = None) -> SlipstreamDeployment:
        """Deploy the real CLFactory with a voter stub, and its CustomSwapFeeModule.

        The fee module starts with no custom fees (every pool pays its tick
        spacing's default) and lets tests change a pool's fee as governance can.
        """
        voter = self.deploy(project_artifact("SlipstreamVoterStub"))
        implementation = self.deploy(external_artifact("CLPool"))
        # The stub also stands for the legacy CL factory (which knows no pools).
        factory = self.deploy(external_artifact("CLFactory"), voter, voter, implementation)
        module = self.deploy(external_artifact("CustomSwapFeeModule"), factory)
        contract = self.contract(external_artifact("CLFactory"), factory)
        self.transact(contract.functions.setSwapFeeModule(module))
        helper = helper or self.deploy(project_artifact("V3PoolHelper"))
        return SlipstreamDeployment(factory, helper, module, implementation)

    def slipstream_pool_address(
        self, deployment: SlipstreamDeployment, token_a: str, token_b: str, tick_spacing: int
    ) -> str:
        """The EIP-1167 clone address CLFactory.createPool gives a pool."""
        token0, token1 = sort_tokens(token_a, token_b)
        salt = keccak(
            to_bytes(hexstr=token0).rjust(32, b"\0")
            + to_bytes(hexstr=token1).rjust(32, b"\0")
            + (tick_spacing % 2**256).to_bytes(32, "big")
        )
        clone = (
            bytes.fromhex("3d602d80600a3d3981f3363d3d373d3d3d363d73")
            + to_bytes(hexstr=deployment.implementation)
            + bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
        )
        return create2_address(deployment.factory, salt, keccak(clone))

    def create_slipstream_pools(
        self,
        deployment: SlipstreamDeployment,
        specs: Iterable[tuple[str, str, int, int, Sequence[tuple[int, int, int]]]],
    ) -> list[V3Pool]:
        """Create pools ``(token_a, token_b, tick_spacing, sqrt_price_x96, positions)``."""
        factory = self.contract(external_artifact("CLFactory"), deployment.factory)
        calls: list[tuple[str | None, bytes | str, int]] = []
        pools: list[V3Pool] = []
        for token_a, token_b, spacing, sqrt_price_x96, positions in specs:
            if spacing not in SLIPSTREAM_TICK_SPACING_FEE:
                raise DevnetError(f"tick spacing {spacing} is not enabled on the CLFactory")
            token0, token1 = sort_tokens(token_a, token_b)
            pool = self.slipstream_pool_address(deployment, token0, token1, spacing)
            data = factory.encode_abi("createPool", args=[token0, token1, spacing, sqrt_price_x96])
            calls.append((deployment.factory, data, _V3_POOL_GAS))
            calls += self._mint_calls(deployment.helper, pool, positions)
            fee = SLIPSTREAM_TICK_SPACING_FEE[spacing]
            pools.append(V3Pool(pool, token0, token1, fee, spacing))
        self._fund_helper(deployment.helper, pools)
        self.send_batch(calls)
        return pools

    def set_slipstream_fee(self, deployment: SlipstreamDeployment, pool: str, fee: int) -> None:
        """Give ``pool`` a custom swap fee (pips) through the fee module, as governance can."""
        module = self.contract(external_artifact("CustomSwapFeeModule"), deployment.fee_module)
        self.transact(module.functions.setCustomFee(to_checksum_address(pool), fee))

    # ---- PancakeSwap V3 ----

    def deploy_pancakeswap_v3(self, helper: str | None = None) -> PancakeV3Deployment:
        """Deploy the real PancakeV3Factory with a pool deployer that CREATE2s the real pool."""
        init_code = to_bytes(hexstr=pancakeswap_v3_artifact("PancakeV3Pool").bytecode)
        # A contract whose runtime code is the pool's creation code: PUSH2 len, DUP1,
        # PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN, then the code itself.
        holder_code = (
            b"\x61" + len(init_code).to_bytes(2, "big") + bytes.fromhex("80600c6000396000f3")
        )
        tx = {"from": self.deployer, "data": "0x" + (holder_code + init_code).hex()}
        receipt = self._receipt(self.w3.eth.send_transaction(tx), "deploy pool code")  # type: ignore[arg-type]
        holder = to_checksum_address(receipt["contractAddress"])
        pool_deployer = self.deploy(project_artifact("PancakeV3TestPoolDeployer"), holder)
        factory = self.deploy(pancakeswap_v3_artifact("PancakeV3Factory"), pool_deployer)
        contract = self.contract(project_artifact("PancakeV3TestPoolDeployer"), pool_deployer)
        self.transact(contract.functions.setFactoryAddress(factory))
        helper = helper or self.deploy(project_artifact("V3PoolHelper"))
        return PancakeV3Deployment(factory, helper, pool_deployer)

    def pancakeswap_v3_pool_address(
        self, deployment: PancakeV3Deployment, token_a: str, token_b: str, fee: int
    ) -> str:
        """CREATE2 address of a PancakeSwap V3 pool: from the deployer, not the factory."""
        token0, token1 = sort_tokens(token_a, token_b)
        salt = keccak(
            to_bytes(hexstr=token0).rjust(32, b"\0")
            + to_bytes(hexstr=token1).rjust(32, b"\0")
            + fee.to_bytes(32, "big")
        )
        init_hash = keccak(to_bytes(hexstr=pancakeswap_v3_artifact("PancakeV3Pool").bytecode))
        return create2_address(deployment.pool_deployer, salt, init_hash)

    def create_pancakeswap_v3_pools(
        self,
        deployment: PancakeV3Deployment,
        specs: Iterable[tuple[str, str, int, int, Sequence[tuple[int, int, int]]]],
    ) -> list[V3Pool]:
        """Create pools ``(token_a, token_b, fee, sqrt_price_x96, positions)``."""
        factory = self.contract(pancakeswap_v3_artifact("PancakeV3Factory"), deployment.factory)
        pool_abi = self.w3.eth.contract(abi=pancakeswap_v3_artifact("PancakeV3Pool").abi)
        calls: list[tuple[str | None, bytes | str, int]] = []
        pools: list[V3Pool] = []
        for token_a, token_b, fee, sqrt_price_x96, positions in specs:
            if fee not in PANCAKESWAP_V3_TICK_SPACING:
                tiers = sorted(PANCAKESWAP_V3_TICK_SPACING)
                raise DevnetError(f"fee tier {fee} is not enabled (choose from {tiers})")
            token0, token1 = sort_tokens(token_a, token_b)
            pool = self.pancakeswap_v3_pool_address(deployment, token0, token1, fee)
            data = factory.encode_abi("createPool", args=[token0, token1, fee])
            calls.append((deployment.factory, data, _V3_POOL_GAS))
            calls.append(
                (pool, pool_abi.encode_abi("initialize", args=[sqrt_price_x96]), _CALL_GAS)
            )
            calls += self._mint_calls(deployment.helper, pool, positions)
            pools.append(V3Pool(pool, token0, token1, fee, PANCAKESWAP_V3_TICK_SPACING[fee]))
        self._fund_helper(deployment.helper, pools)
        self.send_batch(calls)
        return pools

    def _mint_calls(
        self, helper: str, pool: str, positions: Sequence[tuple[int, int, int]]
    ) -> list[tuple[str | None, bytes | str, int]]:
        contract = self.contract(project_artifact("V3PoolHelper"), helper)
        return [
            (helper, contract.encode_abi("mint", args=[pool, lower, upper, liquidity]), 1_000_000)
            for lower, upper, liquidity in positions
        ]

    def _fund_helper(self, helper: str, pools: Sequence[V3Pool]) -> None:
        for token in sorted({t for p in pools for t in (p.token0, p.token1)}):
            # Plenty of balance for every position; only test tokens can be minted.
            if self.balance_of(token, self.deployer) < 2**200:
                self.mint(token, self.deployer, 2**200)
            self._ensure_approved(token, helper, self.deployer)

    # ---- Solidly (Aerodrome) ----

    def deploy_solidly(self) -> SolidlyDeployment:
        """Deploy Aerodrome's real PoolFactory with its Pool implementation.

        Default fees: 5 bps stable, 30 bps volatile. The constructor makes the
        deployer the voter, pauser and fee manager, so no voter contract is
        needed: pools only ask the factory for the voter's address (used by
        ``setName``/``setSymbol``, which nothing here calls).
        """
        implementation = self.deploy(external_artifact("Pool"))
        factory = self.deploy(external_artifact("PoolFactory"), implementation)
        return SolidlyDeployment(factory=factory, implementation=implementation)

    def solidly_factory(self, deployment: SolidlyDeployment | str) -> Contract:
        """An Aerodrome PoolFactory contract object."""
        address = deployment.factory if isinstance(deployment, SolidlyDeployment) else deployment
        return self.contract(external_artifact("PoolFactory"), address)

    def solidly_pool(self, address: str) -> Contract:
        """An Aerodrome Pool contract object."""
        return self.contract(external_artifact("Pool"), address)

    def solidly_pool_address(
        self, deployment: SolidlyDeployment, token_a: str, token_b: str, stable: bool
    ) -> str:
        """Where the factory creates (or created) the ``(token_a, token_b, stable)`` pool."""
        implementation = (
            deployment.implementation
            or self.solidly_factory(deployment).functions.implementation().call()
        )
        return aerodrome_pool_address(deployment.factory, implementation, token_a, token_b, stable)

    def create_solidly_pool(
        self,
        deployment: SolidlyDeployment,
        token_a: str,
        token_b: str,
        stable: bool,
        amount_a: int = 0,
        amount_b: int = 0,
    ) -> SolidlyPool:
        """Create a pool and, when amounts are given, add them as liquidity.

        A stable pool's first deposit must be of equal value in 18-decimal units,
        as on Aerodrome.
        """
        return self.create_solidly_pools(
            deployment, [(token_a, token_b, stable, amount_a, amount_b)]
        )[0]

    def create_solidly_pools(
        self, deployment: SolidlyDeployment, specs: Iterable[tuple[str, str, bool, int, int]]
    ) -> list[SolidlyPool]:
        """Create many pools with liquidity: ``(token_a, token_b, stable, amount_a, amount_b)``.

        Pools come from the factory's ``createPool(tokenA, tokenB, stable)``;
        liquidity is added as Aerodrome's Router does it: the tokens reach the
        pool first (test tokens are minted straight to it), then ``mint(to)``
        gives the deployer the LP tokens. Tokens must have ``symbol()`` and
        ``decimals()``: the real pool reads both when it is initialised.
        """
        factory = self.solidly_factory(deployment)
        implementation = deployment.implementation or factory.functions.implementation().call()
        pool_abi = self.w3.eth.contract(abi=external_artifact("Pool").abi)
        token_abi = self.w3.eth.contract(abi=project_artifact("TestToken").abi)
        calls: list[tuple[str | None, bytes | str, int]] = []
        pools: list[SolidlyPool] = []
        for token_a, token_b, stable, amount_a, amount_b in specs:
            token0, token1 = sort_tokens(token_a, token_b)
            # The factory clones the implementation with CREATE2: the address is known now.
            pool = aerodrome_pool_address(
                deployment.factory, implementation, token0, token1, stable
            )
            # By signature: the factory also has createPool(address,address,uint24).
            data = factory.encode_abi(
                "createPool(address,address,bool)", args=[token0, token1, stable]
            )
            calls.append((deployment.factory, data, _SOLIDLY_POOL_GAS))
            if amount_a or amount_b:
                calls.append(
                    (token_a, token_abi.encode_abi("mint", args=[pool, amount_a]), _CALL_GAS)
                )
                calls.append(
                    (token_b, token_abi.encode_abi("mint", args=[pool, amount_b]), _CALL_GAS)
                )
                calls.append((pool, pool_abi.encode_abi("mint", args=[self.deployer]), _CALL_GAS))
            pools.append(SolidlyPool(pool, token0, token1, stable))
        self.send_batch(calls)
        return pools

    def set_solidly_custom_fee(self, deployment: SolidlyDeployment, pool: str, fee: int) -> None:
        """Set a per-pool fee through the factory's fee manager (the deployer).

        420 (``ZERO_FEE_INDICATOR``) means 0%, 0 restores the default; at most 300.
        """
        factory = self.solidly_factory(deployment)
        self.transact(factory.functions.setCustomFee(to_checksum_address(pool), fee), gas=_CALL_GAS)

    def swap_solidly(self, pool: str, token_in: str, amount_in: int, to: str | None = None) -> int:
        """Swap exactly ``amount_in`` of ``token_in``: quote with getAmountOut, pay the
        input into the pool (test tokens are minted to it), then ``swap(out0, out1, to, "")``."""
        contract = self.solidly_pool(pool)
        amount_out = contract.functions.getAmountOut(
            amount_in, to_checksum_address(token_in)
        ).call()
        if amount_out == 0:
            raise DevnetError(f"swapping {amount_in} of {token_in} in {pool} would return nothing")
        zero_for_one = to_checksum_address(token_in) == contract.functions.token0().call()
        self.mint(token_in, pool, amount_in)
        outs = (0, amount_out) if zero_for_one else (amount_out, 0)
        self.transact(
            contract.functions.swap(*outs, to_checksum_address(to or self.deployer), b""),
            gas=_CALL_GAS,
        )
        return amount_out

    # ---- Uniswap V4 ----

    def deploy_uniswap_v4(self) -> V4Deployment:
        """Deploy the real PoolManager and v4-core's liquidity and swap test routers."""
        manager = self.deploy(uniswap_v4_artifact("PoolManager"), self.deployer)
        return V4Deployment(
            manager=manager,
            modify_router=self.deploy(uniswap_v4_artifact("PoolModifyLiquidityTest"), manager),
            swap_router=self.deploy(uniswap_v4_artifact("PoolSwapTest"), manager),
        )

    def v4_manager(self, deployment: V4Deployment | str) -> Contract:
        """The PoolManager contract object."""
        address = deployment.manager if isinstance(deployment, V4Deployment) else deployment
        return self.contract(uniswap_v4_artifact("PoolManager"), address)

    def create_v4_pools(
        self,
        deployment: V4Deployment,
        specs: Iterable[tuple[str, str, int, int, int, Sequence[tuple[int, int, int]]]],
        hooks: str = "0x0000000000000000000000000000000000000000",
    ) -> list[V4Pool]:
        """Initialise ``(token_a, token_b, fee, tick_spacing, sqrt_price_x96, positions)``
        pools and add their ``(tick_lower, tick_upper, liquidity)`` positions."""
        from trading.amm.uniswap_v4 import pool_id

        manager = self.v4_manager(deployment)
        router = self.contract(
            uniswap_v4_artifact("PoolModifyLiquidityTest"), deployment.modify_router
        )
        calls: list[tuple[str | None, bytes | str, int]] = []
        pools: list[V4Pool] = []
        tokens: set[str] = set()
        hooks = to_checksum_address(hooks)
        for token_a, token_b, fee, spacing, sqrt_price_x96, positions in specs:
            token0, token1 = sort_tokens(token_a, token_b)
            tokens.update((token0, token1))
            pool = V4Pool(
                pool_id(token0, token1, fee, spacing, hooks), token0, token1, fee, spacing, hooks
            )
            calls.append(
                (
                    deployment.manager,
                    manager.encode_abi("initialize", args=[pool.key, sqrt_price_x96]),
                    _CALL_GAS,
                )
            )
            for tick_lower, tick_upper, liquidity in positions:
                params = (tick_lower, tick_upper, liquidity, b"\0" * 32)
                data = router.encode_abi("modifyLiquidity", args=[pool.key, params, b""])
                calls.append((deployment.modify_router, data, 1_000_000))
            pools.append(pool)
        for token in sorted(tokens):
            if self.balance_of(token, self.deployer) < 2**200:
                self.mint(token, self.deployer, 2**200)
            self._ensure_approved(token, deployment.modify_router, self.deployer)
        self.send_batch(calls)
        return pools

    def modify_v4_liquidity(
        self, deployment: V4Deployment, pool: V4Pool, tick_lower: int, tick_upper: int, delta: int
    ) -> None:
        """Add (``delta`` > 0) or remove liquidity of the deployer's position."""
        for token in (pool.token0, pool.token1):
            if self.balance_of(token, self.deployer) < 2**200:
                self.mint(token, self.deployer, 2**200)
            self._ensure_approved(token, deployment.modify_router, self.deployer)
        router = self.contract(
            uniswap_v4_artifact("PoolModifyLiquidityTest"), deployment.modify_router
        )
        params = (tick_lower, tick_upper, delta, b"\0" * 32)
        self.transact(router.functions.modifyLiquidity(pool.key, params, b""), gas=1_000_000)

    def swap_v4(
        self,
        deployment: V4Deployment,
        pool: V4Pool,
        token_in: str,
        amount_in: int,
        sender: str | None = None,
    ) -> tuple[int, int]:
        """Swap exactly ``amount_in`` of ``token_in``; return what the sender paid and received."""
        sender = to_checksum_address(sender or self.deployer)
        zero_for_one = to_checksum_address(token_in) == pool.token0
        token_out = pool.token1 if zero_for_one else pool.token0
        if self.balance_of(token_in, sender) < amount_in:
            self.mint(token_in, sender, amount_in)
        self._ensure_approved(token_in, deployment.swap_router, sender)
        router = self.contract(uniswap_v4_artifact("PoolSwapTest"), deployment.swap_router)
        limit = (
            4295128739 + 1
            if zero_for_one
            else 1461446703485210103287273052203988822378723970342 - 1
        )
        # V4's sign: a negative amount is an exact input.
        params = (zero_for_one, -amount_in, limit)
        in_before = self.balance_of(token_in, sender)
        out_before = self.balance_of(token_out, sender)
        self.transact(
            router.functions.swap(pool.key, params, (False, False), b""),
            sender=sender,
            gas=3_000_000,
        )
        return (
            in_before - self.balance_of(token_in, sender),
            self.balance_of(token_out, sender) - out_before,
        )


def connect(rpc_url: str, timeout: float = 60.0) -> Web3:
    """A synchronous ``Web3`` for set-up work against a local node."""
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
