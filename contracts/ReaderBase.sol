// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ReaderBase
/// @notice Shared plumbing of the deployless batch readers. A reader is never
///         deployed: its creation code and constructor arguments are sent with
///         `eth_call` and no `to`, the constructor reads everything and hands the
///         result back as the "deployed code", so a whole batch costs one round trip.
///
///         Results are a stream of 256-bit words, ABI-encoded as one `uint256[]`.
///         A node rejects returned code above EIP-170's 24,576 bytes, so a larger
///         result is delivered as the revert data of `BatchResult(uint256[])`
///         instead, which nodes pass back in full; clients accept both.
///
///         Every read is a gas-capped `staticcall` that copies at most a few words
///         of return data, so a reverting, missing or hostile contract only marks
///         its own entry as failed.
abstract contract ReaderBase {
    error BatchResult(uint256[] words);

    uint256 internal constant MAX_RETURNED_CODE = 24576;
    uint256 internal constant CALL_GAS = 150000;

    struct Words {
        uint256[] data;
        uint256 length;
    }

    function _newWords(uint256 capacity) internal pure returns (Words memory out) {
        out.data = new uint256[](capacity == 0 ? 16 : capacity);
    }

    function _push(Words memory out, uint256 word) internal pure {
        if (out.length == out.data.length) {
            uint256[] memory bigger = new uint256[](out.data.length * 2);
            for (uint256 i = 0; i < out.length; i++) {
                bigger[i] = out.data[i];
            }
            out.data = bigger;
        }
        out.data[out.length] = word;
        out.length += 1;
    }

    /// @dev Hand the words back to the caller and stop; never returns.
    function _finish(Words memory out) internal pure {
        uint256[] memory data = out.data;
        uint256 length = out.length;
        assembly ("memory-safe") {
            mstore(data, length)
        }
        bytes memory payload = abi.encode(data);
        if (payload.length > MAX_RETURNED_CODE) revert BatchResult(data);
        assembly ("memory-safe") {
            return(add(payload, 32), mload(payload))
        }
    }

    /// @dev Static call with up to two words of arguments; returns the first two
    ///      words of the answer, and ok=false when the call failed or returned
    ///      fewer than `minSize` bytes.
    function _read(address target, bytes4 selector, uint256 arg0, uint256 arg1, uint256 nArgs, uint256 minSize)
        internal
        view
        returns (bool ok, uint256 w0, uint256 w1)
    {
        assembly ("memory-safe") {
            // Scratch memory past the free pointer: nothing is allocated per call.
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 4), arg0)
            mstore(add(p, 36), arg1)
            mstore(add(p, 68), 0)
            ok := staticcall(CALL_GAS, target, p, add(4, mul(nArgs, 32)), p, 64)
            if lt(returndatasize(), minSize) { ok := 0 }
            w0 := mload(p)
            w1 := mload(add(p, 32))
        }
        if (!ok) {
            (w0, w1) = (0, 0);
        }
    }
}
