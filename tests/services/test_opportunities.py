"""Recording opportunities: one detected row per cycle, updated in place, staled with a reason."""

from __future__ import annotations

import pytest

from tests.trading import factories as f
from trading.analysis import Cycle, Evaluation, Finding, Hop, Rejection, SizedCycle
from trading.analysis import evaluation as verdicts
from trading.chain.client import ChainClient
from trading.dex.reading import DEFAULT_GAS_BUDGET
from trading.engine.scan import MarketScanner
from trading.models import BotConfig, Network, Opportunity, OpportunityStatus, Pool, Token, Trade
from trading.services import opportunities
from trading.services.opportunities import analysis_inputs, opportunities_record

pytestmark = pytest.mark.django_db

E18 = 10**18


@pytest.fixture
def net():
    return f.network(name="Local", active=True)


@pytest.fixture
def weth(net) -> Token:
    return Token.objects.get(pk=f.token(net, "WETH", 18).pk)  # addresses as stored: checksummed


@pytest.fixture
def usdc(net) -> Token:
    return Token.objects.get(pk=f.token(net, "USDC", 6).pk)


@pytest.fixture
def pools(net, weth, usdc) -> list[Pool]:
    """Eight WETH/USDC pools on two DEXs: 56 two-hop cycles from WETH."""
    dex_a, dex_b = f.dex(net, "DexA"), f.dex(net, "DexB")
    made = [f.pool(dex_a if i % 2 else dex_b, weth, usdc) for i in range(8)]
    return list(Pool.objects.filter(pk__in=[p.pk for p in made]).order_by("pk"))


def finding(
    start: Token,
    first: Pool,
    second: Pool,
    *,
    amount_in: int = E18,
    gross: int = 10**16,
    gas: int = 10**14,
) -> Finding:
    other = first.token1 if first.token0 == start else first.token0
    cycle = Cycle(
        start.address,
        (
            Hop(first.address, start.address, other.address),
            Hop(second.address, other.address, start.address),
        ),
    )
    sized = SizedCycle(
        cycle=cycle,
        amount_in=amount_in,
        amount_out=amount_in + gross,
        gross_profit=gross,
        hop_amounts=(3_000 * 10**6, amount_in + gross),
        hop_kinds=("uniswap_v2", "uniswap_v2"),
        ticks_crossed=(0, 0),
    )
    return Finding(sized, Evaluation(gross, gas, gross - gas, 210_000, gas))


def test_it_records_a_detected_opportunity_with_every_field(net, weth, pools) -> None:
    found = finding(weth, pools[0], pools[1], amount_in=2 * E18, gross=3 * 10**16, gas=10**15)
    result = opportunities_record(network=net, block_number=100, evaluations=[found])
    (opp,) = Opportunity.objects.all()
    assert result.created == (opp.pk,) and not result.updated and not result.staled
    assert opp.network == net and opp.start_token == weth
    assert (opp.amount_in, opp.expected_profit, opp.gas_cost, opp.net_profit) == (
        2 * E18,
        3 * 10**16,
        10**15,
        3 * 10**16 - 10**15,
    )
    assert opp.path == [
        {"pool": pools[0].address, "token_in": weth.address, "token_out": pools[0].token1.address},
        {"pool": pools[1].address, "token_in": pools[1].token1.address, "token_out": weth.address},
    ]
    assert opp.cycle_key == found.key
    assert (opp.block_number, opp.first_block) == (100, 100)
    assert opp.status == OpportunityStatus.DETECTED
    assert set(opp.pools.all()) == {pools[0], pools[1]}


