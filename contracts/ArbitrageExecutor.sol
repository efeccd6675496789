// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Listonian's executor: runs a cycle of swaps across Uniswap V2-family, Uniswap
/// V3-family and Solidly (Aerodrome-style) pools in one transaction, and reverts
/// unless the executor ends with at least `minProfit` more of the start token
/// than it had before.
///
/// The input is either taken from the executor's own balance or borrowed through
/// a flash swap of the first pool: that pool sends its output first, the
/// remaining hops run inside its callback, and the pool is repaid with the input
/// before the callback returns. Every callback checks that its caller is the
/// pool the executor is calling at that moment, so no one else can make the
/// executor pay. Only the owner can trade or move funds.

interface IERC20Minimal {
    function balanceOf(address account) external view returns (uint256);
}

interface IUniswapV2PairLike {
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 time);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
    function token0() external view returns (address);
    function token1() external view returns (address);
}

interface ISolidlyPoolLike {
    function getAmountOut(uint256 amountIn, address tokenIn) external view returns (uint256);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
    function token0() external view returns (address);
    function token1() external view returns (address);
}

interface IUniswapV3PoolLike {
    function swap(
        address recipient,
        bool zeroForOne,
        int256 amountSpecified,
        uint160 sqrtPriceLimitX96,
        bytes calldata data
    ) external returns (int256 amount0, int256 amount1);
    function token0() external view returns (address);
    function token1() external view returns (address);
}

