import pickle

import pytest

from trading.chain.signer import KeySource, Signer, SignerNotConfigured, signing_key_source

# anvil's well-known first development key (public test data, holds nothing).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_signer_from_env_or_file(monkeypatch, tmp_path):
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY_FILE", raising=False)
    with pytest.raises(SignerNotConfigured, match="LISTONIAN_PRIVATE_KEY"):
        Signer.from_environment()
    key_file = tmp_path / "key"
    key_file.write_text(DEV_KEY + "\n")
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY_FILE", str(key_file))
    assert Signer.from_environment().address == DEV_ADDRESS
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", DEV_KEY[2:])
    assert Signer.from_environment().address == DEV_ADDRESS


def test_the_key_never_shows(monkeypatch):
    signer = Signer.from_key(DEV_KEY)
    for text in (repr(signer), str(signer), f"{signer}"):
        assert DEV_KEY[2:].lower() not in text.lower()
        assert DEV_ADDRESS in text
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_a_malformed_key_is_refused_without_echoing_it():
    bad = DEV_KEY[:-1] + "z"
    with pytest.raises(SignerNotConfigured) as excinfo:
        Signer.from_key(bad)
    assert bad[2:12] not in str(excinfo.value)


def test_signing_produces_the_hash_the_node_reports(w3):
    signer = Signer.from_key(DEV_KEY)
    tx = {
        "to": "0x000000000000000000000000000000000000dEaD",
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
        "nonce": w3.eth.get_transaction_count(signer.address),
        "chainId": w3.eth.chain_id,
        "type": 2,
    }
    raw, tx_hash = signer.sign_transaction(tx)
    sent = w3.eth.send_raw_transaction(raw)
    assert "0x" + bytes(sent).hex() == tx_hash
    assert w3.eth.wait_for_transaction_receipt(sent)["status"] == 1


def test_trades_are_signed_by_the_native_secp256k1_backend():
    # The pure-Python backend takes about 5 ms a signature, under the send lock.
    from eth_keys.backends import CoinCurveECCBackend, get_backend

    assert isinstance(get_backend(), CoinCurveECCBackend)
    # Both backends sign deterministically (RFC 6979): the same bytes either way.
    from eth_keys.backends import NativeECCBackend
    from eth_keys.datatypes import PrivateKey

    digest = bytes(range(32))
    native = PrivateKey(bytes.fromhex(DEV_KEY[2:]), backend=NativeECCBackend())
    fast = PrivateKey(bytes.fromhex(DEV_KEY[2:]), backend=CoinCurveECCBackend())
    assert native.sign_msg_hash(digest) == fast.sign_msg_hash(digest)


def test_a_held_key_signs_while_the_environment_no_longer_has_it(monkeypatch, tmp_path):
    import os
    import subprocess

    from trading.chain import signer as signer_module

    monkeypatch.setattr(signer_module, "_held_key", None)
    key_file = tmp_path / "key"
    key_file.write_text(DEV_KEY)
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", DEV_KEY)
    assert signer_module.hold_key() is True
    assert not set(signer_module.KEY_VARIABLES) & set(os.environ)
    # A process started from here inherits no key either.
    child = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
    assert "LISTONIAN_PRIVATE_KEY" not in child and DEV_KEY[2:] not in child
    assert Signer.from_environment().address == DEV_ADDRESS
    # The page still tells where the key came from.
    assert signing_key_source() == (KeySource.DEMO, DEV_ADDRESS)


def test_nothing_to_hold_without_a_key(monkeypatch):
    from trading.chain import signer as signer_module

    monkeypatch.setattr(signer_module, "_held_key", None)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY_FILE", raising=False)
    assert signer_module.hold_key() is False
    with pytest.raises(SignerNotConfigured):
        Signer.from_environment()


def _key_environment(monkeypatch, key=None, key_file=None):
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY_FILE", raising=False)
    if key is not None:
        monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", key)
    if key_file is not None:
        monkeypatch.setenv("LISTONIAN_PRIVATE_KEY_FILE", str(key_file))


def test_the_key_source_is_told_without_the_key(monkeypatch, tmp_path):
    own_key = "0x" + "ab" * 32
    own = Signer.from_key(own_key).address
    _key_environment(monkeypatch)
    assert signing_key_source() == (KeySource.NONE, "")
    _key_environment(monkeypatch, key=own_key)
    assert signing_key_source() == (KeySource.ENVIRONMENT, own)
    key_file = tmp_path / "key"
    key_file.write_text(own_key)
    _key_environment(monkeypatch, key_file=key_file)
    assert signing_key_source() == (KeySource.FILE, own)
    _key_environment(monkeypatch, key=DEV_KEY)
    assert signing_key_source() == (KeySource.DEMO, DEV_ADDRESS)
    _key_environment(monkeypatch, key_file=tmp_path / "missing")
    assert signing_key_source() == (KeySource.UNREADABLE, "")
    _key_environment(monkeypatch, key="not a key")
    assert signing_key_source() == (KeySource.UNREADABLE, "")
