// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title PancakeV3TestPoolDeployer
/// @notice Does what PancakeSwap's PancakeV3PoolDeployer does, for a local chain:
///         the npm package of PancakeSwap v3-core ships the factory and pool artifacts but no
///         pool deployer. The factory calls `deploy`, which CREATE2s the real
///         PancakeV3Pool with salt keccak256(abi.encode(token0, token1, fee)) (so
///         pool addresses follow from this deployer, as on mainnet) while
///         `parameters()` answers the pool's constructor.
///
///         The pool's creation code is read from `poolCode`, a contract whose
///         runtime code is that creation code (it is too large to pass around
///         in every call, and a constructor argument could not be copied later).
contract PancakeV3TestPoolDeployer {
    struct Parameters {
        address factory;
        address token0;
        address token1;
        uint24 fee;
        int24 tickSpacing;
    }

    Parameters public parameters;
    address public factoryAddress;
    address public immutable owner;
    address public immutable poolCode;

    error NotFactory();
    error NotOwner();
    error DeployFailed();

    constructor(address _poolCode) {
        owner = msg.sender;
        poolCode = _poolCode;
    }

    /// Set once, as PancakeSwap's deployer does, after the factory exists.
    function setFactoryAddress(address factory) external {
        if (msg.sender != owner || factoryAddress != address(0)) revert NotOwner();
        factoryAddress = factory;
    }

    function deploy(address factory, address token0, address token1, uint24 fee, int24 tickSpacing)
        external
        returns (address pool)
    {
        if (msg.sender != factoryAddress) revert NotFactory();
        parameters = Parameters(factory, token0, token1, fee, tickSpacing);
        bytes memory code = poolCode.code;
        bytes32 salt = keccak256(abi.encode(token0, token1, fee));
        assembly ("memory-safe") {
            pool := create2(0, add(code, 32), mload(code), salt)
        }
        if (pool == address(0)) revert DeployFailed();
        delete parameters;
    }
}
