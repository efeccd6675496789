"""Deployless batch readers return exactly what single calls return, in one eth_call."""

from __future__ import annotations

import pytest

from trading.chain import readers
from trading.devchain.devnet import Devnet
from trading.devchain.market import Market

pytestmark = pytest.mark.chain

DEAD = "0x000000000000000000000000000000000000dEaD"


def test_v2_and_solidly_reserves_match_single_calls(devnet: Devnet, market: Market) -> None:
    v2 = [p.address for p in market.v2_pairs]
    solidly = [readers.SolidlyRequest(p.address, with_fee=True) for p in market.solidly_pools]
    words = readers.call_reader(devnet.w3, readers.pool_state_call_data(v2, solidly))
    states = readers.decode_pool_states(words, v2, solidly)
    assert states.block_number == devnet.w3.eth.block_number
    for result, pair in zip(states.v2, market.v2_pairs, strict=True):
        r0, r1, _ = devnet.v2_pair(pair.address).functions.getReserves().call()
        assert (result.ok, result.reserve0, result.reserve1) == (True, r0, r1)
    factory = devnet.solidly_factory(market.solidly)
    for result, pool in zip(states.solidly, market.solidly_pools, strict=True):
        r0, r1, _ = devnet.solidly_pool(pool.address).functions.getReserves().call()
        assert (result.ok, result.reserve0, result.reserve1) == (True, r0, r1)
        assert result.stable is pool.stable
        assert result.fee_bps == factory.functions.getFee(pool.address, pool.stable).call()


