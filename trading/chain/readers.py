"""Encoding and decoding for the deployless batch readers in ``contracts/``.

A reader is never deployed: its creation code plus constructor arguments go
into one ``eth_call`` without ``to``, and the constructor hands back a stream
of 256-bit words (see ``contracts/ReaderBase.sol``). Results up to EIP-170's
24,576 bytes come back as the call's return data; larger ones as the revert
data of ``BatchResult(uint256[])`` (the PoolStateReader always answers that way:
returned code costs 200 gas per byte). This module builds the call data and turns
either form back into typed results; it does no I/O itself, except for the
small synchronous :func:`call_reader` used by tests and scripts.

Layouts are documented in the Solidity sources and mirrored here word by word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_bytes, to_checksum_address

from trading.chain.artifacts import project_artifact

BATCH_RESULT_SELECTOR = keccak(text="BatchResult(uint256[])")[:4]
# Largest chunk of pools per eth_call: keeps the call data (32 bytes per pool)
# well under EIP-3860's 49,152-byte init-code limit.
MAX_POOLS_PER_CALL = 500

_MASK112 = (1 << 112) - 1
_MASK128 = (1 << 128) - 1
_MASK160 = (1 << 160) - 1
_BIT255 = 1 << 255
_BIT254 = 1 << 254
_BIT253 = 1 << 253
_BIT252 = 1 << 252

# Gas for each name()/symbol()/decimals() call: plenty for a real token (even
# behind a proxy), while 150 hostile tokens that burn all of it still fit one call.
METADATA_CALL_GAS = 30_000

KIND_V2_FACTORY = 0
KIND_SOLIDLY_FACTORY = 1


class ReaderError(RuntimeError):
    """A reader call failed as a whole, or returned data that cannot be decoded."""


# ---- raw response handling -------------------------------------------------


def _hex_to_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return to_bytes(hexstr=value) if value not in ("", "0x") else b""


def words_from_return(data: str | bytes) -> list[int]:
    """Decode a reader's successful return data (an ABI-encoded ``uint256[]``)."""
    raw = _hex_to_bytes(data)
    if not raw:
        raise ReaderError("reader returned no data (is the code-size limit lower than expected?)")
    try:
        (words,) = abi_decode(["uint256[]"], raw)
    except Exception as exc:  # eth_abi raises several unrelated types
        raise ReaderError(f"reader returned undecodable data: {exc}") from exc
    return list(words)


def words_from_revert(data: str | bytes | None) -> list[int] | None:
    """Decode a ``BatchResult(uint256[])`` revert, or return None for any other revert."""
    if data is None:
        return None
    raw = _hex_to_bytes(data)
    if raw[:4] != BATCH_RESULT_SELECTOR:
        return None
    try:
        (words,) = abi_decode(["uint256[]"], raw[4:])
    except Exception:
        return None
    return list(words)


def revert_data(error: Any) -> str | None:
    """Pull the revert data out of a JSON-RPC error object (nodes nest it differently)."""
    if not isinstance(error, dict):
        return None
    data = error.get("data")
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        inner = data.get("data") or data.get("result")
        if isinstance(inner, str):
            return inner
    return None


def words_from_response(response: dict[str, Any]) -> list[int]:
    """Turn a raw JSON-RPC ``eth_call`` response into the reader's word stream."""
    if "error" in response:
        words = words_from_revert(revert_data(response["error"]))
        if words is None:
            raise ReaderError(f"reader call failed: {response['error']}")
        return words
    return words_from_return(response.get("result", "0x"))


def reader_call(data: str, gas: int | None = None) -> dict[str, Any]:
    """The transaction object of a deployless reader call."""
    call: dict[str, Any] = {"data": data}
    if gas is not None:
        call["gas"] = hex(gas)
    return call


def call_reader(
    w3: Any, data: str, block: int | str = "latest", gas: int | None = None
) -> list[int]:
    """Run a reader through a synchronous ``Web3`` and return its words (tests, scripts)."""
    block_id = hex(block) if isinstance(block, int) else block
    response = w3.provider.make_request("eth_call", [reader_call(data, gas), block_id])
    return words_from_response(response)


