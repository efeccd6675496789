"""Listonian's data: networks, tokens, DEXs, pools, opportunities, trades, settings.

Token amounts are exact integers in the token's smallest unit
(:class:`~trading.fields.TokenAmountField`). Field names here are a stable
interface (see DESIGN.md): add, never rename.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from trading.addresses import (
    ZERO_ADDRESS,
    normalize_address,
    normalize_pool_address,
    validate_address,
    validate_pool_address,
)
from trading.fields import AmountSum, TokenAmountField
from trading.reasons import ReasonCode
from trading.units import amount_from_units

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
BPS = 10_000

_bps_validators = [MinValueValidator(0), MaxValueValidator(BPS)]
# Network.read_gas_budget: the default stays under anvil's default 30M block gas limit (its
# eth_call cap, and the lowest common default) with room for the call's own gas and for
# estimates that run short; trading.dex.reading.DEFAULT_GAS_BUDGET is the same number.
READ_GAS_BUDGET_DEFAULT = 25_000_000
# Below this one heavy V3 pool would not fit a call; above, no node is that generous.
READ_GAS_BUDGET_MIN = 2_000_000
READ_GAS_BUDGET_MAX = 1_000_000_000


class AddressField(models.CharField):
    """An EVM address, stored in EIP-55 checksum form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 42)
        super().__init__(*args, **kwargs)
        self.validators.append(validate_address)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value:
            try:
                return normalize_address(value)
            except ValidationError:
                # Left as typed; full_clean() reports it with a clear message.
                return value
        return value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value:
            return normalize_address(value)
        return value

    def formfield(self, **kwargs: Any) -> Any:
        from trading.forms import AddressFormField

        kwargs.setdefault("form_class", AddressFormField)
        return super().formfield(**kwargs)


