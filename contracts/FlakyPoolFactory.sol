// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title FlakyPoolFactory
/// @notice Test factory listing existing pools under both the V2 (`allPairs`) and
///         the Solidly (`allPools`) names, whose entry reads revert at the indexes
///         marked broken: discovery must remember those and retry them.
/// @dev    Not an imitation of a protocol: the pools it lists are the real ones
///         (Uniswap V2 pairs, Aerodrome pools). It exists because no real factory
///         can be made to fail on one entry of its list and recover later.
contract FlakyPoolFactory {
    address[] private _pools;
    mapping(uint256 => bool) public broken;

    function add(address pool) external {
        _pools.push(pool);
    }

    function setBroken(uint256 index, bool value) external {
        broken[index] = value;
    }

    function allPairs(uint256 index) external view returns (address) {
        return _entry(index);
    }

    function allPools(uint256 index) external view returns (address) {
        return _entry(index);
    }

    function allPairsLength() external view returns (uint256) {
        return _pools.length;
    }

    function allPoolsLength() external view returns (uint256) {
        return _pools.length;
    }

    function _entry(uint256 index) private view returns (address) {
        require(!broken[index], "entry unavailable");
        return _pools[index];
    }
}