def test_the_same_cycle_seen_again_updates_its_row(net, weth, pools) -> None:
    first = opportunities_record(
        network=net, block_number=100, evaluations=[finding(weth, pools[0], pools[1])]
    )
    detected_at = Opportunity.objects.get().detected_at
    again = finding(weth, pools[0], pools[1], amount_in=5 * E18, gross=7 * 10**16, gas=2 * 10**15)
    seen_at = Opportunity.objects.get().updated_at
    second = opportunities_record(
        network=net,
        block_number=101,
        evaluations=[again],
        native_prices={weth.address: 10**18},
        native_usd_price=3_141_592_653,
    )
    (opp,) = Opportunity.objects.all()
    assert second.updated == first.created == (opp.pk,)
    # The block's reference prices and time, as well as the row's own figures.
    assert (opp.native_price, opp.native_usd_price) == (10**18, 3_141_592_653)
    assert opp.updated_at > seen_at
    assert not second.created and not second.staled
    assert (opp.amount_in, opp.expected_profit, opp.gas_cost, opp.net_profit) == (
        5 * E18,
        7 * 10**16,
        2 * 10**15,
        7 * 10**16 - 2 * 10**15,
    )
    assert (opp.block_number, opp.first_block) == (101, 100)
    assert opp.detected_at == detected_at


def test_amounts_stay_exact_up_to_uint256_through_updates(net, weth, pools) -> None:
    huge = 2**256 - 1
    opportunities_record(
        network=net, block_number=1, evaluations=[finding(weth, pools[0], pools[1])]
    )
    big = finding(weth, pools[0], pools[1], amount_in=huge, gross=2**255 - 3, gas=2**200 + 1)
    opportunities_record(network=net, block_number=2, evaluations=[big])
    opp = Opportunity.objects.get()
    assert opp.amount_in == huge
    assert opp.expected_profit == 2**255 - 3
    assert opp.net_profit == 2**255 - 3 - (2**200 + 1)


def test_a_full_scan_stales_every_cycle_that_no_longer_pays(net, weth, pools) -> None:
    paying = finding(weth, pools[0], pools[1])
    fading = finding(weth, pools[2], pools[3])
    opportunities_record(network=net, block_number=10, evaluations=[paying, fading])
    elsewhere = f.opportunity(
        f.token(f.network(name="Other"), "WETH"), cycle_key="other-network-cycle"
    )
    result = opportunities_record(
        network=net,
        block_number=11,
        evaluations=[paying],
        reasons={fading.key: "net profit -5 below the minimum 1"},
    )
    stale = Opportunity.objects.get(cycle_key=fading.key)
    assert result.staled == (stale.pk,)
    assert stale.status == OpportunityStatus.STALE
    assert stale.status_reason == "net profit -5 below the minimum 1"
    assert stale.reason_code == "below_threshold"
    assert Opportunity.objects.get(cycle_key=paying.key).status == OpportunityStatus.DETECTED
    elsewhere.refresh_from_db()
    assert elsewhere.status == OpportunityStatus.DETECTED


def test_a_stale_cycle_that_pays_again_gets_a_new_row(net, weth, pools) -> None:
    cycle = finding(weth, pools[0], pools[1])
    opportunities_record(network=net, block_number=1, evaluations=[cycle])
    opportunities_record(network=net, block_number=2, evaluations=[])
    result = opportunities_record(network=net, block_number=3, evaluations=[cycle])
    assert len(result.created) == 1
    assert sorted(Opportunity.objects.values_list("status", flat=True)) == ["detected", "stale"]
    assert Opportunity.objects.get(status="stale").status_reason == (
        "no longer profitable at block 2"
    )


def test_a_partial_scan_stales_only_the_cycles_it_evaluated(net, weth, pools) -> None:
    one = finding(weth, pools[0], pools[1])
    two = finding(weth, pools[2], pools[3])
    opportunities_record(network=net, block_number=1, evaluations=[one, two])
    result = opportunities_record(
        network=net, block_number=2, evaluations=[], evaluated_keys={one.key}
    )
    assert len(result.staled) == 1
    assert Opportunity.objects.get(cycle_key=one.key).status == OpportunityStatus.STALE
    assert Opportunity.objects.get(cycle_key=two.key).status == OpportunityStatus.DETECTED


