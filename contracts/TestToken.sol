// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20Base} from "./ERC20Base.sol";

/// @title TestToken
/// @notice A plain ERC20 for local chains: metadata fixed at deployment and an open
///         `mint` so tests and the demo market can fund any account.
contract TestToken is ERC20Base {
    string public name;
    string public symbol;
    uint8 public decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    /// @notice Create `amount` new tokens for `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