class PoolAddressField(models.CharField):
    """A pool's address, or for a Uniswap V4 pool (which has none) its pool id.

    Addresses are stored checksummed, pool ids as 0x + 64 lower-case hex digits.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 66)
        super().__init__(*args, **kwargs)
        self.validators.append(validate_pool_address)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value:
            try:
                return normalize_pool_address(value)
            except ValidationError:
                return value
        return value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value:
            return normalize_pool_address(value)
        return value


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\s]+", text or "") if item.strip()]


# --- Networks, tokens, DEXs, pools -------------------------------------------------------


# Chain ids of local development nodes: nothing sent there costs real money.
LOCAL_TEST_CHAIN_IDS = frozenset({31337, 1337})


class NetworkQuerySet(models.QuerySet["Network"]):
    def active(self) -> Network | None:
        """The one network the engine works on, or None when none is active."""
        return self.filter(active=True).first()


class Network(models.Model):
    """An EVM chain the bot can work on. Exactly one may be active."""

    name = models.CharField(max_length=64, unique=True)
    chain_id = models.PositiveBigIntegerField(
        validators=[MinValueValidator(1)], help_text="EIP-155 chain id (Base: 8453)."
    )
    rpc_urls = models.TextField(
        help_text="RPC endpoints, comma- or newline-separated; the first is primary, the "
        "others are failover. LISTONIAN_RPC_URL overrides them.",
    )
    active = models.BooleanField(default=False)
    executor_address = AddressField(blank=True, help_text="Set by deploy_executor.")
    base_tokens: models.ManyToManyField[Token, Any] = models.ManyToManyField(
        "Token",
        blank=True,
        related_name="base_for_networks",
        help_text="Cycles start and end in these tokens (e.g. WETH, USDC).",
    )
    wrapped_native_token = models.ForeignKey(
        "Token",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The wrapped native token (WETH): gas costs are priced through it.",
    )
    usd_token = models.ForeignKey(
        "Token",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The stablecoin counted as one US dollar (USDC). Empty: a base token named "
        "USDC, USDbC, USDT or DAI.",
    )
    usd_reference_pool = models.ForeignKey(
        "Pool",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The native/stablecoin pool that prices the native currency in dollars. "
        "Empty: the deepest such pool at each block.",
    )
    block_time_ms = models.PositiveIntegerField(default=2000)
    read_gas_budget = models.PositiveBigIntegerField(
        default=READ_GAS_BUDGET_DEFAULT,
        validators=[MinValueValidator(READ_GAS_BUDGET_MIN), MaxValueValidator(READ_GAS_BUDGET_MAX)],
        help_text="Gas one batched pool-state read (an eth_call) is planned to use. The node "
        "caps eth_call gas: op-geth's --rpc.gascap is 50,000,000 by default, anvil's cap is its "
        "block gas limit (30,000,000 unless started with --gas-limit). Stay a few million under "
        "the node's cap; more gas means fewer calls per refresh (about 65,000 gas per V3 pool, "
        "35,000 per V4 pool, 95,000 per Slipstream pool, 6,000 per V2 pair).",
    )
    is_op_stack = models.BooleanField(
        default=False, help_text="OP-stack chain (Base, Optimism): transactions pay an L1 data fee."
    )
    multicall_address = AddressField(default=MULTICALL3_ADDRESS, blank=True)
    explorer_url = models.URLField(blank=True)
    token_allowlist = models.TextField(
        blank=True,
        help_text="Token addresses, comma- or newline-separated. When set, discovery keeps "
        "only pools whose two tokens are both listed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NetworkQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="one_active_network"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.chain_id})"

    @property
    def rpc_url_list(self) -> list[str]:
        return _split_list(self.rpc_urls)

    @property
    def is_local_test_chain(self) -> bool:
        """Whether this is a local development chain (anvil's or hardhat's chain id)."""
        return self.chain_id in LOCAL_TEST_CHAIN_IDS

    @property
    def token_allowlist_set(self) -> set[str]:
        return {normalize_address(a) for a in _split_list(self.token_allowlist)}

    def clean(self) -> None:
        urls = self.rpc_url_list
        if not urls:
            raise ValidationError({"rpc_urls": "Give at least one RPC URL."})
        for url in urls:
            if not re.match(r"^(https?|wss?)://[^\s/]+", url):
                raise ValidationError(
                    {"rpc_urls": f"{url!r} is not an http(s):// or ws(s):// URL."}
                )
        try:
            self.token_allowlist_set  # noqa: B018 - validates every entry
        except ValidationError as exc:
            raise ValidationError({"token_allowlist": exc.messages}) from None


class Token(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="tokens")
    address = AddressField()
    symbol = models.CharField(max_length=32)
    name = models.CharField(max_length=128, blank=True)
    decimals = models.PositiveSmallIntegerField(validators=[MaxValueValidator(77)])
    min_liquidity = TokenAmountField(
        null=True,
        blank=True,
        help_text="Discovery skips pools holding less than this of this token (smallest unit).",
    )
    distribution_threshold = TokenAmountField(
        null=True,
        blank=True,
        help_text="Profit in this token is swept once the executor holds at least this much "
        "(smallest unit). Empty: never swept.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["network", "address"], name="unique_token_per_network")
        ]

    def __str__(self) -> str:
        return self.symbol


class DexKind(models.TextChoices):
    UNISWAP_V2 = "uniswap_v2", "Uniswap V2 family"
    UNISWAP_V3 = "uniswap_v3", "Uniswap V3 family"
    SOLIDLY = "solidly", "Solidly / Aerodrome family"
    SLIPSTREAM = "slipstream", "Aerodrome Slipstream (concentrated liquidity)"
    PANCAKESWAP_V3 = "pancakeswap_v3", "PancakeSwap V3"
    UNISWAP_V4 = "uniswap_v4", "Uniswap V4 (PoolManager)"


class Dex(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="dexes")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=DexKind.choices)
    factory = AddressField()
    router = AddressField(blank=True)
    fee_bps = models.PositiveIntegerField(
        default=30,
        validators=_bps_validators,
        help_text="Swap fee in basis points for V2-family pools (30 = 0.3%). V3 and "
        "Solidly pools carry their own fee.",
    )
    enabled = models.BooleanField(default=True)
    start_block = models.PositiveBigIntegerField(
        default=0, help_text="V3 discovery scans PoolCreated logs from this block."
    )
    discovery_cursor = models.PositiveBigIntegerField(
        default=0,
        help_text="Where the next sync resumes: the next pool index (V2, Solidly) or the "
        "next block to scan (V3).",
    )
    discovery_unread = models.JSONField(
        default=list,
        blank=True,
        help_text="Pool indexes behind the cursor whose factory entry could not be read "
        "(the call reverted); every sync reads them again until it succeeds.",
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["network__name", "name"]
        verbose_name = "DEX"
        verbose_name_plural = "DEXs"
        constraints = [
            models.UniqueConstraint(fields=["network", "name"], name="unique_dex_name"),
            models.UniqueConstraint(fields=["network", "factory"], name="unique_dex_factory"),
        ]

    def __str__(self) -> str:
        return self.name


class PoolQuerySet(models.QuerySet):
    def enabled(self) -> PoolQuerySet:
        return self.filter(enabled=True, dex__enabled=True)


class Pool(models.Model):
    dex = models.ForeignKey(Dex, on_delete=models.CASCADE, related_name="pools")
    address = PoolAddressField(
        help_text="The pool's contract; for a Uniswap V4 pool, its pool id (0x + 64 hex digits)."
    )
    token0 = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    token1 = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    fee = models.PositiveIntegerField(
        help_text="Swap fee in millionths (pips): 3000 = 0.3%.",
        validators=[MaxValueValidator(1_000_000)],
    )
    tick_spacing = models.IntegerField(null=True, blank=True)
    stable = models.BooleanField(default=False, help_text="Solidly stable (x3y+y3x) curve.")
    # Uniswap V4: the rest of the pool key (the currencies are token0/token1, the
    # PoolManager is the DEX's factory).
    hooks = AddressField(blank=True, help_text="Uniswap V4: the pool key's hooks contract.")
    dynamic_fee = models.BooleanField(
        default=False,
        help_text="Uniswap V4: the hooks set the LP fee (the key's fee is 0x800000); "
        "`fee` is then the last one read.",
    )
    enabled = models.BooleanField(default=True)
    factory_confirmed = models.BooleanField(
        default=False,
        help_text="The DEX's factory names this pool for its tokens (set by discovery, or "
        "checked when the pool is added by hand and before its first trade).",
    )
    # Last persisted state: kept for the dashboard, not refreshed every block.
    reserve0 = TokenAmountField(null=True, blank=True)
    reserve1 = TokenAmountField(null=True, blank=True)
    sqrt_price_x96 = TokenAmountField(null=True, blank=True)
    liquidity = TokenAmountField(null=True, blank=True)
    tick = models.IntegerField(null=True, blank=True)
    state_block = models.PositiveBigIntegerField(null=True, blank=True)
    created_block = models.PositiveBigIntegerField(null=True, blank=True)
    discovered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PoolQuerySet.as_manager()

    class Meta:
        ordering = ["dex", "address"]
        constraints = [
            models.UniqueConstraint(fields=["dex", "address"], name="unique_pool_per_dex")
        ]

    def __str__(self) -> str:
        pair = f"{self.token0.symbol}/{self.token1.symbol}"
        return f"{pair} {self.fee_label} {self.dex.name}"

    @property
    def fee_label(self) -> str:
        label = f"{self.fee / 10_000:g}%"
        return f"dynamic ({label})" if self.dynamic_fee else label

    @property
    def pool_id(self) -> str | None:
        """A Uniswap V4 pool's id (its ``address`` here), None for pools with an address."""
        return self.address if len(self.address or "") == 66 else None

    @property
    def pool_key(self) -> tuple[str, str, int, int, str] | None:
        """A V4 pool's key: (currency0, currency1, fee, tickSpacing, hooks), else None."""
        if self.pool_id is None:
            return None
        fee = 0x800000 if self.dynamic_fee else self.fee
        hooks = self.hooks or ZERO_ADDRESS
        return (self.token0.address, self.token1.address, fee, self.tick_spacing or 0, hooks)


