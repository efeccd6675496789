"""The execution manager on anvil with real Uniswap contracts and the real executor."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from trading.chain.artifacts import project_artifact
from trading.chain.client import ChainClient
from trading.execution.manager import ExecutionManager, Limits
from trading.gas.oracle import GasOracle
from trading.models import BotConfig, Opportunity, Pool, Trade

from .conftest import E18, make_opportunity, path, v2_gross

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


V2_ROUTE = ("uniswap_v2", "uniswap_v2")  # a route's kind: the DEX kind of each hop


def limits(**overrides) -> Limits:
    values = {
        "paused": False,
        "paused_reason": "",
        "live": True,
        "max_trade_size": 100 * E18,
        "max_gas_price_wei": 10**12,
        "daily_loss_limit_wei": 10**18,
        "slippage_bps": 10,
    }
    values.update(overrides)
    return Limits(**values)


async def manager_for(arb, anvil, signer=True) -> tuple[ChainClient, ExecutionManager]:
    client = ChainClient([anvil.rpc_url], chain_id=31337)
    await client.initialize()
    gas = GasOracle(client)
    manager = ExecutionManager(
        client,
        gas,
        executor_address=arb.executor,
        chain_id=31337,
        signer=arb.signer if signer else None,
        receipt_timeout=20,
    )
    await manager.initialize()
    return client, manager


def v2_requote(devnet):
    async def requote(steps, amount_in):
        return v2_gross(devnet, steps, amount_in)

    return requote


async def test_a_live_trade_pays_exactly_its_realized_profit(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)  # sell WETH where dear, buy back where cheap
    amount_in = 5 * E18
    gross = v2_gross(devnet, steps, amount_in)
    assert gross > 0
    opportunity = await sync_to_async(make_opportunity)(arb, steps, amount_in, gross)
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    before = devnet.balance_of(arb.weth.address, arb.executor)
    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "success", result
    trade = await Trade.objects.aget(pk=result.trade_id)
    assert trade.mode == "live" and trade.status == "success"
    assert devnet.balance_of(arb.weth.address, arb.executor) - before == trade.realized_profit
    assert trade.realized_profit == gross  # nothing moved the pools in between
    assert trade.gas_used > 0 and trade.gas_cost_wei > 0 and trade.block_number
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce + 1
    await opportunity.arefresh_from_db()
    assert opportunity.status == "executed"
    # Both pools were confirmed with their factory on the way.
    assert await Pool.objects.filter(factory_confirmed=True).acount() == 2


async def test_a_v2_to_v3_gap_trades_live(arb, devnet, anvil):
    steps = path(arb.dear, arb.v3, arb.weth)
    amount_in = 2 * E18
    opportunity = await sync_to_async(make_opportunity)(arb, steps, amount_in, 10**15)

    async def trust_detection(steps, amount):
        return opportunity.expected_profit  # the simulation below is the real check

    before = devnet.balance_of(arb.weth.address, arb.executor)
    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(opportunity.pk, limits(), trust_detection)
    finally:
        await client.cleanup()
    assert result.outcome == "success", result
    trade = await Trade.objects.aget(pk=result.trade_id)
    assert trade.realized_profit > 0
    assert devnet.balance_of(arb.weth.address, arb.executor) - before == trade.realized_profit


@pytest.mark.parametrize("learned", [None, 400_000], ids=["estimated", "learned-limit"])
async def test_a_front_run_gap_is_stale_and_nothing_is_sent(arb, devnet, anvil, w3, learned):
    steps = path(arb.dear, arb.cheap, arb.weth)
    amount_in = 5 * E18
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, amount_in, v2_gross(devnet, steps, amount_in)
    )
    # Another account closes the gap between detection and send.
    devnet.swap_v2(arb.dear.address, arb.weth.address, 40 * E18)
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    client, manager = await manager_for(arb, anvil)
    if learned is not None:  # simulated with a learned limit first, then asked in full
        manager.gas_limits.learn(V2_ROUTE, learned)

    async def stale_detection(steps, amount):
        return opportunity.expected_profit  # pretend the engine has not seen the swap yet

    try:
        result = await manager.execute(opportunity.pk, limits(), stale_detection)
    finally:
        await client.cleanup()
    assert result.outcome == "stale" and "simulation reverted" in result.reason
    assert manager.health().counters.get("learned_gas_refused", 0) == (learned is not None)
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce
    await opportunity.arefresh_from_db()
    assert opportunity.status == "stale" and "simulation reverted" in opportunity.status_reason
    # The executor pays the first pool and the transfer fails: said with its amount in units.
    assert opportunity.status_reason.startswith("simulation reverted: transfer of 5 WETH to "), (
        opportunity.status_reason
    )
    assert opportunity.reason_code == "revert_other"
    assert not await Trade.objects.aexists()


def counting(client: ChainClient, method: str) -> list[int]:
    """Count ``client``'s raw requests of ``method``: one list item per call."""
    calls: list[int] = []
    ask = client.request_raw

    async def counted(name, params=None):
        if name == method:
            calls.append(1)
        return await ask(name, params)

    client.request_raw = counted
    return calls


