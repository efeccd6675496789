// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Listonian's executor: runs a cycle of swaps across Uniswap V2-family, Uniswap
/// V3-family (Uniswap V3, Slipstream, PancakeSwap V3) and Solidly (Aerodrome-style) pools in one transaction, and reverts
/// unless the executor ends with at least `minProfit` more of the start token
/// than it had before.
///
/// The input is either taken from the executor's own balance or borrowed through
/// a flash swap of the first pool: that pool sends its output first, the
/// remaining hops run inside its callback, and the pool is repaid with the input
/// before the callback returns. Only the owner can trade or move funds.
///
/// No pool is trusted, not even one on the route: a pool chosen by the owner may
/// still be malicious or lie about itself. So:
/// - each hop names its input and output tokens; the hops must chain (each
///   output is the next input, the last output is the start token), and tokens
///   are never read from a pool;
/// - the route (hops and amount in) is committed in transient storage before
///   the first swap; a flash callback must carry exactly that route back;
/// - a swap callback is accepted only from the pool being called at that
///   moment, pays only that hop's input token, and no more than that hop's input;
/// - outputs are measured as balance changes, never taken from a pool's word;
/// - every token on the route ends with at least what the executor held before
///   (the start token with at least `minProfit` more); the executor pays no
///   other token during a trade, so nothing it holds can leave through a swap;
/// - a trade carries a deadline block and reverts once it has passed, so a
///   transaction stuck in a queue is never mined on a market that has moved.

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
    uint256 internal constant MAX_HOPS = 6;

    uint160 internal constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
    uint160 internal constant MAX_SQRT_RATIO_MINUS_ONE =
        1461446703485210103287273052203988822378723970341;

    /// One swap of the cycle. `zeroForOne` is the direction in the pool (its
    /// token0 in, token1 out when true); `feeBps` is the V2-family fee used to
    /// compute the output from the reserves (ignored for the other kinds);
    /// `tokenIn` / `tokenOut` are what the hop pays and receives.
    struct Hop {
        address pool;
        uint8 kind;
        bool zeroForOne;
        uint16 feeBps;
        address tokenIn;
        address tokenOut;
    }

    address public immutable owner;

    // During one `execute` only:
    // - the hash of the committed route (hops and amount in);
    bytes32 private transient routeHash;
    // - the pool whose flash-swap callback may run the rest of the route, and
    //   its output-token balance before it paid out;
    address private transient flashPool;
    uint256 private transient flashBalanceBefore;
    // - the V3 pool that may ask to be paid, with what and at most how much.
    address private transient payPool;
    address private transient payToken;
    uint256 private transient payMax;
    bool private transient payZeroForOne;

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
    error Expired(uint256 blockNumber, uint256 deadline);
    error BadPayment(uint256 asked, uint256 allowed);
    error TokenLoss(address token, uint256 balanceBefore, uint256 balanceAfter);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    /// Run `hops` starting with `amountIn` of the first hop's input token, which
    /// must also be the last hop's output token, no later than block `deadline`.
    /// Returns the realized profit.
    function execute(
        Hop[] calldata hops,
        uint256 amountIn,
        uint256 minProfit,
        bool flash,
        uint256 deadline
    ) external onlyOwner returns (uint256 profit) {
        if (block.number > deadline) revert Expired(block.number, deadline);
        uint256 count = hops.length;
        if (count < 2 || count > MAX_HOPS || amountIn == 0) revert BadPath();
        if (routeHash != bytes32(0)) revert UnexpectedCallback(); // no re-entry
        address startToken = hops[0].tokenIn;
        for (uint256 i = 0; i < count; i++) {
            address next = i + 1 < count ? hops[i + 1].tokenIn : startToken;
            if (hops[i].tokenOut != next || hops[i].tokenIn == hops[i].tokenOut) revert BadPath();
        }
        // Every token on the route is some hop's input.
        uint256[] memory before = new uint256[](count);
        for (uint256 i = 0; i < count; i++) {
            before[i] = IERC20Minimal(hops[i].tokenIn).balanceOf(address(this));
        }

        bytes memory route = abi.encode(hops, amountIn);
        routeHash = keccak256(route);
        if (flash) {
            _flashFirstHop(hops[0], amountIn, route);
        } else {
            (Hop[] memory copy,) = abi.decode(route, (Hop[], uint256));
            uint256 amount = amountIn;
            for (uint256 i = 0; i < count; i++) {
                amount = _swap(copy[i], amount, i);
            }
        }
        routeHash = bytes32(0);

        uint256 balanceAfter = IERC20Minimal(startToken).balanceOf(address(this));
        if (balanceAfter < before[0] + minProfit) {
            revert Unprofitable(before[0], balanceAfter, minProfit);
        }
        for (uint256 i = 1; i < count; i++) {
            uint256 held = IERC20Minimal(hops[i].tokenIn).balanceOf(address(this));
            if (held < before[i]) revert TokenLoss(hops[i].tokenIn, before[i], held);
        }
        profit = balanceAfter - before[0];
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

    function _flashFirstHop(Hop calldata first, uint256 amountIn, bytes memory route) private {
        flashPool = first.pool;
        flashBalanceBefore = _balance(first.tokenOut);
        if (first.kind == KIND_UNISWAP_V3) {
            IUniswapV3PoolLike(first.pool).swap(
                address(this), first.zeroForOne, int256(amountIn), _priceLimit(first.zeroForOne), route
            );
        } else {
            Hop memory copy = first;
            uint256 out = _quoteOut(copy, amountIn);
            if (out == 0) revert ZeroOutput(0);
            (uint256 out0, uint256 out1) = first.zeroForOne ? (uint256(0), out) : (out, uint256(0));
            // V2 and Solidly pools send first and call back before checking K.
            if (first.kind == KIND_UNISWAP_V2) {
                IUniswapV2PairLike(first.pool).swap(out0, out1, address(this), route);
            } else {
                ISolidlyPoolLike(first.pool).swap(out0, out1, address(this), route);
            }
        }
        // The callback must have run (and cleared it): a pool that skipped it
        // took nothing, but the route was not run either.
        if (flashPool != address(0)) revert UnexpectedCallback();
    }

    /// V2 flash-swap callback (also the name many V2 forks use).
    function uniswapV2Call(address sender, uint256, uint256, bytes calldata data) external {
        _pairCallback(sender, data);
    }

    /// Solidly (Aerodrome) flash-swap callback.
    function hook(address sender, uint256, uint256, bytes calldata data) external {
        _pairCallback(sender, data);
    }

    function _pairCallback(address sender, bytes calldata data) private {
        if (sender != address(this)) revert UnexpectedCallback();
        (Hop[] memory hops, uint256 amountIn) = _claimFlash(data);
        // What arrived, not what the pool says it sent.
        _runRemainingHops(hops, _balance(hops[0].tokenOut) - flashBalanceBefore);
        // Repay the first pool with the input: its K check then passes exactly as
        // if the input had been paid up front.
        _transfer(hops[0].tokenIn, msg.sender, amountIn);
    }

    /// V3 swap callback (Uniswap V3 and Slipstream): either a flash first hop
    /// (data carries the committed route) or a plain hop asking to be paid its input.
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data)
        external
    {
        _v3Callback(amount0Delta, amount1Delta, data);
    }

    /// PancakeSwap V3's name for the same callback; the same checks apply.
    function pancakeV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data)
        external
    {
        _v3Callback(amount0Delta, amount1Delta, data);
    }

    function _v3Callback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) private {
        address caller = msg.sender;
        if (caller == address(0)) revert UnexpectedCallback();
        if (caller == payPool) {
            address token = payToken;
            uint256 allowed = payMax;
            payPool = address(0);
            payToken = address(0);
            payMax = 0;
            // The direction is ours, not the pool's word: it is owed the input side only.
            int256 owed = payZeroForOne ? amount0Delta : amount1Delta;
            if (owed <= 0 || uint256(owed) > allowed) revert BadPayment(uint256(owed), allowed);
            _transfer(token, caller, uint256(owed));
        } else if (caller == flashPool) {
            (Hop[] memory hops, uint256 amountIn) = _claimFlash(data);
            int256 owed = hops[0].zeroForOne ? amount0Delta : amount1Delta;
            if (owed <= 0 || uint256(owed) > amountIn) revert BadPayment(uint256(owed), amountIn);
            uint256 received = _balance(hops[0].tokenOut) - flashBalanceBefore;
            _runRemainingHops(hops, received);
            _transfer(hops[0].tokenIn, caller, uint256(owed));
        } else {
            revert UnexpectedCallback();
        }
    }

    /// Accept a flash callback once: from the flash pool, carrying the committed route.
    function _claimFlash(bytes calldata data)
        private
        returns (Hop[] memory hops, uint256 amountIn)
    {
        address pool = flashPool;
        if (msg.sender != pool || pool == address(0) || keccak256(data) != routeHash) {
            revert UnexpectedCallback();
        }
        flashPool = address(0); // one callback per flash swap
        (hops, amountIn) = abi.decode(data, (Hop[], uint256));
    }

    /// Run hops 1.. starting with `amount`, what hop 0 delivered.
    function _runRemainingHops(Hop[] memory hops, uint256 amount) private {
        if (amount == 0) revert ZeroOutput(0);
        for (uint256 i = 1; i < hops.length; i++) {
            amount = _swap(hops[i], amount, i);
        }
    }

    // --- Plain swaps ---------------------------------------------------------------

    function _swap(Hop memory hop, uint256 amountIn, uint256 index)
        private
        returns (uint256 amountOut)
    {
        uint256 before = _balance(hop.tokenOut);
        if (hop.kind == KIND_UNISWAP_V3) {
            payPool = hop.pool;
            payToken = hop.tokenIn;
            payMax = amountIn;
            payZeroForOne = hop.zeroForOne;
            IUniswapV3PoolLike(hop.pool).swap(
                address(this), hop.zeroForOne, int256(amountIn), _priceLimit(hop.zeroForOne), ""
            );
            // A pool that never called back was paid nothing.
            payPool = address(0);
        } else {
            uint256 quoted = _quoteOut(hop, amountIn);
            if (quoted == 0) revert ZeroOutput(index);
            _transfer(hop.tokenIn, hop.pool, amountIn);
            (uint256 out0, uint256 out1) =
                hop.zeroForOne ? (uint256(0), quoted) : (quoted, uint256(0));
            if (hop.kind == KIND_UNISWAP_V2) {
                IUniswapV2PairLike(hop.pool).swap(out0, out1, address(this), "");
            } else {
                ISolidlyPoolLike(hop.pool).swap(out0, out1, address(this), "");
            }
        }
        // What arrived, not what the pool says it sent.
        amountOut = _balance(hop.tokenOut) - before;
        if (amountOut == 0) revert ZeroOutput(index);
    }

    // --- Quotes and helpers ----------------------------------------------------------

    function _quoteOut(Hop memory hop, uint256 amountIn) private view returns (uint256) {
        if (hop.kind == KIND_UNISWAP_V2) {
            (uint112 r0, uint112 r1,) = IUniswapV2PairLike(hop.pool).getReserves();
            (uint256 reserveIn, uint256 reserveOut) =
                hop.zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
            uint256 amountInWithFee = amountIn * (10_000 - hop.feeBps);
            return (amountInWithFee * reserveOut) / (reserveIn * 10_000 + amountInWithFee);
        }
        if (hop.kind == KIND_SOLIDLY) {
            return ISolidlyPoolLike(hop.pool).getAmountOut(amountIn, hop.tokenIn);
        }
        revert BadPath();
    }

    function _priceLimit(bool zeroForOne) private pure returns (uint160) {
        return zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE;
    }

    function _balance(address token) private view returns (uint256) {
        return IERC20Minimal(token).balanceOf(address(this));
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