def _creation(name: str, types: list[str], args: list[Any]) -> str:
    return project_artifact(name).bytecode + abi_encode(types, args).hex()


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


# ---- pool states ---------------------------------------------------------------


@dataclass(frozen=True)
class SolidlyRequest:
    """A Solidly pool to read; ``with_fee`` also reads its stable flag and factory fee."""

    address: str
    with_fee: bool = False


@dataclass(frozen=True)
class V3Request:
    """A V3 pool to read with the tick-bitmap words ``word_lo..word_hi`` (none if lo > hi).

    With ``relative`` the bounds are offsets from the word holding the pool's
    current tick, chosen on chain: ``V3Request(pool, -2, 2, relative=True)``
    reads five words centred on the price, whatever it is, in one call.
    """

    address: str
    word_lo: int = 0
    word_hi: int = -1
    relative: bool = False
    with_fee: bool = False  # also read the pool's fee() (Slipstream's can change)
    # The pool's tick spacing when known (immutable, announced at creation): saves
    # the tickSpacing() call, a cold storage read on Slipstream. 0: read on chain.
    tick_spacing: int = 0


@dataclass(frozen=True)
class V4Request:
    """A Uniswap V4 pool to read through its PoolManager's ``extsload``.

    ``pool_id`` is the pool's id (0x + 64 hex digits); ``tick_spacing`` comes
    from its key (the manager does not store it). Word bounds as for
    :class:`V3Request`.
    """

    manager: str
    pool_id: str
    tick_spacing: int
    word_lo: int = 0
    word_hi: int = -1
    relative: bool = False


@dataclass(frozen=True)
class V2Reserves:
    """Reserves of a V2-style pair; ``ok`` is False when the read failed."""

    address: str
    ok: bool
    reserve0: int = 0
    reserve1: int = 0


@dataclass(frozen=True)
class SolidlyReserves:
    """Reserves of a Solidly pool, with its stable flag and fee when asked and readable."""

    address: str
    ok: bool
    reserve0: int = 0
    reserve1: int = 0
    fee_ok: bool = False
    stable: bool | None = None
    fee_bps: int | None = None


@dataclass(frozen=True)
class V3Snapshot:
    """Raw state of a V3 pool: price, liquidity, bitmap words read and their ticks' liquidityNet.

    ``word_lo..word_hi`` is the word range actually read (resolved on chain for
    relative requests); ``ticks`` holds every initialized tick in it.
    """

    address: str
    ok: bool
    sqrt_price_x96: int = 0
    tick: int = 0
    liquidity: int = 0
    tick_spacing: int = 0
    word_lo: int = 0
    word_hi: int = -1
    bitmaps: tuple[tuple[int, int], ...] = ()
    ticks: tuple[tuple[int, int], ...] = ()
    fee: int | None = None  # pips, when asked for


@dataclass(frozen=True)
class V4Snapshot(V3Snapshot):
    """Raw state of a V4 pool (``address`` is its id) with slot0's two fees in pips."""

    lp_fee: int = 0
    protocol_fee: int = 0


@dataclass(frozen=True)
class PoolStates:
    """Everything one PoolStateReader call returned, read at ``block_number``."""

    block_number: int
    v2: tuple[V2Reserves, ...]
    solidly: tuple[SolidlyReserves, ...]
    v3: tuple[V3Snapshot, ...]
    v4: tuple[V4Snapshot, ...] = ()
    # Requests left unread because the call ran short of gas (only with ``partial``):
    # the last ``unread`` of the requests in order V2, Solidly, V3, V4.
    unread: int = 0