def test_v3_state_matches_single_calls(devnet: Devnet, market: Market) -> None:
    requests = []
    for pool in market.v3_pools:
        tick = devnet.v3_pool(pool.address).functions.slot0().call()[1]
        centre = (tick // pool.tick_spacing) >> 8
        requests.append(readers.V3Request(pool.address, centre - 80, centre + 80))
    words = readers.call_reader(devnet.w3, readers.pool_state_call_data(v3=requests))
    states = readers.decode_pool_states(words, v3=requests)
    for snapshot, pool, request in zip(states.v3, market.v3_pools, requests, strict=True):
        contract = devnet.v3_pool(pool.address)
        slot0 = contract.functions.slot0().call()
        assert snapshot.ok
        assert (snapshot.sqrt_price_x96, snapshot.tick) == (slot0[0], slot0[1])
        assert snapshot.liquidity == contract.functions.liquidity().call()
        assert snapshot.tick_spacing == pool.tick_spacing
        expected_words = {}
        for word in range(request.word_lo, request.word_hi + 1):
            bitmap = contract.functions.tickBitmap(word).call()
            if bitmap:
                expected_words[word] = bitmap
        assert dict(snapshot.bitmaps) == expected_words
        expected_ticks = []
        for word, bitmap in sorted(expected_words.items()):
            for bit in range(256):
                if bitmap >> bit & 1:
                    tick = (word * 256 + bit) * pool.tick_spacing
                    expected_ticks.append((tick, contract.functions.ticks(tick).call()[1]))
        assert list(snapshot.ticks) == expected_ticks
        assert len(expected_ticks) >= 4  # both narrow positions, maybe the full range


def test_dead_and_odd_pools_fail_alone(devnet: Devnet, market: Market) -> None:
    token = market.tokens["WETH"].address
    v2 = [DEAD, market.v2_pairs[0].address, token, market.v3_pools[0].address]
    solidly = [
        readers.SolidlyRequest(DEAD, True),
        readers.SolidlyRequest(market.v2_pairs[1].address, True),
    ]
    v3 = [
        readers.V3Request(market.v2_pairs[0].address, 0, 1),
        readers.V3Request(market.v3_pools[0].address, -1, 1),
        readers.V3Request(DEAD),
    ]
    words = readers.call_reader(devnet.w3, readers.pool_state_call_data(v2, solidly, v3))
    states = readers.decode_pool_states(words, v2, solidly, v3)
    assert [r.ok for r in states.v2] == [False, True, False, False]
    assert [r.ok for r in states.solidly] == [False, True]
    # A V2 pair has getReserves but no stable()/getFee: reserves ok, fee not.
    assert states.solidly[1].fee_ok is False and states.solidly[1].fee_bps is None
    assert [r.ok for r in states.v3] == [False, True, False]


def test_a_big_result_comes_back_through_the_revert_path(devnet: Devnet, market: Market) -> None:
    pool = market.v3_pools[1]
    requests = [readers.V3Request(pool.address, -58, 57)] * 80
    data = readers.pool_state_call_data(v3=requests)
    response = devnet.w3.provider.make_request("eth_call", [{"data": data}, "latest"])
    assert "error" in response  # larger than EIP-170 allows as returned code
    states = readers.decode_pool_states(readers.words_from_response(response), v3=requests)
    assert len(states.v3) == 80
    assert all(s.ticks == states.v3[0].ticks for s in states.v3)
    assert len(states.v3[0].ticks) == 6


def test_500_v2_pools_in_one_call(devnet: Devnet, market: Market) -> None:
    v2 = [p.address for p in market.v2_pairs] * 83 + [DEAD] * 2
    assert len(v2) == readers.MAX_POOLS_PER_CALL
    states = readers.decode_pool_states(
        readers.call_reader(devnet.w3, readers.pool_state_call_data(v2)), v2
    )
    assert sum(r.ok for r in states.v2) == 498
    with pytest.raises(readers.ReaderError):
        readers.pool_state_call_data([*v2, DEAD])


def test_solidly_reserves_above_112_bits(devnet: Devnet, market: Market) -> None:
    tokens = devnet.deploy_tokens(["HUGE0", "HUGE1"])
    pool = devnet.create_solidly_pool(
        market.solidly, tokens[0].address, tokens[1].address, False, 2**120, 2**113 + 5
    )
    request = [readers.SolidlyRequest(pool.address)]
    states = readers.decode_pool_states(
        readers.call_reader(devnet.w3, readers.pool_state_call_data(solidly=request)),
        solidly=request,
    )
    reserves = sorted([states.solidly[0].reserve0, states.solidly[0].reserve1])
    assert reserves == [2**113 + 5, 2**120]


def test_reads_at_a_past_block(devnet: Devnet, market: Market) -> None:
    pair = market.v2_pairs[0]
    block = devnet.w3.eth.block_number
    before = devnet.v2_pair(pair.address).functions.getReserves().call()
    devnet.swap_v2(pair.address, pair.token0, 10**18)
    data = readers.pool_state_call_data([pair.address])
    old = readers.decode_pool_states(
        readers.call_reader(devnet.w3, data, block=block), [pair.address]
    )
    new = readers.decode_pool_states(readers.call_reader(devnet.w3, data), [pair.address])
    assert (old.block_number, old.v2[0].reserve0) == (block, before[0])
    assert new.v2[0].reserve0 == before[0] + 10**18


def test_token_metadata_handles_odd_tokens(devnet: Devnet, market: Market) -> None:
    tokens = [
        market.tokens["USDC"].address,
        market.token("MKR").address,
        market.token("NODEC").address,
        DEAD,
        market.v3_pools[0].address,
    ]
    words = readers.call_reader(devnet.w3, readers.token_metadata_call_data(tokens))
    _, metadata = readers.decode_token_metadata(words, tokens)
    usdc, mkr, nodec, dead, pool = metadata
    assert (usdc.symbol, usdc.name, usdc.decimals) == ("USDC", "USD Coin", 6)
    assert (mkr.symbol, mkr.name, mkr.decimals) == ("MKR", "Maker", 18)
    assert len(mkr.raw_symbol) == 32
    assert (nodec.symbol, nodec.decimals) == ("NODEC", None)
    assert (dead.symbol, dead.name, dead.decimals) == (None, None, None)
    assert pool.symbol is None and pool.decimals is None


def test_metadata_text_decoding() -> None:
    assert readers.decode_metadata_text(b"ABC".ljust(32, b"\0")) == "ABC"
    encoded = (32).to_bytes(32, "big") + (3).to_bytes(32, "big") + b"XYZ".ljust(32, b"\0")
    assert readers.decode_metadata_text(encoded) == "XYZ"
    assert readers.decode_metadata_text(b"") is None
    assert readers.decode_metadata_text(b"\0" * 32) is None
    truncated = (32).to_bytes(32, "big") + (500).to_bytes(32, "big") + b"A" * 32
    assert readers.decode_metadata_text(truncated) is None


def test_pool_list_reader(devnet: Devnet, market: Market) -> None:
    words = readers.call_reader(
        devnet.w3, readers.pool_list_call_data(market.v2.factory, readers.KIND_V2_FACTORY, 1, 100)
    )
    _, total, listings = readers.decode_pool_list(words, 1)
    assert total == len(market.v2_pairs)
    assert [item.address for item in listings] == [p.address for p in market.v2_pairs[1:]]
    assert [(item.token0, item.token1) for item in listings] == [
        (p.token0, p.token1) for p in market.v2_pairs[1:]
    ]
    words = readers.call_reader(
        devnet.w3,
        readers.pool_list_call_data(market.solidly.factory, readers.KIND_SOLIDLY_FACTORY, 0, 3),
    )
    _, total, listings = readers.decode_pool_list(words, 0)
    assert [item.stable for item in listings] == [p.stable for p in market.solidly_pools]
    words = readers.call_reader(devnet.w3, readers.pool_list_call_data(DEAD, 0, 0, 10))
    assert readers.decode_pool_list(words, 0)[1:] == (0, [])


def test_relative_word_range_is_centred_on_the_current_tick(devnet: Devnet, market: Market) -> None:
    requests = [readers.V3Request(p.address, -2, 2, relative=True) for p in market.v3_pools]
    states = readers.decode_pool_states(
        readers.call_reader(devnet.w3, readers.pool_state_call_data(v3=requests)), v3=requests
    )
    for snapshot, pool in zip(states.v3, market.v3_pools, strict=True):
        centre = (snapshot.tick // pool.tick_spacing) >> 8
        assert (snapshot.word_lo, snapshot.word_hi) == (centre - 2, centre + 2)
        absolute = readers.V3Request(pool.address, centre - 2, centre + 2)
        same = readers.decode_pool_states(
            readers.call_reader(devnet.w3, readers.pool_state_call_data(v3=[absolute])),
            v3=[absolute],
        )
        assert same.v3[0] == snapshot