# --- Opportunities and trades -----------------------------------------------------------


class OpportunityStatus(models.TextChoices):
    DETECTED = "detected", "Detected"
    EXECUTING = "executing", "Executing"
    EXECUTED = "executed", "Executed"
    STALE = "stale", "Stale"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class HistoryQuerySet(models.QuerySet):
    """The history filters, written once for opportunities and trades.

    Each subclass says where a filter looks: its time column, its start token,
    its profit column (in start-token smallest units) and the opportunity whose
    pools the row went through.
    """

    time_field: str
    start_token_field: str
    profit_field: str
    opportunity_field: str

    def since(self, moment: dt.datetime) -> Self:
        return self.filter(**{f"{self.time_field}__gte": moment})

    def until(self, moment: dt.datetime) -> Self:
        """Rows strictly before ``moment``."""
        return self.filter(**{f"{self.time_field}__lt": moment})

    def today(self) -> Self:
        now = timezone.now()
        return self.since(now.replace(hour=0, minute=0, second=0, microsecond=0))

    def with_status(self, status: str) -> Self:
        return self.filter(status=status)

    def with_reason(self, code: str) -> Self:
        """Rows whose reason is of category ``code`` (a :class:`ReasonCode` value)."""
        return self.filter(reason_code=code)

    def reason_codes(self) -> list[str]:
        """The reason categories present among these rows, in the order of ``ReasonCode``."""
        present = set(self.order_by().values_list("reason_code", flat=True).distinct())
        return [code for code in ReasonCode.values if code and code in present]

    def starting_with(self, token: Token | int) -> Self:
        """Rows whose cycle starts and ends in ``token`` (a Token or its id)."""
        return self.filter(**{self.start_token_field: token})

    def through_dex(self, dex: Dex | int | str) -> Self:
        """Rows whose path uses a pool of ``dex`` (a Dex, its id or its name), each row once."""
        if isinstance(dex, Dex):
            on_dex = Q(pool__dex=dex)
        elif isinstance(dex, int):
            on_dex = Q(pool__dex_id=dex)
        else:
            on_dex = Q(pool__dex__name=dex)
        # Exists rather than a join: no duplicate rows, cheap counts for pagination.
        through = Opportunity.pools.through.objects.filter(
            on_dex, opportunity_id=OuterRef(self.opportunity_field)
        )
        return self.filter(Exists(through))

    def with_profit_between(self, low: int | None = None, high: int | None = None) -> Self:
        """Rows whose profit lies in ``[low, high]``, exact start-token smallest units."""
        return self.filter(self._profit_range(low, high))

    def with_profit_in_units(
        self, low: Decimal | str | None = None, high: Decimal | str | None = None
    ) -> Self:
        """Rows whose profit lies in ``[low, high]`` typed in token units (``"0.01"``).

        Each bound is converted exactly with each start token's decimals; a lower
        bound finer than a token's precision rounds up and an upper bound down, so
        the range never admits a value outside what was typed.
        """
        if low is None and high is None:
            return self
        tokens = Token.objects.filter(pk__in=self.order_by().values(self.start_token_field))
        matching = Q(pk__in=[])
        for token in tokens.only("id", "decimals"):
            decimals = token.decimals
            matching |= Q(**{self.start_token_field: token.pk}) & self._profit_range(
                None if low is None else amount_from_units(low, decimals, rounding=ROUND_CEILING),
                None if high is None else amount_from_units(high, decimals, rounding=ROUND_FLOOR),
            )
        return self.filter(matching)

    def _profit_range(self, low: int | None, high: int | None) -> Q:
        condition = Q()
        if low is not None:
            condition &= Q(**{f"{self.profit_field}__gte": low})
        if high is not None:
            condition &= Q(**{f"{self.profit_field}__lte": high})
        return condition


