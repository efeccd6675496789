// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// A pool that tries to rob whoever trades with it (tests only). It answers like
/// a Uniswap V3 pool (and like a V2 pair for flash swaps), names whatever tokens
/// it is told to, and in its callbacks asks for what it wants:
/// - OVERCHARGE: the input side, but `ask` of it (more than the swap's input);
/// - WRONG_SIDE: nothing on the input side, `ask` on the output side;
/// - FORGE: the input it is owed, with `forged` callback data instead of the
///   caller's (a different route, chosen by the pool);
/// - STINGY: exactly the input it is owed, paying back only 1 unit;
/// - REENTER: calls back twice.
/// - CROSS: calls back through the other family's callback (a V3 swap through
///   uniswapV2Call, a V2 swap through uniswapV3SwapCallback), with the caller's data.
/// It always sends 1 unit of the output token first, like a pool paying out.

interface IERC20Transfer {
    function transfer(address to, uint256 amount) external returns (bool);
}

interface IV3Callee {
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data)
        external;
}

interface IV2Callee {
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data)
        external;
}

contract MaliciousPool {
    uint8 public constant OVERCHARGE = 0;
    uint8 public constant WRONG_SIDE = 1;
    uint8 public constant FORGE = 2;
    uint8 public constant STINGY = 3;
    uint8 public constant REENTER = 4;
    uint8 public constant CROSS = 5;

    address public token0;
    address public token1;
    uint8 public mode;
    uint256 public ask;
    bytes public forged;

    constructor(address token0_, address token1_) {
        token0 = token0_;
        token1 = token1_;
    }

    function configure(uint8 mode_, uint256 ask_, bytes calldata forged_) external {
        mode = mode_;
        ask = ask_;
        forged = forged_;
    }

    /// Uniswap V3's swap: pay out 1 unit, then ask in the callback.
    function swap(
        address recipient,
        bool zeroForOne,
        int256 amountSpecified,
        uint160,
        bytes calldata data
    ) external returns (int256 amount0, int256 amount1) {
        IERC20Transfer(zeroForOne ? token1 : token0).transfer(recipient, 1);
        int256 input = amountSpecified;
        int256 asked = mode == OVERCHARGE ? int256(ask) : input;
        if (mode == WRONG_SIDE) {
            (amount0, amount1) = zeroForOne ? (int256(0), int256(ask)) : (int256(ask), int256(0));
        } else {
            (amount0, amount1) = zeroForOne ? (asked, int256(-1)) : (int256(-1), asked);
        }
        bytes memory payload = data;
        if (mode == FORGE) payload = forged;
        if (mode == CROSS) {
            IV2Callee(msg.sender).uniswapV2Call(msg.sender, uint256(input), 0, payload);
            return (amount0, amount1);
        }
        IV3Callee(msg.sender).uniswapV3SwapCallback(amount0, amount1, payload);
        if (mode == REENTER) {
            IV3Callee(msg.sender).uniswapV3SwapCallback(amount0, amount1, payload);
        }
    }

    /// A V2 pair's swap, for flash first hops: pay out, then call back.
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data)
        external
    {
        if (amount0Out > 0) IERC20Transfer(token0).transfer(to, 1);
        if (amount1Out > 0) IERC20Transfer(token1).transfer(to, 1);
        bytes memory payload = data;
        if (mode == FORGE) payload = forged;
        if (mode == CROSS) {
            // Owed the input side, as a V3 pool would ask for it.
            (int256 d0, int256 d1) = amount0Out > 0 ? (int256(-1), int256(ask)) : (int256(ask), int256(-1));
            IV3Callee(to).uniswapV3SwapCallback(d0, d1, payload);
            return;
        }
        IV2Callee(to).uniswapV2Call(to, amount0Out, amount1Out, payload);
    }

    /// Reserves that make any quote look generous.
    function getReserves() external pure returns (uint112, uint112, uint32) {
        return (1, type(uint112).max, 0);
    }
}
