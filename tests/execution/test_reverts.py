"""Revert reasons in words, decoded by name from the executor's compiled ABI."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector

from trading.execution.manager import decode_revert
from trading.execution.reverts import decode_revert_data, describe, executor_errors
from trading.formatting import format_amount

WETH = "0x4200000000000000000000000000000000000006"


def weth(amount: int) -> str:
    return format_amount(amount, 18, "WETH")


def error_data(signature: str, types: list[str], values: list) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, values)).hex()


def test_every_custom_error_of_the_contract_is_known_by_name() -> None:
    names = {spec.name for spec in executor_errors().values()}
    assert {
        "NotOwner",
        "BadPath",
        "UnexpectedCallback",
        "Unprofitable",
        "TransferFailed",
        "ZeroOutput",
        "Expired",
        "BadPayment",
        "TokenLoss",
    } <= names
    # The selector the demo printed raw is Unprofitable's.
    unprofitable = next(s for s, spec in executor_errors().items() if spec.name == "Unprofitable")
    assert unprofitable.hex() == "545023d7"


def test_unprofitable_says_what_it_would_have_earned_and_needed() -> None:
    data = error_data(
        "Unprofitable(uint256,uint256,uint256)",
        ["uint256"] * 3,
        [10**18, 10**18 + 12 * 10**14, 15 * 10**14],
    )
    error = {"message": "execution reverted", "data": data}
    assert decode_revert(error, weth) == (
        "unprofitable: would have earned 0.0012 WETH, needed 0.0015 WETH"
    )


def test_a_loss_is_said_as_a_loss() -> None:
    revert = decode_revert_data(
        bytes.fromhex(
            error_data(
                "Unprofitable(uint256,uint256,uint256)", ["uint256"] * 3, [10**18, 10**18 - 5, 1]
            )[2:]
        )
    )
    assert revert is not None
    assert describe(revert) == "unprofitable: would have lost 5, needed 1"


def test_expired_names_both_blocks() -> None:
    data = error_data("Expired(uint256,uint256)", ["uint256", "uint256"], [1_001, 1_000])
    assert decode_revert({"data": data}) == (
        "expired: reached block 1,001 after its deadline block 1,000"
    )


def test_token_loss_names_the_token() -> None:
    data = error_data(
        "TokenLoss(address,uint256,uint256)", ["address", "uint256", "uint256"], [WETH, 10, 7]
    )
    revert = decode_revert_data(bytes.fromhex(data[2:]))
    assert revert is not None
    assert describe(revert, symbols={WETH: "WETH"}) == "the route would lose 3 units of WETH"


def test_error_string_and_panic_codes() -> None:
    assert decode_revert({"data": error_data("Error(string)", ["string"], ["STF"])}) == (
        "reverted: STF"
    )
    assert decode_revert({"data": error_data("Panic(uint256)", ["uint256"], [0x11])}) == (
        "panic 0x11: arithmetic overflow or underflow"
    )


def test_unknown_or_malformed_data_falls_back_to_the_nodes_message() -> None:
    assert decode_revert({"message": "execution reverted", "data": "0xdeadbeef00"}) == (
        "execution reverted (0xdeadbeef)"
    )
    truncated = error_data("Expired(uint256,uint256)", ["uint256", "uint256"], [1, 2])[:20]
    assert decode_revert({"message": "execution reverted", "data": truncated}).startswith(
        "execution reverted"
    )
    assert decode_revert("boom") == "boom"


def test_an_amount_of_the_start_token_is_said_in_its_units() -> None:
    data = error_data(
        "TransferFailed(address,address,uint256)",
        ["address", "address", "uint256"],
        [WETH, WETH, 5 * 10**18],
    )
    revert = decode_revert_data(bytes.fromhex(data[2:]))
    assert revert is not None and revert.name == "TransferFailed"
    # The start token's address in another case than the error's: still the same token.
    assert describe(revert, weth, start_token=WETH.lower()).startswith("transfer of 5 WETH to ")
    # Another token than the start token: its units are not known here.
    assert describe(revert, weth).startswith("transfer of 5,000,000,000,000,000,000 units of")
    assert decode_revert({"message": "execution reverted", "data": data}, weth, WETH).startswith(
        "transfer of 5 WETH to "
    )