class OpportunityQuerySet(HistoryQuerySet):
    time_field = "detected_at"
    start_token_field = "start_token"
    profit_field = "net_profit"
    opportunity_field = "pk"

    def detected(self) -> Self:
        return self.with_status(OpportunityStatus.DETECTED)

    def with_net_profit_at_least(self, amount: int) -> Self:
        """Opportunities netting at least ``amount`` smallest units of their start token."""
        return self.with_profit_between(low=amount)

    def status_counts(self) -> dict[str, int]:
        rows = self.order_by().values("status").annotate(n=Count("id"))
        return {row["status"]: row["n"] for row in rows}

    def totals_by_token(self) -> list[dict[str, Any]]:
        """Count and exact sums of expected and net profit per start token."""
        return list(
            self.order_by()
            .values("start_token__symbol", "start_token__decimals", "start_token_id")
            .annotate(
                count=Count("id"),
                expected_profit=AmountSum("expected_profit"),
                net_profit=AmountSum("net_profit"),
            )
            .order_by("start_token__symbol")
        )


class Opportunity(models.Model):
    """A profitable cycle seen on chain. The same cycle seen again updates its row."""

    network = models.ForeignKey(
        Network, on_delete=models.CASCADE, related_name="opportunities", null=True, blank=True
    )
    start_token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="+")
    amount_in = TokenAmountField()
    expected_profit = TokenAmountField(signed=True, help_text="Gross, in start-token units.")
    gas_cost = TokenAmountField(help_text="Gas cost converted into start-token units.")
    net_profit = TokenAmountField(signed=True)
    path = models.JSONField(
        help_text='Swap order: [{"pool": addr, "token_in": addr, "token_out": addr}, ...]'
    )
    cycle_key = models.CharField(max_length=512, db_index=True)
    pools = models.ManyToManyField(Pool, blank=True, related_name="opportunities")
    block_number = models.PositiveBigIntegerField()
    first_block = models.PositiveBigIntegerField(null=True, blank=True)
    detected_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    status = models.CharField(
        max_length=16,
        choices=OpportunityStatus.choices,
        default=OpportunityStatus.DETECTED,
        db_index=True,
    )
    status_reason = models.TextField(blank=True)
    reason_code = models.CharField(
        max_length=32, choices=ReasonCode.choices, default="", blank=True, db_index=True
    )
    native_price = TokenAmountField(
        null=True,
        blank=True,
        help_text="Start-token smallest units one native coin (10**18 wei) was worth at the "
        "block: prices gas and converts profit.",
    )
    native_usd_price = TokenAmountField(
        null=True,
        blank=True,
        help_text="Millionths of a dollar one native coin was worth at the block (reference pool).",
    )

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name_plural = "opportunities"
        indexes = [
            # The overview's live feed: the rows seen or changed last.
            models.Index(fields=["-updated_at", "-id"], name="opportunity_last_seen"),
            # The history pages and their CSV exports read newest first, in this
            # order: an index lets the first rows come without sorting the table.
            models.Index(fields=["-detected_at", "-id"], name="opportunity_newest"),
            # The open rows of a block's cycles (recording, claiming): found by key
            # through this index whatever the table's statistics say (a planner on
            # a young or never-analysed table otherwise scans every open row).
            models.Index(
                fields=["cycle_key", "network"],
                condition=Q(status__in=["detected", "executing"]),
                name="opportunity_open_by_cycle",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "cycle_key"],
                condition=Q(status="detected"),
                name="one_detected_row_per_cycle_per_network",
            )
        ]

    def __str__(self) -> str:
        return f"Opportunity #{self.pk} ({self.status}) at block {self.block_number}"

    @property
    def hop_count(self) -> int:
        return len(self.path or [])


class TradeMode(models.TextChoices):
    DRY_RUN = "dry_run", "Dry run"
    LIVE = "live", "Live"


class TradeStatus(models.TextChoices):
    SIMULATED = "simulated", "Simulated"
    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    REVERTED = "reverted", "Reverted"
    DROPPED = "dropped", "Dropped"
    FAILED = "failed", "Failed"


# A status filter that groups every way a trade can end without profit.
UNSUCCESSFUL = "unsuccessful"
UNSUCCESSFUL_STATUSES = (TradeStatus.FAILED, TradeStatus.REVERTED, TradeStatus.DROPPED)


