"""Admin: where operators configure networks, DEXs, tokens and the bot.

History rows (opportunities, trades) are read-only: they are written by the
engine and are the audit trail.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from trading.addresses import ZERO_ADDRESS
from trading.dex.confirm import PoolClaim, UnsupportedKind, factory_names
from trading.distribution.split import SplitError, validate_shares
from trading.formatting import format_amount
from trading.forms import UnitAmountFormField
from trading.models import (
    BOT_CONFIG_AMOUNTS,
    AlertDelivery,
    AlertEvent,
    BotConfig,
    ComponentHealth,
    ControlChange,
    Dex,
    Distribution,
    DistributionPayout,
    EngineLease,
    GasSnapshot,
    Network,
    Opportunity,
    Pool,
    ProcessVitals,
    ProfitRecipient,
    Reorg,
    SimulationBackoff,
    Token,
    Trade,
    WebhookEndpoint,
)
from trading.services.backoff import backoff_reset
from trading.services.chain_access import ChainSession
from trading.services.control_log import control_change_record, control_change_record_settings


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the bot; the admin shows it but never edits it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "chain_id", "active", "primary_rpc", "executor_address", "updated_at"]
    list_filter = ["active", "is_op_stack"]
    search_fields = ["name", "chain_id", "executor_address"]
    filter_horizontal = ["base_tokens"]
    autocomplete_fields = ["wrapped_native_token"]
    actions = ["make_active"]

    @admin.display(description="Primary RPC")
    def primary_rpc(self, obj: Network) -> str:
        urls = obj.rpc_url_list
        return urls[0] if urls else "—"

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "base_tokens":
            object_id = (
                request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            )
            kwargs["queryset"] = (
                Token.objects.filter(network_id=object_id) if object_id else Token.objects.none()
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.action(description="Make the selected network the active one")
    def make_active(self, request: HttpRequest, queryset: QuerySet[Network]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one network to activate.", messages.ERROR)
            return
        network = queryset.get()
        Network.objects.filter(active=True).exclude(pk=network.pk).update(active=False)
        Network.objects.filter(pk=network.pk).update(active=True)
        self.message_user(request, f"{network.name} is now the active network.", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: Network, form: Any, change: bool) -> None:
        if obj.active:
            # Only one active network: activating this one deactivates the others.
            Network.objects.filter(active=True).exclude(pk=obj.pk).update(active=False)
        super().save_model(request, obj, form, change)


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "address", "decimals", "network"]
    list_filter = ["network", "decimals"]
    search_fields = ["symbol", "name", "address"]


@admin.register(Dex)
class DexAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "network",
        "factory",
        "fee_bps",
        "enabled",
        "pool_count",
        "last_synced_at",
    ]
    list_filter = ["network", "kind", "enabled"]
    search_fields = ["name", "factory", "router"]
    readonly_fields = ["last_synced_at", "created_at"]
    actions = ["enable", "disable"]

    @admin.display(description="Pools")
    def pool_count(self, obj: Dex) -> int:
        return obj.pools.count()

    @admin.action(description="Enable the selected DEXs")
    def enable(self, request: HttpRequest, queryset: QuerySet[Dex]) -> None:
        self.message_user(request, f"Enabled {queryset.update(enabled=True)} DEX(s).")

    @admin.action(description="Disable the selected DEXs")
    def disable(self, request: HttpRequest, queryset: QuerySet[Dex]) -> None:
        self.message_user(request, f"Disabled {queryset.update(enabled=False)} DEX(s).")


class DexWithNetworkFilter(admin.RelatedFieldListFilter):
    """DEX names repeat across networks: name each choice's network too."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:
        dexes = Dex.objects.select_related("network").order_by("network__name", "name")
        return [(dex.pk, f"{dex.name} ({dex.network.name})") for dex in dexes]


