"""The execution manager: claim, re-quote, simulate, sign, send, track.

Every opportunity goes through the same gate:

1. claim it (detected -> executing) or leave it to whoever claimed it first;
2. honour the kill switch, the daily loss limit and the maximum gas price;
3. re-quote it on the newest pool state and refuse if it no longer pays;
4. simulate the exact transaction with ``eth_call`` (as the executor's owner),
   with the gas limit learned for its kind of route (``LearnedGasLimits``) or
   beside an ``eth_estimateGas`` for a kind not estimated yet;
5. dry run: record the simulated trade and stop. Live: sign, record the trade as
   pending, send, wait for the receipt (replacing a stuck transaction with
   higher fees), and record success / reverted / dropped with the profit the
   executor's ``Executed`` event reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from eth_abi import decode
from eth_utils import to_checksum_address

from trading import metrics, orm
from trading.chain.nonces import NonceManager
from trading.chain.signer import Signer
from trading.dex.confirm import UnsupportedKind, factory_names
from trading.execution.calldata import (
    EXECUTED_TOPIC,
    NO_DEADLINE,
    OWNER_SELECTOR,
    decode_execute_result,
    decode_executed,
    decode_owner,
    encode_execute,
)
from trading.execution.hops import PathError, encode_hops
from trading.execution.reverts import (
    Amount,
    decode_revert_data,
    describe_error,
    revert_data_from_error,
)
from trading.formatting import format_amount
from trading.gas.fees import (
    Fee,
    FeeSuggestion,
    LearnedGasLimits,
    Speed,
    bump_fee,
    gas_limit_with_margin,
    transaction_cost,
)
from trading.gas.oracle import GasOracle
from trading.lifecycle import Component
from trading.reasons import ReasonCode, revert_code
from trading.services import execution as services

logger = logging.getLogger(__name__)

# The native currency's decimals and the name its amounts are shown with (as in BotConfig).
NATIVE_DECIMALS, NATIVE_SYMBOL = 18, "ETH"


def in_native(wei: int) -> str:
    return format_amount(wei, NATIVE_DECIMALS, NATIVE_SYMBOL)


def in_gwei(wei: int) -> str:
    return format_amount(wei, 9, "gwei", max_fraction_digits=9)


# A re-quote returns the gross profit (start-token units) of ``path`` for
# ``amount_in`` on the newest state, or None when the path cannot be quoted.
Requote = Callable[[list[dict[str, str]], int], Awaitable[int | None]]


@dataclass(frozen=True)
class ExecutionResult:
    opportunity_id: int
    # not_claimed, skipped, stale, simulated, pending, success, reverted, dropped, failed
    outcome: str
    reason: str = ""
    trade_id: int | None = None
    profit: int | None = None


# Reasons of the "stale" outcomes that mean the executor itself refused the trade.
SIMULATION_FAILURES = ("simulation reverted", "simulated profit")


@dataclass
class InFlight:
    """A live trade sent and not settled: what it trades through and may still cost."""

    pools: frozenset[str]
    deadline_block: int
    worst_cost: int  # gas limit at the fee cap, plus the L1 data fee (native wei)
    tracked: bool = True  # False once its tracker failed: reconciliation settles it


def simulation_failed(result: ExecutionResult) -> bool:
    """True when the opportunity failed its simulation (as opposed to any other refusal)."""
    return result.outcome == "stale" and result.reason.startswith(SIMULATION_FAILURES)


# A trade found at block N may be mined up to block N + DEADLINE_BLOCKS; the
# executor reverts after that, so a transaction stuck in a queue is never mined
# on a market that has moved on.
DEADLINE_BLOCKS = 3


@dataclass(frozen=True)
class Limits:
    """Operator limits, all in the units the checks need."""

    paused: bool
    paused_reason: str
    live: bool
    max_trade_size: int  # start-token units (converted by the caller)
    max_gas_price_wei: int
    daily_loss_limit_wei: int
    slippage_bps: int
    min_gas_balance_wei: int = 0
    # The last block the trade may be mined in (the executor reverts after it).
    deadline_block: int = NO_DEADLINE


def revert_reason_code(error: Any) -> ReasonCode:
    """The category of a JSON-RPC error's revert (by the decoded error's name)."""
    data = revert_data_from_error(error)
    revert = None if data is None else decode_revert_data(data)
    return revert_code(None if revert is None else revert.name)


def decode_revert(error: Any, amount: Amount = str, start_token: str | None = None) -> str:
    """A short, readable reason from a JSON-RPC error (revert data decoded when possible).

    The executor's own errors, ``Error(string)`` and ``Panic`` are said in words,
    amounts of ``start_token`` through ``amount``.
    """
    described = describe_error(error, amount, start_token=start_token)
    if described is not None:
        return described
    if isinstance(error, dict):
        message = str(error.get("message", "reverted"))
        data = error.get("data")
        if isinstance(data, str) and data.startswith("0x08c379a0"):
            try:
                (text,) = decode(["string"], bytes.fromhex(data[10:]))
                return f"{message}: {text}"
            except Exception:  # malformed revert data: fall back to the message
                return message
        if isinstance(data, str) and len(data) >= 10:
            return f"{message} ({data[:10]})"
        return message
    return str(error)


def _seen(task: asyncio.Task[Any]) -> None:
    """Mark a finished task's failure as seen (reported where it happened)."""
    if not task.cancelled():
        task.exception()


def executed_profit(receipt: dict[str, Any], executor: str) -> int | None:
    """The profit of the executor's ``Executed`` event in a receipt, if any."""
    for log in receipt.get("logs", []):
        if (
            log.get("address", "").lower() == executor.lower()
            and log.get("topics")
            and log["topics"][0].lower() == EXECUTED_TOPIC
        ):
            return decode_executed(bytes.fromhex(log["data"][2:])).profit
    return None