class TradeQuerySet(HistoryQuerySet):
    time_field = "created_at"
    start_token_field = "opportunity__start_token"
    profit_field = "realized_profit"
    opportunity_field = "opportunity_id"

    def in_mode(self, mode: str) -> Self:
        return self.filter(mode=mode)

    def successful(self) -> Self:
        return self.with_status(TradeStatus.SUCCESS)

    def live(self) -> Self:
        return self.in_mode(TradeMode.LIVE)

    def dry_run(self) -> Self:
        return self.in_mode(TradeMode.DRY_RUN)

    def pending(self) -> Self:
        return self.with_status(TradeStatus.PENDING)

    def settled(self) -> Self:
        return self.exclude(status__in=[TradeStatus.PENDING, TradeStatus.SIMULATED])

    def unsuccessful(self) -> Self:
        """Trades that earned nothing: failed, reverted on chain or dropped."""
        return self.filter(status__in=UNSUCCESSFUL_STATUSES)

    def with_status(self, status: str) -> Self:
        if status == UNSUCCESSFUL:
            return self.unsuccessful()
        return super().with_status(status)

    def confirmed(self, *, head: int, confirmations: int) -> Self:
        """Settled trades buried under ``confirmations`` blocks below ``head``: final."""
        return self.settled().filter(block_number__lte=head - confirmations)

    def unconfirmed(self, *, head: int, confirmations: int) -> Self:
        """Settled trades a reorg could still take back."""
        return self.settled().filter(block_number__gt=head - confirmations)

    def totals_by_token(self) -> list[dict[str, Any]]:
        """Trades, exact realized profit, gas (wei) and net profit after gas per start token."""
        return list(
            self.order_by()
            .values(
                "opportunity__start_token_id",
                "opportunity__start_token__symbol",
                "opportunity__start_token__decimals",
            )
            .annotate(
                count=Count("id"),
                realized_profit=AmountSum("realized_profit"),
                gas_cost_wei=AmountSum("gas_cost_wei"),
                net_profit=AmountSum("net_profit"),
            )
            .order_by("opportunity__start_token__symbol")
        )

    def totals_by_dex(self) -> list[dict[str, Any]]:
        """Trades and exact realized profit per DEX a trade went through."""
        return list(
            self.order_by()
            .values("opportunity__pools__dex__name")
            .annotate(count=Count("id", distinct=True))
            .order_by("opportunity__pools__dex__name")
        )


