// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {SolidlyPool} from "./SolidlyPool.sol";

/// @title SolidlyFactory
/// @notice Creates SolidlyPool pools and answers fee lookups the way Aerodrome's
///         PoolFactory does: default stable and volatile fees in basis points, and
///         per-pool custom fees where 420 (ZERO_FEE_INDICATOR) means a 0% fee because
///         a zero entry means "no custom fee". Pools are deployed with plain `new`.
contract SolidlyFactory {
    error FeeTooHigh();
    error ZeroFee();
    error InvalidPool();
    error NotFeeManager();
    error NotPauser();
    error PoolAlreadyExists();
    error SameAddress();
    error ZeroAddress();

    event PoolCreated(address indexed token0, address indexed token1, bool indexed stable, address pool, uint256);
    event SetCustomFee(address indexed pool, uint256 fee);
    event SetPauseState(bool state);

    uint256 public constant MAX_FEE = 100; // 1%
    uint256 public constant ZERO_FEE_INDICATOR = 420;

    bool public isPaused;
    address public pauser;
    address public feeManager;
    uint256 public stableFee;
    uint256 public volatileFee;

    address[] public allPools;
    mapping(address => uint256) public customFee;
    mapping(address => bool) private _isPool;
    mapping(address => mapping(address => mapping(bool => address))) private _getPool;

    constructor() {
        pauser = msg.sender;
        feeManager = msg.sender;
        stableFee = 5; // 0.05%
        volatileFee = 30; // 0.3%
    }

    function allPoolsLength() external view returns (uint256) {
        return allPools.length;
    }

    function getPool(address tokenA, address tokenB, bool stable) external view returns (address) {
        return _getPool[tokenA][tokenB][stable];
    }

    function isPool(address pool) external view returns (bool) {
        return _isPool[pool];
    }

    function setPauseState(bool state) external {
        if (msg.sender != pauser) revert NotPauser();
        isPaused = state;
        emit SetPauseState(state);
    }

    /// @notice Change the default fee of all stable or all volatile pools.
    function setFee(bool stable, uint256 fee) external {
        if (msg.sender != feeManager) revert NotFeeManager();
        if (fee > MAX_FEE) revert FeeTooHigh();
        if (fee == 0) revert ZeroFee();
        if (stable) {
            stableFee = fee;
        } else {
            volatileFee = fee;
        }
    }

    /// @notice Give one pool its own fee; ZERO_FEE_INDICATOR sets 0%, 0 restores the default.
    function setCustomFee(address pool, uint256 fee) external {
        if (msg.sender != feeManager) revert NotFeeManager();
        if (fee > MAX_FEE && fee != ZERO_FEE_INDICATOR) revert FeeTooHigh();
        if (!_isPool[pool]) revert InvalidPool();
        customFee[pool] = fee;
        emit SetCustomFee(pool, fee);
    }

    /// @notice Fee in basis points charged on the input of a swap in `pool`.
    function getFee(address pool, bool stable) public view returns (uint256) {
        uint256 fee = customFee[pool];
        if (fee == ZERO_FEE_INDICATOR) return 0;
        if (fee != 0) return fee;
        return stable ? stableFee : volatileFee;
    }

    function createPool(address tokenA, address tokenB, bool stable) external returns (address pool) {
        if (tokenA == tokenB) revert SameAddress();
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        if (token0 == address(0)) revert ZeroAddress();
        if (_getPool[token0][token1][stable] != address(0)) revert PoolAlreadyExists();
        pool = address(new SolidlyPool(token0, token1, stable));
        _getPool[token0][token1][stable] = pool;
        _getPool[token1][token0][stable] = pool;
        allPools.push(pool);
        _isPool[pool] = true;
        emit PoolCreated(token0, token1, stable, pool, allPools.length);
    }
}
