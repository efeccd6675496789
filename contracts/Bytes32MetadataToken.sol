// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20Base} from "./ERC20Base.sol";

/// @title Bytes32MetadataToken
/// @notice An ERC20 whose `name()` and `symbol()` return `bytes32` instead of
///         `string`, like MKR and other early tokens. Used to test metadata decoding.
contract Bytes32MetadataToken is ERC20Base {
    bytes32 public name;
    bytes32 public symbol;
    uint8 public decimals;

    constructor(bytes32 name_, bytes32 symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    /// @notice Create `amount` new tokens for `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