class Trade(models.Model):
    """One execution of an opportunity: simulated (dry run) or sent (live)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="trades")
    mode = models.CharField(max_length=8, choices=TradeMode.choices)
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)
    tx_hashes = models.JSONField(
        default=list, blank=True, help_text="Every hash sent for this trade (fee bumps)."
    )
    status = models.CharField(max_length=16, choices=TradeStatus.choices, db_index=True)
    amount_in = TokenAmountField(null=True, blank=True)
    realized_profit = TokenAmountField(
        signed=True, null=True, blank=True, help_text="In start-token units."
    )
    gas_used = models.PositiveBigIntegerField(null=True, blank=True)
    gas_cost_wei = TokenAmountField(null=True, blank=True, help_text="Native wei, L1 fee included.")
    net_profit = TokenAmountField(
        signed=True,
        null=True,
        blank=True,
        help_text="Realized profit minus gas, in start-token units (a loss is negative).",
    )
    native_price = TokenAmountField(
        null=True,
        blank=True,
        help_text="Start-token smallest units one native coin was worth when recorded.",
    )
    native_usd_price = TokenAmountField(
        null=True,
        blank=True,
        help_text="Millionths of a dollar one native coin was worth when recorded.",
    )
    l1_fee_wei = TokenAmountField(null=True, blank=True)
    max_fee_per_gas = TokenAmountField(null=True, blank=True)
    max_priority_fee_per_gas = TokenAmountField(null=True, blank=True)
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    reason_code = models.CharField(
        max_length=32, choices=ReasonCode.choices, default="", blank=True, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # True from the pending row's commit until the broadcast's answer: a
    # reconciliation never judges a transaction the node may not have seen yet.
    sending = models.BooleanField(default=False)

    objects = TradeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The history page and its CSV export read newest first, in this order.
            models.Index(fields=["-created_at", "-id"], name="trade_newest"),
        ]

    def __str__(self) -> str:
        return f"Trade #{self.pk} {self.mode} {self.status}"


# --- Operator settings -------------------------------------------------------------------


class SimulationBackoff(models.Model):
    """Simulation failures in a row of one pool or token, and until when it is left out.

    A fee-on-transfer token, or a pool that lies about its state, shows profits
    that always fail simulation; poked every block, it would take every
    execution slot. After a few failures in a row the engine skips cycles
    through it for a number of blocks that doubles with every further failure
    (see ``trading.services.backoff``). A successful simulation clears the
    count; staff can reset it in admin.
    """

    class Kind(models.TextChoices):
        POOL = "pool", "Pool"
        TOKEN = "token", "Token"

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # A token address, or a pool: its address or, for a V4 pool, its pool id.
    address = PoolAddressField()
    failures = models.PositiveIntegerField(default=0, help_text="Simulation failures in a row.")
    until_block = models.PositiveBigIntegerField(
        default=0, help_text="Cycles through it are skipped up to this block."
    )
    last_reason = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-until_block", "-failures", "id"]
        verbose_name = "simulation back-off"
        constraints = [
            models.UniqueConstraint(
                fields=["network", "kind", "address"], name="one_backoff_per_pool_or_token"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}: {self.failures} failures"


# Amounts of the bot configuration as people type and read them: the field's
# label, the unit's decimals and its name. Stored as integers in wei all the same.
BOT_CONFIG_AMOUNTS: dict[str, tuple[str, int, str]] = {
    "min_net_profit_wei": ("Minimum net profit", 18, "ETH"),
    "max_trade_size_wei": ("Maximum trade size", 18, "ETH"),
    "max_gas_price_wei": ("Maximum gas price", 9, "gwei"),
    "daily_loss_limit_wei": ("Daily loss limit", 18, "ETH"),
    "min_gas_balance_wei": ("Minimum gas balance", 18, "ETH"),
}

# Every other setting whose changes are recorded (the kill switch has its own entries).
BOT_CONFIG_SETTINGS: dict[str, str] = {
    "mode": "Mode",
    **{name: label for name, (label, _, _) in BOT_CONFIG_AMOUNTS.items()},
    "slippage_bps": "Slippage (bps)",
    "max_hops": "Maximum hops",
    "retention_days": "Retention (days)",
    "retention_max_rows": "Retention (rows)",
    "reinvest_bps": "Reinvested share (bps)",
    "distribution_interval_minutes": "Distribution interval (minutes)",
}


class BotConfig(models.Model):
    """The one row of operator settings, edited in admin.

    Amounts named ``*_wei`` are in the network's native currency (ETH on Base) and
    are converted into each cycle's start token at the pools' current prices.
    """

    mode = models.CharField(max_length=8, choices=TradeMode.choices, default=TradeMode.DRY_RUN)
    paused = models.BooleanField(
        default=False, help_text="Kill switch: when on, nothing is sent, whatever the mode."
    )
    paused_reason = models.CharField(max_length=255, blank=True)
    min_net_profit_wei = TokenAmountField(
        default=0, help_text="Only cycles earning at least this after gas become opportunities."
    )
    max_trade_size_wei = TokenAmountField(
        default=10**18, help_text="Largest input of one trade (native-currency value)."
    )
    max_gas_price_wei = TokenAmountField(
        default=10**9, help_text="Never trade when the fee per gas is above this (wei)."
    )
    slippage_bps = models.PositiveIntegerField(default=10, validators=_bps_validators)
    daily_loss_limit_wei = TokenAmountField(
        default=10**16,
        help_text="Trading pauses when today's realized loss (gas included) reaches this.",
    )
    max_hops = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(2), MaxValueValidator(4)]
    )
    retention_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)], help_text="Delete history older than this."
    )
    retention_max_rows = models.PositiveIntegerField(
        default=100_000,
        validators=[MinValueValidator(100)],
        help_text="Keep at most this many opportunities (and trades).",
    )
    reinvest_bps = models.PositiveIntegerField(
        default=0,
        validators=_bps_validators,
        help_text="Share of each sweep kept in the executor as working capital.",
    )
    min_gas_balance_wei = TokenAmountField(
        default=10**15,
        help_text="Below this native balance the signing account sends no live transaction.",
    )
    distribution_interval_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="How often profit is swept."
    )
    alert_head_lag_blocks = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=3,
        help_text="Alert when the engine stays more than this many blocks behind the chain "
        "head (empty: never).",
    )
    alert_skipped_blocks = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=0,
        help_text="Alert when more than this many blocks are skipped before each processed "
        "block (empty: never).",
    )
    alert_after_blocks = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="How many processed blocks in a row a threshold must be exceeded before the "
        "alert, and kept again before the all-clear.",
    )
    confirmations = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Blocks on top of a trade's block before its outcome is final (a reorg "
        "shallower than this can still take it back).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "bot configuration"
        verbose_name_plural = "bot configuration"

    def __str__(self) -> str:
        return "Bot configuration"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1  # one row, always
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError("The bot configuration cannot be deleted.")

    @classmethod
    def load(cls) -> BotConfig:
        """Return the configuration row, creating it with defaults on first use."""
        config, _ = cls.objects.get_or_create(pk=1)
        return config

    def clean(self) -> None:
        errors = {}
        if self.max_trade_size_wei is not None and self.max_trade_size_wei <= 0:
            errors["max_trade_size_wei"] = "The maximum trade size must be positive."
        if self.max_gas_price_wei is not None and self.max_gas_price_wei <= 0:
            errors["max_gas_price_wei"] = "The maximum gas price must be positive."
        if self.daily_loss_limit_wei is not None and self.daily_loss_limit_wei <= 0:
            errors["daily_loss_limit_wei"] = "The daily loss limit must be positive."
        if errors:
            raise ValidationError(errors)


# --- Engine state for the dashboard ------------------------------------------------------


class ComponentHealth(models.Model):
    """Health of one engine component, written by the engine, shown on the dashboard."""

    name = models.CharField(max_length=32, unique=True)
    initialized = models.BooleanField(default=False)
    healthy = models.BooleanField(default=False)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0)
    counters = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "component health"

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.healthy else 'not ok'}"


class EngineState(models.Model):
    """One row: what the engine is doing now (written every block, read by the dashboard)."""

    running = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_block = models.PositiveBigIntegerField(null=True, blank=True)
    blocks_processed = models.PositiveBigIntegerField(default=0)
    blocks_skipped = models.PositiveBigIntegerField(default=0)
    market = models.JSONField(
        default=list,
        blank=True,
        help_text='Watched pairs: [{"pair", "prices": [{"dex", "pool", "price"}], '
        '"best_spread_bps"}] with prices as decimal strings.',
    )
    last_retention_at = models.DateTimeField(null=True, blank=True)
    balances = models.JSONField(
        default=dict,
        blank=True,
        help_text='Wallet watch: {"signer": {"address", "balance_wei", "minimum_wei", "low"}, '
        '"executor": {"address", "tokens": [{"symbol", "address", "decimals", "balance"}]}, '
        '"block"} with amounts as decimal strings of the smallest unit.',
    )
    system = models.JSONField(
        default=dict,
        blank=True,
        help_text='The engine\'s own figures for the System page: {"stages": [{"stage", "p50_ms", '
        '"p95_ms", "last_ms"}], "series", "head_lag", "skipped_recent", "rpc": [{"endpoint", …}], '
        '"locks", "event_loop_lag_ms", "block_time_ms"} (trading.vitals).',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "engine state"
        verbose_name_plural = "engine state"

    def __str__(self) -> str:
        return "Engine state"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> EngineState:
        state, _ = cls.objects.get_or_create(pk=1)
        return state


class ProcessVitals(models.Model):
    """One process's own figures (memory, CPU, loop lag …), written by that process."""

    role = models.CharField(max_length=16, help_text="web, engine or worker.")
    instance = models.CharField(max_length=128, help_text="host:pid of the process.")
    figures = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "process vitals"
        verbose_name_plural = "process vitals"
        ordering = ["role", "instance"]
        constraints = [
            models.UniqueConstraint(fields=["role", "instance"], name="process_vitals_unique")
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.instance}"


