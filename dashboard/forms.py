"""Filter forms of the history and performance pages (GET query strings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms

from trading import selectors
from trading.analysis import breakdown
from trading.forms import UnitAmountFormField
from trading.models import (
    BOT_CONFIG_AMOUNTS,
    UNSUCCESSFUL,
    BotConfig,
    Dex,
    Opportunity,
    OpportunityStatus,
    Trade,
    TradeMode,
    TradeStatus,
)
from trading.reasons import ReasonCode

PRESETS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}
PRESET_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_PRESET = "7d"
MAX_RANGE = dt.timedelta(days=366)


# Days a filter may name: wide enough for any history, narrow enough that the
# midnight after the last one and its UTC time still exist (year 9999 overflows).
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=selectors.operator_zone())


class DayField(forms.DateField):
    """A calendar day between FIRST_DAY and LAST_DAY, typed in a date picker."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        bounds = {"type": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}
        kwargs.setdefault("widget", forms.DateInput(attrs=bounds))
        super().__init__(**kwargs)

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise forms.ValidationError(
                f"Choose a date between {FIRST_DAY:%b %-d, %Y} and {LAST_DAY:%b %-d, %Y}."
            )


class DayRangeForm(forms.Form):
    """A from/to pair of days; "to" includes the whole day, in the operator's time zone."""

    since = DayField(label="From")
    until = DayField(label="Until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "This date is before the start date.")
        return data

    def refusals(self) -> list[str]:
        """Each refused input as "Label: reason", for the page or a plain-text answer."""
        return [
            f"{self[name].label}: {error}" if name in self.fields else str(error)
            for name, errors in self.errors.items()
            for error in errors
        ]

    def moments(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The valid days as ``[since, until)`` moments; None where a day is missing or refused."""
        if not self.is_bound:
            return None, None
        self.is_valid()  # cleaned_data then holds the fields that are valid
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        return (
            _local_midnight(since) if since else None,
            _local_midnight(until + dt.timedelta(days=1)) if until else None,
        )


class TokenUnitsField(forms.DecimalField):
    """An amount typed in token units ("0.01"), kept as an exact Decimal."""

    def __init__(self, **kwargs: Any) -> None:
        # 78 whole digits hold any uint256; 77 fraction digits any token's decimals.
        kwargs.setdefault("max_digits", 155)
        kwargs.setdefault("decimal_places", 77)
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "e.g. 0.01", "size": 10}),
        )
        super().__init__(**kwargs)


class HistoryFilterForm(DayRangeForm):
    """Filters shared by the opportunity and trade histories."""

    status = forms.ChoiceField(required=False)
    token = forms.ModelChoiceField(
        queryset=selectors.start_tokens(), required=False, empty_label="Any start token"
    )
    dex = forms.ModelChoiceField(
        queryset=Dex.objects.order_by("name"), required=False, empty_label="Any DEX"
    )
    min_profit = TokenUnitsField(label="Profit from")
    max_profit = TokenUnitsField(label="to")
    mode = forms.ChoiceField(
        required=False, choices=[("", "Any mode"), *TradeMode.choices], label="Mode"
    )
    reason = forms.ChoiceField(required=False, label="Reason")

    def __init__(self, data: Any = None, *, kind: str = "opportunities") -> None:
        super().__init__(data)
        # The reasons present in the history, and the one asked for even when none is left.
        rows = Opportunity.objects if kind == "opportunities" else Trade.objects
        present = set(rows.reason_codes())
        asked = str((data or {}).get("reason") or "")
        self.fields["reason"].choices = [
            ("", "Any reason"),
            *((c, label) for c, label in ReasonCode.choices if c and (c in present or c == asked)),
        ]
        statuses = OpportunityStatus.choices if kind == "opportunities" else TradeStatus.choices
        if kind != "opportunities":
            statuses = [*statuses, (UNSUCCESSFUL, "Failed, reverted or dropped")]
        self.fields["status"].choices = [("", "Any status"), *statuses]
        self.fields["token"].queryset = selectors.start_tokens()
        if kind == "opportunities":
            del self.fields["mode"]
        self.kind = kind

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("min_profit"), data.get("max_profit")
        if low is not None and high is not None and low > high:
            self.add_error("max_profit", "The upper bound is below the lower bound.")
        return data

    def filters(self) -> selectors.HistoryFilters:
        """The filters to apply: the valid fields only (an invalid one is shown, not applied)."""
        if not self.is_bound:
            return selectors.HistoryFilters()
        self.is_valid()
        data = self.cleaned_data
        token, dex = data.get("token"), data.get("dex")
        since, until = self.moments()
        return selectors.HistoryFilters(
            status=data.get("status") or "",
            token_id=token.pk if token else None,
            dex_id=dex.pk if dex else None,
            min_profit=data.get("min_profit"),
            max_profit=data.get("max_profit"),
            since=since,
            until=until,
            mode=data.get("mode") or "",
            reason=data.get("reason") or "",
        )


@dataclass(frozen=True)
class TimeRange:
    since: dt.datetime
    until: dt.datetime
    preset: str
    label: str


class PerformanceRangeForm(DayRangeForm):
    """A preset (24h / 7d / 30d) or a from/to date range, and a trade mode."""

    range = forms.ChoiceField(
        required=False, choices=[(k, v) for k, v in PRESET_LABELS.items()], label="Range"
    )
    until = DayField(label="To")
    mode = forms.ChoiceField(
        required=False, choices=[("", "All modes"), *TradeMode.choices], label="Mode"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until - since > MAX_RANGE:
            self.add_error("until", "Choose at most a year.")
        return data

    def time_range(self, now: dt.datetime | None = None) -> TimeRange:
        """The chosen range; the default preset when nothing (valid) was chosen."""
        now = now or selectors.now()
        valid = self.is_bound and self.is_valid()
        data = self.cleaned_data if valid else {}
        since, until = data.get("since"), data.get("until")
        start, end = self.moments() if valid else (None, None)
        if start and end:
            return TimeRange(
                since=start,
                until=end,
                preset="",
                label=f"{since:%b %-d, %Y} to {until:%b %-d, %Y}",
            )
        preset = data.get("range") or DEFAULT_PRESET
        return TimeRange(
            since=now - PRESETS[preset], until=now, preset=preset, label=PRESET_LABELS[preset]
        )

    def trade_mode(self) -> str:
        """The chosen trade mode, "" for all."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get("mode") or ""
        return ""


CURRENCY_CHOICES = [
    (breakdown.NATIVE, "Native coin"),
    (breakdown.USD, "USD"),
    (breakdown.TOKEN, "A start token"),
]
GROUPING_CHOICES = [
    (breakdown.ROUTE, "Route"),
    (breakdown.DEX, "DEX"),
    (breakdown.PAIR, "Pair"),
    (breakdown.START_TOKEN, "Start token"),
]
SORT_CHOICES = [(key, key) for key in breakdown.SORT_KEYS]


@dataclass(frozen=True)
class PerformanceView:
    """How the performance figures are shown: currency, grouping and order."""

    currency: str = breakdown.NATIVE
    token_id: int | None = None
    group: str = breakdown.ROUTE
    sort: str = "net"
    descending: bool = True


class PerformanceViewForm(forms.Form):
    """Currency (native, USD or a start token), breakdown grouping and sort column.

    Each field is checked on its own: a refused one is shown and left at its
    default, the others still apply.
    """

    currency = forms.ChoiceField(required=False, choices=CURRENCY_CHOICES, label="Currency")
    token = forms.ModelChoiceField(queryset=selectors.start_tokens(), required=False, label="Token")
    group = forms.ChoiceField(required=False, choices=GROUPING_CHOICES, label="Group by")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort")
    dir = forms.ChoiceField(
        required=False, choices=[("asc", "ascending"), ("desc", "descending")], label="Order"
    )

    refusals = DayRangeForm.refusals

    def __init__(self, data: Any = None) -> None:
        super().__init__(data)
        self.fields["token"].queryset = selectors.start_tokens()

    def view(self) -> PerformanceView:
        """The valid choices, defaults elsewhere (the token is chosen later when left out)."""
        if not self.is_bound:
            return PerformanceView()
        self.is_valid()
        data = self.cleaned_data
        token = data.get("token")
        sort = data.get("sort") or "net"
        direction = data.get("dir") or ("asc" if sort == "label" else "desc")
        return PerformanceView(
            currency=data.get("currency") or breakdown.NATIVE,
            token_id=token.pk if token else None,
            group=data.get("group") or breakdown.ROUTE,
            sort=sort,
            descending=direction == "desc",
        )


# The limits staff change from the Settings page; the rest stays in admin.
LIMIT_FIELDS = (
    "mode",
    "min_net_profit_wei",
    "max_trade_size_wei",
    "max_gas_price_wei",
    "daily_loss_limit_wei",
)


class BotLimitsForm(forms.Form):
    """The main limits in units (ETH, gwei), with a confirmation for going live."""

    mode = forms.ChoiceField(choices=TradeMode.choices, label="Mode")
    confirm_live = forms.BooleanField(required=False, label="")

    def __init__(self, data: Any = None, *, config: BotConfig, test_chain: bool = False) -> None:
        initial = {name: getattr(config, name) for name in LIMIT_FIELDS}
        super().__init__(data, initial=initial)
        for name in LIMIT_FIELDS[1:]:
            label, decimals, unit = BOT_CONFIG_AMOUNTS[name]
            self.fields[name] = UnitAmountFormField(
                decimals=decimals, unit=unit, label=f"{label} ({unit})"
            )
        # Keep the confirmation after the limits, where it is read last.
        self.fields["confirm_live"] = self.fields.pop("confirm_live")
        where = "on the local test chain" if test_chain else "with real funds"
        self.fields[
            "confirm_live"
        ].label = f"I confirm switching to live trading: transactions will be sent {where}."
        self.config = config

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        going_live = data.get("mode") == TradeMode.LIVE and self.config.mode != TradeMode.LIVE
        if going_live and not data.get("confirm_live"):
            self.add_error("confirm_live", "Tick this box to switch to live trading.")
        return data

    def values(self) -> dict[str, Any]:
        """The settings to save (only what differs is recorded)."""
        return {name: self.cleaned_data[name] for name in LIMIT_FIELDS}
