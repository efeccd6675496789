// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20Base} from "./ERC20Base.sol";

interface ISolidlyFactory {
    function getFee(address pool, bool stable) external view returns (uint256);
    function isPaused() external view returns (bool);
}

interface ISolidlyPoolCallee {
    function hook(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external;
}

interface IERC20Metadata {
    function decimals() external view returns (uint8);
    function balanceOf(address account) external view returns (uint256);
}

/// @title SolidlyPool
/// @notice An Aerodrome/Velodrome-style pool: a volatile x*y curve or a stable
///         x^3*y + y^3*x curve, with the factory's fee taken from the input amount.
///         Everything a trading bot observes (reserves, quotes, swaps, events, fee
///         lookups) behaves as on Aerodrome: same curve maths to the wei, same
///         function and event signatures. Fee accounting for liquidity providers,
///         TWAP observations and governance hooks are left out: fees are moved out
///         of the reserves to the factory, exactly where Aerodrome moves them out
///         to its fee holder, so reserves after a swap match Aerodrome's.
contract SolidlyPool is ERC20Base {
    error DepositsNotEqual();
    error BelowMinimumK();
    error InsufficientLiquidity();
    error InsufficientLiquidityMinted();
    error InsufficientLiquidityBurned();
    error InsufficientOutputAmount();
    error InsufficientInputAmount();
    error IsPaused();
    error InvalidTo();
    error K();
    error Locked();
    error TransferFailed();

    event Fees(address indexed sender, uint256 amount0, uint256 amount1);
    event Mint(address indexed sender, uint256 amount0, uint256 amount1);
    event Burn(address indexed sender, address indexed to, uint256 amount0, uint256 amount1);
    event Swap(
        address indexed sender,
        address indexed to,
        uint256 amount0In,
        uint256 amount1In,
        uint256 amount0Out,
        uint256 amount1Out
    );
    event Sync(uint256 reserve0, uint256 reserve1);

    uint256 internal constant MINIMUM_LIQUIDITY = 10 ** 3;
    uint256 internal constant MINIMUM_K = 10 ** 10;

    string public name;
    string public symbol;
    uint8 public constant decimals = 18;

    bool public immutable stable;
    address public immutable token0;
    address public immutable token1;
    address public immutable factory;

    // Scale factors 10**decimals of each token, used by the stable curve.
    uint256 internal immutable decimals0;
    uint256 internal immutable decimals1;

    uint256 public reserve0;
    uint256 public reserve1;
    uint256 public blockTimestampLast;
    uint256 public reserve0CumulativeLast;
    uint256 public reserve1CumulativeLast;

    uint256 private _unlocked = 1;

    modifier nonReentrant() {
        if (_unlocked != 1) revert Locked();
        _unlocked = 2;
        _;
        _unlocked = 1;
    }

    /// @dev Deployed by the factory with the tokens already sorted.
    constructor(address token0_, address token1_, bool stable_) {
        factory = msg.sender;
        token0 = token0_;
        token1 = token1_;
        stable = stable_;
        decimals0 = 10 ** IERC20Metadata(token0_).decimals();
        decimals1 = 10 ** IERC20Metadata(token1_).decimals();
        if (stable_) {
            name = "Solidly StableV2 AMM";
            symbol = "sAMMV2";
        } else {
            name = "Solidly VolatileV2 AMM";
            symbol = "vAMMV2";
        }
    }

    /// @notice Fee holder: the factory keeps the fees taken from swaps.
    function poolFees() external view returns (address) {
        return factory;
    }

    /// @notice Decimals scales (10**decimals), reserves, curve and tokens in one call.
    function metadata()
        external
        view
        returns (uint256 dec0, uint256 dec1, uint256 r0, uint256 r1, bool st, address t0, address t1)
    {
        return (decimals0, decimals1, reserve0, reserve1, stable, token0, token1);
    }

    function tokens() external view returns (address, address) {
        return (token0, token1);
    }

    function getReserves() public view returns (uint256 _reserve0, uint256 _reserve1, uint256 _blockTimestampLast) {
        return (reserve0, reserve1, blockTimestampLast);
    }

    function getK() external view returns (uint256) {
        return _k(reserve0, reserve1);
    }

    /// @notice Output for `amountIn` of `tokenIn` at the current reserves, after the fee.
    function getAmountOut(uint256 amountIn, address tokenIn) external view returns (uint256) {
        uint256 fee = ISolidlyFactory(factory).getFee(address(this), stable);
        amountIn -= (amountIn * fee) / 10000;
        return _getAmountOut(amountIn, tokenIn, reserve0, reserve1);
    }

    function mint(address to) external nonReentrant returns (uint256 liquidity) {
        (uint256 _reserve0, uint256 _reserve1) = (reserve0, reserve1);
        uint256 _balance0 = IERC20Metadata(token0).balanceOf(address(this));
        uint256 _balance1 = IERC20Metadata(token1).balanceOf(address(this));
        uint256 _amount0 = _balance0 - _reserve0;
        uint256 _amount1 = _balance1 - _reserve1;

        uint256 _totalSupply = totalSupply;
        if (_totalSupply == 0) {
            liquidity = _sqrt(_amount0 * _amount1) - MINIMUM_LIQUIDITY;
            // Lock the first MINIMUM_LIQUIDITY forever so the supply never returns to zero.
            _mint(address(1), MINIMUM_LIQUIDITY);
            if (stable) {
                if ((_amount0 * 1e18) / decimals0 != (_amount1 * 1e18) / decimals1) revert DepositsNotEqual();
                if (_k(_amount0, _amount1) <= MINIMUM_K) revert BelowMinimumK();
            }
        } else {
            liquidity = _min((_amount0 * _totalSupply) / _reserve0, (_amount1 * _totalSupply) / _reserve1);
        }
        if (liquidity == 0) revert InsufficientLiquidityMinted();
        _mint(to, liquidity);

        _update(_balance0, _balance1, _reserve0, _reserve1);
        emit Mint(msg.sender, _amount0, _amount1);
    }

    function burn(address to) external nonReentrant returns (uint256 amount0, uint256 amount1) {
        (uint256 _reserve0, uint256 _reserve1) = (reserve0, reserve1);
        uint256 _balance0 = IERC20Metadata(token0).balanceOf(address(this));
        uint256 _balance1 = IERC20Metadata(token1).balanceOf(address(this));
        uint256 _liquidity = balanceOf[address(this)];

        uint256 _totalSupply = totalSupply;
        amount0 = (_liquidity * _balance0) / _totalSupply;
        amount1 = (_liquidity * _balance1) / _totalSupply;
        if (amount0 == 0 || amount1 == 0) revert InsufficientLiquidityBurned();
        _burn(address(this), _liquidity);
        _safeTransfer(token0, to, amount0);
        _safeTransfer(token1, to, amount1);
        _balance0 = IERC20Metadata(token0).balanceOf(address(this));
        _balance1 = IERC20Metadata(token1).balanceOf(address(this));

        _update(_balance0, _balance1, _reserve0, _reserve1);
        emit Burn(msg.sender, to, amount0, amount1);
    }

    /// @notice Send the outputs first, optionally call back `to`, then check the curve.
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external nonReentrant {
        if (ISolidlyFactory(factory).isPaused()) revert IsPaused();
        if (amount0Out == 0 && amount1Out == 0) revert InsufficientOutputAmount();
        (uint256 _reserve0, uint256 _reserve1) = (reserve0, reserve1);
        if (amount0Out >= _reserve0 || amount1Out >= _reserve1) revert InsufficientLiquidity();
        if (to == token0 || to == token1) revert InvalidTo();

        if (amount0Out > 0) _safeTransfer(token0, to, amount0Out);
        if (amount1Out > 0) _safeTransfer(token1, to, amount1Out);
        if (data.length > 0) ISolidlyPoolCallee(to).hook(msg.sender, amount0Out, amount1Out, data);

        (uint256 amount0In, uint256 amount1In) = _settle(amount0Out, amount1Out, _reserve0, _reserve1);
        emit Swap(msg.sender, to, amount0In, amount1In, amount0Out, amount1Out);
    }

    /// @dev Measure the inputs, move the fee out of the pool (as Aerodrome does, before
    ///      the curve check), check the curve and store the new reserves.
    function _settle(uint256 amount0Out, uint256 amount1Out, uint256 _reserve0, uint256 _reserve1)
        internal
        returns (uint256 amount0In, uint256 amount1In)
    {
        uint256 _balance0 = IERC20Metadata(token0).balanceOf(address(this));
        uint256 _balance1 = IERC20Metadata(token1).balanceOf(address(this));
        amount0In = _balance0 > _reserve0 - amount0Out ? _balance0 - (_reserve0 - amount0Out) : 0;
        amount1In = _balance1 > _reserve1 - amount1Out ? _balance1 - (_reserve1 - amount1Out) : 0;
        if (amount0In == 0 && amount1In == 0) revert InsufficientInputAmount();

        uint256 fee = ISolidlyFactory(factory).getFee(address(this), stable);
        if (amount0In > 0) _takeFee(token0, (amount0In * fee) / 10000, true);
        if (amount1In > 0) _takeFee(token1, (amount1In * fee) / 10000, false);
        _balance0 = IERC20Metadata(token0).balanceOf(address(this));
        _balance1 = IERC20Metadata(token1).balanceOf(address(this));
        if (_k(_balance0, _balance1) < _k(_reserve0, _reserve1)) revert K();

        _update(_balance0, _balance1, _reserve0, _reserve1);
    }

    /// @notice Send any balance above the reserves to `to`.
    function skim(address to) external nonReentrant {
        _safeTransfer(token0, to, IERC20Metadata(token0).balanceOf(address(this)) - reserve0);
        _safeTransfer(token1, to, IERC20Metadata(token1).balanceOf(address(this)) - reserve1);
    }

    /// @notice Set the reserves to the current balances.
    function sync() external nonReentrant {
        _update(
            IERC20Metadata(token0).balanceOf(address(this)),
            IERC20Metadata(token1).balanceOf(address(this)),
            reserve0,
            reserve1
        );
    }

    function _takeFee(address token, uint256 amount, bool isToken0) internal {
        if (amount == 0) return;
        _safeTransfer(token, factory, amount);
        if (isToken0) {
            emit Fees(msg.sender, amount, 0);
        } else {
            emit Fees(msg.sender, 0, amount);
        }
    }

    function _update(uint256 balance0, uint256 balance1, uint256 _reserve0, uint256 _reserve1) internal {
        uint256 timeElapsed = block.timestamp - blockTimestampLast;
        if (timeElapsed > 0 && _reserve0 != 0 && _reserve1 != 0) {
            reserve0CumulativeLast += _reserve0 * timeElapsed;
            reserve1CumulativeLast += _reserve1 * timeElapsed;
        }
        reserve0 = balance0;
        reserve1 = balance1;
        blockTimestampLast = block.timestamp;
        emit Sync(balance0, balance1);
    }

    // ---- curve maths: identical integer steps to Aerodrome's Pool ----

    function _getAmountOut(uint256 amountIn, address tokenIn, uint256 _reserve0, uint256 _reserve1)
        internal
        view
        returns (uint256)
    {
        if (stable) {
            uint256 xy = _k(_reserve0, _reserve1);
            _reserve0 = (_reserve0 * 1e18) / decimals0;
            _reserve1 = (_reserve1 * 1e18) / decimals1;
            (uint256 reserveA, uint256 reserveB) = tokenIn == token0 ? (_reserve0, _reserve1) : (_reserve1, _reserve0);
            amountIn = tokenIn == token0 ? (amountIn * 1e18) / decimals0 : (amountIn * 1e18) / decimals1;
            uint256 y = reserveB - _get_y(amountIn + reserveA, xy, reserveB);
            return (y * (tokenIn == token0 ? decimals1 : decimals0)) / 1e18;
        }
        (uint256 reserveIn, uint256 reserveOut) = tokenIn == token0 ? (_reserve0, _reserve1) : (_reserve1, _reserve0);
        return (amountIn * reserveOut) / (reserveIn + amountIn);
    }

    /// @dev The invariant: x*y for volatile pools, x^3*y + y^3*x (in 18-decimal units) for stable ones.
    function _k(uint256 x, uint256 y) internal view returns (uint256) {
        if (stable) {
            uint256 _x = (x * 1e18) / decimals0;
            uint256 _y = (y * 1e18) / decimals1;
            uint256 _a = (_x * _y) / 1e18;
            uint256 _b = ((_x * _x) / 1e18 + (_y * _y) / 1e18);
            return (_a * _b) / 1e18;
        }
        return x * y;
    }

    function _f(uint256 x0, uint256 y) internal pure returns (uint256) {
        uint256 _a = (x0 * y) / 1e18;
        uint256 _b = ((x0 * x0) / 1e18 + (y * y) / 1e18);
        return (_a * _b) / 1e18;
    }

    /// @dev Derivative of _f with respect to y, for Newton's method.
    function _d(uint256 x0, uint256 y) internal pure returns (uint256) {
        return (3 * x0 * ((y * y) / 1e18)) / 1e18 + ((((x0 * x0) / 1e18) * x0) / 1e18);
    }

    /// @dev Newton iteration for the smallest y with _f(x0, y) >= xy, starting from `y`.
    function _get_y(uint256 x0, uint256 xy, uint256 y) internal view returns (uint256) {
        for (uint256 i = 0; i < 255; i++) {
            uint256 k = _f(x0, y);
            if (k < xy) {
                uint256 dy = ((xy - k) * 1e18) / _d(x0, y);
                if (dy == 0) {
                    if (k == xy) {
                        return y;
                    }
                    // Rounding stalled Newton below the target: y + 1 is the closest answer
                    // when it already overshoots.
                    if (_k(x0, y + 1) > xy) {
                        return y + 1;
                    }
                    dy = 1;
                }
                y = y + dy;
            } else {
                uint256 dy = ((k - xy) * 1e18) / _d(x0, y);
                if (dy == 0) {
                    // y must satisfy _f(x0, y) >= xy, so stop before going below it.
                    if (k == xy || _f(x0, y - 1) < xy) {
                        return y;
                    }
                    dy = 1;
                }
                y = y - dy;
            }
        }
        revert("!y");
    }

    function _safeTransfer(address token, address to, uint256 value) internal {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0xa9059cbb, to, value));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool))) || token.code.length == 0) revert TransferFailed();
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev Integer square root rounded down (Babylonian method).
    function _sqrt(uint256 y) internal pure returns (uint256 z) {
        if (y > 3) {
            z = y;
            uint256 x = y / 2 + 1;
            while (x < z) {
                z = x;
                x = (y / x + x) / 2;
            }
        } else if (y != 0) {
            z = 1;
        }
    }
}