contract ArbitrageExecutor {
    uint8 internal constant KIND_UNISWAP_V2 = 0;
    uint8 internal constant KIND_UNISWAP_V3 = 1;
    uint8 internal constant KIND_SOLIDLY = 2;

    uint160 internal constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
    uint160 internal constant MAX_SQRT_RATIO_MINUS_ONE =
        1461446703485210103287273052203988822378723970341;

    /// One swap of the cycle. `zeroForOne` is the direction in the pool (token0 in,
    /// token1 out when true); `feeBps` is the V2-family fee used to compute the
    /// output from the reserves (ignored for the other kinds).
    struct Hop {
        address pool;
        uint8 kind;
        bool zeroForOne;
        uint16 feeBps;
    }

    address public immutable owner;

    // The pool whose flash-swap callback may run the rest of the cycle, and the
    // V3 pool that may ask to be paid, during the current call only.
    address private transient flashPool;
    address private transient payPool;

    event Executed(
        address indexed startToken, uint256 amountIn, uint256 profit, bool flash, uint256 hops
    );
    event Withdrawn(address indexed token, address indexed to, uint256 amount);

    error NotOwner();
    error BadPath();
    error UnexpectedCallback();
    error Unprofitable(uint256 balanceBefore, uint256 balanceAfter, uint256 minProfit);
    error TransferFailed(address token, address to, uint256 amount);
    error ZeroOutput(uint256 hop);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    /// Run `hops` starting with `amountIn` of the first hop's input token, which
    /// must also be the last hop's output token. Returns the realized profit.
    function execute(Hop[] calldata hops, uint256 amountIn, uint256 minProfit, bool flash)
        external
        onlyOwner
        returns (uint256 profit)
    {
        uint256 count = hops.length;
        if (count < 2 || count > 6 || amountIn == 0) revert BadPath();
        address startToken = _tokenIn(hops[0]);
        if (_tokenOut(hops[count - 1]) != startToken) revert BadPath();

        uint256 balanceBefore = IERC20Minimal(startToken).balanceOf(address(this));
        if (flash) {
            _flashFirstHop(hops, amountIn);
        } else {
            uint256 amount = amountIn;
            for (uint256 i = 0; i < count; i++) {
                amount = _swap(hops[i], amount, i);
            }
        }
        uint256 balanceAfter = IERC20Minimal(startToken).balanceOf(address(this));
        if (balanceAfter < balanceBefore + minProfit) {
            revert Unprofitable(balanceBefore, balanceAfter, minProfit);
        }
        profit = balanceAfter - balanceBefore;
        emit Executed(startToken, amountIn, profit, flash, count);
    }

    /// Move any token held by the executor (profit sweeps, working capital).
    function withdraw(address token, address to, uint256 amount) external onlyOwner {
        _transfer(token, to, amount);
        emit Withdrawn(token, to, amount);
    }

    /// Pay several recipients of one token in one transaction.
    function distribute(address token, address[] calldata recipients, uint256[] calldata amounts)
        external
        onlyOwner
    {
        if (recipients.length != amounts.length) revert BadPath();
        for (uint256 i = 0; i < recipients.length; i++) {
            _transfer(token, recipients[i], amounts[i]);
            emit Withdrawn(token, recipients[i], amounts[i]);
        }
    }

    // --- Flash swaps -------------------------------------------------------------

    function _flashFirstHop(Hop[] calldata hops, uint256 amountIn) private {
        Hop calldata first = hops[0];
        bytes memory data = abi.encode(hops, amountIn);
        flashPool = first.pool;
        if (first.kind == KIND_UNISWAP_V3) {
            IUniswapV3PoolLike(first.pool).swap(
                address(this), first.zeroForOne, int256(amountIn), _priceLimit(first.zeroForOne), data
            );
        } else {
            uint256 out = _quoteOut(first, amountIn);
            if (out == 0) revert ZeroOutput(0);
            (uint256 out0, uint256 out1) = first.zeroForOne ? (uint256(0), out) : (out, uint256(0));
            // V2 and Solidly pools send first and call back before checking K.
            if (first.kind == KIND_UNISWAP_V2) {
                IUniswapV2PairLike(first.pool).swap(out0, out1, address(this), data);
            } else {
                ISolidlyPoolLike(first.pool).swap(out0, out1, address(this), data);
            }
        }
        flashPool = address(0);
    }

    /// V2 flash-swap callback (also the name many V2 forks use).
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data)
        external
    {
        _pairCallback(sender, amount0, amount1, data);
    }

    /// Solidly (Aerodrome) flash-swap callback.
    function hook(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external {
        _pairCallback(sender, amount0, amount1, data);
    }

    function _pairCallback(address sender, uint256 amount0, uint256 amount1, bytes calldata data)
        private
    {
        if (msg.sender != flashPool || flashPool == address(0) || sender != address(this)) {
            revert UnexpectedCallback();
        }
        flashPool = address(0); // one callback per flash swap
        (Hop[] memory hops, uint256 amountIn) = abi.decode(data, (Hop[], uint256));
        _runRemainingHops(hops, amount0 + amount1);
        // Repay the first pool with the input: its K check then passes exactly as
        // if the input had been paid up front.
        _transfer(_tokenInMemory(hops[0]), msg.sender, amountIn);
    }

    /// V3 swap callback: either a flash first hop (data carries the cycle) or a
    /// plain hop asking to be paid.
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data)
        external
    {
        address caller = msg.sender;
        if (caller == address(0)) revert UnexpectedCallback();
        if (caller == payPool) {
            payPool = address(0);
            _payV3(caller, amount0Delta, amount1Delta);
        } else if (caller == flashPool && data.length > 0) {
            flashPool = address(0);
            (Hop[] memory hops,) = abi.decode(data, (Hop[], uint256));
            uint256 received = uint256(-(hops[0].zeroForOne ? amount1Delta : amount0Delta));
            _runRemainingHops(hops, received);
            _payV3(caller, amount0Delta, amount1Delta);
        } else {
            revert UnexpectedCallback();
        }
    }

    function _runRemainingHops(Hop[] memory hops, uint256 amount) private {
        for (uint256 i = 1; i < hops.length; i++) {
            Hop memory hop = hops[i];
            amount = _swapMemory(hop, amount, i);
        }
    }

    function _payV3(address pool, int256 amount0Delta, int256 amount1Delta) private {
        if (amount0Delta > 0) {
            _transfer(IUniswapV3PoolLike(pool).token0(), pool, uint256(amount0Delta));
        } else if (amount1Delta > 0) {
            _transfer(IUniswapV3PoolLike(pool).token1(), pool, uint256(amount1Delta));
        }
    }

    // --- Plain swaps ---------------------------------------------------------------

    function _swap(Hop calldata hop, uint256 amountIn, uint256 index) private returns (uint256) {
        Hop memory copy = hop;
        return _swapMemory(copy, amountIn, index);
    }

    function _swapMemory(Hop memory hop, uint256 amountIn, uint256 index)
        private
        returns (uint256 amountOut)
    {
        if (hop.kind == KIND_UNISWAP_V3) {
            payPool = hop.pool;
            (int256 amount0, int256 amount1) = IUniswapV3PoolLike(hop.pool).swap(
                address(this), hop.zeroForOne, int256(amountIn), _priceLimit(hop.zeroForOne), ""
            );
            payPool = address(0);
            amountOut = uint256(-(hop.zeroForOne ? amount1 : amount0));
        } else {
            amountOut = _quoteOutMemory(hop, amountIn);
            if (amountOut == 0) revert ZeroOutput(index);
            _transfer(_tokenInMemory(hop), hop.pool, amountIn);
            (uint256 out0, uint256 out1) =
                hop.zeroForOne ? (uint256(0), amountOut) : (amountOut, uint256(0));
            if (hop.kind == KIND_UNISWAP_V2) {
                IUniswapV2PairLike(hop.pool).swap(out0, out1, address(this), "");
            } else {
                ISolidlyPoolLike(hop.pool).swap(out0, out1, address(this), "");
            }
        }
        if (amountOut == 0) revert ZeroOutput(index);
    }

    // --- Quotes and helpers ----------------------------------------------------------

    function _quoteOut(Hop calldata hop, uint256 amountIn) private view returns (uint256) {
        Hop memory copy = hop;
        return _quoteOutMemory(copy, amountIn);
    }

    function _quoteOutMemory(Hop memory hop, uint256 amountIn) private view returns (uint256) {
        if (hop.kind == KIND_UNISWAP_V2) {
            (uint112 r0, uint112 r1,) = IUniswapV2PairLike(hop.pool).getReserves();
            (uint256 reserveIn, uint256 reserveOut) =
                hop.zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
            uint256 amountInWithFee = amountIn * (10_000 - hop.feeBps);
            return (amountInWithFee * reserveOut) / (reserveIn * 10_000 + amountInWithFee);
        }
        if (hop.kind == KIND_SOLIDLY) {
            return ISolidlyPoolLike(hop.pool).getAmountOut(amountIn, _tokenInMemory(hop));
        }
        revert BadPath();
    }

    function _priceLimit(bool zeroForOne) private pure returns (uint160) {
        return zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE;
    }

    function _tokenIn(Hop calldata hop) private view returns (address) {
        return hop.zeroForOne
            ? IUniswapV2PairLike(hop.pool).token0()
            : IUniswapV2PairLike(hop.pool).token1();
    }

    function _tokenOut(Hop calldata hop) private view returns (address) {
        return hop.zeroForOne
            ? IUniswapV2PairLike(hop.pool).token1()
            : IUniswapV2PairLike(hop.pool).token0();
    }

    function _tokenInMemory(Hop memory hop) private view returns (address) {
        return hop.zeroForOne
            ? IUniswapV2PairLike(hop.pool).token0()
            : IUniswapV2PairLike(hop.pool).token1();
    }

    /// ERC-20 transfer that accepts tokens returning nothing (USDT-style).
    function _transfer(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok, bytes memory result) =
            token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
        if (!ok || (result.length != 0 && !abi.decode(result, (bool))) || token.code.length == 0) {
            revert TransferFailed(token, to, amount);
        }
    }
}