@pytest.mark.parametrize("judged_many", [False, True])
def test_a_partial_scan_of_many_cycles_changes_only_their_rows(
    net, weth, pools, monkeypatch, judged_many
) -> None:
    if judged_many:  # more keys judged than FEW_KEYS: the open rows' keys are read first
        monkeypatch.setattr(opportunities, "FEW_KEYS", 1)
    one, two, three, four = (finding(weth, pools[i], pools[i + 1]) for i in range(4))
    opportunities_record(network=net, block_number=1, evaluations=[one, two, three, four])
    Opportunity.objects.filter(cycle_key=four.key).update(status=OpportunityStatus.EXECUTING)
    judged = {one.key, three.key, four.key, *(f"other-cycle-{i}" for i in range(600))}
    result = opportunities_record(
        network=net, block_number=2, evaluations=[three], evaluated_keys=judged
    )
    rows = {row.cycle_key: row for row in Opportunity.objects.all()}
    assert result.staled == (rows[one.key].pk,) and result.updated == (rows[three.key].pk,)
    assert result.created == ()
    assert [rows[c.key].status for c in (one, two, three, four)] == [
        "stale", "detected", "detected", "executing"
    ]  # fmt: skip
    assert (rows[three.key].block_number, rows[two.key].block_number) == (2, 1)


def test_an_opportunity_being_executed_is_left_to_the_executor(net, weth, pools) -> None:
    cycle = finding(weth, pools[0], pools[1])
    opportunities_record(network=net, block_number=1, evaluations=[cycle])
    Opportunity.objects.update(status=OpportunityStatus.EXECUTING)
    result = opportunities_record(network=net, block_number=2, evaluations=[cycle])
    assert result.changed == ()
    opportunities_record(network=net, block_number=3, evaluations=[])
    (opp,) = Opportunity.objects.all()
    assert (opp.status, opp.block_number) == (OpportunityStatus.EXECUTING, 1)


def test_writes_are_bulk_whatever_the_number_of_cycles(
    net, weth, pools, django_assert_max_num_queries
) -> None:
    cycles = [finding(weth, a, b) for a in pools for b in pools if a != b]
    assert len(cycles) == 56
    # Seven statements, and the savepoint pair of the claim's transaction inside the test's.
    with django_assert_max_num_queries(9):
        opportunities_record(network=net, block_number=1, evaluations=cycles[:1])
    # Updated rows take two statements: their own figures, then the block's, alike on
    # every one of them.
    with django_assert_max_num_queries(10):
        first = opportunities_record(network=net, block_number=2, evaluations=cycles[:40])
    assert (len(first.created), len(first.updated)) == (39, 1)
    # New, updated and staled rows at once, still the same handful of queries.
    with django_assert_max_num_queries(10):
        second = opportunities_record(network=net, block_number=3, evaluations=cycles[20:])
    assert (len(second.created), len(second.updated), len(second.staled)) == (16, 20, 20)
    assert Opportunity.objects.detected().count() == 36
    assert Opportunity.pools.through.objects.count() == 2 * 56


def test_analysis_inputs_gather_what_a_scan_needs(net, weth, usdc, pools) -> None:
    net.base_tokens.add(weth, usdc)
    config = BotConfig.load()
    config.max_hops, config.max_trade_size_wei, config.min_net_profit_wei = 2, 5 * E18, 10**15
    config.save()
    inputs = analysis_inputs()
    assert inputs.network_id == net.pk and inputs.chain_id == 31337
    assert set(inputs.base_tokens) == {weth.address, usdc.address}
    # No wrapped native token set: the base token called WETH is used.
    assert inputs.wrapped_native == weth.address and inputs.wrapped_native_guessed
    assert (inputs.max_hops, inputs.max_trade_size_wei, inputs.min_net_profit_wei) == (
        2,
        5 * E18,
        10**15,
    )
    assert {spec.address for spec in inputs.pools} == {p.address for p in pools}
    assert inputs.tokens[usdc.address].decimals == 6
    assert inputs.enabled_dexes == ("DexA", "DexB")
    net.wrapped_native_token = usdc
    net.save()
    explicit = analysis_inputs(network=net)
    assert explicit.wrapped_native == usdc.address and not explicit.wrapped_native_guessed
    # The pool-state reads are planned with the network's own gas budget.
    assert explicit.read_gas_budget == DEFAULT_GAS_BUDGET == 25_000_000
    net.read_gas_budget = 45_000_000
    net.save()
    inputs = analysis_inputs(network=net)
    assert inputs.read_gas_budget == 45_000_000
    assert MarketScanner(ChainClient(["http://127.0.0.1:9"]), inputs).dex.gas_budget == 45_000_000