class GasSnapshot(models.Model):
    """EIP-1559 fee levels at one block, kept every few blocks for the dashboard."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="gas_snapshots")
    block_number = models.PositiveBigIntegerField()
    base_fee_wei = TokenAmountField()
    priority_fee_slow_wei = TokenAmountField()
    priority_fee_normal_wei = TokenAmountField()
    priority_fee_urgent_wei = TokenAmountField()
    l1_fee_wei = TokenAmountField(
        null=True, blank=True, help_text="L1 data fee of a typical trade (OP-stack chains)."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Gas at block {self.block_number}"


# --- Profit distribution and alerts -------------------------------------------------------


class ControlChange(models.Model):
    """One change of the bot's controls: a turn of the kill switch (who paused or
    resumed trading, when and why) or a changed setting (its old and new value).

    Written for every change, from the dashboard, the admin or the engine
    itself (``user`` empty); never edited.
    """

    class Action(models.TextChoices):
        PAUSE = "pause", "Paused"
        RESUME = "resume", "Resumed"
        SETTING = "setting", "Changed"

    action = models.CharField(max_length=8, choices=Action.choices)
    # For a changed setting: which one (a BotConfig field name) and its values
    # before and after, as text in units ("100 gwei"), exact.
    setting = models.CharField(max_length=64, blank=True)
    old_value = models.CharField(max_length=255, blank=True)
    new_value = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the name stays readable after the account is deleted.
    actor = models.CharField(max_length=150, help_text="Who made the change.")
    source = models.CharField(max_length=16, help_text="dashboard, admin or engine.")
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        if self.action == self.Action.SETTING:
            return f"{self.setting_label} changed by {self.actor}"
        return f"{self.get_action_display()} by {self.actor}"

    @property
    def setting_label(self) -> str:
        """The changed setting as the pages name it."""
        return BOT_CONFIG_SETTINGS.get(self.setting, self.setting)


class ProfitRecipient(models.Model):
    """Where swept profit goes. Active recipients' shares must sum to 10,000 bps."""

    config = models.ForeignKey(
        BotConfig, on_delete=models.CASCADE, related_name="recipients", default=1, editable=False
    )
    label = models.CharField(max_length=64, blank=True)
    address = AddressField()
    share_bps = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(BPS)],
        help_text="Share of the distributable profit in basis points (2500 = 25%).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-share_bps", "id"]
        constraints = [
            models.UniqueConstraint(fields=["config", "address"], name="unique_recipient_address")
        ]

    def __str__(self) -> str:
        return f"{self.label or self.address} ({self.share_bps / 100:g}%)"

    def clean(self) -> None:
        if (self.address or "").lower() == ZERO_ADDRESS:
            raise ValidationError(
                {"address": "Not a recipient: the zero address burns what is sent to it."}
            )


class DistributionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    DRY_RUN = "dry_run", "Dry run"


class Distribution(models.Model):
    """One sweep of one token from the executor to the recipients."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="distributions")
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="distributions")
    balance = TokenAmountField(help_text="The executor's balance when the sweep was planned.")
    reinvest = TokenAmountField(help_text="Kept in the executor as working capital.")
    total = TokenAmountField(help_text="Distributable total: the sum of the payouts.")
    status = models.CharField(
        max_length=16, choices=DistributionStatus.choices, default=DistributionStatus.PLANNED
    )
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One unfinished sweep per token: an interrupted one is resumed, not doubled.
            models.UniqueConstraint(
                fields=["network", "token"],
                condition=Q(status__in=["planned", "sending"]),
                name="one_open_distribution_per_token",
            )
        ]

    def __str__(self) -> str:
        return f"Distribution #{self.pk} of {self.token} ({self.status})"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Failed"


class DistributionPayout(models.Model):
    """One recipient's part of a distribution, with its own transaction."""

    distribution = models.ForeignKey(Distribution, on_delete=models.CASCADE, related_name="payouts")
    recipient = AddressField()
    share_bps = models.PositiveIntegerField()
    amount = TokenAmountField()
    status = models.CharField(
        max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.PENDING
    )
    tx_hash = models.CharField(max_length=66, blank=True)
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["distribution", "recipient"], name="one_payout_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.recipient} ({self.status})"


class Reorg(models.Model):
    """A chain reorganisation the engine saw, and what it corrected."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="reorgs")
    detected_at = models.DateTimeField(default=timezone.now, db_index=True)
    common_ancestor = models.PositiveBigIntegerField(help_text="Last block both chains share.")
    depth = models.PositiveIntegerField(help_text="Blocks of the old chain dropped.")
    old_head = models.PositiveBigIntegerField()
    new_head = models.PositiveBigIntegerField()
    trades_reopened = models.JSONField(
        default=list, blank=True, help_text="Trades whose outcome was in a dropped block."
    )
    opportunities_staled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-detected_at", "-id"]

    def __str__(self) -> str:
        return f"Reorg of depth {self.depth} above block {self.common_ancestor}"


class EngineLease(models.Model):
    """Who runs the engine for one network and signing account; renewed while it runs.

    A second engine finds the lease held and waits as a hot standby; it takes
    over once the holder stops renewing (``expires_at`` passes) or releases it.
    """

    key = models.CharField(max_length=128, unique=True, help_text="network id and signer")
    holder = models.CharField(max_length=200, help_text="host, process id and run id")
    acquired_at = models.DateTimeField(default=timezone.now)
    renewed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} held by {self.holder}"


class AlertEvent(models.TextChoices):
    TRADE_EXECUTED = "trade_executed", "Trade executed"
    TRADE_FAILED = "trade_failed", "Trade failed"
    LOW_BALANCE = "low_balance", "Low gas balance"
    COMPONENT_DOWN = "component_down", "Component down"
    COMPONENT_RECOVERED = "component_recovered", "Component recovered"
    DAILY_LOSS_LIMIT = "daily_loss_limit", "Daily loss limit hit"
    DISTRIBUTION_SENT = "distribution_sent", "Distribution sent"
    FALLING_BEHIND = "falling_behind", "Engine falling behind the chain"
    CAUGHT_UP = "caught_up", "Engine caught up with the chain"

    REORG = "reorg", "Chain reorganisation"


class WebhookEndpoint(models.Model):
    """An operator's HTTP endpoint that receives alerts as JSON POSTs."""

    name = models.CharField(max_length=64)
    url = models.URLField(max_length=500)
    events = models.JSONField(
        default=list, blank=True, help_text="Alert events sent to this endpoint."
    )
    active = models.BooleanField(default=True)
    timeout_seconds = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = set(self.events or []) - set(AlertEvent.values)
        if unknown:
            raise ValidationError({"events": f"Unknown events: {', '.join(sorted(unknown))}."})


class AlertDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class AlertDelivery(models.Model):
    """One alert for one endpoint, with a record of every attempt."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=AlertEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=AlertDeliveryStatus.choices, default=AlertDeliveryStatus.PENDING
    )
    attempts = models.JSONField(
        default=list, blank=True, help_text="[{at, status_code, error, duration_ms}] per attempt."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the delivery was handed to its sender; empty while the queue "
        "was unreachable (the delivery is queued again later).",
    )
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint} ({self.status})"


class DailyPerformance(models.Model):
    """One day's results per start token, rolled up for long-range charts."""

    day = models.DateField()
    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="+")
    opportunities = models.PositiveIntegerField(default=0)
    trades = models.PositiveIntegerField(default=0)
    successful_trades = models.PositiveIntegerField(default=0)
    realized_profit = TokenAmountField(signed=True, default=0)
    gas_cost_wei = TokenAmountField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "token"]
        verbose_name_plural = "daily performance"
        constraints = [
            models.UniqueConstraint(fields=["day", "token"], name="one_rollup_per_day_and_token")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.token}"
