// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

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
/// @notice Deployless batch reader of pool states (see ReaderBase for the idea). Never
///         deployed. Unlike the other readers it always answers through the revert data
///         of `BatchResult(uint256[])`: returned code would cost 200 gas per byte of
///         code deposit (up to 4.9M gas for 24 KB), revert data costs nothing.
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
///    Bits 200-223: the pool's tick spacing (int24) when the caller knows it (it is
///    immutable, and announced at creation); zero reads tickSpacing().
///
///  - v4Pools: two words per Uniswap V4 pool: the PoolManager in bits 0-159, the
///    tick-bitmap word range in bits 160-191 and the relative flag in bit 192 (as
///    for V3), the key's tick spacing (int24) in bits 200-223; then the pool id.
///
/// Output words, in order:
///  - block number;
///  - how many pools were read, in input order (V2, Solidly, V3, V4): all of them unless
///    the gas ran short, and then those left out are for another call. Every read is made
///    only with enough gas left for it and for handing the words back, so a call that
///    holds more than the node lets it spend still answers, and a pool is never reported
///    unreadable merely because the batch ran out of gas;
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
/// Only the first two words of slot0 and ticks() are copied, so Uniswap's, PancakeSwap's
/// and Slipstream's (whose later fields differ) all work.
///
/// Gas: what a pool costs is its cold storage (the protocol's getters: a V3 `ticks()` reads
/// its whole 4-slot struct, Slipstream's 6) plus a few hundred gas of the reader's own
/// work. The output stream is the last thing in memory and grows in place: nothing is
/// copied or reallocated, so memory costs stay near linear up to 500 pools.
contract PoolStateReader {
    error BatchResult(uint256[] words);

    uint256 private constant OK = 1 << 255;
    uint256 private constant MASK112 = (1 << 112) - 1;
    uint256 private constant MASK160 = (1 << 160) - 1;
    int256 private constant MAX_WORDS_PER_POOL = 4096;
    uint256 private constant CALL_GAS = 150000;
    // Kept back to hand the words read so far back when the gas runs short.
    uint256 private constant GAS_RESERVE = 30000;

    /// @dev The output stream and the call buffers every read reuses, allocated once before
    ///      the stream: word i of the stream is at `base + 32 * i`.
    struct Out {
        uint256 length;
        uint256 base;
        // Call data and answers: a selector and two arguments, or an extsload(bytes32[]) call
        // of up to V4_BATCH slots (selector, offset, length, slots).
        uint256 buffer;
        // Uniswap V4: the stream index each pending tick value goes to (V4_BATCH words).
        uint256 targets;
        // Set when a read was not made for lack of gas: the batch stops there.
        bool starved;
    }

    /// @dev The Uniswap V4 pool being read.
    struct V4Pool {
        address manager;
        uint256 stateSlot;
        int256 spacing;
    }

    constructor(
        address[] memory v2Pools,
        uint256[] memory solidlyPools,
        uint256[] memory v3Pools,
        uint256[] memory v4Pools
    ) {
        V4Pool memory pool = V4Pool(address(0), 0, 0);
        // Last allocation: nothing is allocated after this, the stream grows in place.
        Out memory out = _newOut();
        _push(out, block.number);
        _push(out, 0);
        uint256 done = 0;
        for (uint256 i = 0; i < v2Pools.length && !out.starved; i++) {
            uint256 mark = out.length;
            _push(out, _readV2(out, v2Pools[i]));
            done += _finishPool(out, mark);
        }
        for (uint256 i = 0; i < solidlyPools.length && !out.starved; i++) {
            uint256 mark = out.length;
            _readSolidly(out, solidlyPools[i]);
            done += _finishPool(out, mark);
        }
        for (uint256 i = 0; i < v3Pools.length && !out.starved; i++) {
            uint256 mark = out.length;
            _readV3(out, v3Pools[i]);
            done += _finishPool(out, mark);
        }
        for (uint256 i = 0; i + 1 < v4Pools.length && !out.starved; i += 2) {
            uint256 mark = out.length;
            _readV4(out, pool, v4Pools[i], bytes32(v4Pools[i + 1]));
            done += _finishPool(out, mark);
        }
        _setAt(out, 1, done);
        _finish(out);
    }

    /// @dev 1 when the pool just read counts; 0 (and its words dropped) when the gas ran short.
    function _finishPool(Out memory out, uint256 mark) private pure returns (uint256) {
        if (!out.starved) return 1;
        out.length = mark;
        return 0;
    }

    /// @dev Whether a call given `callGas` may be made and the batch still handed back after it;
    ///      otherwise the batch is marked starved (a call made short of gas would fail and
    ///      mark a healthy pool unreadable).
    function _canCall(Out memory out, uint256 callGas) private view returns (bool) {
        // 64/63 of the call's gas (EIP-150), the call itself, and the revert that ends the batch.
        if (gasleft() > callGas + callGas / 63 + GAS_RESERVE) return true;
        out.starved = true;
        return false;
    }

    // --- the output stream ------------------------------------------------------------

    function _newOut() private pure returns (Out memory out) {
        uint256 free;
        assembly {
            free := mload(0x40)
        }
        out.buffer = free;
        out.targets = free + 96 + 32 * V4_BATCH;
        // Three words of room before the stream for the revert's selector, offset and length.
        out.base = out.targets + 32 * V4_BATCH + 96;
        assembly {
            mstore(0x40, mload(add(out, 32)))
        }
    }

    function _push(Out memory out, uint256 word) private pure {
        assembly {
            let n := mload(out)
            mstore(add(mload(add(out, 32)), shl(5, n)), word)
            mstore(out, add(n, 1))
        }
    }

    function _at(Out memory out, uint256 index) private pure returns (uint256 word) {
        assembly {
            word := mload(add(mload(add(out, 32)), shl(5, index)))
        }
    }

    function _setAt(Out memory out, uint256 index, uint256 word) private pure {
        assembly {
            mstore(add(mload(add(out, 32)), shl(5, index)), word)
        }
    }

    /// @dev Revert with BatchResult(words): the stream with its ABI head written in front.
    function _finish(Out memory out) private pure {
        bytes4 selector = BatchResult.selector;
        assembly {
            let base := mload(add(out, 32))
            let n := mload(out)
            let start := sub(base, 68)
            mstore(start, selector)
            mstore(sub(base, 64), 0x20)
            mstore(sub(base, 32), n)
            revert(start, add(68, shl(5, n)))
        }
    }

    /// @dev Static call with up to two words of arguments; returns the first two words of the
    ///      answer (only those are copied), and ok=false when the call failed or returned
    ///      fewer than `minSize` bytes.
    function _read(Out memory out, address target, uint256 request, uint256 arg0, uint256 minSize)
        private
        view
        returns (bool ok, uint256 w0, uint256 w1)
    {
        if (!_canCall(out, CALL_GAS)) return (false, 0, 0);
        // `request`: the selector in its top 4 bytes, the argument count in its lowest byte.
        assembly {
            let p := mload(add(out, 64))
            mstore(p, request)
            mstore(add(p, 4), arg0)
            ok := staticcall(CALL_GAS, target, p, add(4, shl(5, and(request, 0xff))), p, 64)
            if lt(returndatasize(), minSize) { ok := 0 }
            w0 := mload(p)
            w1 := mload(add(p, 32))
        }
        if (!ok) {
            (w0, w1) = (0, 0);
        }
    }

    /// @dev A selector with its argument count, as `_read` takes them.
    function _sel(bytes4 selector, uint256 nArgs) private pure returns (uint256) {
        return uint256(bytes32(selector)) | nArgs;
    }

    // --- V2 and Solidly ---------------------------------------------------------------

    function _readV2(Out memory out, address pool) private view returns (uint256) {
        (bool ok, uint256 r0, uint256 r1) = _read(out, pool, _sel(IV2Reads.getReserves.selector, 0), 0, 64);
        if (!ok || r0 > MASK112 || r1 > MASK112) return 0;
        return OK | (r0 << 112) | r1;
    }

    function _readSolidly(Out memory out, uint256 entry) private view {
        address pool = address(uint160(entry & MASK160));
        (bool ok, uint256 r0, uint256 r1) = _read(out, pool, _sel(IV2Reads.getReserves.selector, 0), 0, 64);
        if (!ok) {
            _push(out, 0);
            return;
        }
        uint256 head = OK;
        if ((entry >> 160) & 1 == 1) {
            head |= _readSolidlyFee(out, pool);
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
    function _readSolidlyFee(Out memory out, address pool) private view returns (uint256) {
        (bool ok, uint256 isStable,) = _read(out, pool, _sel(ISolidlyReads.stable.selector, 0), 0, 32);
        if (!ok || isStable > 1) return 0;
        uint256 factory;
        (ok, factory,) = _read(out, pool, _sel(ISolidlyReads.factory.selector, 0), 0, 32);
        if (!ok || factory > MASK160) return 0;
        uint256 fee;
        // The second argument goes in first: `_read` writes the selector and the first one.
        uint256 buffer = out.buffer;
        assembly {
            mstore(add(buffer, 36), isStable)
        }
        (ok, fee,) = _read(out, address(uint160(factory)), _sel(ISolidlyReads.getFee.selector, 2), uint256(uint160(pool)), 32);
        if (!ok || fee > 0xffff) return 0;
        return (1 << 254) | (isStable << 253) | (fee << 224);
    }

    // --- the V3 family: Uniswap V3, PancakeSwap V3, Slipstream ---------------------------

    function _readV3(Out memory out, uint256 entry) private view {
        uint256 mark = out.length;
        if (!_tryReadV3(out, entry)) {
            // Drop whatever this pool had written and leave a single failed head.
            out.length = mark;
            _push(out, 0);
        }
    }

    function _tryReadV3(Out memory out, uint256 entry) private view returns (bool) {
        address pool = address(uint160(entry & MASK160));
        (bool ok, int256 spacing, int256 tick) = _readV3Head(out, pool, entry);
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
        _setAt(out, countAt, nonZero | ((uint256(wordLo) & 0xffff) << 16) | ((uint256(wordHi) & 0xffff) << 32));
        return true;
    }

    /// @dev Append a non-zero bitmap word (position, bitmap, liquidityNet per set bit).
    function _readBitmapWord(Out memory out, address pool, int256 wordPos, int256 spacing)
        private
        view
        returns (bool ok, bool initialized)
    {
        uint256 bitmap;
        (ok, bitmap,) = _read(out, pool, _sel(IV3Reads.tickBitmap.selector, 1), uint256(wordPos), 32);
        if (!ok || bitmap == 0) return (ok, false);
        _push(out, uint256(wordPos));
        _push(out, bitmap);
        int256 firstTick = wordPos * 256 * spacing;
        // Set bits only, lowest first: a word has a handful of ticks among 256 bits.
        for (; bitmap != 0; bitmap &= bitmap - 1) {
            uint256 net;
            (ok,, net) = _read(
                out, pool, _sel(IV3Reads.ticks.selector, 1), uint256(firstTick + int256(_lowestBit(bitmap)) * spacing), 64
            );
            if (!ok || !_isInt(net, 15)) return (false, true);
            _push(out, net);
        }
        return (true, true);
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
    function _readV3Head(Out memory out, address pool, uint256 entry) private view returns (bool, int256, int256) {
        (bool ok, uint256 sqrtPrice, uint256 tickWord) = _read(out, pool, _sel(IV3Reads.slot0.selector, 0), 0, 64);
        if (!ok || sqrtPrice > MASK160 || !_isInt(tickWord, 2)) return (false, 0, 0);
        uint256 liquidity;
        (ok, liquidity,) = _read(out, pool, _sel(IV3Reads.liquidity.selector, 0), 0, 32);
        if (!ok || liquidity >= (1 << 128)) return (false, 0, 0);
        uint256 spacingWord = uint256(int256(int24(uint24(entry >> 200))));
        if (spacingWord == 0) {
            (ok, spacingWord,) = _read(out, pool, _sel(IV3Reads.tickSpacing.selector, 0), 0, 32);
            if (!ok || !_isInt(spacingWord, 2)) return (false, 0, 0);
        }
        if (int256(spacingWord) <= 0) return (false, 0, 0);
        uint256 feeBits = 0;
        if ((entry >> 193) & 1 == 1) {
            uint256 fee;
            (ok, fee,) = _read(out, pool, _sel(IV3Reads.fee.selector, 0), 0, 32);
            if (!ok || fee > 0xffffff) return (false, 0, 0);
            feeBits = OK | (fee << 160);
        }
        _push(out, OK | ((tickWord & 0xffffff) << 160) | sqrtPrice);
        _push(out, feeBits | ((spacingWord & 0xffffff) << 128) | liquidity);
        return (true, int256(spacingWord), int256(tickWord));
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

    function _readV4(Out memory out, V4Pool memory pool, uint256 entry, bytes32 id) private view {
        uint256 mark = out.length;
        pool.manager = address(uint160(entry & MASK160));
        pool.stateSlot = _mapSlot(uint256(id), V4_POOLS_SLOT);
        pool.spacing = int256(int24(uint24(entry >> 200)));
        if (!_tryReadV4(out, pool, entry)) {
            out.length = mark;
            _push(out, 0);
        }
    }

    function _tryReadV4(Out memory out, V4Pool memory pool, uint256 entry) private view returns (bool) {
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
        _setAt(out, countAt, nonZero | ((uint256(wordLo) & 0xffff) << 16) | ((uint256(wordHi) & 0xffff) << 32));
        return true;
    }

    /// @dev Append the price/tick word and the fees/liquidity word of a V4 pool (one call).
    function _readV4Head(Out memory out, V4Pool memory pool) private view returns (bool, int256) {
        uint256 buffer = out.buffer;
        _setV4Slot(buffer, 0, pool.stateSlot);
        _setV4Slot(buffer, 1, pool.stateSlot + V4_LIQUIDITY_OFFSET);
        if (!_extsloadMany(out, pool.manager, buffer, 2)) return (false, 0);
        uint256 slot0 = _v4Value(buffer, 0);
        uint256 liquidity = _v4Value(buffer, 1);
        // An uninitialized pool has a zero price.
        if (slot0 & MASK160 == 0) return (false, 0);
        _push(out, OK | (((slot0 >> 160) & 0xffffff) << 160) | (slot0 & MASK160));
        // lpFee << 24 | protocolFee, as packed in slot0 above the tick.
        _push(out, (((slot0 >> 184) & 0xffffffffffff) << 128) | (liquidity & ((1 << 128) - 1)));
        return (true, int256(int24(uint24(slot0 >> 160))));
    }

    /// @dev Read `n` bitmap words from `first` in one call; append each non-zero one (position,
    ///      bitmap, room for the liquidityNet of its set ticks) and return how many there were.
    function _readV4BitmapWords(Out memory out, V4Pool memory pool, int256 first, uint256 n)
        private
        view
        returns (bool, uint256 nonZero)
    {
        uint256 buffer = out.buffer;
        uint256 bitmapSlot = pool.stateSlot + V4_BITMAP_OFFSET;
        for (uint256 i = 0; i < n; i++) {
            _setV4Slot(buffer, i, _mapSlot(uint256(first + int256(i)), bitmapSlot));
        }
        if (!_extsloadMany(out, pool.manager, buffer, n)) return (false, 0);
        // Positions, bitmaps and room for the ticks first: the buffer is reused for the ticks.
        uint256 wordsAt = out.length;
        for (uint256 i = 0; i < n; i++) {
            uint256 bitmap = _v4Value(buffer, i);
            if (bitmap == 0) continue;
            nonZero += 1;
            _push(out, uint256(first + int256(i)));
            _push(out, bitmap);
            // The ticks' room: filled below (every slot of it is written).
            out.length += _popcount(bitmap);
        }
        return (_fillV4Ticks(out, pool, wordsAt), nonZero);
    }

    /// @dev Fill the tick room of the words appended from `cursor` on with each tick's liquidityNet,
    ///      up to V4_BATCH ticks per call.
    function _fillV4Ticks(Out memory out, V4Pool memory pool, uint256 cursor) private view returns (bool) {
        uint256 ticksSlot = pool.stateSlot + V4_TICKS_OFFSET;
        uint256 buffer = out.buffer;
        uint256 targets = out.targets;
        uint256 pending = 0;
        while (cursor < out.length) {
            int256 firstTick = int256(_at(out, cursor)) * 256 * pool.spacing;
            uint256 bitmap = _at(out, cursor + 1);
            cursor += 2;
            // Set bits only, lowest first: a word has a handful of ticks among 256 bits.
            for (; bitmap != 0; bitmap &= bitmap - 1) {
                if (pending == V4_BATCH) {
                    if (!_flushV4Ticks(out, pool, pending)) return false;
                    pending = 0;
                }
                int256 tick = firstTick + int256(_lowestBit(bitmap)) * pool.spacing;
                _setV4Slot(buffer, pending, _mapSlot(uint256(tick), ticksSlot));
                assembly {
                    mstore(add(targets, shl(5, pending)), cursor)
                }
                pending += 1;
                cursor += 1;
            }
        }
        return pending == 0 || _flushV4Ticks(out, pool, pending);
    }

    function _flushV4Ticks(Out memory out, V4Pool memory pool, uint256 pending) private view returns (bool) {
        uint256 buffer = out.buffer;
        if (!_extsloadMany(out, pool.manager, buffer, pending)) return false;
        uint256 targets = out.targets;
        for (uint256 k = 0; k < pending; k++) {
            uint256 target;
            assembly {
                target := mload(add(targets, shl(5, k)))
            }
            // TickInfo's first slot: liquidityGross (low 128 bits), liquidityNet (high 128).
            _setAt(out, target, uint256(int256(int128(uint128(_v4Value(buffer, k) >> 128)))));
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
        assembly {
            mstore(add(buffer, add(68, shl(5, index))), slot)
        }
    }

    function _v4Value(uint256 buffer, uint256 index) private pure returns (uint256 value) {
        assembly {
            value := mload(add(buffer, add(68, shl(5, index))))
        }
    }

    /// @dev extsload(bytes32[]) of the `n` slots set in `buffer`; each value replaces its slot.
    function _extsloadMany(Out memory out, address manager, uint256 buffer, uint256 n) private view returns (bool ok) {
        uint256 callGas = 20000 + n * 3000;
        if (!_canCall(out, callGas)) return false;
        bytes4 selector = EXTSLOAD_MANY;
        assembly {
            mstore(buffer, selector)
            mstore(add(buffer, 4), 0x20)
            mstore(add(buffer, 36), n)
            let size := add(64, shl(5, n))
            // The answer (offset, length, values) is written 4 bytes in: the values over the slots.
            ok := staticcall(callGas, manager, buffer, add(4, size), add(buffer, 4), size)
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