def test_one_call_announces_its_rows_in_one_event_after_commit(
    net, weth, pools, django_capture_on_commit_callbacks
) -> None:
    from trading import events

    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    events.opportunities_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = opportunities_record(
                network=net, block_number=1, evaluations=[finding(weth, pools[0], pools[1])]
            )
            assert received == []  # nothing before the commit
        with django_capture_on_commit_callbacks(execute=True):
            second = opportunities_record(
                network=net,
                block_number=2,
                evaluations=[finding(weth, pools[0], pools[1]), finding(weth, pools[2], pools[3])],
            )
        with django_capture_on_commit_callbacks(execute=True):
            third = opportunities_record(network=net, block_number=3, evaluations=[])
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            opportunities_record(network=net, block_number=4, evaluations=[])
    finally:
        events.opportunities_recorded.disconnect(listener)
    assert len(received) == 3 and not callbacks  # no change, no event
    assert received[0]["created"] == first.created
    assert received[1]["created"] == second.created and received[1]["updated"] == first.created
    assert set(received[2]["staled"]) == set(third.staled) == set(second.changed)


def test_it_stores_the_blocks_reference_prices_on_each_row(net, weth, usdc, pools) -> None:
    paying = finding(weth, pools[0], pools[1])
    opportunities_record(
        network=net,
        block_number=7,
        evaluations=[paying],
        native_prices={weth.address: E18, usdc.address: 3_000 * 10**6},
        native_usd_price=2_999_000_000,
    )
    row = Opportunity.objects.get()
    assert (row.native_price, row.native_usd_price) == (E18, 2_999_000_000)
    # Seen again at another price: the detected row follows the latest block.
    opportunities_record(
        network=net,
        block_number=8,
        evaluations=[paying],
        native_prices={weth.address: E18},
        native_usd_price=3_100_000_000,
    )
    row.refresh_from_db()
    assert row.native_usd_price == 3_100_000_000


def test_the_dollar_reference_is_the_networks_choice_or_a_usdc_base_token(
    net, weth, usdc, pools
) -> None:
    net.base_tokens.set([weth, usdc])
    inputs = analysis_inputs(network=net)
    assert (inputs.usd_token, inputs.usd_token_decimals, inputs.usd_pool) == (
        usdc.address,
        6,
        None,
    )
    dai = f.token(net, "DAI", 18)
    net.usd_token = dai
    net.usd_reference_pool = pools[3]
    net.save()
    inputs = analysis_inputs(network=net)
    assert (inputs.usd_token, inputs.usd_token_decimals) == (dai.address, 18)
    assert inputs.usd_pool == pools[3].address


def test_a_stale_reason_says_its_amounts_in_the_start_tokens_units(net, weth, pools) -> None:
    short = finding(weth, pools[0], pools[1])
    poor = finding(weth, pools[2], pools[3])
    unseen = finding(weth, pools[4], pools[5])
    opportunities_record(network=net, block_number=10, evaluations=[short, poor, unseen])
    opportunities_record(
        network=net,
        block_number=11,
        evaluations=[],
        reasons={
            short.key: Rejection(
                short.key, verdicts.GROSS_BELOW_NEEDED, (327_564_454_100_001,), weth.address
            ),
            poor.key: Rejection(
                poor.key, verdicts.NET_BELOW_MINIMUM, (-12 * 10**14, 15 * 10**14), weth.address
            ),
        },
    )
    rows = {row.cycle_key: row for row in Opportunity.objects.filter(status="stale")}
    assert rows[short.key].status_reason == (
        "gross profit below the 0.000327 WETH needed (gas plus the minimum net profit)"
    )
    assert rows[poor.key].status_reason == "net profit -0.0012 WETH below the minimum 0.0015 WETH"
    assert rows[unseen.key].status_reason == "no longer profitable at block 11"
    assert [rows[k].reason_code for k in (short.key, poor.key, unseen.key)] == [
        "below_threshold",
        "below_threshold",
        "stale",
    ]


