"""Filter forms of the history and performance pages (GET query strings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms

from trading import selectors
from trading.models import Dex, OpportunityStatus, TradeMode, TradeStatus

PRESETS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}
PRESET_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_PRESET = "7d"
MAX_RANGE = dt.timedelta(days=366)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=selectors.operator_zone())


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


class HistoryFilterForm(forms.Form):
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
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )
    mode = forms.ChoiceField(
        required=False, choices=[("", "Any mode"), *TradeMode.choices], label="Mode"
    )

    def __init__(self, data: Any = None, *, kind: str = "opportunities") -> None:
        super().__init__(data)
        statuses = OpportunityStatus.choices if kind == "opportunities" else TradeStatus.choices
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
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "This date is before the start date.")
        return data

    def filters(self) -> selectors.HistoryFilters:
        """The filters to apply: the valid fields only (an invalid one is shown, not applied)."""
        if not self.is_bound:
            return selectors.HistoryFilters()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        token, dex = data.get("token"), data.get("dex")
        since, until = data.get("since"), data.get("until")
        return selectors.HistoryFilters(
            status=data.get("status") or "",
            token_id=token.pk if token else None,
            dex_id=dex.pk if dex else None,
            min_profit=data.get("min_profit"),
            max_profit=data.get("max_profit"),
            since=_local_midnight(since) if since else None,
            # "Until" is inclusive of the whole day.
            until=_local_midnight(until + dt.timedelta(days=1)) if until else None,
            mode=data.get("mode") or "",
        )


@dataclass(frozen=True)
class TimeRange:
    since: dt.datetime
    until: dt.datetime
    preset: str
    label: str


class PerformanceRangeForm(forms.Form):
    """A preset (24h / 7d / 30d) or a from/to date range, and a trade mode."""

    range = forms.ChoiceField(
        required=False, choices=[(k, v) for k, v in PRESET_LABELS.items()], label="Range"
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    mode = forms.ChoiceField(
        required=False, choices=[("", "All modes"), *TradeMode.choices], label="Mode"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since > until:
                self.add_error("until", "This date is before the start date.")
            elif until - since > MAX_RANGE:
                self.add_error("until", "Choose at most a year.")
        return data

    def time_range(self, now: dt.datetime | None = None) -> TimeRange:
        """The chosen range; the default preset when nothing (valid) was chosen."""
        now = now or selectors.now()
        data = getattr(self, "cleaned_data", {}) if self.is_bound and self.is_valid() else {}
        since, until = data.get("since"), data.get("until")
        if since and until:
            return TimeRange(
                since=_local_midnight(since),
                until=_local_midnight(until + dt.timedelta(days=1)),
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