async def test_a_route_of_a_kind_estimated_before_is_sent_with_its_learned_limit(
    arb, devnet, anvil, w3
):
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    client, manager = await manager_for(arb, anvil)
    estimates = counting(client, "eth_estimateGas")
    manager.gas_limits.learn(V2_ROUTE, 400_000)
    try:
        result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "success", result
    assert estimates == []  # the simulation with the learned limit stood for it
    trade = await Trade.objects.aget(pk=result.trade_id)
    assert w3.eth.get_transaction(trade.tx_hash)["gas"] == 600_000  # 400,000 + 50%
    assert trade.realized_profit == gross
    assert manager.health().counters["learned_gas_limits"] == 1


async def test_a_learned_limit_too_small_for_the_route_is_estimated_again(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    client, manager = await manager_for(arb, anvil)
    estimates = counting(client, "eth_estimateGas")
    manager.gas_limits.learn(V2_ROUTE, 40_000)  # far below what two swaps take
    try:
        result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "success", result
    assert len(estimates) == 1
    assert manager.health().counters["learned_gas_refused"] == 1
    trade = await Trade.objects.aget(pk=result.trade_id)
    sent = w3.eth.get_transaction(trade.tx_hash)["gas"]
    assert trade.gas_used < sent and sent > 60_000
    # Learned: the next route of its kind gets the estimate's limit.
    assert manager.gas_limits.limits(V2_ROUTE)[1] == sent
    assert trade.realized_profit == gross


async def test_the_kill_switch_turned_on_during_an_execution_stops_its_send(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    await sync_to_async(BotConfig.load)()
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    client, manager = await manager_for(arb, anvil)

    async def paused_meanwhile(steps, amount_in):
        # The operator turns the kill switch on after the first check.
        await BotConfig.objects.filter(pk=1).aupdate(paused=True)
        return v2_gross(devnet, steps, amount_in)

    try:
        result = await manager.execute(opportunity.pk, limits(), paused_meanwhile)
        assert (result.outcome, result.reason) == ("skipped", "kill switch on")
        assert not await Trade.objects.aexists()
        await opportunity.arefresh_from_db()
        assert (opportunity.status, opportunity.reason_code) == ("skipped", "paused")
        await BotConfig.objects.filter(pk=1).aupdate(paused=False)
        again = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
        sent = await manager.execute(again.pk, limits(), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert sent.outcome == "success", sent
    # The nonce taken for the stopped send went to the next trade: no gap to fill.
    trade = await Trade.objects.aget()
    assert trade.nonce == nonce
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce + 1


async def test_two_engines_racing_send_one_transaction(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    (client_a, engine_a), (client_b, engine_b) = [await manager_for(arb, anvil) for _ in range(2)]
    try:
        results = await asyncio.gather(
            engine_a.execute(opportunity.pk, limits(), v2_requote(devnet)),
            engine_b.execute(opportunity.pk, limits(), v2_requote(devnet)),
        )
    finally:
        await client_a.cleanup()
        await client_b.cleanup()
    assert sorted(r.outcome for r in results) == ["not_claimed", "success"]
    assert await Trade.objects.acount() == 1
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce + 1


async def test_dry_run_records_the_simulation_and_sends_nothing(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    client, manager = await manager_for(arb, anvil, signer=False)  # no key needed to simulate
    try:
        result = await manager.execute(opportunity.pk, limits(live=False), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "simulated"
    trade = await Trade.objects.aget()
    assert trade.mode == "dry_run" and trade.status == "simulated"
    assert trade.realized_profit == gross and trade.gas_used > 0 and not trade.tx_hash
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce
    assert devnet.balance_of(arb.weth.address, arb.executor) == 0


@pytest.mark.parametrize(
    ("overrides", "reason", "code"),
    [
        ({"paused": True, "paused_reason": "maintenance"}, "kill switch on: maintenance", "paused"),
        ({"max_gas_price_wei": 1}, "gwei above the limit 0.000000001 gwei", "gas_price"),
        (
            {"max_trade_size": E18},
            "input 5 WETH above the maximum trade size 1 WETH",
            "trade_size",
        ),
    ],
)
async def test_limits_stop_a_trade_before_anything_is_sent(
    arb, devnet, anvil, w3, overrides, reason, code
):
    steps = path(arb.dear, arb.cheap, arb.weth)
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(opportunity.pk, limits(**overrides), v2_requote(devnet))
    finally:
        await client.cleanup()
    assert result.outcome == "skipped" and reason in result.reason
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce
    await opportunity.arefresh_from_db()
    assert (opportunity.status_reason, opportunity.reason_code) == (result.reason, code)


async def test_the_daily_loss_limit_pauses_trading(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    earlier = await sync_to_async(make_opportunity)(arb, steps, E18, 1)
    await Opportunity.objects.filter(pk=earlier.pk).aupdate(status="failed")
    await Trade.objects.acreate(
        opportunity=earlier,
        mode="live",
        status="reverted",
        realized_profit=0,
        gas_cost_wei=5 * 10**15,
    )
    opportunity = await sync_to_async(make_opportunity)(
        arb, steps, 5 * E18, v2_gross(devnet, steps, 5 * E18)
    )
    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(
            opportunity.pk, limits(daily_loss_limit_wei=5 * 10**15), v2_requote(devnet)
        )
    finally:
        await client.cleanup()
    assert result.outcome == "skipped" and result.reason == (
        "daily loss limit reached (0.005 ETH lost today, limit 0.005 ETH)"
    )
    await opportunity.arefresh_from_db()
    assert opportunity.reason_code == "daily_loss"
    config = await BotConfig.objects.aget(pk=1)
    assert config.paused and "daily loss limit" in config.paused_reason


async def test_gas_in_flight_counts_against_the_daily_loss_limit(arb, devnet, anvil, w3):
    steps = path(arb.dear, arb.cheap, arb.weth)
    first = await sync_to_async(make_opportunity)(arb, steps, E18, v2_gross(devnet, steps, E18))
    other = path(arb.cheap, arb.dear, arb.weth)
    second = await sync_to_async(make_opportunity)(arb, other, E18, 1)
    client, manager = await manager_for(arb, anvil)
    manager.wait_for_receipt = False
    try:
        with anvil.automine_paused():
            sent = await manager.execute(first.pk, limits(), v2_requote(devnet))
            assert sent.outcome == "pending"
            worst = manager.in_flight_cost()
            assert worst > 0
            # Nothing is settled yet, but the first trade could still cost `worst`.
            result = await manager.execute(
                second.pk, limits(daily_loss_limit_wei=worst), v2_requote(devnet)
            )
            assert result.outcome == "skipped" and "daily loss limit" in result.reason
            anvil.mine(1)
            await manager.wait_for_trackers(timeout=20)
    finally:
        await manager.cleanup()
        await client.cleanup()
    await BotConfig.objects.filter(pk=1).aupdate(paused=False)


async def test_trades_run_side_by_side_cannot_both_pass_the_daily_loss_limit(
    arb, devnet, anvil, w3
):
    first = await sync_to_async(make_opportunity)(
        arb,
        path(arb.dear, arb.cheap, arb.weth),
        E18,
        v2_gross(devnet, path(arb.dear, arb.cheap, arb.weth), E18),
    )
    second = await sync_to_async(make_opportunity)(arb, path(arb.dear, arb.v3, arb.weth), E18, 1)
    client, manager = await manager_for(arb, anvil)
    manager.wait_for_receipt = False
    second_checked = asyncio.Event()

    async def first_requote(steps, amount_in):
        await second_checked.wait()  # both passed the first loss check, nothing in flight
        return v2_gross(devnet, steps, amount_in)

    async def second_requote(steps, amount_in):
        second_checked.set()
        while manager.in_flight_cost() == 0:  # the first trade is sent meanwhile
            await asyncio.sleep(0.01)
        return 1

    nonce = w3.eth.get_transaction_count(arb.signer.address)
    try:
        with anvil.automine_paused():
            manager.begin_block(100)
            sent, refused = await asyncio.wait_for(
                asyncio.gather(
                    manager.execute(first.pk, limits(daily_loss_limit_wei=1), first_requote),
                    manager.execute(second.pk, limits(daily_loss_limit_wei=1), second_requote),
                ),
                timeout=30,
            )
            manager.end_block()
            assert sent.outcome == "pending"
            # Checked again right before its send: the first trade was in flight by then.
            assert refused.outcome == "skipped" and "daily loss limit" in refused.reason
            assert w3.eth.get_transaction_count(arb.signer.address, "pending") == nonce + 1
            anvil.mine(1)
            await manager.wait_for_trackers(timeout=20)
    finally:
        await manager.cleanup()
        await client.cleanup()
    await second.arefresh_from_db()
    assert second.reason_code == "daily_loss"
    await BotConfig.objects.filter(pk=1).aupdate(paused=False)


async def test_a_blocks_trades_read_fees_and_todays_loss_once(arb, devnet, anvil, monkeypatch):
    from trading.services import execution as services

    steps = path(arb.dear, arb.cheap, arb.weth)
    first = await sync_to_async(make_opportunity)(arb, steps, E18, v2_gross(devnet, steps, E18))
    others = [
        path(arb.cheap, arb.dear, arb.weth),
        path(arb.v3, arb.dear, arb.weth),
        path(arb.cheap, arb.v3, arb.weth),
    ]
    later = [await sync_to_async(make_opportunity)(arb, other, E18, 1) for other in others]

    async def gone(steps, amount_in):
        return None  # stale once quoted: after the loss check and the fee suggestion

    losses: list[int] = []
    read_loss = services.daily_loss_wei

    def counted_loss(**kwargs):
        losses.append(loss := read_loss(**kwargs))
        return loss

    monkeypatch.setattr(services, "daily_loss_wei", counted_loss)
    client, manager = await manager_for(arb, anvil)
    suggestions = 0
    suggest = manager.gas.suggest

    async def counted_suggest():
        nonlocal suggestions
        suggestions += 1
        return await suggest()

    manager.gas.suggest = counted_suggest
    manager.wait_for_receipt = False
    try:
        with anvil.automine_paused():
            manager.begin_block(100)
            sent = await manager.execute(first.pk, limits(), v2_requote(devnet))
            assert sent.outcome == "pending"
            # Marked as sent (after the send lock) before the execution returns.
            assert not (await Trade.objects.aget(pk=sent.trade_id)).sending
            stale = await manager.execute(later[0].pk, limits(), gone)
            assert stale.outcome == "stale"
            assert (len(losses), suggestions) == (1, 1)  # read once for both
            anvil.mine(1)
            await manager.wait_for_trackers(timeout=20)
            trade = await Trade.objects.aget(pk=sent.trade_id)
            assert trade.status == "success" and trade.gas_cost_wei > 0
            # The settled trade left the in-flight cost: today's loss is read again.
            assert manager.in_flight_cost() == 0
            assert (await manager.execute(later[1].pk, limits(), gone)).outcome == "stale"
            assert (len(losses), suggestions) == (2, 1)
            manager.end_block()
            assert (await manager.execute(later[2].pk, limits(), gone)).outcome == "stale"
            assert (len(losses), suggestions) == (3, 2)  # outside a block, each reads its own
    finally:
        await manager.cleanup()
        await client.cleanup()


async def test_trades_started_together_share_one_read_and_a_failed_read_is_asked_again(
    arb, anvil, monkeypatch
):
    from trading.services import execution as services

    steps = [
        path(arb.dear, arb.cheap, arb.weth),
        path(arb.cheap, arb.dear, arb.weth),
        path(arb.v3, arb.dear, arb.weth),
        path(arb.cheap, arb.v3, arb.weth),
    ]
    rows = [await sync_to_async(make_opportunity)(arb, s, E18, 1) for s in steps]

    async def gone(steps, amount_in):
        return None

    losses = 0
    read_loss = services.daily_loss_wei

    def counted_loss(**kwargs):
        nonlocal losses
        losses += 1
        return read_loss(**kwargs)

    monkeypatch.setattr(services, "daily_loss_wei", counted_loss)
    client, manager = await manager_for(arb, anvil)
    asked = 0
    suggest = manager.gas.suggest

    async def failing_first(*args):
        nonlocal asked
        asked += 1
        await asyncio.sleep(0.05)  # long enough for the others to ask meanwhile
        if asked == 1:
            raise ConnectionError("fee history: node away")
        return await suggest()

    manager.gas.suggest = failing_first
    try:
        manager.begin_block(100)
        together = await asyncio.gather(
            *(manager.execute(row.pk, limits(), gone) for row in rows[:3])
        )
        # One loss read and one fee read for the three; the fee read failed for all.
        assert (losses, asked) == (1, 1)
        assert [r.outcome for r in together] == ["failed"] * 3
        assert all("node away" in r.reason for r in together)
        # Forgotten: the block's next execution asks again, and gets its answer.
        assert (await manager.execute(rows[3].pk, limits(), gone)).outcome == "stale"
        assert (losses, asked) == (1, 2)
        manager.end_block()
    finally:
        await manager.cleanup()
        await client.cleanup()


async def test_a_pending_trade_left_by_a_killed_engine_is_reconciled(arb, devnet, anvil, w3):
    from trading.execution.calldata import encode_execute
    from trading.execution.hops import encode_hops
    from trading.services.execution import execution_context

    steps = path(arb.dear, arb.cheap, arb.weth)
    gross = v2_gross(devnet, steps, 5 * E18)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, 5 * E18, gross)
    context = await sync_to_async(execution_context)(opportunity_id=opportunity.pk)
    hops = encode_hops(context.path, context.pools)
    # The engine signed, recorded and sent the trade, then died before the receipt.
    nonce = w3.eth.get_transaction_count(arb.signer.address)
    raw, tx_hash = arb.signer.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": nonce,
            "to": arb.executor,
            "value": 0,
            "data": "0x" + encode_execute(hops, 5 * E18, 1).hex(),
            "gas": 600_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    w3.eth.send_raw_transaction(raw)
    mined = await Trade.objects.acreate(
        opportunity=opportunity,
        mode="live",
        status="pending",
        tx_hash=tx_hash,
        tx_hashes=[tx_hash],
        nonce=nonce,
        l1_fee_wei=0,
    )
    lost = await Trade.objects.acreate(
        opportunity=opportunity,
        mode="live",
        status="pending",
        tx_hash="0x" + "ab" * 32,
        tx_hashes=["0x" + "ab" * 32],
        nonce=0,
        l1_fee_wei=0,
    )
    client, manager = await manager_for(arb, anvil)
    try:
        settled = dict(await manager.reconcile_pending())
    finally:
        await client.cleanup()
    assert settled == {mined.pk: "success", lost.pk: "dropped"}
    await mined.arefresh_from_db()
    await lost.arefresh_from_db()
    assert mined.realized_profit == gross and mined.gas_used > 0
    assert lost.status == "dropped" and "nonce" in lost.error


async def test_a_pool_its_factory_does_not_name_is_refused_and_disabled(arb, devnet, anvil, w3):
    # A contract posing as a WETH/USDC pool of the cheap DEX (it is not the factory's).
    artifact = project_artifact("MaliciousPool")
    weth, usdc = arb.weth.address, arb.usdc.address
    token0, token1 = sorted([weth, usdc], key=str.lower)
    impostor_address = devnet.deploy(artifact, token0, token1)
    impostor = await Pool.objects.acreate(
        dex=await sync_to_async(lambda: arb.cheap.dex)(),
        address=impostor_address,
        token0=arb.weth if token0 == weth else arb.usdc,
        token1=arb.usdc if token0 == weth else arb.weth,
        fee=3000,
    )
    steps = path(arb.dear, impostor, arb.weth)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, E18, 10**16)
    nonce = w3.eth.get_transaction_count(arb.signer.address)

    async def generous(steps, amount):
        return 10**16

    client, manager = await manager_for(arb, anvil)
    try:
        result = await manager.execute(opportunity.pk, limits(), generous)
    finally:
        await client.cleanup()
    assert result.outcome == "failed"
    assert "not known to its factory" in result.reason
    await impostor.arefresh_from_db()
    assert impostor.enabled is False and impostor.factory_confirmed is False
    assert w3.eth.get_transaction_count(arb.signer.address) == nonce  # nothing sent
    assert not await Trade.objects.aexists()


async def test_a_trade_tracked_apart_is_decided_at_the_send_and_settled_by_its_receipt(
    arb, devnet, anvil, w3
):
    steps = path(arb.dear, arb.cheap, arb.weth)
    amount_in = 5 * E18
    gross = v2_gross(devnet, steps, amount_in)
    opportunity = await sync_to_async(make_opportunity)(arb, steps, amount_in, gross)
    before = devnet.balance_of(arb.weth.address, arb.executor)
    settled = []
    client, manager = await manager_for(arb, anvil)
    manager.wait_for_receipt = False
    manager.on_settled = settled.append
    try:
        with anvil.automine_paused():
            result = await manager.execute(opportunity.pk, limits(), v2_requote(devnet))
            # Decided once sent: the row is pending, nothing is mined yet.
            assert (result.outcome, result.reason) == ("pending", "sent"), result
            trade = await Trade.objects.aget(pk=result.trade_id)
            assert trade.status == "pending" and trade.tx_hash
            assert manager.tracking == 1 and not settled
            # In flight: its pools are taken, its worst gas cost counts, and the nonce
            # repair and the reconciliation leave it to its tracker.
            head = w3.eth.block_number
            assert manager.in_flight_pools(head) == {s["pool"].lower() for s in steps}
            assert manager.in_flight_cost() >= 21_000
            assert await manager.check_nonces() == 0
            assert await manager.reconcile_pending() == []
            anvil.mine(1)
            await manager.wait_for_trackers(timeout=20)
    finally:
        await manager.cleanup()
        await client.cleanup()
    assert manager.tracking == 0
    assert manager.in_flight_pools(head) == frozenset() and manager.in_flight_cost() == 0
    assert [(r.outcome, r.trade_id) for r in settled] == [("success", trade.pk)]
    await trade.arefresh_from_db()
    assert trade.status == "success"
    # Exact to the wei: what the chain paid is what was expected and what is recorded.
    assert devnet.balance_of(arb.weth.address, arb.executor) - before == trade.realized_profit
    assert trade.realized_profit == gross == settled[0].profit
    await opportunity.arefresh_from_db()
    assert opportunity.status == "executed"
