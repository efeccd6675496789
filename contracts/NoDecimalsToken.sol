// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20Base} from "./ERC20Base.sol";

/// @title NoDecimalsToken
/// @notice An ERC20 without a `decimals()` function (it is optional in EIP-20).
///         Used to test that metadata readers report it instead of failing.
contract NoDecimalsToken is ERC20Base {
    string public name;
    string public symbol;

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
    }

    /// @notice Create `amount` new tokens for `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