def pool_state_call_data(
    v2: Sequence[str] = (),
    solidly: Sequence[SolidlyRequest] = (),
    v3: Sequence[V3Request] = (),
    v4: Sequence[V4Request] = (),
) -> str:
    """Creation code + arguments of a PoolStateReader call."""
    if len(v2) + len(solidly) + len(v3) + len(v4) > MAX_POOLS_PER_CALL:
        raise ReaderError(f"at most {MAX_POOLS_PER_CALL} pools per reader call")
    solidly_words = [int(r.address, 16) | (int(r.with_fee) << 160) for r in solidly]
    v3_words = []
    for request in v3:
        if not 0 <= request.tick_spacing < 2**23:
            raise ReaderError(f"tick spacing {request.tick_spacing} is not a positive int24")
        v3_words.append(
            _v3_entry(request.address, request.word_lo, request.word_hi, request.relative)
            | (int(request.with_fee) << 193)
            | (request.tick_spacing << 200)
        )
    v4_words = []
    for r in v4:
        if not 0 < r.tick_spacing < 2**23:
            raise ReaderError(f"tick spacing {r.tick_spacing} is not a positive int24")
        v4_words.append(
            _v3_entry(r.manager, r.word_lo, r.word_hi, r.relative) | (r.tick_spacing << 200)
        )
        v4_words.append(int(r.pool_id, 16))
    return _creation(
        "PoolStateReader",
        ["address[]", "uint256[]", "uint256[]", "uint256[]"],
        [[to_checksum_address(a) for a in v2], solidly_words, v3_words, v4_words],
    )


def _v3_entry(address: str, word_lo: int, word_hi: int, relative: bool) -> int:
    for word in (word_lo, word_hi):
        if not -(2**15) <= word < 2**15:
            raise ReaderError(f"tick-bitmap word {word} is outside int16")
    return (
        int(address, 16)
        | ((word_lo & 0xFFFF) << 160)
        | ((word_hi & 0xFFFF) << 176)
        | (int(relative) << 192)
    )


def decode_pool_states(
    words: Sequence[int],
    v2: Sequence[str] = (),
    solidly: Sequence[SolidlyRequest] = (),
    v3: Sequence[V3Request] = (),
    v4: Sequence[V4Request] = (),
    *,
    partial: bool = False,
) -> PoolStates:
    """Decode a PoolStateReader word stream for the same request lists.

    A call that ran short of gas reads only its first pools (in order V2,
    Solidly, V3, V4). With ``partial`` the result then holds those and says how
    many were left (``unread``); without it that is an error.
    """
    cursor = _Cursor(words)
    block_number = cursor.take()
    total = len(v2) + len(solidly) + len(v3) + len(v4)
    budget = cursor.take()
    if budget > total:
        raise ReaderError(f"pool state reader claims {budget} pools read of {total}")
    if budget < total and not partial:
        raise ReaderError(f"pool state reader ran short of gas after {budget} of {total} pools")
    v2, solidly, v3, v4, unread = _first(budget, v2, solidly, v3, v4)
    v2_out = []
    for address in v2:
        word = cursor.take()
        ok = bool(word & _BIT255)
        v2_out.append(
            V2Reserves(address, ok, (word >> 112) & _MASK112, word & _MASK112)
            if ok
            else V2Reserves(address, False)
        )
    solidly_out = [_decode_solidly(cursor, request) for request in solidly]
    v3_out = [_decode_v3(cursor, request) for request in v3]
    v4_out = [_decode_v4(cursor, request) for request in v4]
    if not cursor.done():
        raise ReaderError("pool state reader returned more words than requested")
    return PoolStates(
        block_number, tuple(v2_out), tuple(solidly_out), tuple(v3_out), tuple(v4_out), unread
    )


def _first(
    count: int,
    v2: Sequence[str],
    solidly: Sequence[SolidlyRequest],
    v3: Sequence[V3Request],
    v4: Sequence[V4Request],
) -> tuple[Sequence[str], Sequence[SolidlyRequest], Sequence[V3Request], Sequence[V4Request], int]:
    """The first ``count`` requests in the reader's order, and how many are left."""
    left = count
    taken: list[Sequence[Any]] = []
    for section in (v2, solidly, v3, v4):
        taken.append(section[: max(0, left)])
        left -= len(section)
    unread = max(0, -left)
    return taken[0], taken[1], taken[2], taken[3], unread