class PoolAdminForm(forms.ModelForm):
    """A pool typed in by hand is saved only if its DEX's factory names it."""

    class Meta:
        model = Pool
        fields = [
            "dex",
            "address",
            "token0",
            "token1",
            "fee",
            "tick_spacing",
            "stable",
            "hooks",
            "dynamic_fee",
            "enabled",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        dex, token0, token1 = cleaned.get("dex"), cleaned.get("token0"), cleaned.get("token1")
        address = cleaned.get("address")
        watched = {
            "dex", "address", "token0", "token1", "fee", "stable", "tick_spacing", "hooks",
            "dynamic_fee",
        }  # fmt: skip
        if self.instance.pk and not watched & set(self.changed_data):
            return cleaned
        if not (dex and token0 and token1 and address) or self.errors:
            return cleaned
        claim = PoolClaim(
            address=address,
            kind=dex.kind,
            factory=dex.factory,
            token0=token0.address,
            token1=token1.address,
            fee=cleaned.get("fee") or 0,
            stable=bool(cleaned.get("stable")),
            tick_spacing=cleaned.get("tick_spacing"),
            hooks=cleaned.get("hooks") or ZERO_ADDRESS,
            dynamic_fee=bool(cleaned.get("dynamic_fee")),
        )
        try:
            with ChainSession.for_network(dex.network) as session:
                named = session.run(factory_names(session.client, claim))
        except UnsupportedKind as exc:
            raise ValidationError(str(exc)) from None
        except Exception as exc:  # no answer: refuse rather than trust the address
            raise ValidationError(
                f"Could not ask the factory {dex.factory} about this pool "
                f"({type(exc).__name__}: {str(exc)[:200]}). Check the network's RPC "
                "and try again."
            ) from None
        if not named:
            raise ValidationError(
                f"{dex.name}'s factory {dex.factory} does not name {address} as its "
                f"{token0.symbol}/{token1.symbol} pool with these settings: refusing it."
            )
        self.instance.factory_confirmed = True
        return cleaned


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    form = PoolAdminForm
    list_display = [
        "address",
        "pair",
        "dex",
        "network",
        "fee_label",
        "stable",
        "enabled",
        "state_block",
    ]
    list_filter = ["dex__network", ("dex", DexWithNetworkFilter), "enabled", "stable"]
    search_fields = [
        "address",
        "token0__symbol",
        "token1__symbol",
        "token0__address",
        "token1__address",
    ]
    list_select_related = ["dex__network", "token0", "token1"]
    raw_id_fields = ["token0", "token1"]

    @admin.display(description="Network", ordering="dex__network__name")
    def network(self, obj: Pool) -> str:
        return obj.dex.network.name
    readonly_fields = [
        "factory_confirmed",
        "reserve0",
        "reserve1",
        "sqrt_price_x96",
        "liquidity",
        "tick",
        "state_block",
        "created_block",
        "discovered_at",
        "updated_at",
    ]

    @admin.display(description="Pair")
    def pair(self, obj: Pool) -> str:
        return f"{obj.token0.symbol}/{obj.token1.symbol}"


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "detected_at",
        "status",
        "start_token",
        "amount",
        "net",
        "hops",
        "block_number",
    ]
    list_filter = ["status", "reason_code", "start_token", "network", "detected_at"]
    search_fields = ["cycle_key", "path"]
    date_hierarchy = "detected_at"
    list_select_related = ["start_token"]

    @admin.display(description="Amount in")
    def amount(self, obj: Opportunity) -> str:
        return format_amount(obj.amount_in, obj.start_token.decimals, obj.start_token.symbol)

    @admin.display(description="Net profit")
    def net(self, obj: Opportunity) -> str:
        return format_amount(obj.net_profit, obj.start_token.decimals, obj.start_token.symbol)

    @admin.display(description="Hops")
    def hops(self, obj: Opportunity) -> int:
        return obj.hop_count


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "mode",
        "status",
        "profit",
        "gas_used",
        "block_number",
        "tx",
    ]
    list_filter = ["mode", "status", "reason_code", "created_at"]
    search_fields = ["tx_hash", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["opportunity__start_token"]

    @admin.display(description="Realized profit")
    def profit(self, obj: Trade) -> str:
        token = obj.opportunity.start_token
        return format_amount(obj.realized_profit, token.decimals, token.symbol)

    @admin.display(description="Transaction")
    def tx(self, obj: Trade) -> str:
        if not obj.tx_hash:
            return "—"
        return format_html("<code>{}…{}</code>", obj.tx_hash[:10], obj.tx_hash[-6:])


class RecipientFormSet(forms.BaseInlineFormSet):
    """Active recipients' shares must sum to exactly 10,000 bps (100%)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        shares = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("active"):
                continue
            shares.append((data["address"], data["share_bps"]))
        if not shares:
            return  # no recipients yet: nothing is swept until some are added
        try:
            validate_shares(shares)
        except SplitError as exc:
            raise ValidationError(str(exc)) from None


class ProfitRecipientInline(admin.TabularInline):
    model = ProfitRecipient
    formset = RecipientFormSet
    extra = 1
    fields = ["label", "address", "share_bps", "active"]


@admin.register(BotConfig)
class BotConfigAdmin(admin.ModelAdmin):
    """One row: the list page goes straight to the form."""

    inlines = [ProfitRecipientInline]

    fieldsets = [
        ("Trading", {"fields": ["mode", "paused", "paused_reason", "confirmations"]}),
        (
            "Limits",
            {
                "fields": [
                    "min_net_profit_wei",
                    "max_trade_size_wei",
                    "max_gas_price_wei",
                    "daily_loss_limit_wei",
                    "slippage_bps",
                    "max_hops",
                ]
            },
        ),
        (
            "Profit distribution and wallet",
            {"fields": ["reinvest_bps", "distribution_interval_minutes", "min_gas_balance_wei"]},
        ),
        ("History retention", {"fields": ["retention_days", "retention_max_rows"]}),
        (
            "Falling-behind alerts",
            {"fields": ["alert_head_lag_blocks", "alert_skipped_blocks", "alert_after_blocks"]},
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Amounts are typed in ETH and gwei, stored in wei exactly as before.
        if db_field.name in BOT_CONFIG_AMOUNTS:
            label, decimals, unit = BOT_CONFIG_AMOUNTS[db_field.name]
            return UnitAmountFormField(
                decimals=decimals,
                unit=unit,
                label=f"{label} ({unit})",
                help_text=db_field.help_text.replace(" (wei)", ""),
                required=not db_field.blank,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        config = BotConfig.load()
        return HttpResponseRedirect(reverse("admin:trading_botconfig_change", args=[config.pk]))

    def save_model(self, request: HttpRequest, obj: BotConfig, form: Any, change: bool) -> None:
        before = BotConfig.load()
        super().save_model(request, obj, form, change)
        if "paused" in form.changed_data:
            control_change_record(
                paused=obj.paused, reason=obj.paused_reason, user=request.user, source="admin"
            )
        control_change_record_settings(before=before, after=obj, user=request.user, source="admin")


@admin.register(ControlChange)
class ControlChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "setting",
        "old_value",
        "new_value",
        "actor",
        "source",
        "reason",
    ]
    list_filter = ["action", "setting", "source"]
    search_fields = ["actor", "reason", "setting"]


@admin.register(SimulationBackoff)
class SimulationBackoffAdmin(ReadOnlyAdmin):
    """Written by the engine; staff can only reset a back-off (or delete its row)."""

    list_display = ["address", "kind", "network", "failures", "until_block", "last_reason"]
    list_filter = ["kind", "network"]
    search_fields = ["address", "last_reason"]
    actions = ["reset"]

    @admin.action(description="Reset the back-off (trade through it again now)")
    def reset(self, request: HttpRequest, queryset: QuerySet[SimulationBackoff]) -> None:
        count = backoff_reset(queryset)
        self.message_user(request, f"{count} back-off{'s' if count != 1 else ''} reset.")


@admin.register(Reorg)
class ReorgAdmin(ReadOnlyAdmin):
    list_display = [
        "detected_at",
        "network",
        "depth",
        "common_ancestor",
        "old_head",
        "new_head",
        "opportunities_staled",
    ]
    list_filter = ["network"]


@admin.register(EngineLease)
class EngineLeaseAdmin(ReadOnlyAdmin):
    list_display = ["key", "holder", "acquired_at", "renewed_at", "expires_at"]


@admin.register(ComponentHealth)
class ComponentHealthAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "initialized",
        "healthy",
        "last_success_at",
        "last_error_at",
        "restarts",
    ]


@admin.register(ProcessVitals)
class ProcessVitalsAdmin(ReadOnlyAdmin):
    list_display = ["role", "instance", "updated_at"]


@admin.register(GasSnapshot)
class GasSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "network",
        "block_number",
        "base_fee_wei",
        "priority_fee_normal_wei",
    ]
    list_filter = ["network"]


_PAYOUT_FIELDS = ("recipient", "share_bps", "amount", "status", "tx_hash", "block_number", "error")


class PayoutInline(admin.TabularInline):
    model = DistributionPayout
    extra = 0
    can_delete = False
    fields = _PAYOUT_FIELDS
    readonly_fields = _PAYOUT_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Distribution)
class DistributionAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "token", "total_amount", "status", "block_number"]
    list_filter = ["status", "token"]
    inlines = [PayoutInline]

    @admin.display(description="Total")
    def total_amount(self, obj: Distribution) -> str:
        return format_amount(obj.total, obj.token.decimals, obj.token.symbol)


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=AlertEvent.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "active", "timeout_seconds", "max_attempts"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "event_list"]
    list_filter = ["active"]
    search_fields = ["name", "url"]

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        labels = dict(AlertEvent.choices)
        return ", ".join(labels.get(e, e) for e in obj.events) or "—"


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "endpoint", "event", "status", "attempt_count", "delivered_at"]
    list_filter = ["status", "event", "endpoint"]

    @admin.display(description="Attempts")
    def attempt_count(self, obj: AlertDelivery) -> int:
        return len(obj.attempts or [])
