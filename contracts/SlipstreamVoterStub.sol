// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title SlipstreamVoterStub
/// @notice The smallest stand-in for Aerodrome's Voter that the real Slipstream
///         CLFactory needs on a local chain. The real Voter drags in the whole
///         ve(3,3) system (VotingEscrow, Minter, rewards) that has nothing to do
///         with swaps. No pool has a gauge, so CLFactory charges no unstaked fee
///         and the pool's swap maths is exactly Uniswap V3's with the factory's fee.
///         It also answers as the "legacy" CL factory (which knows no pools).
contract SlipstreamVoterStub {
    /// The Voter's factory registry: this stub (no factory is ever approved).
    function factoryRegistry() external view returns (address) {
        return address(this);
    }

    function factoriesToPoolFactory(address) external pure returns (address, address) {
        return (address(0), address(0));
    }

    function gauges(address) external pure returns (address) {
        return address(0);
    }

    function isAlive(address) external pure returns (bool) {
        return false;
    }

    /// As the legacy CL factory: no pool exists there.
    function getPool(address, address, int24) external pure returns (address) {
        return address(0);
    }
}