class ExecutionManager(Component):
    """Executes claimed opportunities through the ArbitrageExecutor contract."""

    name = "execution"

    def __init__(
        self,
        client: Any,
        gas: GasOracle,
        *,
        executor_address: str,
        chain_id: int,
        signer: Signer | None = None,
        speed: Speed = Speed.URGENT,
        receipt_timeout: float = 30.0,
        bump_after: float = 6.0,
        max_bumps: int = 3,
        poll_interval: float = 0.2,
        wait_for_receipt: bool = True,
        on_settled: Callable[[ExecutionResult], None] | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.gas = gas
        self.executor = to_checksum_address(executor_address)
        self.chain_id = chain_id
        self.signer = signer
        self.speed = speed
        self.receipt_timeout = receipt_timeout
        self.bump_after = bump_after
        self.max_bumps = max_bumps
        self.poll_interval = poll_interval
        self.nonces = NonceManager(client, signer.address) if signer else None
        # Claims whose failure could not be written (database away): id -> reason.
        self._unfinished: dict[int, str] = {}
        # Trades whose send is over but whose row still says it is in progress.
        self._unmarked: set[int] = set()
        # The fee last sent at each recent nonce: a replacement must outbid it.
        self._fees: dict[int, Fee] = {}
        self._owner: str | None = None
        # One transaction at a time per account keeps nonces simple and safe.
        self._send_lock = asyncio.Lock()
        # False (the engine): a sent trade is tracked to its receipt by a task of
        # its own, so the block that sent it is decided without waiting a block
        # for it. The row is pending before the send either way: a crash in
        # between is settled from the chain (reconcile_pending).
        self.wait_for_receipt = wait_for_receipt
        # Called with the final result of a trade tracked in the background.
        self.on_settled = on_settled
        self._trackers: set[asyncio.Task[ExecutionResult]] = set()
        # Live trades sent and not settled yet, by trade id (see InFlight).
        self._in_flight: dict[int, InFlight] = {}
        # What a block's executions read once (begin_block): the fee suggestion and
        # today's loss. None outside a block: every execution reads its own.
        self._memo: dict[str, Any] | None = None
        # Gas limits of route kinds estimated before (live trades skip the estimate).
        self.gas_limits = LearnedGasLimits(margin_bps=5_000)

    async def _initialize(self) -> None:
        code = await self.client.request("eth_getCode", [self.executor, "latest"])
        if not code or code in ("0x", "0x0"):
            raise RuntimeError(
                f"no executor contract at {self.executor}: run `python manage.py deploy_executor`"
            )
        result = await self.client.request(
            "eth_call", [{"to": self.executor, "data": "0x" + OWNER_SELECTOR.hex()}, "latest"]
        )
        self._owner = to_checksum_address(decode_owner(bytes.fromhex(result[2:])))
        if self.signer and self.signer.address != self._owner:
            raise RuntimeError(
                f"the signing account {self.signer.address} does not own the executor "
                f"{self.executor} (owner {self._owner})"
            )

    async def _cleanup(self) -> None:
        await self.wait_for_trackers()

    async def wait_for_trackers(self, timeout: float | None = None) -> None:
        """Let the trades tracked in the background settle (cancelled after ``timeout``).

        A cancelled tracker leaves its row pending, for reconciliation to settle.
        """
        if not self._trackers:
            return
        limit = self.receipt_timeout if timeout is None else timeout
        _, unfinished = await asyncio.wait(set(self._trackers), timeout=limit)
        for task in unfinished:
            task.cancel()
        for task in unfinished:
            with contextlib.suppress(BaseException):
                await task

    @property
    def tracking(self) -> int:
        """Trades sent and still tracked in the background."""
        return len(self._trackers)

    def in_flight_pools(self, block_number: int) -> frozenset[str]:
        """Pools (lower case) of live trades sent and not settled at ``block_number``.

        Another trade through one of them would be simulated on a state that
        may not hold the first, and could revert on chain: the engine leaves
        such candidates for a later block. A trade whose tracking failed keeps
        its pools until its deadline block has passed (after it, it can only
        revert, and a revert moves no pool).
        """
        pools: set[str] = set()
        for trade_id, flight in list(self._in_flight.items()):
            if flight.tracked or block_number <= flight.deadline_block:
                pools |= flight.pools
            else:  # untracked and past its deadline: reconciliation has it
                del self._in_flight[trade_id]
        return frozenset(pools)

    def begin_block(self, block_number: int, *, loss: int | None = None) -> None:
        """The engine starts deciding block ``block_number``'s trades.

        Its executions then read the fee suggestion for the next block and today's
        loss once, not once each; ``loss``: today's loss read already (with the
        claims). Today's loss is read again after any trade this manager settles
        (a trade in flight counts at its worst cost until then).
        """
        self._memo = {}
        if loss is not None:
            known: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            known.set_result(loss)
            self._memo["loss"] = known

    def end_block(self) -> None:
        """The block's trades are decided: later executions read everything afresh."""
        self._memo = None

    async def _once[T](self, key: str, read: Callable[[], Awaitable[T]]) -> T:
        """``read()``, once for the block's executions (``begin_block``), each outside one.

        The executions of a block start together: the first starts the read and
        the others wait for the same answer. A read that fails is forgotten, so
        the next execution asks again.
        """
        memo = self._memo
        if memo is None:
            return await read()
        shared: asyncio.Future[T] | None = memo.get(key)
        if shared is None:
            shared = memo[key] = asyncio.ensure_future(read())

            def forget_failure(done: asyncio.Future[T]) -> None:
                if (done.cancelled() or done.exception() is not None) and memo.get(key) is done:
                    del memo[key]

            shared.add_done_callback(forget_failure)
        # Shielded: one execution cancelled leaves the others' read running.
        return await asyncio.shield(shared)

    async def _fee_suggestion(self) -> FeeSuggestion:
        return await self._once("fees", self.gas.suggest)

    async def _todays_loss(self) -> int:
        """Today's realized loss of live trading (native wei), trades in flight not included.

        A settlement by this manager forgets the block's answer (``_trade_settle``):
        a read under way meanwhile is not kept for the executions after it.
        """

        def read() -> int:
            return services.daily_loss_wei(network=services.active_network())

        return await self._once("loss", sync_to_async(read))

    async def _over_loss_limit(self, limits: Limits) -> str | None:
        """Why no live trade may go now (the kill switch is turned on), or None.

        Trades still in flight count at the most they can cost: sent back to back,
        they could otherwise carry the day's loss past the limit.
        """
        loss = await self._todays_loss() + self.in_flight_cost()
        if loss < limits.daily_loss_limit_wei:
            return None
        await sync_to_async(services.daily_loss_limit_hit)(
            loss_wei=loss, limit_wei=limits.daily_loss_limit_wei
        )
        return (
            f"daily loss limit reached ({in_native(loss)} lost today, limit "
            f"{in_native(limits.daily_loss_limit_wei)})"
        )

    async def _trade_settle(self, *, when_decided: bool = False, **settled: Any) -> None:
        """``services.trade_settle``; today's loss is read again after it (a read that
        was under way meanwhile is not kept: ``_todays_loss``).

        ``when_decided``: written once the block being decided is (``orm.behind``);
        only for a settlement no decision waits for.
        """
        # Off the ORM thread (PostgreSQL): a receipt settled in the background never
        # holds up the block being decided.
        write = orm.behind if when_decided else orm.apart
        await write(services.trade_settle, **settled)
        if self._memo is not None:
            self._memo.pop("loss", None)

    def in_flight_cost(self) -> int:
        """Native wei the live trades in flight could still cost (gas limit at the fee cap)."""
        return sum(flight.worst_cost for flight in self._in_flight.values() if flight.tracked)

    @property
    def owner(self) -> str:
        if self._owner is None:
            raise RuntimeError("the execution manager is not initialized")
        return self._owner

    # --- the gate ----------------------------------------------------------------

    async def execute(
        self, opportunity_id: int, limits: Limits, requote: Requote
    ) -> ExecutionResult:
        """Claim one opportunity and run it through the gate; never raises for a trading
        outcome."""
        try:
            # The claim and what the execution needs about the opportunity: one call.
            with metrics.lock_wait("opportunity_claim"):
                context = await sync_to_async(services.opportunity_claim_context)(
                    opportunity_id=opportunity_id
                )
        except Exception:
            # The claim may have been written with its answer lost: released later.
            self._unfinished[opportunity_id] = "claim interrupted: the database went away"
            raise
        if context is None:
            self.count("not_claimed")
            return ExecutionResult(opportunity_id, "not_claimed", "another engine claimed it")
        return await self.execute_claimed(context, limits, requote)

    async def execute_claimed(
        self, context: services.ExecutionContext, limits: Limits, requote: Requote
    ) -> ExecutionResult:
        """Run an opportunity claimed already (``context``) through the gate; never raises
        for a trading outcome."""
        opportunity_id = context.opportunity_id
        try:
            result = await self._execute_claimed(context, limits, requote)
        except Exception as exc:  # an unexpected failure must not leave the claim hanging
            logger.exception("execution of opportunity %s failed", opportunity_id)
            self.record_error(exc)
            # Once a live trade is recorded, only its receipt may decide the
            # outcome: reconciliation settles it, whatever failed after the send.
            reason = f"{type(exc).__name__}: {exc}"
            try:
                failed = await sync_to_async(services.opportunity_fail_unless_traded)(
                    opportunity_id=opportunity_id, reason=reason
                )
            except Exception:
                # The database is away too: released by the next reconciliation,
                # or the claim would keep its cycle from ever being traded again.
                self._unfinished[opportunity_id] = reason
                raise
            return ExecutionResult(opportunity_id, "failed" if failed else "pending", str(exc))
        self.count(result.outcome)
        if result.outcome in {"simulated", "success"}:
            self.record_success()
        return result

    async def refuse_claimed(
        self, context: services.ExecutionContext, status: str, reason: str, code: str
    ) -> ExecutionResult:
        """Let a claimed opportunity go without trying it: ``status`` for ``reason``."""
        await self._finish(context.opportunity_id, status, reason, code)
        self.count(status)
        return ExecutionResult(context.opportunity_id, status, reason)

    async def _finish(
        self, opportunity_id: int, status: str, reason: str, code: str | None = None
    ) -> None:
        await sync_to_async(services.opportunity_finish)(
            opportunity_id=opportunity_id, status=status, reason=reason, reason_code=code
        )

    async def _execute_claimed(
        self, context: services.ExecutionContext, limits: Limits, requote: Requote
    ) -> ExecutionResult:
        opportunity_id = context.opportunity_id

        def in_units(amount: int) -> str:
            return format_amount(amount, context.start_token_decimals, context.start_token_symbol)

        async def refuse(status: str, reason: str, code: str | None = None) -> ExecutionResult:
            await self._finish(opportunity_id, status, reason, code)
            return ExecutionResult(opportunity_id, status, reason)

        if limits.paused:
            return await refuse(
                "skipped",
                f"kill switch on: {limits.paused_reason or 'paused'}",
                ReasonCode.PAUSED,
            )
        if context.amount_in > limits.max_trade_size:
            return await refuse(
                "skipped",
                f"input {in_units(context.amount_in)} above the maximum trade size "
                f"{in_units(limits.max_trade_size)}",
                ReasonCode.TRADE_SIZE,
            )
        if limits.live and (over := await self._over_loss_limit(limits)):
            return await refuse("skipped", over, ReasonCode.DAILY_LOSS)

        # A pool is only trusted once its DEX's factory names it: a route through
        # a pool posing as another cannot even be simulated.
        for claim in context.unconfirmed:
            try:
                named = await factory_names(self.client, claim)
            except UnsupportedKind as exc:
                return await refuse("failed", str(exc), ReasonCode.POOL_REFUSED)
            if not named:
                reason = f"pool {claim.address} is not known to its factory {claim.factory}"
                await sync_to_async(services.pool_refuse)(address=claim.address, reason=reason)
                return await refuse(
                    "failed", f"{reason}: the pool is disabled", ReasonCode.POOL_REFUSED
                )
        if context.unconfirmed:
            await sync_to_async(services.pools_confirm)(
                addresses=[claim.address for claim in context.unconfirmed]
            )

        suggestion = await self._fee_suggestion()
        fee = suggestion.for_speed(self.speed)
        price = fee.effective_price(suggestion.base_fee)
        if price > limits.max_gas_price_wei:
            return await refuse(
                "skipped",
                f"gas price {in_gwei(price)} above the limit {in_gwei(limits.max_gas_price_wei)}",
                ReasonCode.GAS_PRICE,
            )

        gross = await requote(context.path, context.amount_in)
        if gross is None or gross <= 0:
            return await refuse(
                "stale", "no longer profitable on the newest state", ReasonCode.STALE
            )
        # The executor must earn at least the quote less the slippage allowance,
        # and never less than what the gas costs: a trade never runs at a loss.
        floor = gross * (10_000 - limits.slippage_bps) // 10_000
        min_profit = max(floor, context.gas_cost, 1)
        if gross < min_profit:
            return await refuse(
                "stale",
                f"profit {in_units(gross)} below the minimum {in_units(min_profit)} after "
                "slippage and gas",
                ReasonCode.BELOW_THRESHOLD,
            )

        try:
            hops = encode_hops(context.path, context.pools)
        except PathError as exc:
            return await refuse("failed", f"cannot encode the path: {exc}", ReasonCode.POOL_REFUSED)
        data = (
            "0x"
            + encode_execute(
                hops, context.amount_in, min_profit, deadline_block=limits.deadline_block
            ).hex()
        )
        sender = self.signer.address if self.signer else self.owner
        call = {"from": sender, "to": self.executor, "data": data}

        async def sender_balance() -> int | None:
            if not (limits.live and limits.min_gas_balance_wei):
                return None
            return int(await self.client.request("eth_getBalance", [sender, "latest"]), 16)

        # Simulate against the pending block: what the transaction would meet next,
        # including transactions already waiting (someone closing the gap first).
        # The L1 data fee and the account's balance are asked at the same time: they
        # are only used when the simulation pays. A live route of a kind estimated
        # before is simulated with a gas limit just above its kind's largest estimate
        # instead of asking for an estimate, and sent with 50% above it.
        kind = tuple(context.pools[step["pool"]].dex_kind for step in context.path)
        learned = self.gas_limits.limits(kind) if limits.live else None
        simulate = call if learned is None else {**call, "gas": hex(learned[0])}
        asks: list[Awaitable[Any]] = [
            self.client.request_raw("eth_call", [simulate, "pending"]),
            self.gas.l1_fee(bytes.fromhex(data[2:])),
            sender_balance(),
        ]
        if learned is None:
            asks.append(self.client.request_raw("eth_estimateGas", [call]))
        simulated, l1_fee, balance, *estimated = await asyncio.gather(*asks)
        if learned is not None and "error" in simulated:
            # A revert, or a route needing more gas than its kind did: asked in full.
            self.count("learned_gas_refused")
            learned = None
            simulated, *estimated = await asyncio.gather(
                self.client.request_raw("eth_call", [call, "pending"]),
                self.client.request_raw("eth_estimateGas", [call]),
            )

        async def reverted(error: Any) -> ExecutionResult:
            return await refuse(
                "stale",
                "simulation reverted: " + decode_revert(error, in_units, context.start_token),
                revert_reason_code(error),
            )

        if "error" in simulated:
            return await reverted(simulated["error"])
        profit = decode_execute_result(bytes.fromhex(simulated["result"][2:]))
        if profit < min_profit:  # the contract enforces it too; belt and braces
            return await refuse(
                "stale",
                f"simulated profit {in_units(profit)} below {in_units(min_profit)}",
                ReasonCode.REVERT_UNPROFITABLE,
            )

        if learned is not None:
            self.count("learned_gas_limits")
            gas_limit = estimate = learned[1]  # (the dry run below always estimates)
        else:
            answer = estimated[0]
            if "error" in answer:
                return await reverted(answer["error"])
            estimate = int(answer["result"], 16)
            self.gas_limits.learn(kind, estimate)
            # Unused gas is not paid for: a generous margin costs nothing and keeps
            # a trade from failing on a slightly different path at inclusion.
            gas_limit = gas_limit_with_margin(estimate, 5_000)

        if not limits.live:
            trade = await sync_to_async(services.trade_record_simulated)(
                opportunity_id=opportunity_id,
                amount_in=context.amount_in,
                profit=profit,
                gas_used=estimate,
                gas_cost_wei=transaction_cost(estimate, price, l1_fee),
                reference_prices=context.reference_prices,
            )
            return ExecutionResult(opportunity_id, "simulated", trade_id=trade.pk, profit=profit)

        if self.signer is None or self.nonces is None:
            return await refuse(
                "skipped",
                "live mode needs a signing key (LISTONIAN_PRIVATE_KEY)",
                ReasonCode.ACCOUNT,
            )
        if balance is not None and balance < limits.min_gas_balance_wei:
            return await refuse(
                "skipped",
                f"signing account balance {in_native(balance)} below the minimum "
                f"{in_native(limits.min_gas_balance_wei)}",
                ReasonCode.ACCOUNT,
            )
        pools = frozenset(step["pool"].lower() for step in context.path)
        return await self._send(context, data, gas_limit, fee, l1_fee, limits, pools)

    # --- sending -----------------------------------------------------------------

    def _transaction(self, nonce: int, data: str, gas_limit: int, fee: Fee) -> dict[str, Any]:
        return {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": self.executor,
            "value": 0,
            "data": data,
            "gas": gas_limit,
            "maxFeePerGas": fee.max_fee_per_gas,
            "maxPriorityFeePerGas": fee.max_priority_fee_per_gas,
        }

    async def _send(
        self,
        context: services.ExecutionContext,
        data: str,
        gas_limit: int,
        fee: Fee,
        l1_fee: int,
        limits: Limits,
        pools: frozenset[str] = frozenset(),
    ) -> ExecutionResult:
        assert self.signer is not None and self.nonces is not None
        opportunity_id = context.opportunity_id
        async with self._send_lock:
            # Again here: a trade sent by another execution of the block since the
            # first check is in flight now, and counts.
            if over := await self._over_loss_limit(limits):
                await self._finish(opportunity_id, "skipped", over, ReasonCode.DAILY_LOSS)
                return ExecutionResult(opportunity_id, "skipped", over)
            nonce = await self.nonces.next_nonce()
            raw, tx_hash = self.signer.sign_transaction(
                self._transaction(nonce, data, gas_limit, fee)
            )
            # The kill switch is honoured right before every send: read in the
            # transaction that records the trade as pending.
            try:
                trade = await sync_to_async(services.trade_record_pending)(
                    opportunity_id=opportunity_id,
                    amount_in=context.amount_in,
                    tx_hash=tx_hash,
                    nonce=nonce,
                    max_fee_per_gas=fee.max_fee_per_gas,
                    max_priority_fee_per_gas=fee.max_priority_fee_per_gas,
                    l1_fee_wei=l1_fee,
                    unless_paused=True,
                    reference_prices=context.reference_prices,
                )
            except Exception:
                self.nonces.give_back(nonce)  # nothing was sent with it
                raise
            if trade is None:
                self.nonces.give_back(nonce)
                await self._finish(opportunity_id, "skipped", "kill switch on", ReasonCode.PAUSED)
                return ExecutionResult(opportunity_id, "skipped", "kill switch on")
            self._remember_fee(nonce, fee)
            try:
                sent = await self.client.request_raw("eth_sendRawTransaction", ["0x" + raw.hex()])
            except Exception:
                # The answer was lost: the row stays pending for reconciliation,
                # and the next nonce is read from the node rather than guessed.
                self.nonces.forget()
                await self._mark_sent(trade.pk)
                raise
            marked = "error" in sent or self.wait_for_receipt
            if marked:
                await self._mark_sent(trade.pk)
            if "error" in sent and await self._node_knows(tx_hash):
                # A retried send refused as "already known" / "nonce too low"
                # because the first attempt got through: it is in flight.
                logger.info("send of trade %s answered %s, but the node has it", trade.pk, sent)
                sent = {"result": tx_hash}
            if "error" in sent:
                await self.nonces.resync()
                reason = decode_revert(sent["error"])
                await self._trade_settle(
                    trade_id=trade.pk,
                    status="failed",
                    error=f"send refused: {reason}",
                    reason_code=ReasonCode.SEND_REFUSED,
                )
                return ExecutionResult(opportunity_id, "failed", reason, trade.pk)
            track = self._track(
                trade.pk,
                opportunity_id,
                nonce,
                data,
                gas_limit,
                fee,
                l1_fee,
                tx_hash,
                deadline_block=limits.deadline_block,
            )
            if self.wait_for_receipt:
                return await track
            self._in_flight[trade.pk] = InFlight(
                pools=pools,
                deadline_block=limits.deadline_block,
                worst_cost=gas_limit * fee.max_fee_per_gas + l1_fee,
            )
            task = asyncio.create_task(
                self._track_apart(trade.pk, track), name=f"track-trade-{trade.pk}"
            )
            self._trackers.add(task)
            task.add_done_callback(self._trackers.discard)
            # Its failure is logged by _track_apart and settled by reconciliation.
            task.add_done_callback(_seen)
            self.count("sent")
        if not marked:
            # After the lock: the block's next send does not wait for this write.
            await self._mark_sent(trade.pk)
        return ExecutionResult(opportunity_id, "pending", "sent", trade.pk)

    async def _track_apart(
        self, trade_id: int, track: Coroutine[Any, Any, ExecutionResult]
    ) -> ExecutionResult:
        """Run one trade's tracking off the block path; its outcome goes to ``on_settled``."""
        try:
            result = await track
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                track.close()
            else:
                # The row stays pending: reconciliation settles it from the chain.
                logger.exception("tracking a sent trade failed; reconciliation settles it")
                self.record_error(exc)
            flight = self._in_flight.get(trade_id)
            if flight is not None:  # its pools stay taken until its deadline has passed
                flight.tracked = False
            raise
        self._in_flight.pop(trade_id, None)
        self.count(result.outcome)
        if result.outcome == "success":
            self.record_success()
        if self.on_settled is not None:
            try:
                self.on_settled(result)
            except Exception:  # a display hook must not lose the result
                logger.exception("on_settled hook failed")
        return result

    async def _mark_sent(self, trade_id: int) -> None:
        try:
            await sync_to_async(services.trade_mark_sent)(trade_id=trade_id)
        except Exception as exc:
            # Marked by the next reconciliation (reconcile_pending): until then only
            # this manager knows the send is over; another process waits the grace.
            logger.warning("cannot mark trade %s as sent: %s", trade_id, exc)
            self._unmarked.add(trade_id)

    async def _node_knows(self, tx_hash: str) -> bool:
        try:
            return bool(await self.client.request("eth_getTransactionByHash", [tx_hash]))
        except Exception:  # unknown: treat the refusal as a refusal
            return False

    def _remember_fee(self, nonce: int, fee: Fee) -> None:
        self._fees[nonce] = fee
        for old in [n for n in self._fees if n < nonce - 64]:
            del self._fees[old]

    # --- nonce gaps --------------------------------------------------------------

    async def check_nonces(self) -> int:
        """Between sends: find and fill a nonce gap (see ``repair_nonce_gap``).

        Run by the engine's reconciliation every few seconds rather than before
        each send, so a trade never pays a round trip for it.
        """
        if self.signer is None or self.nonces is None:
            return 0
        async with self._send_lock:
            if any(flight.tracked for flight in self._in_flight.values()):
                # A trade in flight is not a gap, even where a lagging node does not
                # show it yet; a real gap before it is filled at its deadline
                # (_abandon cancels every unmined nonce up to its own).
                return 0
            return await self.repair_nonce_gap()

    async def repair_nonce_gap(self) -> int:
        """Fill a gap between the local nonce counter and the node; returns nonces filled.

        Every nonce from the node's pending count up to the local counter gets a
        self-transfer at a fee above what was sent there: the first fills the
        hole, the rest replace transactions queued behind it, so nothing stale
        is mined later.
        """
        assert self.nonces is not None
        found = await self.nonces.gap()
        if found is None:
            return 0
        first, end = found
        logger.warning(
            "nonce gap: the node expects %d, the next local nonce is %d; filling it", first, end
        )
        self.count("nonce_gaps")
        filled = await self._cancel_nonces(range(first, end))
        if filled < end - first:
            await self.nonces.resync()
        return filled

    async def _cancel_nonces(self, nonces: range) -> int:
        """Send a 21,000-gas self-transfer at each nonce (outbidding what is there).

        Highest nonce first: the queued transactions are replaced before the
        hole below them is filled, or the node would mine them the moment it is.
        """
        assert self.signer is not None
        suggestion = await self.gas.suggest()
        current = bump_fee(suggestion.for_speed(self.speed))
        sent = 0
        for nonce in reversed(nonces):
            fee = current
            previous = self._fees.get(nonce)
            if previous is not None:
                bumped = bump_fee(previous)
                fee = Fee(
                    max(bumped.max_fee_per_gas, current.max_fee_per_gas),
                    max(bumped.max_priority_fee_per_gas, current.max_priority_fee_per_gas),
                )
            transaction = {
                "type": 2,
                "chainId": self.chain_id,
                "nonce": nonce,
                "to": self.signer.address,
                "value": 0,
                "data": "0x",
                "gas": 21_000,
                "maxFeePerGas": fee.max_fee_per_gas,
                "maxPriorityFeePerGas": fee.max_priority_fee_per_gas,
            }
            raw, _ = self.signer.sign_transaction(transaction)
            answer = await self.client.request_raw("eth_sendRawTransaction", ["0x" + raw.hex()])
            if "error" in answer:
                logger.warning("cancelling nonce %d refused: %s", nonce, answer["error"])
                continue
            self._remember_fee(nonce, fee)
            self.count("nonces_cancelled")
            sent += 1
        return sent

    async def _track(
        self,
        trade_id: int,
        opportunity_id: int,
        nonce: int,
        data: str,
        gas_limit: int,
        fee: Fee,
        l1_fee: int,
        tx_hash: str,
        *,
        deadline_block: int = NO_DEADLINE,
    ) -> ExecutionResult:
        assert self.signer is not None and self.nonces is not None
        hashes = [tx_hash]
        loop = asyncio.get_running_loop()
        started = loop.time()
        last_send = started
        bumps = 0
        while loop.time() - started < self.receipt_timeout:
            for candidate in reversed(hashes):
                receipt = await self.client.request("eth_getTransactionReceipt", [candidate])
                if receipt:
                    return await self._settle(trade_id, opportunity_id, receipt, l1_fee)
            if deadline_block != NO_DEADLINE and await self.client.block_number() > deadline_block:
                # Past its deadline the trade can only revert: take its nonce back.
                return await self._abandon(trade_id, opportunity_id, nonce)
            if loop.time() - last_send >= self.bump_after and bumps < self.max_bumps:
                fee = bump_fee(fee)
                raw, new_hash = self.signer.sign_transaction(
                    self._transaction(nonce, data, gas_limit, fee)
                )
                answer = await self.client.request_raw("eth_sendRawTransaction", ["0x" + raw.hex()])
                if "error" not in answer:
                    hashes.append(new_hash)
                    bumps += 1
                    self._remember_fee(nonce, fee)
                    await sync_to_async(services.trade_add_replacement)(
                        trade_id=trade_id,
                        tx_hash=new_hash,
                        max_fee_per_gas=fee.max_fee_per_gas,
                        max_priority_fee_per_gas=fee.max_priority_fee_per_gas,
                    )
                    self.count("fee_bumps")
                last_send = loop.time()
            await asyncio.sleep(self.poll_interval)
        # Not mined in time: leave it pending; reconciliation settles it later.
        self.count("receipt_timeouts")
        return ExecutionResult(opportunity_id, "pending", "no receipt yet", trade_id)

    async def _abandon(self, trade_id: int, opportunity_id: int, nonce: int) -> ExecutionResult:
        """A trade past its deadline block with no receipt: cancel it and what blocks it.

        No receipt by then means the node holds it back (a nonce gap before it)
        or will not include it: every nonce from the chain's count up to this
        one gets a self-transfer, so the queue clears now and the stale trade is
        never mined later. The row is then settled from the chain.
        """
        assert self.nonces is not None
        self.count("deadline_passed")
        if self.wait_for_receipt:  # called inside _send, under the send lock
            await self._cancel_unmined(trade_id, nonce)
        else:  # tracked apart: other sends go on meanwhile
            async with self._send_lock:
                await self._cancel_unmined(trade_id, nonce)
        loop = asyncio.get_running_loop()
        until = loop.time() + self.receipt_timeout
        while loop.time() < until and await self.nonces.mined_count() <= nonce:
            await asyncio.sleep(self.poll_interval)
        trade = await sync_to_async(services.trade_for_reconcile)(trade_id=trade_id)
        status = await self._reconcile_one(trade) or "pending"
        return ExecutionResult(opportunity_id, status, "deadline passed unmined", trade_id)

    async def _cancel_unmined(self, trade_id: int, nonce: int) -> None:
        assert self.nonces is not None
        mined = await self.nonces.mined_count()
        if mined <= nonce:
            logger.warning(
                "trade %s (nonce %d) passed its deadline unmined; the chain is at nonce %d: "
                "cancelling",
                trade_id,
                nonce,
                mined,
            )
            await self._cancel_nonces(range(mined, nonce + 1))
            await self.nonces.resync()

    async def settlement_of(
        self, trade_id: int, receipt: dict[str, Any], l1_fee: int
    ) -> dict[str, Any]:
        """:func:`settlement`, and for a revert the reason the replay of its transaction gives."""
        settled = settlement(receipt, self.executor, l1_fee)
        if settled["status"] != "reverted":
            return settled
        try:
            token, decimals, symbol = await sync_to_async(services.trade_start_token)(
                trade_id=trade_id
            )

            def in_units(amount: int) -> str:
                return format_amount(amount, decimals, symbol)

            why = await self.replay_revert(receipt, in_units, token)
        except Exception as exc:  # the reason is a nicety: settlement must go on
            logger.warning("cannot replay reverted trade %s: %s", trade_id, exc)
            why = f"reason unavailable: {type(exc).__name__}: {exc}"
        gas_note = settled["error"].removeprefix("reverted on chain")  # " (gas used …)"
        words = f" ({why})" if why.startswith("reason unavailable") else f": {why}"
        return {
            **settled,
            "error": f"reverted on chain{words}{gas_note}",
            "reason_code": ReasonCode.REVERTED_ON_CHAIN,
        }

    async def replay_revert(
        self, receipt: dict[str, Any], amount: Amount = str, start_token: str | None = None
    ) -> str:
        """Why a mined transaction reverted, in words: its call replayed with ``eth_call``.

        The call (same sender, target, data, value and gas) is run on the state
        its block started from; if it passes there, a transaction earlier in the
        same block changed the market first, and the call is run again on the
        block's final state. Raises when the node cannot answer.
        """
        tx_hash = receipt["transactionHash"]
        tx = await self.client.request("eth_getTransactionByHash", [tx_hash])
        if not tx:
            return "reason unavailable: the node no longer knows the transaction"
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        gas_limit = int(tx["gas"], 16)
        call = {
            "from": tx["from"],
            "to": tx["to"],
            "data": tx.get("input") or tx.get("data") or "0x",
            "value": tx.get("value") or "0x0",
            "gas": tx["gas"],
        }
        for at in dict.fromkeys((max(0, block - 1), block)):
            answer = await self.client.request_raw("eth_call", [call, hex(at)])
            if "error" not in answer:
                continue
            error = answer["error"]
            described = describe_error(error, amount, start_token=start_token)
            if described is not None:
                return described
            if gas_used >= gas_limit:
                return f"out of gas: used all {gas_limit:,} gas"
            return f"reason unavailable: {decode_revert(error, amount, start_token)}"
        if gas_used >= gas_limit:
            return f"out of gas: used all {gas_limit:,} gas"
        return "reason unavailable: the replay did not revert"

    async def _settle(
        self, trade_id: int, opportunity_id: int, receipt: dict[str, Any], l1_fee: int
    ) -> ExecutionResult:
        settled = await self.settlement_of(trade_id, receipt, l1_fee)
        # Tracked apart, nothing waits for it: the trade counts as in flight, at its
        # worst cost, until it is written.
        await self._trade_settle(
            trade_id=trade_id, when_decided=not self.wait_for_receipt, **settled
        )
        metrics.GAS_SPENT_NATIVE.inc(metrics.native(settled["gas_cost_wei"]))
        return ExecutionResult(
            opportunity_id,
            settled["status"],
            settled.get("error", ""),
            trade_id,
            settled.get("realized_profit"),
        )

    # --- crash recovery ----------------------------------------------------------------

    async def reconcile_pending(self) -> list[tuple[int, str]]:
        """Settle every live trade left pending (e.g. by a killed engine).

        Mined -> success/reverted from its receipt; not mined and its nonce used
        by another transaction, or unknown to the node -> dropped; otherwise it is
        still in flight and stays pending.
        """
        for trade_id in sorted(self._unmarked):  # sends over whose row could not say so
            await sync_to_async(services.trade_mark_sent)(trade_id=trade_id)
            self._unmarked.discard(trade_id)
        trades = await sync_to_async(services.pending_live_trades)()
        settled: list[tuple[int, str]] = []
        for trade in trades:
            flight = self._in_flight.get(trade.pk)
            if flight is not None and flight.tracked:
                continue  # its tracker settles it (with its fee bumps and deadline)
            status = await self._reconcile_one(trade)
            if status:
                settled.append((trade.pk, status))
        return settled

    async def release_claims(self) -> list[int]:
        """Finish claims left ``executing`` without a trade; returns the ids released.

        Those this manager could not finish itself (the database was away), and
        any claim older than the send grace (an engine that died holding it).
        """
        released = []
        for opportunity_id, reason in list(self._unfinished.items()):
            if await sync_to_async(services.opportunity_fail_unless_traded)(
                opportunity_id=opportunity_id, reason=reason
            ):
                released.append(opportunity_id)
            del self._unfinished[opportunity_id]
        released += await sync_to_async(services.claims_release_abandoned)()
        return released

    async def reconcile_unconfirmed(
        self, *, head: int, confirmations: int
    ) -> list[tuple[int, str]]:
        """Re-read the receipts of trades not yet final; correct rows a reorg changed.

        A receipt gone from the chain puts the trade back to pending (and then
        settles it as the chain now says); a receipt in another block, or with
        another outcome, is settled again.
        """
        trades = await sync_to_async(services.unconfirmed_live_trades)(
            head=head, confirmations=confirmations
        )
        changed: list[tuple[int, str]] = []
        for trade in trades:
            receipt = await self.client.request("eth_getTransactionReceipt", [trade.tx_hash])
            if receipt:
                settled = settlement(receipt, self.executor, trade.l1_fee_wei or 0)
                if (settled["status"], settled["block_number"]) != (
                    trade.status,
                    trade.block_number,
                ) or settled["realized_profit"] != trade.realized_profit:
                    # Replayed only when written: an unchanged revert is not asked again.
                    settled = await self.settlement_of(trade.pk, receipt, trade.l1_fee_wei or 0)
                    await self._trade_settle(trade_id=trade.pk, **settled)
                    changed.append((trade.pk, str(settled["status"])))
                continue
            reason = f"reorg: block {trade.block_number} left the chain; settling again"
            await sync_to_async(services.trade_reopen)(trade_id=trade.pk, reason=reason)
            trade.status = "pending"
            changed.append((trade.pk, await self._reconcile_one(trade) or "pending"))
        return changed

    async def reconcile_disagreeing(self, *, since: Any) -> list[tuple[int, str]]:
        """Re-check recent settled trades whose rows may not match the chain.

        A dropped trade mined after all is settled from its receipt; an
        opportunity that says otherwise than its settled trade is corrected.
        """
        trades = await sync_to_async(services.disagreeing_live_trades)(since=since)
        corrected: list[tuple[int, str]] = []
        for trade in trades:
            if trade.status == "dropped":
                for tx_hash in reversed(trade.tx_hashes or [trade.tx_hash]):
                    receipt = await self.client.request("eth_getTransactionReceipt", [tx_hash])
                    if receipt:
                        settled = await self.settlement_of(trade.pk, receipt, trade.l1_fee_wei or 0)
                        await self._trade_settle(trade_id=trade.pk, **settled)
                        corrected.append((trade.pk, str(settled["status"])))
                        break
                continue
            if await sync_to_async(services.opportunity_match_trade)(trade_id=trade.pk):
                corrected.append((trade.pk, trade.status))
        return corrected

    async def _reconcile_one(self, trade: Any) -> str | None:
        for tx_hash in reversed(trade.tx_hashes or [trade.tx_hash]):
            receipt = await self.client.request("eth_getTransactionReceipt", [tx_hash])
            if receipt:
                settled = await self.settlement_of(trade.pk, receipt, trade.l1_fee_wei or 0)
                await self._trade_settle(trade_id=trade.pk, **settled)
                metrics.GAS_SPENT_NATIVE.inc(metrics.native(settled["gas_cost_wei"]))
                return settled["status"]
        known = False
        for tx_hash in trade.tx_hashes or [trade.tx_hash]:
            if await self.client.request("eth_getTransactionByHash", [tx_hash]):
                known = True
        sender = self.signer.address if self.signer else self.owner
        mined = int(await self.client.request("eth_getTransactionCount", [sender, "latest"]), 16)
        if trade.nonce is not None and mined > trade.nonce:
            # It may have been mined between the receipt reads and the count.
            for tx_hash in reversed(trade.tx_hashes or [trade.tx_hash]):
                receipt = await self.client.request("eth_getTransactionReceipt", [tx_hash])
                if receipt:
                    settled = await self.settlement_of(trade.pk, receipt, trade.l1_fee_wei or 0)
                    await self._trade_settle(trade_id=trade.pk, **settled)
                    return str(settled["status"])
            reason = "its nonce was used by another transaction"
        elif not known:
            reason = "the node no longer knows the transaction"
        else:
            return None
        await self._trade_settle(trade_id=trade.pk, status="dropped", error=reason)
        return "dropped"


def settlement(receipt: dict[str, Any], executor: str, l1_fee: int) -> dict[str, Any]:
    """What a receipt says about a trade, in ``trade_settle`` keywords."""
    gas_used = int(receipt["gasUsed"], 16)
    price = int(receipt.get("effectiveGasPrice", "0x0"), 16)
    # OP-stack receipts carry the L1 fee actually charged.
    l1 = int(receipt["l1Fee"], 16) if receipt.get("l1Fee") else l1_fee
    common = {
        "tx_hash": receipt["transactionHash"],
        "gas_used": gas_used,
        "gas_cost_wei": transaction_cost(gas_used, price, l1),
        "block_number": int(receipt["blockNumber"], 16),
    }
    if int(receipt["status"], 16) == 1:
        profit = executed_profit(receipt, executor)
        return {
            "status": "success",
            "realized_profit": profit if profit is not None else 0,
            **common,
        }
    limit = receipt.get("gas")  # not in every node's receipts
    detail = f" (gas used {gas_used}" + (f" of {int(limit, 16)})" if limit else ")")
    return {
        "status": "reverted",
        "realized_profit": 0,
        "error": "reverted on chain" + detail,
        **common,
    }