@pytest.mark.parametrize("few", [True, False])
def test_a_partial_scan_writes_the_same_rows_whether_it_judged_few_keys_or_many(
    net, weth, pools, monkeypatch, few
) -> None:
    # Few judged keys read only their own rows; many read every open row.
    monkeypatch.setattr("trading.services.opportunities.FEW_KEYS", 10 if few else 0)
    one = finding(weth, pools[0], pools[1])
    two = finding(weth, pools[2], pools[3])
    three = finding(weth, pools[1], pools[2])
    opportunities_record(network=net, block_number=1, evaluations=[one, two])
    Opportunity.objects.filter(cycle_key=two.key).update(status=OpportunityStatus.EXECUTING)
    result = opportunities_record(
        network=net,
        block_number=2,
        evaluations=[three, two],
        evaluated_keys={one.key, two.key, three.key},
    )
    # `one` is judged and gone: stale; `two` is being executed: left alone; `three` is new.
    assert len(result.staled) == 1 and len(result.created) == 1 and result.updated == ()
    statuses = dict(Opportunity.objects.values_list("cycle_key", "status"))
    assert statuses == {
        one.key: OpportunityStatus.STALE,
        two.key: OpportunityStatus.EXECUTING,
        three.key: OpportunityStatus.DETECTED,
    }


def test_a_claim_writes_the_traded_rows_claimed_and_leaves_an_executing_cycle_alone(
    net, weth, pools
) -> None:
    from trading.services.opportunities import opportunities_claim

    seen = finding(weth, pools[0], pools[1])
    busy = finding(weth, pools[2], pools[3])
    opportunities_record(network=net, block_number=10, evaluations=[seen, busy])
    Opportunity.objects.filter(cycle_key=busy.key).update(status=OpportunityStatus.EXECUTING)
    newer = finding(weth, pools[0], pools[1], amount_in=3 * E18, gross=4 * 10**16)
    fresh = finding(weth, pools[4], pools[5])
    claimed = opportunities_claim(
        network=net,
        items=[(newer, 12), (busy, 12), (fresh, 11)],
        native_prices={weth.address: E18},
        native_usd_price=3_000 * 10**8,
    )
    # The detected row is updated and claimed; a new one is created claimed; the
    # row an execution holds already is not claimed again.
    assert list(claimed) == [newer.key, fresh.key]
    row = Opportunity.objects.get(pk=claimed[newer.key])
    assert row.status == OpportunityStatus.EXECUTING and row.amount_in == 3 * E18
    assert (row.block_number, row.first_block, row.native_price) == (12, 10, E18)
    new = Opportunity.objects.get(pk=claimed[fresh.key])
    assert new.status == OpportunityStatus.EXECUTING
    assert (new.block_number, new.first_block) == (11, 11)
    assert set(new.pools.all()) == {pools[4], pools[5]}
    assert Opportunity.objects.filter(cycle_key=busy.key).count() == 1
    assert Opportunity.objects.filter(status=OpportunityStatus.DETECTED).count() == 0
    # A block recording the same cycle again meanwhile writes no second row.
    again = opportunities_record(network=net, block_number=12, evaluations=[newer])
    assert not again.created and not again.updated
    assert Opportunity.objects.filter(cycle_key=newer.key).count() == 1


