"""Form fields shared by the admin and the dashboard."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from trading.addresses import normalize_address
from trading.fields import UINT256_MAX, to_amount
from trading.units import amount_from_units, amount_to_units


class TokenAmountFormField(forms.CharField):
    """A whole number of a token's smallest unit, typed as digits (underscores allowed)."""

    def __init__(self, *args: Any, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        kwargs.pop("max_length", None)
        super().__init__(*args, **kwargs)
        # Wide enough for 2**256-1 (78 digits) without scrolling.
        self.widget.attrs.setdefault("size", 40)
        self.widget.attrs.setdefault("inputmode", "numeric")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return str(value)
        return value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # digits in, an int out
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        amount = to_amount(value)
        if not self.signed and amount < 0:
            raise ValidationError("This amount cannot be negative.", code="negative")
        if abs(amount) > UINT256_MAX:
            raise ValidationError("This amount is larger than 2**256-1.", code="too_large")
        return amount


class AddressFormField(forms.CharField):
    """An EVM address; returned in checksum form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 42)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return normalize_address(value)


class UnitAmountFormField(forms.CharField):
    """An amount typed in units ("0.5" ETH, "100" gwei), kept as an exact integer.

    Stored exactly as the smallest unit (wei); a value finer than the unit's
    precision is refused rather than rounded, so what is saved is what was typed.
    """

    def __init__(self, *args: Any, decimals: int, unit: str, **kwargs: Any) -> None:
        self.decimals = decimals
        self.unit = unit
        kwargs.pop("max_length", None)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("size", 24)
        self.widget.attrs.setdefault("data-unit", unit)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return amount_to_units(value, self.decimals)
        return value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # units in, an int out
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        text = str(value).replace("_", "").replace(" ", "")
        try:
            low = amount_from_units(text, self.decimals, rounding=ROUND_FLOOR)
            high = amount_from_units(text, self.decimals, rounding=ROUND_CEILING)
        except ValueError:
            raise ValidationError(
                f"Enter an amount in {self.unit}, for example 0.5.", code="invalid"
            ) from None
        if low != high:
            raise ValidationError(
                f"An amount in {self.unit} has at most {self.decimals} decimal places.",
                code="too_precise",
            )
        if low < 0:
            raise ValidationError("This amount cannot be negative.", code="negative")
        # amount_from_units clamps at 2**256-1: an amount there must be what was typed.
        if low == UINT256_MAX and Decimal(text) != Decimal(amount_to_units(low, self.decimals)):
            raise ValidationError("This amount is larger than 2**256-1 wei.", code="too_large")
        return low