def _decode_solidly(cursor: _Cursor, request: SolidlyRequest) -> SolidlyReserves:
    head = cursor.take()
    if not head & _BIT255:
        return SolidlyReserves(request.address, False)
    if head & _BIT252:
        reserve0, reserve1 = cursor.take(), cursor.take()
    else:
        reserve0, reserve1 = (head >> 112) & _MASK112, head & _MASK112
    fee_ok = bool(head & _BIT254)
    return SolidlyReserves(
        request.address,
        True,
        reserve0,
        reserve1,
        fee_ok=fee_ok,
        stable=bool(head & _BIT253) if fee_ok else None,
        fee_bps=(head >> 224) & 0xFFFF if fee_ok else None,
    )


def _decode_v4(cursor: _Cursor, request: V4Request) -> V4Snapshot:
    head = cursor.take()
    if not head & _BIT255:
        return V4Snapshot(request.pool_id, False, word_lo=request.word_lo, word_hi=request.word_hi)
    second = cursor.take()
    fees = second >> 128
    body = _decode_ticked(cursor, head, second & _MASK128, request.tick_spacing)
    return V4Snapshot(
        request.pool_id,
        True,
        **body,
        lp_fee=(fees >> 24) & 0xFFFFFF,
        protocol_fee=fees & 0xFFFFFF,
    )


def _decode_v3(cursor: _Cursor, request: V3Request) -> V3Snapshot:
    head = cursor.take()
    if not head & _BIT255:
        return V3Snapshot(request.address, False, word_lo=request.word_lo, word_hi=request.word_hi)
    second = cursor.take()
    spacing = _signed(second >> 128, 24)
    return V3Snapshot(
        request.address,
        True,
        **_decode_ticked(cursor, head, second & _MASK128, spacing),
        fee=(second >> 160) & 0xFFFFFF if second & _BIT255 else None,
    )


def _decode_ticked(cursor: _Cursor, head: int, liquidity: int, spacing: int) -> dict[str, Any]:
    """The price, bitmap words and ticks that follow a V3 or V4 pool's head words."""
    range_word = cursor.take()
    count = range_word & 0xFFFF
    bitmaps = []
    ticks = []
    for _ in range(count):
        position = _signed(cursor.take(), 256)
        bitmap = cursor.take()
        bitmaps.append((position, bitmap))
        for bit in range(256):
            if bitmap >> bit & 1:
                ticks.append(((position * 256 + bit) * spacing, _signed(cursor.take(), 256)))
    return {
        "sqrt_price_x96": head & _MASK160,
        "tick": _signed(head >> 160, 24),
        "liquidity": liquidity,
        "tick_spacing": spacing,
        "word_lo": _signed(range_word >> 16, 16),
        "word_hi": _signed(range_word >> 32, 16),
        "bitmaps": tuple(bitmaps),
        "ticks": tuple(ticks),
    }


# ---- token metadata ----------------------------------------------------------


@dataclass(frozen=True)
class TokenMetadata:
    """Metadata of one token; fields are None when the token does not provide them."""

    address: str
    name: str | None
    symbol: str | None
    decimals: int | None
    raw_name: bytes = b""
    raw_symbol: bytes = b""


def token_metadata_call_data(tokens: Sequence[str], call_gas: int | None = None) -> str:
    """Creation code + arguments of a TokenMetadataReader call.

    Each of a token's three metadata calls gets at most ``call_gas``
    (default :data:`METADATA_CALL_GAS`).
    """
    return _creation(
        "TokenMetadataReader",
        ["address[]", "uint256"],
        [[to_checksum_address(t) for t in tokens], call_gas or METADATA_CALL_GAS],
    )


