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
///    the bitmap, and the liquidityNet (int256) of each set bit in ascending order.
///
/// Only the first two words of slot0 are decoded, so Uniswap's and PancakeSwap's
/// slot0 (whose last field differs) both work.
contract PoolStateReader is ReaderBase {
    uint256 private constant OK = 1 << 255;
    uint256 private constant MASK112 = (1 << 112) - 1;
    uint256 private constant MASK160 = (1 << 160) - 1;
    int256 private constant MAX_WORDS_PER_POOL = 4096;

    constructor(address[] memory v2Pools, uint256[] memory solidlyPools, uint256[] memory v3Pools) {
        Words memory out = _newWords(1 + v2Pools.length + solidlyPools.length + v3Pools.length * 8);
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

    /// @dev True when `word` is a correctly sign-extended integer of (byteIndex + 1) bytes.
    function _isInt(uint256 word, uint256 byteIndex) private pure returns (bool result) {
        assembly ("memory-safe") {
            result := eq(signextend(byteIndex, word), word)
        }
    }
}
