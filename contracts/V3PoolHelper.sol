// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IV3Pool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external
        returns (uint256 amount0, uint256 amount1);
    function swap(
        address recipient,
        bool zeroForOne,
        int256 amountSpecified,
        uint160 sqrtPriceLimitX96,
        bytes calldata data
    ) external returns (int256 amount0, int256 amount1);
}

/// @title V3PoolHelper
/// @notice Adds liquidity to and swaps on Uniswap V3-family pools (Uniswap V3,
///         Slipstream, PancakeSwap V3) from an externally owned
///         account: pools pay through callbacks, which an EOA cannot answer, so this
///         contract answers them by pulling the owed tokens from the caller with
///         `transferFrom` (approve this helper first).
contract V3PoolHelper {
    error UnexpectedCallback();
    error TransferFailed();

    uint160 internal constant MIN_SQRT_RATIO = 4295128739;
    uint160 internal constant MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342;

    // The pool a callback may come from and who pays it; set only for the duration of a call
    // so that no other contract can make this helper spend a caller's allowance.
    address private _activePool;
    address private _payer;

    /// @notice Add `liquidity` to [tickLower, tickUpper) in `pool`; the position belongs to the caller.
    function mint(address pool, int24 tickLower, int24 tickUpper, uint128 liquidity)
        external
        returns (uint256 amount0, uint256 amount1)
    {
        _activePool = pool;
        _payer = msg.sender;
        (amount0, amount1) = IV3Pool(pool).mint(msg.sender, tickLower, tickUpper, liquidity, "");
        _activePool = address(0);
        _payer = address(0);
    }

    /// @notice Swap exactly `amountIn` of the input token; a zero `sqrtPriceLimitX96` means no limit.
    /// @return amount0 Pool's token0 delta (positive: paid in, negative: paid out).
    /// @return amount1 Pool's token1 delta.
    function swapExactInput(
        address pool,
        bool zeroForOne,
        uint256 amountIn,
        uint160 sqrtPriceLimitX96,
        address recipient
    ) external returns (int256 amount0, int256 amount1) {
        if (sqrtPriceLimitX96 == 0) {
            sqrtPriceLimitX96 = zeroForOne ? MIN_SQRT_RATIO + 1 : MAX_SQRT_RATIO - 1;
        }
        _activePool = pool;
        _payer = msg.sender;
        (amount0, amount1) = IV3Pool(pool).swap(recipient, zeroForOne, int256(amountIn), sqrtPriceLimitX96, "");
        _activePool = address(0);
        _payer = address(0);
    }

    function uniswapV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata) external {
        _payOwed(amount0Owed, amount1Owed);
    }

    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata) external {
        _payOwed(_positive(amount0Delta), _positive(amount1Delta));
    }

    /// @dev PancakeSwap V3 names its callbacks after itself; same duties.
    function pancakeV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata) external {
        _payOwed(amount0Owed, amount1Owed);
    }

    function pancakeV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata) external {
        _payOwed(_positive(amount0Delta), _positive(amount1Delta));
    }

    function _payOwed(uint256 amount0, uint256 amount1) internal {
        if (msg.sender != _activePool) revert UnexpectedCallback();
        if (amount0 > 0) _pull(IV3Pool(msg.sender).token0(), amount0);
        if (amount1 > 0) _pull(IV3Pool(msg.sender).token1(), amount1);
    }

    function _positive(int256 delta) internal pure returns (uint256) {
        return delta > 0 ? uint256(delta) : 0;
    }

    function _pull(address token, uint256 amount) internal {
        (bool ok, bytes memory ret) =
            token.call(abi.encodeWithSelector(0x23b872dd, _payer, msg.sender, amount));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }
}