def decode_token_metadata(
    words: Sequence[int], tokens: Sequence[str]
) -> tuple[int, list[TokenMetadata]]:
    """Decode a TokenMetadataReader word stream; returns (block number, metadata per token)."""
    cursor = _Cursor(words)
    block_number = cursor.take()
    out = []
    for token in tokens:
        head = cursor.take()
        name_len = (head >> 32) & 0xFFFF
        symbol_len = (head >> 16) & 0xFFFF
        raw_name = cursor.take_bytes(name_len)
        raw_symbol = cursor.take_bytes(symbol_len)
        out.append(
            TokenMetadata(
                address=to_checksum_address(token),
                name=decode_metadata_text(raw_name) if head & _BIT255 else None,
                symbol=decode_metadata_text(raw_symbol) if head & _BIT254 else None,
                decimals=head & 0xFF if head & _BIT253 else None,
                raw_name=raw_name,
                raw_symbol=raw_symbol,
            )
        )
    if not cursor.done():
        raise ReaderError("token metadata reader returned more words than requested")
    return block_number, out


def decode_metadata_text(raw: bytes) -> str | None:
    """Decode a name/symbol answer that is an ABI ``string`` or a ``bytes32``.

    Returns None when the bytes are neither (or decode to nothing printable).
    """
    text: str | None = None
    if len(raw) == 32:
        text = raw.rstrip(b"\0").decode("utf-8", errors="replace")
    elif len(raw) >= 64:
        offset = int.from_bytes(raw[:32], "big")
        if offset + 32 <= len(raw):
            length = int.from_bytes(raw[offset : offset + 32], "big")
            start = offset + 32
            if start + length <= len(raw):
                text = raw[start : start + length].decode("utf-8", errors="replace")
    if text is None:
        return None
    cleaned = "".join(ch for ch in text if ch.isprintable()).strip()
    return cleaned or None


# ---- pool lists ----------------------------------------------------------------


@dataclass(frozen=True)
class PoolListing:
    """A factory's pool at ``index``; tokens are None when unreadable."""

    index: int
    address: str | None
    token0: str | None
    token1: str | None
    stable: bool | None = None

    @property
    def ok(self) -> bool:
        """True when the pool and both its tokens were read."""
        return self.address is not None and self.token0 is not None and self.token1 is not None


def pool_list_call_data(factory: str, kind: int, start: int, end: int) -> str:
    """Creation code + arguments of a PoolListReader call for indexes [start, end)."""
    if end - start > MAX_POOLS_PER_CALL:
        raise ReaderError(f"at most {MAX_POOLS_PER_CALL} pools per reader call")
    return _creation(
        "PoolListReader",
        ["address", "uint256", "uint256", "uint256"],
        [to_checksum_address(factory), kind, start, end],
    )


def decode_pool_list(words: Sequence[int], start: int) -> tuple[int, int, list[PoolListing]]:
    """Decode a PoolListReader word stream: (block number, factory pool count, listings)."""
    cursor = _Cursor(words)
    block_number = cursor.take()
    total = cursor.take()
    listings = []
    index = start
    while not cursor.done():
        head, token0, token1 = cursor.take(), cursor.take(), cursor.take()
        pool = head & _MASK160
        ok = bool(head & _BIT255)
        listings.append(
            PoolListing(
                index=index,
                address=to_checksum_address(pool.to_bytes(20, "big")) if pool else None,
                token0=to_checksum_address(token0.to_bytes(20, "big")) if ok else None,
                token1=to_checksum_address(token1.to_bytes(20, "big")) if ok else None,
                stable=bool(head & _BIT253) if head & _BIT254 else None,
            )
        )
        index += 1
    return block_number, total, listings


class _Cursor:
    """Sequential reader over a word stream that fails loudly when it runs short."""

    def __init__(self, words: Sequence[int]) -> None:
        self._words = words
        self._at = 0

    def take(self) -> int:
        if self._at >= len(self._words):
            raise ReaderError("reader returned fewer words than expected")
        word = self._words[self._at]
        self._at += 1
        return word

    def take_bytes(self, length: int) -> bytes:
        chunks = b"".join(self.take().to_bytes(32, "big") for _ in range((length + 31) // 32))
        return chunks[:length]

    def done(self) -> bool:
        return self._at >= len(self._words)
