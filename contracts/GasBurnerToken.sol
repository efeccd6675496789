// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20Base} from "./ERC20Base.sol";

/// @title GasBurnerToken
/// @notice A hostile ERC20 whose `name()`, `symbol()` and `decimals()` loop until
///         they run out of gas. Transfers work, so pools can be made with it. Used
///         to test that metadata reads cap the gas of each call and that discovery
///         keeps going past such tokens.
contract GasBurnerToken is ERC20Base {
    function name() external view returns (string memory) {
        _spin();
        return "";
    }

    function symbol() external view returns (string memory) {
        _spin();
        return "";
    }

    function decimals() external view returns (uint8) {
        _spin();
        return 18;
    }

    /// @notice Create `amount` new tokens for `to`. Open to anyone: test use only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _spin() private view {
        uint256 x = block.number;
        while (x != 0) {
            x = uint256(keccak256(abi.encode(x)));
        }
    }
}