def test_a_decision_claim_reads_the_limits_the_contexts_and_todays_loss_in_one_call(
    net, weth, pools, django_assert_max_num_queries
) -> None:
    from trading.services.execution import decision_claim, execution_context

    found = [finding(weth, pools[0], pools[1]), finding(weth, pools[2], pools[3])]
    config = BotConfig.load()
    config.mode = "live"
    config.save()
    # Seven statements, and the savepoint pair of the claim's transaction inside the test's.
    with django_assert_max_num_queries(9):
        claim = decision_claim(
            network=net,
            items=[(x, 7) for x in found],
            native_prices={weth.address: E18},
            native_usd_price=3_000 * 10**8,
        )
    assert claim.config.mode == "live" and claim.loss == 0
    assert list(claim.contexts) == [x.key for x in found]
    for x in found:
        context = claim.contexts[x.key]
        row = Opportunity.objects.get(pk=context.opportunity_id)
        assert row.status == OpportunityStatus.EXECUTING and row.cycle_key == x.key
        assert context.path == x.cycle.path() and context.amount_in == x.sized.amount_in
        assert set(context.pools) == set(x.cycle.pools)
        assert (context.start_token, context.start_token_decimals) == (weth.address, 18)
        # The context made from the finding is the one read back from its row.
        assert context == execution_context(opportunity_id=context.opportunity_id)
        assert context.reference_prices == (E18, 3_000 * 10**8)
    # Dry run: today's loss is not read; nothing left to claim: nothing is written.
    dry = decision_claim(network=net, items=[(found[0], 8)], live=False)
    assert dry.loss is None and dry.contexts == {}


def test_todays_loss_is_live_gas_less_the_wrapped_native_profit_of_todays_successes(
    net, weth, usdc, django_assert_num_queries
) -> None:
    import datetime as dt

    from django.utils import timezone

    from trading.services.execution import daily_loss_wei

    net.wrapped_native_token = weth
    net.save()
    in_weth, in_usdc = f.opportunity(weth), f.opportunity(usdc)
    f.trade(in_weth, realized_profit=3 * 10**14, gas_cost_wei=10**15)  # offsets
    f.trade(in_weth, status="reverted", realized_profit=5 * 10**14, gas_cost_wei=2 * 10**15)
    f.trade(in_usdc, realized_profit=10**20, gas_cost_wei=4 * 10**15)  # no offset
    f.trade(in_weth, mode="dry_run", realized_profit=0, gas_cost_wei=10**18)  # not counted
    yesterday = f.trade(in_weth, realized_profit=0, gas_cost_wei=10**18)
    Trade.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    with django_assert_num_queries(1):
        assert daily_loss_wei(network=net) == 7 * 10**15 - 3 * 10**14
    net.wrapped_native_token = None
    assert daily_loss_wei(network=net) == 7 * 10**15
    assert daily_loss_wei(network=None) == 7 * 10**15
    # In profit: no loss.
    f.trade(in_weth, realized_profit=10**17, gas_cost_wei=0)
    assert daily_loss_wei(network=Network.objects.get(pk=net.pk)) == 0


@pytest.mark.postgres
def test_the_open_rows_of_a_few_cycles_are_found_by_key_on_a_table_never_analysed(
    net, weth, pools
) -> None:
    from trading.services.opportunities import open_by_cycle

    rows = [
        Opportunity(
            network=net,
            start_token=weth,
            cycle_key=f"0x{i:040x}|{weth.address}",
            status=("detected", "executing", "stale")[i % 3],
            first_block=1,
            block_number=1,
            amount_in=E18,
            expected_profit=10**16,
            gas_cost=10**14,
            net_profit=10**16 - 10**14,
            path=[],
        )
        for i in range(3_000)
    ]
    Opportunity.objects.bulk_create(rows)
    keys = [rows[0].cycle_key, rows[1].cycle_key]
    plan = open_by_cycle(net, keys).select_for_update().explain()
    assert "opportunity_open_by_cycle" in plan, plan
    assert {r.cycle_key for r in open_by_cycle(net, [*keys, rows[2].cycle_key])} == set(keys)
