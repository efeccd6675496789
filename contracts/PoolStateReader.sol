// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ReaderBase} from "./ReaderBase.sol";

interface IV2Reads {
    function getReserves() external view returns (uint112, uint112, uint32);
}

interface ISolidlyReads {
    function stable() external view returns (bool);
    function factory() external view returns (address);
    function getFee(address pool, bool stable) external view returns (uint256);
}

interface IV3Reads {
    function slot0() external view returns (uint160 sqrtPriceX96, int24 tick);
    function fee() external view returns (uint24);
    function liquidity() external view returns (uint128);
    function tickSpacing() external view returns (int24);
    function tickBitmap(int16 wordPosition) external view returns (uint256);
    function ticks(int24 tick) external view returns (uint128 liquidityGross, int128 liquidityNet);
}

/// @title PoolStateReader
/// @notice Deployless batch reader of pool states (see ReaderBase). Never deployed.
///
/// Inputs:
///  - v2Pools: Uniswap V2-style pairs, read with getReserves().
///  - solidlyPools: one word per pool: address in bits 0-159; bit 160 asks for the
///    stable flag and the factory fee as well.
///  - v3Pools: one word per pool: address in bits 0-159, first and last tick-bitmap
///    word positions (int16) in bits 160-175 and 176-191; with bit 192 set they are
///    offsets from the word holding the current tick (so one call reads the words
///    around wherever the price is now). A first word above the last reads no
///    bitmap (price and liquidity only).
///    Bit 193 also reads the pool's fee() (Slipstream's fee can change at any time).
///
///  - v4Pools: two words per Uniswap V4 pool: the PoolManager in bits 0-159, the
///    tick-bitmap word range in bits 160-191 and the relative flag in bit 192 (as
///    for V3), the key's tick spacing (int24) in bits 200-223; then the pool id.
///
/// Output words, in order:
///  - block number;
///  - per V2 pool: ok << 255 | reserve0 << 112 | reserve1 (reserves above 112 bits
///    make the pool odd, ok=false);
///  - per Solidly pool: ok << 255 | feeOk << 254 | stable << 253 | wide << 252 |
///    fee << 224 | reserve0 << 112 | reserve1, and when `wide` (a reserve above 112
///    bits) the low bits are zero and two more words follow: reserve0, reserve1;
///  - per V3 pool: ok << 255 | uint24(tick) << 160 | sqrtPriceX96; when ok, then
///    feeRead << 255 | fee << 160 | uint24(tickSpacing) << 128 | liquidity, then
///    uint16(lastWord) << 32 | uint16(firstWord) << 16 | count of non-zero words
///    (the word range actually read), and per non-zero word: its position (int256),
///    the bitmap, and the liquidityNet (int256) of each set bit in ascending order;
///  - per V4 pool: the same words as a V3 pool, except that the second word is
///    uint48(lpFee << 24 | protocolFee) << 128 | liquidity (the spacing is the key's).
///    Everything is read with the PoolManager's `extsload(bytes32[])`, three calls
///    per usual pool (slot0 and liquidity; the bitmap words; their ticks): the pool's
///    state sits at keccak256(id, 6) (slot0, two fee growths, liquidity, ticks, bitmap).
///
/// Only the first two words of slot0 are decoded, so Uniswap's and PancakeSwap's
/// slot0 (whose last field differs) both work.
contract PoolStateReader is ReaderBase {
    uint256 private constant OK = 1 << 255;
    uint256 private constant MASK112 = (1 << 112) - 1;
    uint256 private constant MASK160 = (1 << 160) - 1;
    int256 private constant MAX_WORDS_PER_POOL = 4096;

    constructor(
        address[] memory v2Pools,
        uint256[] memory solidlyPools,
        uint256[] memory v3Pools,
        uint256[] memory v4Pools
    ) {
        Words memory out =
            _newWords(1 + v2Pools.length + solidlyPools.length + (v3Pools.length + v4Pools.length) * 8);
        _push(out, block.number);
        for (uint256 i = 0; i < v2Pools.length; i++) {
            _push(out, _readV2(v2Pools[i]));
        }
        for (uint256 i = 0; i < solidlyPools.length; i++) {
            _readSolidly(out, solidlyPools[i]);
        }
        for (uint256 i = 0; i < v3Pools.length; i++) {
            _readV3(out, v3Pools[i]);
        }
        if (v4Pools.length > 1) {
            V4Pool memory pool = _newV4Pool();
            for (uint256 i = 0; i + 1 < v4Pools.length; i += 2) {
                _readV4(out, pool, v4Pools[i], bytes32(v4Pools[i + 1]));
            }
        }
        _finish(out);
    }

    function _readV2(address pool) private view returns (uint256) {
        (bool ok, uint256 r0, uint256 r1) = _read(pool, IV2Reads.getReserves.selector, 0, 0, 0, 64);
        if (!ok || r0 > MASK112 || r1 > MASK112) return 0;
        return OK | (r0 << 112) | r1;
    }

    function _readSolidly(Words memory out, uint256 entry) private view {
        address pool = address(uint160(entry & MASK160));
        (bool ok, uint256 r0, uint256 r1) = _read(pool, IV2Reads.getReserves.selector, 0, 0, 0, 64);
        if (!ok) {
            _push(out, 0);
            return;
        }
        uint256 head = OK;
        if ((entry >> 160) & 1 == 1) {
            head |= _readSolidlyFee(pool);
        }
        if (r0 > MASK112 || r1 > MASK112) {
            _push(out, head | (1 << 252));
            _push(out, r0);
            _push(out, r1);
        } else {
            _push(out, head | (r0 << 112) | r1);
        }
    }

    /// @dev feeOk, stable and fee bits of a Solidly pool's head word (zero when unreadable).
    function _readSolidlyFee(address pool) private view returns (uint256) {
        (bool ok, uint256 isStable,) = _read(pool, ISolidlyReads.stable.selector, 0, 0, 0, 32);
        if (!ok || isStable > 1) return 0;
        uint256 factory;
        (ok, factory,) = _read(pool, ISolidlyReads.factory.selector, 0, 0, 0, 32);
        if (!ok || factory > MASK160) return 0;
        uint256 fee;
        (ok, fee,) = _read(address(uint160(factory)), ISolidlyReads.getFee.selector, uint256(uint160(pool)), isStable, 2, 32);
        if (!ok || fee > 0xffff) return 0;
        return (1 << 254) | (isStable << 253) | (fee << 224);
    }

    function _readV3(Words memory out, uint256 entry) private view {
        uint256 mark = out.length;
        if (!_tryReadV3(out, entry)) {
            // Drop whatever this pool had written and leave a single failed head.
            out.length = mark;
            _push(out, 0);
        }
    }

    function _tryReadV3(Words memory out, uint256 entry) private view returns (bool) {
        address pool = address(uint160(entry & MASK160));
        (bool ok, int256 spacing, int256 tick) = _readV3Head(out, pool, (entry >> 193) & 1 == 1);
        if (!ok) return false;
        (int256 wordLo, int256 wordHi) = _wordRange(entry, tick, spacing);
        if (wordHi - wordLo >= MAX_WORDS_PER_POOL) return false;
        uint256 countAt = out.length;
        _push(out, 0);
        uint256 nonZero = 0;
        for (int256 wordPos = wordLo; wordPos <= wordHi; wordPos++) {
            (bool wordOk, bool initialized) = _readBitmapWord(out, pool, wordPos, spacing);
            if (!wordOk) return false;
            if (initialized) nonZero += 1;
        }
        out.data[countAt] =
            nonZero | ((uint256(wordLo) & 0xffff) << 16) | ((uint256(wordHi) & 0xffff) << 32);
        return true;
    }

    /// @dev The bitmap words to read: as given, or (bit 192) relative to the current tick's word.
    function _wordRange(uint256 entry, int256 tick, int256 spacing) private pure returns (int256 lo, int256 hi) {
        lo = int256(int16(uint16(entry >> 160)));
        hi = int256(int16(uint16(entry >> 176)));
        if ((entry >> 192) & 1 == 1) {
            int256 compressed = tick / spacing;
            if (tick < 0 && tick % spacing != 0) compressed -= 1;
            int256 centre = compressed >> 8;
            lo = _clampWord(centre + lo);
            hi = _clampWord(centre + hi);
        }
    }

    function _clampWord(int256 word) private pure returns (int256) {
        if (word < type(int16).min) return type(int16).min;
        if (word > type(int16).max) return type(int16).max;
        return word;
    }

    /// @dev Append the price/tick word and the spacing/liquidity word.
    function _readV3Head(Words memory out, address pool, bool withFee) private view returns (bool, int256, int256) {
        (bool ok, uint256 sqrtPrice, uint256 tickWord) = _read(pool, IV3Reads.slot0.selector, 0, 0, 0, 64);
        if (!ok || sqrtPrice > MASK160 || !_isInt(tickWord, 2)) return (false, 0, 0);
        uint256 liquidity;
        (ok, liquidity,) = _read(pool, IV3Reads.liquidity.selector, 0, 0, 0, 32);
        if (!ok || liquidity >= (1 << 128)) return (false, 0, 0);
        uint256 spacingWord;
        (ok, spacingWord,) = _read(pool, IV3Reads.tickSpacing.selector, 0, 0, 0, 32);
        if (!ok || !_isInt(spacingWord, 2) || int256(spacingWord) <= 0) return (false, 0, 0);
        uint256 feeBits = 0;
        if (withFee) {
            uint256 fee;
            (ok, fee,) = _read(pool, IV3Reads.fee.selector, 0, 0, 0, 32);
            if (!ok || fee > 0xffffff) return (false, 0, 0);
            feeBits = OK | (fee << 160);
        }
        _push(out, OK | ((tickWord & 0xffffff) << 160) | sqrtPrice);
        _push(out, feeBits | ((spacingWord & 0xffffff) << 128) | liquidity);
        return (true, int256(spacingWord), int256(tickWord));
    }

    /// @dev Append a non-zero bitmap word (position, bitmap, liquidityNet per set bit).
    function _readBitmapWord(Words memory out, address pool, int256 wordPos, int256 spacing)
        private
        view
        returns (bool ok, bool initialized)
    {
        uint256 bitmap;
        (ok, bitmap,) = _read(pool, IV3Reads.tickBitmap.selector, uint256(wordPos), 0, 1, 32);
        if (!ok || bitmap == 0) return (ok, false);
        _push(out, uint256(wordPos));
        _push(out, bitmap);
        uint256 bit = 0;
        while (bit < 256) {
            uint256 rest = bitmap >> bit;
            if (rest == 0) break;
            // Skip empty bytes and clear bits cheaply; bitmaps are mostly zero.
            if (rest & 0xff == 0) {
                bit += 8;
                continue;
            }
            if (rest & 1 == 0) {
                bit += 1;
                continue;
            }
            int256 tick = (wordPos * 256 + int256(bit)) * spacing;
            uint256 net;
            (ok,, net) = _read(pool, IV3Reads.ticks.selector, uint256(tick), 0, 1, 64);
            if (!ok || !_isInt(net, 15)) return (false, true);
            _push(out, net);
            bit += 1;
        }
        return (true, true);
    }

    // --- Uniswap V4: pools inside the PoolManager, read through extsload -----------

    uint256 private constant V4_POOLS_SLOT = 6;
    uint256 private constant V4_LIQUIDITY_OFFSET = 3;
    uint256 private constant V4_TICKS_OFFSET = 4;
    uint256 private constant V4_BITMAP_OFFSET = 5;
    // Slots per extsload(bytes32[]) call: one call holds a usual pool's bitmap words,
    // another all their ticks; a pool needs three calls, not one per slot.
    uint256 private constant V4_BATCH = 256;
    bytes4 private constant EXTSLOAD_MANY = bytes4(keccak256("extsload(bytes32[])"));

    /// @dev The V4 pool being read, and the memory every V4 pool of the batch reuses: an
    ///      extsload(bytes32[]) call buffer and the output index each tick value goes to.
    ///      Allocated once: memory grows with the number of pools, and its cost with its square.
    struct V4Pool {
        address manager;
        uint256 stateSlot;
        int256 spacing;
        uint256 buffer;
        uint256[] targets;
    }

    function _newV4Pool() private pure returns (V4Pool memory pool) {
        // Selector, offset and length (68 bytes), then the slots: room for V4_BATCH + 3 words.
        uint256[] memory space = new uint256[](V4_BATCH + 3);
        uint256 buffer;
        assembly ("memory-safe") {
            buffer := add(space, 32)
        }
        pool.buffer = buffer;
        pool.targets = new uint256[](V4_BATCH);
    }

    function _readV4(Words memory out, V4Pool memory pool, uint256 entry, bytes32 id) private view {
        uint256 mark = out.length;
        pool.manager = address(uint160(entry & MASK160));
        pool.stateSlot = _mapSlot(uint256(id), V4_POOLS_SLOT);
        pool.spacing = int256(int24(uint24(entry >> 200)));
        if (!_tryReadV4(out, pool, entry)) {
            out.length = mark;
            _push(out, 0);
        }
    }

    function _tryReadV4(Words memory out, V4Pool memory pool, uint256 entry) private view returns (bool) {
        if (pool.spacing <= 0) return false;
        (bool ok, int256 tick) = _readV4Head(out, pool);
        if (!ok) return false;
        (int256 wordLo, int256 wordHi) = _wordRange(entry, tick, pool.spacing);
        if (wordHi - wordLo >= MAX_WORDS_PER_POOL) return false;
        uint256 countAt = out.length;
        _push(out, 0);
        uint256 nonZero = 0;
        for (int256 first = wordLo; first <= wordHi; first += int256(V4_BATCH)) {
            uint256 n = uint256(wordHi - first + 1);
            if (n > V4_BATCH) n = V4_BATCH;
            uint256 found;
            (ok, found) = _readV4BitmapWords(out, pool, first, n);
            if (!ok) return false;
            nonZero += found;
        }
        out.data[countAt] =
            nonZero | ((uint256(wordLo) & 0xffff) << 16) | ((uint256(wordHi) & 0xffff) << 32);
        return true;
    }

    /// @dev Append the price/tick word and the fees/liquidity word of a V4 pool (one call).
    function _readV4Head(Words memory out, V4Pool memory pool) private view returns (bool, int256) {
        _setV4Slot(pool.buffer, 0, pool.stateSlot);
        _setV4Slot(pool.buffer, 1, pool.stateSlot + V4_LIQUIDITY_OFFSET);
        if (!_extsloadMany(pool.manager, pool.buffer, 2)) return (false, 0);
        uint256 slot0 = _v4Value(pool.buffer, 0);
        uint256 liquidity = _v4Value(pool.buffer, 1);
        // An uninitialized pool has a zero price.
        if (slot0 & MASK160 == 0) return (false, 0);
        _push(out, OK | (((slot0 >> 160) & 0xffffff) << 160) | (slot0 & MASK160));
        // lpFee << 24 | protocolFee, as packed in slot0 above the tick.
        _push(out, (((slot0 >> 184) & 0xffffffffffff) << 128) | (liquidity & ((1 << 128) - 1)));
        return (true, int256(int24(uint24(slot0 >> 160))));
    }

    /// @dev Read `n` bitmap words from `first` in one call; append each non-zero one (position,
    ///      bitmap, the liquidityNet of its set ticks) and return how many there were.
    function _readV4BitmapWords(Words memory out, V4Pool memory pool, int256 first, uint256 n)
        private
        view
        returns (bool, uint256 nonZero)
    {
        uint256 bitmapSlot = pool.stateSlot + V4_BITMAP_OFFSET;
        for (uint256 i = 0; i < n; i++) {
            _setV4Slot(pool.buffer, i, _mapSlot(uint256(first + int256(i)), bitmapSlot));
        }
        if (!_extsloadMany(pool.manager, pool.buffer, n)) return (false, 0);
        // Positions, bitmaps and room for the ticks first: the buffer is reused for the ticks.
        uint256 wordsAt = out.length;
        for (uint256 i = 0; i < n; i++) {
            uint256 bitmap = _v4Value(pool.buffer, i);
            if (bitmap == 0) continue;
            nonZero += 1;
            _push(out, uint256(first + int256(i)));
            _push(out, bitmap);
            for (uint256 k = _popcount(bitmap); k > 0; k--) {
                _push(out, 0);
            }
        }
        return (_fillV4Ticks(out, pool, wordsAt), nonZero);
    }

    /// @dev Fill the tick room of the words appended from `cursor` on with each tick's liquidityNet,
    ///      up to V4_BATCH ticks per call.
    function _fillV4Ticks(Words memory out, V4Pool memory pool, uint256 cursor) private view returns (bool) {
        uint256 ticksSlot = pool.stateSlot + V4_TICKS_OFFSET;
        uint256 pending = 0;
        while (cursor < out.length) {
            int256 firstTick = int256(out.data[cursor]) * 256 * pool.spacing;
            uint256 bitmap = out.data[cursor + 1];
            cursor += 2;
            // Set bits only, lowest first: a word has a handful of ticks among 256 bits.
            for (; bitmap != 0; bitmap &= bitmap - 1) {
                if (pending == V4_BATCH) {
                    if (!_flushV4Ticks(out, pool, pending)) return false;
                    pending = 0;
                }
                int256 tick = firstTick + int256(_lowestBit(bitmap)) * pool.spacing;
                _setV4Slot(pool.buffer, pending, _mapSlot(uint256(tick), ticksSlot));
                pool.targets[pending] = cursor;
                pending += 1;
                cursor += 1;
            }
        }
        return pending == 0 || _flushV4Ticks(out, pool, pending);
    }

    function _flushV4Ticks(Words memory out, V4Pool memory pool, uint256 pending) private view returns (bool) {
        if (!_extsloadMany(pool.manager, pool.buffer, pending)) return false;
        for (uint256 k = 0; k < pending; k++) {
            // TickInfo's first slot: liquidityGross (low 128 bits), liquidityNet (high 128).
            out.data[pool.targets[k]] = uint256(int256(int128(uint128(_v4Value(pool.buffer, k) >> 128))));
        }
        return true;
    }

    /// @dev keccak256(abi.encode(key, slot)) hashed in scratch memory (nothing allocated).
    function _mapSlot(uint256 key, uint256 slot) private pure returns (uint256 result) {
        assembly ("memory-safe") {
            mstore(0, key)
            mstore(0x20, slot)
            result := keccak256(0, 0x40)
        }
    }

    function _setV4Slot(uint256 buffer, uint256 index, uint256 slot) private pure {
        assembly ("memory-safe") {
            mstore(add(buffer, add(68, shl(5, index))), slot)
        }
    }

    function _v4Value(uint256 buffer, uint256 index) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := mload(add(buffer, add(68, shl(5, index))))
        }
    }

    /// @dev extsload(bytes32[]) of the `n` slots set in `buffer`; each value replaces its slot.
    function _extsloadMany(address manager, uint256 buffer, uint256 n) private view returns (bool ok) {
        bytes4 selector = EXTSLOAD_MANY;
        assembly ("memory-safe") {
            mstore(buffer, selector)
            mstore(add(buffer, 4), 0x20)
            mstore(add(buffer, 36), n)
            let size := add(64, shl(5, n))
            // The answer (offset, length, values) is written 4 bytes in: the values over the slots.
            ok := staticcall(add(20000, mul(n, 3000)), manager, buffer, add(4, size), add(buffer, 4), size)
            if iszero(eq(returndatasize(), size)) { ok := 0 }
            if iszero(eq(mload(add(buffer, 4)), 0x20)) { ok := 0 }
            if iszero(eq(mload(add(buffer, 36)), n)) { ok := 0 }
        }
    }

    function _popcount(uint256 bitmap) private pure returns (uint256 count) {
        unchecked {
            for (; bitmap != 0; bitmap &= bitmap - 1) {
                count += 1;
            }
        }
    }

    /// @dev Index of the lowest set bit of a non-zero word (binary search, as Uniswap's BitMath).
    function _lowestBit(uint256 x) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            x := and(x, add(not(x), 1))
            r := shl(7, lt(0xffffffffffffffffffffffffffffffff, x))
            r := or(r, shl(6, lt(0xffffffffffffffff, shr(r, x))))
            r := or(r, shl(5, lt(0xffffffff, shr(r, x))))
            r := or(r, shl(4, lt(0xffff, shr(r, x))))
            r := or(r, shl(3, lt(0xff, shr(r, x))))
            r := or(r, shl(2, lt(0xf, shr(r, x))))
            r := or(r, shl(1, lt(0x3, shr(r, x))))
            r := or(r, lt(0x1, shr(r, x)))
        }
    }

    /// @dev True when `word` is a correctly sign-extended integer of (byteIndex + 1) bytes.
    function _isInt(uint256 word, uint256 byteIndex) private pure returns (bool result) {
        assembly ("memory-safe") {
            result := eq(signextend(byteIndex, word), word)
        }
    }
}
