// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ReaderBase} from "./ReaderBase.sol";

interface IV2FactoryReads {
    function allPairs(uint256 index) external view returns (address);
    function allPairsLength() external view returns (uint256);
}

interface ISolidlyFactoryReads {
    function allPools(uint256 index) external view returns (address);
    function allPoolsLength() external view returns (uint256);
}

interface IPairReads {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function stable() external view returns (bool);
}

/// @title PoolListReader
/// @notice Deployless batch reader of a factory's pool list (see ReaderBase):
///         the pools at indexes [start, end) and their tokens, in one round trip.
///         Never deployed.
///
/// kind 0 reads a Uniswap V2-style factory (allPairs/allPairsLength); kind 1 a
/// Solidly-style factory (allPools/allPoolsLength), also reading each pool's
/// stable flag. `end` is clamped to the factory's current length.
///
/// Output words: block number, the factory's pool count, then per index
///   ok << 255 | stableOk << 254 | stable << 253 | pool address,
///   token0, token1 (zero when unreadable; ok means the pool and both tokens were read).
contract PoolListReader is ReaderBase {
    uint256 private constant MASK160 = (1 << 160) - 1;

    constructor(address factory, uint256 kind, uint256 start, uint256 end) {
        bytes4 lengthSelector =
            kind == 0 ? IV2FactoryReads.allPairsLength.selector : ISolidlyFactoryReads.allPoolsLength.selector;
        bytes4 itemSelector = kind == 0 ? IV2FactoryReads.allPairs.selector : ISolidlyFactoryReads.allPools.selector;
        (bool ok, uint256 total,) = _read(factory, lengthSelector, 0, 0, 0, 32);
        if (!ok) total = 0;
        if (end > total) end = total;
        if (start > end) start = end;

        Words memory out = _newWords(2 + (end - start) * 3);
        _push(out, block.number);
        _push(out, total);
        for (uint256 i = start; i < end; i++) {
            _readPool(out, factory, itemSelector, i, kind == 1);
        }
        _finish(out);
    }

    function _readPool(Words memory out, address factory, bytes4 itemSelector, uint256 index, bool solidly)
        private
        view
    {
        (bool ok, uint256 pool,) = _read(factory, itemSelector, index, 0, 1, 32);
        if (!ok || pool > MASK160 || pool == 0) {
            _push(out, 0);
            _push(out, 0);
            _push(out, 0);
            return;
        }
        address target = address(uint160(pool));
        (bool ok0, uint256 token0,) = _read(target, IPairReads.token0.selector, 0, 0, 0, 32);
        (bool ok1, uint256 token1,) = _read(target, IPairReads.token1.selector, 0, 0, 0, 32);
        uint256 head = pool;
        if (ok0 && ok1 && token0 <= MASK160 && token1 <= MASK160) {
            head |= 1 << 255;
        } else {
            (token0, token1) = (0, 0);
        }
        if (solidly) {
            (bool okStable, uint256 isStable,) = _read(target, IPairReads.stable.selector, 0, 0, 0, 32);
            if (okStable && isStable <= 1) {
                head |= (1 << 254) | (isStable << 253);
            }
        }
        _push(out, head);
        _push(out, token0);
        _push(out, token1);
    }
}
