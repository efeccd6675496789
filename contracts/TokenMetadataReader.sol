// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ReaderBase} from "./ReaderBase.sol";

interface ITokenMetadata {
    function name() external view returns (string memory);
    function symbol() external view returns (string memory);
    function decimals() external view returns (uint8);
}

/// @title TokenMetadataReader
/// @notice Deployless batch reader of ERC20 metadata (see ReaderBase). Never deployed.
///
/// Tokens disagree on metadata types (`string` or `bytes32` names, missing
/// `decimals`), so the raw return data of name() and symbol() is handed back for
/// the client to decode, capped at MAX_RAW bytes.
///
/// Each of the three calls per token gets at most `callGas` (far less than the
/// other readers' CALL_GAS): a token whose metadata burns all the gas it is given
/// then costs a batch only 3 * callGas, so a batch of hostile tokens still fits
/// one eth_call.
///
/// Output words: block number, then per token a head word
///   nameOk << 255 | symbolOk << 254 | decimalsOk << 253 |
///   nameLength << 32 | symbolLength << 16 | decimals
/// followed by the raw name bytes and the raw symbol bytes, each padded to whole words.
/// decimalsOk is false when decimals() fails or answers 256 or more.
contract TokenMetadataReader is ReaderBase {
    uint256 private constant MAX_RAW = 320;

    constructor(address[] memory tokens, uint256 callGas) {
        Words memory out = _newWords(1 + tokens.length * 7);
        _push(out, block.number);
        for (uint256 i = 0; i < tokens.length; i++) {
            _readToken(out, tokens[i], callGas);
        }
        _finish(out);
    }

    function _readToken(Words memory out, address token, uint256 callGas) private view {
        (bool nameOk, bytes memory name) = _readRaw(token, ITokenMetadata.name.selector, callGas);
        (bool symbolOk, bytes memory symbol) = _readRaw(token, ITokenMetadata.symbol.selector, callGas);
        (bool decimalsOk, uint256 decimals) = _readDecimals(token, callGas);
        if (decimals > 255) {
            decimalsOk = false;
            decimals = 0;
        }
        uint256 head = decimals | (symbol.length << 16) | (name.length << 32);
        if (nameOk) head |= 1 << 255;
        if (symbolOk) head |= 1 << 254;
        if (decimalsOk) head |= 1 << 253;
        _push(out, head);
        _pushBytes(out, name);
        _pushBytes(out, symbol);
    }

    /// @dev Raw return data of a no-argument call, at most MAX_RAW bytes; empty on failure.
    function _readRaw(address token, bytes4 selector, uint256 callGas) private view returns (bool ok, bytes memory raw) {
        raw = new bytes(MAX_RAW);
        uint256 size;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            ok := staticcall(callGas, token, p, 4, 0, 0)
            size := returndatasize()
            if gt(size, MAX_RAW) { size := MAX_RAW }
            returndatacopy(add(raw, 32), 0, size)
            mstore(raw, size)
        }
        if (!ok || size == 0) {
            ok = false;
            assembly ("memory-safe") {
                mstore(raw, 0)
            }
        }
    }

    /// @dev decimals() with the metadata gas cap; ok=false when it fails or answers short.
    function _readDecimals(address token, uint256 callGas) private view returns (bool ok, uint256 decimals) {
        bytes4 selector = ITokenMetadata.decimals.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, selector)
            ok := staticcall(callGas, token, p, 4, p, 32)
            if lt(returndatasize(), 32) { ok := 0 }
            decimals := mload(p)
        }
        if (!ok) decimals = 0;
    }

    function _pushBytes(Words memory out, bytes memory data) private pure {
        uint256 words = (data.length + 31) / 32;
        for (uint256 i = 0; i < words; i++) {
            uint256 word;
            assembly ("memory-safe") {
                word := mload(add(add(data, 32), mul(i, 32)))
            }
            // Zero the bytes past the end of the data in the last word.
            uint256 tail = data.length - i * 32;
            if (tail < 32) {
                word &= ~(type(uint256).max >> (tail * 8));
            }
            _push(out, word);
        }
    }
}
